"""Benchmark of the full consistency check (crlm-kg check) on the bundled guideline, with and without HermiT.

    from bench.check_bench import check_timings
    check_timings()      # {"without_hermit_s": …, "with_hermit_s": …, "per_check_without_hermit_s": {…}, …}

Each timing is the best of `repeat` runs of crlm_kg.check.run.run_check (guideline load and engine compilation
included). HermiT needs Java; without it "with_hermit_s" is None.
"""
from __future__ import annotations

import shutil
import time


def _best(fn, repeat: int):
    best, last = None, None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        last = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, last


def check_timings(repeat: int = 1) -> dict:
    from crlm_kg.check.run import run_check

    without, report = _best(lambda: run_check(hermit=False), repeat)
    out = {"without_hermit_s": round(without, 2),
           "per_check_without_hermit_s": {k: round(v, 2) for k, v in report.timings.items()},
           "findings": {s: report.count(s) for s in ("error", "warning", "info")},
           "with_hermit_s": None, "hermit_s": None}
    if shutil.which("java"):
        with_h, report_h = _best(lambda: run_check(hermit=True), repeat)
        out["with_hermit_s"] = round(with_h, 2)
        out["hermit_s"] = round(report_h.timings.get("logic (HermiT)", 0.0), 2)
    return out


if __name__ == "__main__":
    import json
    print(json.dumps(check_timings(), indent=2))
