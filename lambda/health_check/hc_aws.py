"""AWS clients, the time budget and one bounded retry loop for every AWS call.

botocore's own retries are switched off (total_max_attempts=1) so that the number of attempts and
the time spent sleeping are decided in exactly one place, against the invocation's deadline.
Only throttling, 5xx and connection errors are retried; anything else (e.g. a missing deployment)
fails at once, because retrying a deterministic error only burns the hook's time budget.
"""
from __future__ import annotations

import json
import random
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# Lambda timeout is 60 s; everything (checks, report, notification) must end well before it.
TOTAL_BUDGET_SECONDS = 50.0
# Kept free after the checks so the verdict can still be reported (and a notification sent).
REPORT_RESERVE_SECONDS = 10.0
# Safety margin below the Lambda's own remaining time when the context is available.
CONTEXT_MARGIN_SECONDS = 5.0
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0
MAX_PAGES = 20

_BOTO_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=4,
)

_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
_TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "InternalFailure", "InternalError", "ServiceUnavailable"}
)
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)

# Indirections so tests can run without real sleeping and with a controllable clock.
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic

_session: Optional[boto3.session.Session] = None
_clients: Dict[str, Any] = {}


def session() -> boto3.session.Session:
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


# A synchronous invocation of the probe function lasts as long as its HTTP checks.
_LONG_READS = {"lambda": Config(read_timeout=40)}


def client(service: str) -> Any:
    # Cached so warm invocations reuse connections.
    if service not in _clients:
        config = _BOTO_CONFIG.merge(_LONG_READS[service]) if service in _LONG_READS else _BOTO_CONFIG
        _clients[service] = session().client(service, config=config)
    return _clients[service]


def reset() -> None:
    """Forget the session and clients (tests: start each scenario from a clean mock)."""
    global _session
    _session = None
    _clients.clear()


def log(record: Dict[str, Any]) -> None:
    """One JSON object per line; never raises, logging must not change a verdict."""
    try:
        line = json.dumps(record, default=str, sort_keys=True, separators=(",", ":"))
    except Exception as exc:  # pragma: no cover - default=str makes this near impossible
        line = json.dumps({"type": "log_error", "error": repr(exc)})
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except Exception:  # pragma: no cover
        pass


class Budget:
    """Deadline of one invocation; checks stop `reserve` seconds before the end."""

    def __init__(self, total_seconds: float, reserve_seconds: float = REPORT_RESERVE_SECONDS):
        self._start = monotonic()
        self._total = max(0.0, total_seconds)
        self._reserve = min(reserve_seconds, self._total)

    @classmethod
    def from_context(cls, context: Any) -> "Budget":
        total = TOTAL_BUDGET_SECONDS
        try:
            remaining = context.get_remaining_time_in_millis() / 1000.0
            total = min(total, remaining - CONTEXT_MARGIN_SECONDS)
        except Exception:
            pass  # no (usable) Lambda context, e.g. a direct test call
        return cls(total)

    def elapsed(self) -> float:
        return monotonic() - self._start

    def remaining(self, final: bool = False) -> float:
        """Seconds left: for the final report (final=True) or for the checks."""
        left = self._total - self.elapsed()
        return left if final else left - self._reserve


class AwsError(Exception):
    def __init__(self, operation: str, code: str, message: str, attempts: int):
        super().__init__(f"{operation} failed after {attempts} attempt(s): {code}: {message}")
        self.operation = operation
        self.code = code
        self.attempts = attempts


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _THROTTLING_CODES or error.get("Code") in _TRANSIENT_CODES or status >= 500
    return False


def backoff(attempt: int) -> float:
    """Capped exponential backoff with jitter (attempt counts from 1)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)))
    return ceiling * random.uniform(0.5, 1.0)


def call(
    service: str, operation: str, budget: Budget, attempts: int, final: bool = False, **params: Any
) -> Dict[str, Any]:
    """Call `client(service).operation(**params)` with at most `attempts` attempts.

    Raises AwsError when the call did not succeed; never sleeps past the budget.
    """
    method = getattr(client(service), operation)
    name = f"{service}.{operation}"
    last: Optional[Exception] = None
    made = 0
    for attempt in range(1, attempts + 1):
        if budget.remaining(final) <= 0:
            break
        made = attempt
        try:
            return method(**params)
        except (ClientError, *_CONNECTION_ERRORS) as exc:
            last = exc
            if not _retryable(exc) or attempt == attempts:
                break
            delay = backoff(attempt)
            if budget.remaining(final) <= delay:
                break
            log({"type": "retry", "operation": name, "attempt": attempt, "delay_s": round(delay, 3),
                 "error": _code(exc)})
            sleep(delay)
    if last is None:
        raise AwsError(name, "TimeBudgetExhausted", "no time left for the call", made)
    message = str(last)
    if isinstance(last, ClientError):
        message = last.response.get("Error", {}).get("Message", message)
    raise AwsError(name, _code(last), message, made)


def paginate(
    service: str,
    operation: str,
    budget: Budget,
    attempts: int,
    token_in: str,
    token_out: str,
    **params: Any,
) -> Iterator[Dict[str, Any]]:
    """Pages of a list/describe call; bounded to MAX_PAGES so a runaway token cannot loop."""
    token: Optional[str] = None
    for _ in range(MAX_PAGES):
        page_params = dict(params)
        if token:
            page_params[token_in] = token
        page = call(service, operation, budget, attempts, **page_params)
        yield page
        token = page.get(token_out)
        if not token:
            return
    raise AwsError(f"{service}.{operation}", "TooManyPages", f"more than {MAX_PAGES} pages", MAX_PAGES)


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def collect(pages: Iterator[Dict[str, Any]], key: str) -> List[Any]:
    items: List[Any] = []
    for page in pages:
        items.extend(page.get(key) or [])
    return items
