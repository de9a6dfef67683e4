"""The LLM as a narrow callable: ``ChatClient.complete(messages) -> ChatReply``.

Everything that knows about the ``openai`` SDK lives here; the rest of ``synth`` speaks
``LLMConfig``, ``ChatReply``, ``CallBudget`` and the three error types.

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
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import openai
import tenacity

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ENV_PREFIX = "SYNTH_LLM_"
FATAL_STATUSES = frozenset({400, 401, 403, 404})
PLACEHOLDER_API_KEY = "sk-no-key"  # local servers (vLLM, Ollama, llama.cpp) ignore the key


# --------------------------------------------------------------------------- errors


class LLMError(Exception):
    """Base class of everything ``ChatClient`` raises."""


class LLMConfigError(LLMError):
    """The LLM settings are incomplete or malformed (one-line, user-facing message)."""


class LLMFatalError(LLMError):
    """The endpoint refused us in a way retrying cannot fix; the run must stop (exit status 2)."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class LLMRequestError(LLMError):
    """One logical request failed (after its retries); the run goes on and counts ``reason``."""

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = (
            reason  # rate_limited | server_error | timeout | connection | http_<status> | bad_response
        )
        self.status = status


class LLMBudgetExhausted(LLMError):
    """``--max-llm-calls`` is spent; no request was sent."""


# --------------------------------------------------------------------------- configuration


@dataclass(slots=True, frozen=True)
class LLMConfig:
    """Where and how to call the model.  Build it with ``LLMConfig.resolve``."""

    base_url: str
    model: str
    api_key: str = field(default=PLACEHOLDER_API_KEY, repr=False)
    timeout: float = 120.0  # seconds per HTTP attempt
    max_retries: int = 4  # retries after the first attempt (the only retry layer)
    temperature: float = 0.8
    max_tokens: int | None = 2048
    backoff_base: float = 1.0  # first full-jitter window, seconds
    backoff_max: float = 30.0  # largest full-jitter window, seconds
    retry_after_cap: float = 60.0  # never wait longer than this for a server's Retry-After

    @classmethod
    def resolve(
        cls,
        cli_values: Mapping[str, Any],
        env: Mapping[str, str],
        config_file: Path | None,
    ) -> LLMConfig | None:
        """Merge settings with precedence CLI > environment > config file > defaults.

        ``cli_values``: field names (``model``, ``timeout``, ...) or argparse dests with an
        ``llm_`` prefix (``llm_base_url``); ``None`` values count as "not given".  A true
        ``offline`` entry forces offline mode.
        ``env``: ``SYNTH_LLM_<FIELD>`` (e.g. ``SYNTH_LLM_BASE_URL``); the key also falls back to
        ``OPENAI_API_KEY``.
        ``config_file``: a TOML file whose ``[llm]`` table holds field names.

        Returns ``None`` (offline mode) when no endpoint is configured anywhere or ``offline``
        is set; raises ``LLMConfigError`` for an endpoint without a model or a malformed value.
        """
        cli = {_cli_name(k): v for k, v in cli_values.items() if v is not None}
        if cli.pop("offline", False):
            return None
        file_values = _read_config_file(config_file) if config_file is not None else {}
        env_values = {
            f.name: env[ENV_PREFIX + f.name.upper()]
            for f in fields(cls)
            if ENV_PREFIX + f.name.upper() in env
        }
        if "api_key" not in env_values and env.get("OPENAI_API_KEY"):
            env_values["api_key"] = env["OPENAI_API_KEY"]

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cli) - known)
        if unknown:
            raise LLMConfigError(f"unknown LLM setting(s): {', '.join(unknown)}")
        merged: dict[str, Any] = {**file_values, **env_values, **cli}

        if not merged.get("base_url"):
            if merged.get("model") and "model" in cli:
                raise LLMConfigError(
                    "--model was given but no LLM endpoint: pass --llm-base-url or set SYNTH_LLM_BASE_URL"
                )
            return None
        if not merged.get("model"):
            raise LLMConfigError(
                f"an LLM endpoint is set ({merged['base_url']}) but no model: "
                "pass --model, set SYNTH_LLM_MODEL, or add model to the [llm] table"
            )
        return cls._from_values(merged)

    @classmethod
    def _from_values(cls, values: Mapping[str, Any]) -> LLMConfig:
        base_url = str(values["base_url"]).strip()
        if not base_url.startswith(("http://", "https://")):
            raise LLMConfigError(f"LLM base URL must start with http:// or https://, got {base_url!r}")
        kwargs: dict[str, Any] = {"base_url": base_url.rstrip("/"), "model": str(values["model"]).strip()}
        if values.get("api_key"):
            kwargs["api_key"] = str(values["api_key"]).strip()
        for name, kind in (
            ("timeout", float),
            ("max_retries", int),
            ("temperature", float),
            ("max_tokens", int),
            ("backoff_base", float),
            ("backoff_max", float),
            ("retry_after_cap", float),
        ):
            if name in values:
                kwargs[name] = _coerce(name, values[name], kind)
        config = cls(**kwargs)
        if (
            config.max_retries < 0
            or config.timeout <= 0
            or (config.max_tokens is not None and config.max_tokens <= 0)
        ):
            raise LLMConfigError("LLM settings: max_retries must be >= 0, timeout and max_tokens > 0")
        return config

    def with_overrides(self, **changes: Any) -> LLMConfig:
        return replace(self, **changes)


def _cli_name(key: str) -> str:
    key = key.replace("-", "_")
    return key[4:] if key.startswith("llm_") else key


def _coerce(name: str, value: Any, kind: type) -> Any:
    if name == "max_tokens" and (value is None or str(value).strip().lower() in ("", "none", "0")):
        return None
    try:
        result = kind(value)
    except (TypeError, ValueError):
        raise LLMConfigError(f"LLM setting {name} must be {kind.__name__}, got {value!r}") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise LLMConfigError(f"LLM setting {name} must be finite, got {value!r}")
    return result


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise LLMConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LLMConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise LLMConfigError(f"config file {path}: [llm] must be a table")
    known = {f.name for f in fields(LLMConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise LLMConfigError(f"config file {path}: unknown key(s) in [llm]: {', '.join(unknown)}")
    return dict(table)


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
