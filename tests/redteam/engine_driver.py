"""Run units through ``warp_synth.extract.Extractor`` in a process of its own (the red-team engine path).

    python tests/redteam/engine_driver.py CONFIG.json

The tests run the engine here rather than in pytest's own process: the hostile units' parent is
then a process that holds the planted environment secrets (``/proc/<ppid>/environ``, its memory)
and that a unit may signal, without the test process being the target.  CONFIG:

    {"options": {ExtractOptions fields}, "trusted": bool, "units": {key: source},
     "phases": [[[key, ...], ...], ...], "out": "result.json"}

Options this version of ``ExtractOptions`` lacks are ignored (and listed in the result).  Phases run one after the other; the batches of a phase are submitted together (the pool runs
``workers`` at a time).  The result: ``{"outcomes": {key: outcome dict}, "stats", "signals",
"elapsed_s"}``.  SIGWINCH (what the signal payload sends its parent) is counted, not obeyed.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from dataclasses import asdict


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    signals: list[int] = []
    signal.signal(signal.SIGWINCH, lambda signum, frame: signals.append(signum))

    import dataclasses

    from warp_synth.extract.engine import ExtractOptions, Extractor
    from warp_synth.records import Unit

    known = {f.name for f in dataclasses.fields(ExtractOptions)}
    ignored = sorted(set(cfg["options"]) - known)  # e.g. "sandbox" on a version that has none

    t0 = time.monotonic()
    outcomes: dict[str, dict] = {}
    error = None
    stats: dict = {}
    try:
        with Extractor(ExtractOptions(**{k: v for k, v in cfg["options"].items() if k in known})) as ex:
            for phase in cfg["phases"]:
                futures = [ex.submit_batch([Unit(k, cfg["units"][k], bool(cfg["trusted"])) for k in batch])
                           for batch in phase if batch]
                for f in futures:
                    for o in f.result():
                        outcomes[o.key] = asdict(o)
            stats = ex.stats
    except Exception:  # reported, not raised: the test reads the result file
        error = traceback.format_exc()
    result = {"outcomes": outcomes, "stats": stats, "signals": len(signals), "error": error, "ignored_options": ignored,
              "elapsed_s": round(time.monotonic() - t0, 2)}
    with open(cfg["out"], "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0 if error is None else 3


if __name__ == "__main__":
    sys.exit(main())
