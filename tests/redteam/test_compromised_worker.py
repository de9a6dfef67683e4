"""A compromised worker: *trusted* units (``Unit(..., trusted=True)`` skips the static screen) that
run attacker code at import on purpose, i.e. what any screen bypass gives an attacker.  Whatever
the screen misses, the worker must still not be able to: open a socket, write outside its folder,
read a file outside it, read the parent's environment, leave a process alive after its batch,
signal a process outside, or change another batch's output (nor, here reported separately, a
neighbour's in its own batch), and resource bombs must hit a limit.  Its environment must hold
no secret of the parent.

All units go through ONE engine run (``engine_driver.py`` in a process of its own that holds the
planted secrets), shared by the tests below; each test checks one property with its canary.
"""

from __future__ import annotations

import pytest

from tests.redteam.canaries import SENTINELS, RunCanaries, escape_report, ir_of_outcome
from tests.redteam.cases import fill, payload_code
from tests.redteam.paths import run_driver

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

_KERNEL = ("\n\nimport warp as wp\n\n\n@wp.kernel\ndef compromised_@@CASE@@(a: wp.array(dtype=float)):\n"
           "    a[wp.tid()] = 1.0\n")

_ENV_SELF = '''
import os
try:
    with open("/proc/self/environ", "rb") as f:
        raw = f.read().decode("latin-1").replace("\\0", " ")
except OSError as e:
    raw = "(/proc/self/environ: %s)" % e
raise RuntimeError("worker env: " + " ".join("%s=%s" % kv for kv in sorted(os.environ.items()))[:500] + " | " + raw[:500])
'''

# unit name -> payload (module-level code, run at import)
UNITS = {
    "cw_socket": "tcp", "cw_write_tmp": "write_tmp", "cw_write_checkout": "write_checkout",
    "cw_read_secret": "read_secret", "cw_parent_env": "parent_env", "cw_all_env": "all_env",
    "cw_proc_mem": "proc_mem", "cw_signal": "signal", "cw_env_self": None,
    "cw_daemon": "daemon", "cw_orphan": "orphan",
    "cw_poison_warp": "poison_warp", "cw_poison_worker": "poison_worker",
    "cw_bomb_memory": "mem", "cw_bomb_fork": "fork", "cw_bomb_big_file": "fsize", "cw_bomb_cpu_spin": "spin",
}
BOMBS = ["cw_bomb_memory", "cw_bomb_fork", "cw_bomb_big_file", "cw_bomb_cpu_spin"]
TIMEOUT_BASE, TIMEOUT_PER_UNIT = 12.0, 3.0
SAME_BATCH_SENTINEL = "sentinel_19"
LATER_SENTINELS = ["sentinel_20", "sentinel_21", "sentinel_22", "sentinel_23"]


def unit_source(name: str, can: RunCanaries) -> str:
    kind = UNITS[name]
    code = _ENV_SELF if kind is None else payload_code(kind)
    return fill(code + _KERNEL, can.ctx(name))


def run_compromised(can: RunCanaries, reference_ir, *, sandbox: bool = True, bombs: bool = True) -> dict:
    """One engine run of the compromised units; the findings per property."""
    names = [n for n in UNITS if bombs or n not in BOMBS]
    units = {n: unit_source(n, can) for n in names}
    units.update({n: SENTINELS[n] for n in [SAME_BATCH_SENTINEL, *LATER_SENTINELS]})
    phases = [
        [["cw_socket", "cw_write_tmp", "cw_write_checkout", "cw_read_secret", "cw_parent_env", "cw_all_env",
          "cw_proc_mem", "cw_signal", "cw_env_self"],
         ["cw_daemon", "cw_orphan"],
         ["cw_poison_warp", "cw_poison_worker", SAME_BATCH_SENTINEL],
         *([[b] for b in BOMBS] if bombs else [])],
        [LATER_SENTINELS[:2], LATER_SENTINELS[2:]],
    ]
    options = {"workers": 2, "batch_size": 16, "timeout_base": TIMEOUT_BASE, "timeout_per_unit": TIMEOUT_PER_UNIT}
    if not sandbox:
        options["sandbox"] = False
    result, proc = run_driver(can, units, phases, trusted=True, options=options, timeout=400)
    outcomes = result.get("outcomes", {})
    texts = {n: str(o.get("message", "")) if o.get("status") == "rejected" else str(o) for n, o in outcomes.items()}
    deadline = TIMEOUT_BASE + TIMEOUT_PER_UNIT  # a batch of one bomb
    findings = {
        "bombs": [f for n in BOMBS for f in can.check_text(n, "its outcome", texts.get(n, ""), deadline_s=deadline)],
        "socket": can.check_listener(names),
        "write": can.check_markers(names),
        "secret": [f for n in names if n not in BOMBS
                   for f in can.check_text(n, "its outcome", texts.get(n, ""), deadline_s=1e9)]
        + can.check_text("(run)", "driver output", (proc.stdout + proc.stderr) if proc else "", deadline_s=1e9),
        "survivor": can.check_survivors(names),
        "signal": can.check_decoy(["cw_signal"], " driver got SIGWINCH" if result.get("signals") else ""),
    }
    irs = {n: ir_of_outcome(outcomes[n]) for n in [SAME_BATCH_SENTINEL, *LATER_SENTINELS]
           if outcomes.get(n, {}).get("status") == "accepted"}
    findings["poison-later"] = can.check_poison({n: irs[n] for n in LATER_SENTINELS if n in irs}, reference_ir, names)
    findings["poison-same"] = can.check_poison({n: irs[n] for n in [SAME_BATCH_SENTINEL] if n in irs},
                                               reference_ir, names)
    return {"findings": findings, "outcomes": outcomes, "texts": texts, "error": result.get("error"), "irs": irs,
            "can": can, "ignored_options": result.get("ignored_options", [])}


