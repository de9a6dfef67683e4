"""synth.llm.config: LLMConfig.resolve over CLI values, environment and a TOML file, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from warp_synth.synth.llm.config import LLMConfig, LLMConfigError

pytestmark = pytest.mark.timeout(120)


def test_config_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    config_file = tmp_path / "warp_synth.synth.toml"
    config_file.write_text(
        '[llm]\nbase_url = "http://file:1/v1"\nmodel = "file-model"\ntimeout = 7\nmax_retries = 1\ntemperature = 0.1\n'
    )
    env = {"SYNTH_LLM_MODEL": "env-model", "SYNTH_LLM_TIMEOUT": "9", "OPENAI_API_KEY": "sk-openai"}
    cli = {"llm_base_url": "http://cli:2/v1/", "model": None, "max_retries": 5}
    config = LLMConfig.resolve(cli, env, config_file)
    assert config is not None
    assert config.base_url == "http://cli:2/v1"  # CLI, trailing slash dropped
    assert config.model == "env-model"  # CLI gave None -> env
    assert config.timeout == 9.0  # env over file
    assert config.max_retries == 5  # CLI over file
    assert config.temperature == 0.1  # file over default
    assert config.api_key == "sk-openai"


def test_synth_key_beats_openai_key_and_key_is_not_in_repr() -> None:
    env = {"SYNTH_LLM_API_KEY": "sk-synth", "OPENAI_API_KEY": "sk-openai"}
    config = LLMConfig.resolve({"llm_base_url": "http://h/v1", "model": "m"}, env, None)
    assert config is not None and config.api_key == "sk-synth"
    assert "sk-synth" not in repr(config)


def test_no_endpoint_or_offline_means_no_llm() -> None:
    assert LLMConfig.resolve({}, {"SYNTH_LLM_MODEL": "m"}, None) is None
    env = {"SYNTH_LLM_BASE_URL": "http://h/v1", "SYNTH_LLM_MODEL": "m"}
    assert LLMConfig.resolve({"offline": True}, env, None) is None
    assert LLMConfig.resolve({}, env, None) is not None


def test_endpoint_without_model_is_a_clear_error() -> None:
    with pytest.raises(LLMConfigError) as info:
        LLMConfig.resolve({"llm_base_url": "http://h/v1"}, {}, None)
    assert str(info.value) == (
        "an LLM endpoint is set (http://h/v1) but no model: pass --model, set SYNTH_LLM_MODEL, "
        "or add model to the [llm] table"
    )


def test_model_without_endpoint_on_the_cli_is_a_clear_error() -> None:
    with pytest.raises(LLMConfigError, match=r"^--model was given but no LLM endpoint"):
        LLMConfig.resolve({"model": "m"}, {}, None)


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        (
            {"llm_base_url": "h:1", "model": "m"},
            "LLM base URL must start with http:// or https://, got 'h:1'",
        ),
        (
            {"llm_base_url": "http://h", "model": "m", "timeout": "fast"},
            "LLM setting timeout must be float, got 'fast'",
        ),
        ({"llm_base_url": "http://h", "model": "m", "colour": "red"}, "unknown LLM setting(s): colour"),
    ],
)
def test_malformed_settings_are_clear_errors(cli: dict[str, object], message: str) -> None:
    with pytest.raises(LLMConfigError) as info:
        LLMConfig.resolve(cli, {}, None)
    assert str(info.value) == message


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LLMConfigError, match="^config file not found: "):
        LLMConfig.resolve({}, {}, tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm]\nmodle = 'typo'\n")
    with pytest.raises(LLMConfigError, match=r"unknown key\(s\) in \[llm\]: modle$"):
        LLMConfig.resolve({}, {}, bad)
