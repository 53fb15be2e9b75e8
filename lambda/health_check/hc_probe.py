"""HTTP probe of the test listener: GET the health path, bounded attempts and timeouts.

Success is a 2xx final status (redirects are followed by urllib). Anything else - 3xx loops, 4xx,
5xx, timeouts, DNS or connection errors - is a failed attempt. The probe retries because the test
listener was switched to the replacement task set moments before AfterAllowTestTraffic runs; a
single transient failure there should not roll a good release back.
"""
from __future__ import annotations

import re
import socket
import ssl
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


# --- smoke checks: exact status, optional body pattern -------------------------------------------

MAX_BODY_BYTES = 65536


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A check names the status it expects: a redirect is an answer to judge, not to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def check(base_url: str, checks: Any, timeout: float, attempts: int, budget: hc_aws.Budget) -> Dict[str, Any]:
    """Send every check (GET base_url + path) until one fails; a failed check is retried up to `attempts`
    times (the test listener switched moments ago). Result: ok, the checks run, and the first failure."""
    results = []
    for spec in checks:
        result = _check_one(base_url.rstrip("/") + spec["path"], spec, timeout, attempts, budget)
        results.append(result)
        if not result["ok"]:
            return {"ok": False, "checks": results, "error": f"GET {spec['path']}: {result['error']}"}
    return {"ok": True, "checks": results, "error": None}


def _check_one(url: str, spec: Dict[str, Any], timeout: float, attempts: int,
               budget: hc_aws.Budget) -> Dict[str, Any]:
    result: Dict[str, Any] = {"url": url, "ok": False, "attempts": 0, "status": None, "error": None}
    for attempt in range(1, attempts + 1):
        per_attempt = min(timeout, budget.remaining())
        if per_attempt < MIN_ATTEMPT_SECONDS:
            result["error"] = result["error"] or "time budget exhausted before the request"
            break
        result["attempts"] = attempt
        status, body, error = _fetch(url, per_attempt)
        result["status"] = status
        if error:
            result["error"] = error
        elif status != spec["status"]:
            result["error"] = f"expected HTTP {spec['status']}, got {status}"
        elif spec.get("body") and not re.search(str(spec["body"]), body):
            result["error"] = f"HTTP {status} but the body does not match {spec['body']!r}"
        else:
            result.update(ok=True, error=None)
            break
        if attempt < attempts:
            delay = hc_aws.backoff(attempt)
            if budget.remaining() <= delay + MIN_ATTEMPT_SECONDS:
                break
            hc_aws.sleep(delay)
    return result


def _fetch(url: str, timeout: float) -> Tuple[Optional[int], str, Optional[str]]:
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": USER_AGENT})
    try:
        opener = _TLS_OPENER if url.startswith("https://") else _OPENER
        with opener.open(request, timeout=timeout) as response:  # noqa: S310 - URL is validated http(s)
            return response.status, response.read(MAX_BODY_BYTES).decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BODY_BYTES).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, body, None
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, socket.timeout) or "timed out" in str(reason):
            return None, "", f"timed out after {timeout:.1f} s"
        return None, "", f"{type(exc).__name__}: {reason}"


# --- the probe function: the same code, run inside the VPC -----------------------------------------

# The test listener is reached at an ALB node's private address, which its certificate (issued for the
# public DNS name) does not name: with HTTPS the address is not verified. Only the probe's security
# group reaches that port, inside the VPC.
_UNVERIFIED_TLS = ssl.create_default_context()
_UNVERIFIED_TLS.check_hostname = False
_UNVERIFIED_TLS.verify_mode = ssl.CERT_NONE
_TLS_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=_UNVERIFIED_TLS))


def handler(event: Any, context: Any) -> Dict[str, Any]:
    """Entry point of the probe function (private subnets, no AWS API call, so no VPC endpoint needed),
    invoked synchronously by the hook: {"base_urls": [...], "checks": [...], "timeout": s, "attempts": n}.
    Tries the ALB's nodes in turn until one answers; the verdict stays the hook's."""
    try:
        urls = [u for u in event["base_urls"] if isinstance(u, str) and u.startswith(("http://", "https://"))]
        checks = [c for c in event["checks"] if isinstance(c, dict) and str(c.get("path", "")).startswith("/")]
        timeout = min(float(event.get("timeout", 5)), 20.0)
        attempts = max(1, min(int(event.get("attempts", 3)), 10))
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "checks": [], "error": f"malformed probe request: {exc}"}
    if not urls or not checks:
        return {"ok": False, "checks": [], "error": "probe request without base URLs or checks"}
    budget = hc_aws.Budget.from_context(context)
    result: Dict[str, Any] = {"ok": False, "checks": [], "error": "no address tried"}
    for url in urls:
        result = check(url, checks, timeout, attempts, budget)
        reached = any(c.get("status") is not None for c in result["checks"])
        if result["ok"] or reached:
            break  # an answer from the listener is the verdict; only an unreachable node tries the next
    result["base_url"] = url
    return result
