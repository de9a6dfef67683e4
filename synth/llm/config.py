"""LLM settings and the error types of the LLM layer (no ``openai`` import here).

* ``LLMConfig``: where and how to call the model; ``LLMConfig.resolve`` merges CLI values, the
  ``SYNTH_LLM_*`` environment and a TOML file's ``[llm]`` table (in that precedence), or says
  "offline" (``None``) when no endpoint is configured;
* ``LLMError`` and its subclasses: ``LLMConfigError`` (bad settings), ``LLMFatalError`` (the
  endpoint refused us: stop the run), ``LLMRequestError`` (one request failed: count it and go
  on) and ``LLMBudgetExhausted`` (``--max-llm-calls`` is spent).  ``synth.llm.client`` raises
  the last three.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ENV_PREFIX = "SYNTH_LLM_"
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

