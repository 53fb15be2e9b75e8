"""HTTP probe of the test listener: GET the health path, bounded attempts and timeouts.

Success is a 2xx final status (redirects are followed by urllib). Anything else - 3xx loops, 4xx,
5xx, timeouts, DNS or connection errors - is a failed attempt. The probe retries because the test
listener was switched to the replacement task set moments before AfterAllowTestTraffic runs; a
single transient failure there should not roll a good release back.
"""
from __future__ import annotations

import socket
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

import hc_aws

USER_AGENT = "codedeploy-health-check/1"
MIN_ATTEMPT_SECONDS = 0.5


def probe(url: str, timeout: float, attempts: int, budget: hc_aws.Budget) -> Dict[str, Any]:
    result: Dict[str, Any] = {"url": url, "ok": False, "attempts": 0, "status": None, "error": None}
    for attempt in range(1, attempts + 1):
        per_attempt = min(timeout, budget.remaining())
        if per_attempt < MIN_ATTEMPT_SECONDS:
            result["error"] = result["error"] or "time budget exhausted before probe"
            break
        result["attempts"] = attempt
        status, error = _get(url, per_attempt)
        result["status"], result["error"] = status, error
        if status is not None and 200 <= status < 300:
            result["ok"] = True
            break
        if attempt < attempts:
            delay = hc_aws.backoff(attempt)
            if budget.remaining() <= delay + MIN_ATTEMPT_SECONDS:
                break
            hc_aws.sleep(delay)
    return result


def _get(url: str, timeout: float) -> Tuple[Optional[int], Optional[str]]:
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL is validated http(s)
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"
