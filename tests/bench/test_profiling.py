"""bench/profiling.py: the cProfile file read back into our busiest functions and every busiest function."""
from __future__ import annotations

import cProfile

from bench import profiling


def test_profile_lists_our_functions_by_cumulative_and_every_function_by_own_time(tmp_path):
    from cicd.workspace import config

    profiler = cProfile.Profile()
    profiler.runcall(config.load_all)  # not cached (aws_regions is: another test may have filled it)
    profiler.dump_stats(str(tmp_path / "p.prof"))
    profile = {"wall_s": 1.0, **profiling.top_functions(tmp_path / "p.prof")}
    ours = [row["function"] for row in profile["ours_by_cumulative"]]
    assert ours[0].startswith("cicd/workspace/config.py:") and ours[0].endswith("(load_all)")
    assert all(f.startswith(("cicd/", "stack/")) for f in ours)
    every = [row["function"] for row in profile["all_by_own"]]
    assert [f for f in every if not f.startswith(("cicd/", "stack/"))]  # dotenv, re, built-ins too
    assert not any(f.startswith("/") for f in every)  # paths relative to the repository or site-packages
    text = profiling.format_profile(profile)
    assert "our functions (stack/, cicd/) by cumulative time" in text and ours[0] in text
