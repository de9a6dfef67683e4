"""The LLM as a narrow callable: ``ChatClient.complete(messages) -> ChatReply``.

Everything that knows about the ``openai`` SDK lives here (the only module importing it); the
rest of ``synth`` speaks ``LLMConfig`` and the error types (``synth.llm.config``), ``ChatReply``
and ``CallBudget``.

Reliability policy (exactly one retry layer):

* the SDK's own retries are OFF (``max_retries=0``); this module's tenacity loop is the only one,
  so one logical request makes at most ``1 + config.max_retries`` HTTP attempts;
* retried: 429, any 5xx, ``APITimeoutError`` and ``APIConnectionError`` (dropped connections);
* waits are full-jitter exponential (``uniform(0, min(backoff_max, backoff_base * 2**(n-1)))``),
  but never shorter than a server's ``retry-after-ms`` / ``Retry-After`` (capped at
  ``retry_after_cap`` seconds);
* 400/401/403/404 raise ``LLMFatalError`` at once (bad key, unknown model, bad URL): the run
  should stop with its one-line message and exit status 2;
* anything else that fails (retries exhausted, other 4xx, a malformed body) raises
  ``LLMRequestError`` with a short ``reason`` for the run's counters;
* ``CallBudget`` counts logical requests; once spent, ``complete`` raises ``LLMBudgetExhausted``
  before any HTTP traffic, so a run can end cleanly with what it has accepted.

``ChatClient`` is thread-safe: K worker threads may share one instance (the underlying httpx
connection pool is thread-safe, stats and budget are behind locks).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import openai
import tenacity

from warp_synth.synth.llm.config import (
    LLMBudgetExhausted,
    LLMConfig,
    LLMConfigError,
    LLMError,
    LLMFatalError,
    LLMRequestError,
)

# The settings and error types live in synth.llm.config; they are re-exported here, where
# callers of ``ChatClient`` meet them.
__all__ = [
    "FATAL_STATUSES", "CallBudget", "ChatClient", "ChatReply", "FullJitterHonouringRetryAfter", "LLMBudgetExhausted",
    "LLMConfig", "LLMConfigError", "LLMError", "LLMFatalError", "LLMRequestError", "LLMStats", "is_retryable",
    "retry_after_seconds",
]  # fmt: skip

FATAL_STATUSES = frozenset({400, 401, 403, 404})


# --------------------------------------------------------------------------- budget and stats


class CallBudget:
    """At most ``max_calls`` logical requests (``None``: unlimited); thread-safe."""

    def __init__(self, max_calls: int | None) -> None:
        if max_calls is not None and max_calls < 0:
            raise ValueError("max_calls must be >= 0")
        self.max_calls = max_calls
        self._used = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.max_calls is not None and self._used >= self.max_calls:
                return False
            self._used += 1
            return True

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int | None:
        with self._lock:
            return None if self.max_calls is None else max(0, self.max_calls - self._used)

    @property
    def exhausted(self) -> bool:
        remaining = self.remaining
        return remaining is not None and remaining == 0


@dataclass(slots=True)
class LLMStats:
    """Counters for ``stats.json``: one ``requests`` per logical call, ``http_attempts`` per try."""

    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    http_attempts: int = 0
    retries: int = 0
    retry_wait_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["retry_wait_s"] = round(self.retry_wait_s, 3)
        return data


@dataclass(slots=True, frozen=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    finish_reason: str | None = None
    http_attempts: int = 1


# --------------------------------------------------------------------------- retry policy


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a server asked us to wait (``retry-after-ms`` first, then ``Retry-After``)."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            seconds = _http_date_delay(value)
            if seconds is None:
                continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _http_date_delay(value: str) -> float | None:
    import email.utils

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


class FullJitterHonouringRetryAfter(tenacity.wait.wait_base):
    """Full-jitter exponential backoff, but at least the server's Retry-After (capped)."""

    def __init__(self, base: float, maximum: float, retry_after_cap: float, rng: random.Random) -> None:
        self.base = base
        self.maximum = maximum
        self.retry_after_cap = retry_after_cap
        self.rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exponent = min(retry_state.attempt_number - 1, 60)
        window = min(self.maximum, self.base * (2.0**exponent))
        wait = self.rng.uniform(0.0, max(0.0, window))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, openai.APIStatusError):
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                wait = max(wait, min(asked, self.retry_after_cap))
        return wait


# --------------------------------------------------------------------------- the client


