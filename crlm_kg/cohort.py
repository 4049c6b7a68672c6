"""Cohorts: many patients through recommend, in batches, on every core.

    crlm-kg recommend --cohort DIR_OR_FILES --out OUT [--workers N] [--batch-size N]

writes OUT/results.jsonl (one JSON-contract object per patient), OUT/results.nt (the results graph, N-Triples, with
PROV-O) and OUT/summary.json (counts, flags by kind, throughput). Each worker process loads and compiles the
guideline once; batches of files go to the workers; a bad file stops the run with its file and line (exit 2).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

_ENGINE = None


def _init_worker() -> None:
    global _ENGINE
    from .recommend import Engine
    _ENGINE = Engine()


def _run_batch(args):
    """Worker: evaluate one batch of files; return JSON lines, N-Triples and counts (or the input error)."""
    from . import __version__
    from .errors import InputError
    from .render import result_to_json, results_to_ntriples
    paths, as_of, generated = args
    try:
        files = [_ENGINE.reader.read(Path(p)) for p in paths]
    except InputError as exc:
        return {"error": (exc.path, exc.line, exc.message)}
    results = _ENGINE.evaluate(files, as_of=as_of)
    lines = [json.dumps(result_to_json(r), ensure_ascii=False) for r in results]
    flags = Counter(f.kind for r in results for f in r.flags)
    return {"jsonl": "\n".join(lines) + "\n", "nt": results_to_ntriples(results, __version__, generated),
            "patients": len(results), "flags": dict(flags)}


def _batches(files: list[Path], size: int):
    for i in range(0, len(files), size):
        yield [str(p) for p in files[i:i + size]]


def _progress(done: int, total: int, started: float, stream=sys.stderr) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.perf_counter() - started, 1e-9)
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files  {rate:,.0f}/s")
    stream.flush()


def run_cohort(inputs: list[str], out_dir: str, workers: int | None = None, batch_size: int = 200,
               as_of: _dt.date | None = None, progress: bool | None = None) -> dict:
    from .errors import InputError
    from .patients import expand_inputs
    files = expand_inputs(inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    progress = sys.stderr.isatty() if progress is None else progress
    as_of = as_of or _dt.date.today()
    generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    started = time.perf_counter()
    done = patients = 0
    flags: Counter = Counter()
    jobs = [(b, as_of, generated) for b in _batches(files, batch_size)]
    with open(out / "results.jsonl", "w", encoding="utf-8") as jsonl, open(out / "results.nt", "wb") as nt:
        if workers == 1:
            _init_worker()
            results = map(_run_batch, jobs)
            pool = None
        else:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker)
            results = pool.map(_run_batch, jobs)
        try:
            for batch, res in zip(jobs, results):
                if "error" in res:
                    raise InputError(*res["error"])
                jsonl.write(res["jsonl"])
                nt.write(res["nt"])
                patients += res["patients"]
                flags.update(res["flags"])
                done += len(batch[0])
                if progress:
                    _progress(done, len(files), started)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - started
    if progress:
        sys.stderr.write("\n")
    summary = {"files": len(files), "patients": patients, "seconds": round(elapsed, 3),
               "patients_per_second": round(patients / elapsed, 1) if elapsed else None, "workers": workers,
               "batch_size": batch_size, "flags_by_kind": dict(sorted(flags.items())), "as_of": as_of.isoformat(),
               "outputs": ["results.jsonl", "results.nt"]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
