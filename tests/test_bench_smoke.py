"""The benchmark command runs (smoke size) and reports every figure it promises. No timing is asserted."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_smoke_reports_every_figure(tmp_path):
    out, js = tmp_path / "b.md", tmp_path / "b.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out), "--json", str(js)],
                   check=True, capture_output=True, text=True)
    report = json.loads(js.read_text())
    figures = report["figures"]
    for key in ("cold_help_s", "import_rdflib_s", "cold_recommend_one_s", "warm_latency_median_s", "warm_latency_p95_s",
                "floor_parse_median_s", "cohort_100_patients_per_s", "validate_one_s", "validate_cohort_patients_per_s",
                "peak_rss_mb_self"):
        assert figures[key] > 0, key
    assert report["machine"]["cores"] >= 1
    text = out.read_text()
    assert "# Benchmarks" in text and "Reproduce: `python bench/run.py`" in text