@pytest.fixture(scope="module")
def compromised(tmp_path_factory, reference_ir):
    can = RunCanaries(tmp_path_factory.mktemp("redteam-compromised"), "compromised")
    try:
        yield run_compromised(can, reference_ir)
    finally:
        can.close()


def _no(findings, what):
    assert not findings, escape_report("compromised-worker", findings, []) + f"\n({what})"


def test_the_run_itself_completes(compromised):
    assert compromised["error"] is None, compromised["error"]


def test_cannot_open_a_socket(compromised):
    _no(compromised["findings"]["socket"], "a trusted unit connected to the loopback listener")


def test_cannot_write_outside_its_folder(compromised):
    _no(compromised["findings"]["write"], "a trusted unit created a marker file outside its folder")


def test_cannot_read_a_file_outside_its_folder(compromised):
    hits = [f for f in compromised["findings"]["secret"] if "secret-file" in f.detail]
    _no(hits, "the planted secret file's token reached an output")


def test_cannot_read_the_parents_environment(compromised):
    hits = [f for f in compromised["findings"]["secret"] if f.detail.startswith("env:")]
    _no(hits, "the parent's planted environment secrets reached an output")


def test_cannot_leave_a_process_alive_after_its_batch(compromised):
    _no(compromised["findings"]["survivor"], "a process started by a unit outlived its batch")


def test_cannot_signal_a_process_outside(compromised):
    _no(compromised["findings"]["signal"], "a unit's signal reached the decoy or the parent")


def test_cannot_change_another_batchs_output(compromised):
    missing = [n for n in LATER_SENTINELS if n not in compromised["irs"]]
    assert not missing, f"benign units of later batches were not accepted: {missing}"
    _no(compromised["findings"]["poison-later"], "a unit patched the worker so later batches got different IR")


def test_cannot_change_a_neighbours_output_in_its_batch(compromised):
    assert SAME_BATCH_SENTINEL in compromised["irs"], "the benign unit of the poisoning batch was not accepted"
    _no(compromised["findings"]["poison-same"], "a unit patched its process so a later unit of its batch got "
                                                "different IR")


def test_worker_environment_holds_no_secret_of_the_parent(compromised):
    text = compromised["texts"].get("cw_env_self", "")
    assert text.startswith("RuntimeError: worker env:"), f"the environment probe did not report: {text[:300]}"
    can = compromised["can"]
    leaked = [label for label, token in can.tokens.items() if token in text]
    names = [k for k in ("OPENAI_API_KEY", "SYNTH_CANARY", "SYNTH_LLM_") if k in text]
    assert not leaked and not names, f"the worker's environment holds {leaked or names}: {text[:600]}"


def test_resource_bombs_are_contained(compromised):
    """Memory past --mem-limit-mb, 200 processes, a 200 MB file, a spin past the deadline: each must
    be stopped by a limit (an error, a kill, a timeout) before its own bound."""
    _no(compromised["findings"]["bombs"], "a bounded bomb reached its bound: no limit stopped it first")


def test_canaries_fire_without_the_sandbox(tmp_path_factory, reference_ir):
    """The canaries are live: the same compromised units with the OS sandbox off
    (``ExtractOptions(sandbox=False)``; versions without a sandbox ignore the option) trip every
    canary above, so a test above that passes means containment, not a blind canary."""
    can = RunCanaries(tmp_path_factory.mktemp("redteam-canary-selftest"), "selftest")
    try:
        run = run_compromised(can, reference_ir, sandbox=False, bombs=False)
    finally:
        can.close()
    f = run["findings"]
    fired = {
        "socket": any(x.case == "cw_socket" for x in f["socket"]),
        "write tmp": any(x.case == "cw_write_tmp" for x in f["write"]),
        "write checkout": any(x.case == "cw_write_checkout" for x in f["write"]),
        "read secret file": any(x.case == "cw_read_secret" and "secret-file" in x.detail for x in f["secret"]),
        "parent environment": any(x.case == "cw_parent_env" and x.detail.startswith("env:") for x in f["secret"]),
        "parent memory": any(x.case == "cw_proc_mem" and x.detail.startswith("env:") for x in f["secret"]),
        "survivor (setsid daemon)": any(x.case == "cw_daemon" for x in f["survivor"]),
        "survivor (orphan)": any(x.case == "cw_orphan" for x in f["survivor"]),
        "signal": bool(f["signal"]),
        "poison, same batch": bool(f["poison-same"]),
        "poison, later batch": bool(f["poison-later"]),
    }
    dead = [k for k, v in fired.items() if not v]
    assert not dead, f"canaries that did not fire without the sandbox: {dead}\n{run['texts']}"
