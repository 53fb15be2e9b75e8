"""User-facing errors: each problem is one line; entry points print them and exit non-zero."""
from __future__ import annotations

import signal
import sys
from typing import Callable, Iterable, List, TypeVar

T = TypeVar("T")


class UserError(Exception):
    """A problem the user can fix (bad input, missing tool or credentials): no traceback."""

    def __init__(self, problems: Iterable[str]):
        self.problems: List[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(UserError):
    """One or more invalid settings in an environments/<region>/.env file."""


class TemplateError(UserError):
    """A template that does not render or renders into something invalid."""


def _terminated(signum: int, _frame: object) -> None:
    # Unwind like Ctrl-C, so every `finally` runs: child terraform processes are stopped and
    # temporary folders removed instead of being orphaned.
    raise KeyboardInterrupt(f"signal {signum}")


def run_cli(main: Callable[[], T]) -> T:
    """Run an entry point; turn a UserError into `error: ...` lines on stderr and exit 2."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return main()
    except UserError as err:
        for problem in err.problems:
            line = " ".join(str(problem).splitlines())  # one problem, one line, whatever its source
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
