"""synth run checks the sandbox before it starts: a missing layer is named in one line, LLM mode
refuses to run without --allow-weak-sandbox, and stats.json records what the batches ran in."""

from __future__ import annotations

import json

import pytest

from warp_synth.extract import sandbox
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(300)


def _without_seccomp(monkeypatch: pytest.MonkeyPatch) -> None:
    layers = {layer: "on" for layer in sandbox.LAYERS} | {"seccomp": ""}
    monkeypatch.setattr(sandbox, "probe", lambda: dict(layers))


def test_llm_mode_refuses_a_weaker_sandbox_unless_accepted(tmp_path, monkeypatch, capsys) -> None:
    _without_seccomp(monkeypatch)
    out = tmp_path / "llm"
    code = synth_main(["run", "--n", "1", "--llm-base-url", "http://127.0.0.1:9/v1", "--model", "m",
                       "--out", str(out), "--no-progress"])
    assert code == 2
    assert capsys.readouterr().err == (
        "synth run: error: this machine lacks sandbox layer(s) seccomp; LLM mode runs untrusted code and needs "
        "them all (pass --allow-weak-sandbox to accept a weaker sandbox)\n")
    assert not out.exists()  # refused before anything was created


def test_no_sandbox_is_for_offline_runs_only(tmp_path, capsys) -> None:
    code = synth_main(["run", "--n", "1", "--llm-base-url", "http://127.0.0.1:9/v1", "--model", "m",
                       "--no-sandbox", "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2
    assert capsys.readouterr().err == (
        "synth run: error: --no-sandbox is for offline runs: LLM replies are untrusted code\n")


def test_an_offline_run_names_the_missing_layer_and_records_the_sandbox(tmp_path, monkeypatch, capsys) -> None:
    _without_seccomp(monkeypatch)
    out = tmp_path / "offline"
    assert synth_main(["run", "--category", "arithmetic", "--n", "4", "--offline", "--out", str(out),
                       "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "synth run: sandbox: this machine lacks seccomp; batches run without it\n" in err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sandbox"]["mode"] == "weak" and stats["sandbox"]["layers"]["seccomp"] == ""