class ChatClient:
    """``complete(messages) -> ChatReply`` over any OpenAI-compatible endpoint; thread-safe."""

    def __init__(
        self,
        config: LLMConfig,
        budget: CallBudget | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.budget = budget if budget is not None else CallBudget(None)
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._stats = LLMStats()
        self._lock = threading.Lock()
        self._openai = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            max_retries=0,  # the SDK's retry layer is off: tenacity below is the only one
            timeout=config.timeout,
        )

    # ----- public API

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        """One logical request: raises ``LLMBudgetExhausted``, ``LLMFatalError`` or ``LLMRequestError``."""
        if not self.budget.try_acquire():
            raise LLMBudgetExhausted(f"LLM call budget of {self.budget.max_calls} request(s) is spent")
        self._bump(requests=1)
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            self._bump(http_attempts=1)
            return self._create(messages, temperature, max_tokens)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(1 + self.config.max_retries),
            wait=FullJitterHonouringRetryAfter(
                self.config.backoff_base, self.config.backoff_max, self.config.retry_after_cap, self._rng
            ),
            retry=tenacity.retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            completion = retrying(attempt)
        except openai.APIStatusError as exc:
            self._fail(exc)
            if exc.status_code in FATAL_STATUSES:
                raise self._fatal(exc) from None
            raise self._request_error(exc, attempts) from None
        except openai.APIConnectionError as exc:
            self._fail(exc)
            raise self._request_error(exc, attempts) from None
        return self._reply(completion, attempts)

    @property
    def stats(self) -> LLMStats:
        """A snapshot of the counters."""
        with self._lock:
            return replace(self._stats, failures=dict(self._stats.failures))

    def close(self) -> None:
        self._openai.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- internals

    def _create(
        self, messages: Sequence[Mapping[str, str]], temperature: float | None, max_tokens: int | None
    ) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": [dict(m) for m in messages],
            "temperature": self.config.temperature if temperature is None else temperature,
        }
        tokens = self.config.max_tokens if max_tokens is None else max_tokens
        if tokens is not None:
            kwargs["max_tokens"] = tokens
        return self._openai.chat.completions.create(**kwargs)

    def _reply(self, completion: Any, attempts: int) -> ChatReply:
        choices = getattr(completion, "choices", None)
        if not choices:
            self._fail_reason("bad_response")
            raise LLMRequestError("LLM reply has no choices", reason="bad_response")
        choice = choices[0]
        usage = getattr(completion, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self._bump(succeeded=1, tokens_in=prompt_tokens, tokens_out=completion_tokens)
        return ChatReply(
            text=(choice.message.content if choice.message is not None else None) or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            model=str(getattr(completion, "model", None) or self.config.model),
            finish_reason=choice.finish_reason,
            http_attempts=attempts,
        )

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        wait = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
        with self._lock:
            self._stats.retries += 1
            self._stats.retry_wait_s += float(wait)

    def _bump(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def _fail(self, exc: openai.APIError) -> None:
        self._fail_reason(_reason(exc))

    def _fail_reason(self, reason: str) -> None:
        with self._lock:
            self._stats.failed += 1
            self._stats.failures[reason] = self._stats.failures.get(reason, 0) + 1

    def _fatal(self, exc: openai.APIStatusError) -> LLMFatalError:
        status = exc.status_code
        url = self.config.base_url
        model = self.config.model
        detail = _server_message(exc)
        if status == 401:
            message = (
                f"LLM endpoint {url} rejected the API key (401): set OPENAI_API_KEY or SYNTH_LLM_API_KEY"
            )
        elif status == 403:
            message = (
                f"LLM endpoint {url} denied access to model '{model}' (403): check the API key's permissions"
            )
        elif status == 404:
            message = (
                f"model '{model}' not found at {url} (404): check --model, and that --llm-base-url "
                "is the API root (it usually ends in /v1)"
            )
        else:
            message = f"LLM endpoint {url} rejected the request (400): {detail or 'bad request'}"
        return LLMFatalError(message, status=status, detail=detail)

    def _request_error(self, exc: openai.APIError, attempts: int) -> LLMRequestError:
        reason = _reason(exc)
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        what = f"HTTP {status}" if status is not None else type(exc).__name__
        return LLMRequestError(
            f"LLM request failed after {attempts} attempt(s): {what}: {_server_message(exc) or exc}",
            reason=reason,
            status=status,
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "rate_limited"
        if exc.status_code >= 500:
            return "server_error"
        return f"http_{exc.status_code}"
    return "bad_response"


def _server_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return " ".join(inner["message"].split())[:300]
        if isinstance(inner, str):
            return " ".join(inner.split())[:300]
    if isinstance(body, str):
        return " ".join(body.split())[:300]
    return ""
