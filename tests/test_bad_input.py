"""Bad input gets one line on stderr naming the file (and line), exit code 2, and never a traceback (manifest-driven)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "bad_input"
MANIFEST = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["cases"]


def test_manifest_covers_every_file():
    files = {p.name for p in HERE.glob("*.ttl")}
    listed = {c["file"] for c in MANIFEST}
    assert files <= listed and len(MANIFEST) == 11


@pytest.mark.parametrize("case", MANIFEST, ids=lambda c: c["file"])
def test_bad_input_is_one_line_exit_2(case):
    path = HERE / case["file"]
    proc = subprocess.run([sys.executable, "-m", "crlm_kg", "recommend", str(path), "--format", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    where = f"{path}:{case['line']}:" if case["line"] else f"{path}:"
    assert where in lines[0]
    assert case["says"] in lines[0]


def test_one_bad_file_among_good_ones_stops_the_run():
    """Nothing is silently dropped: a directory with one bad file fails as a whole."""
    good = Path(__file__).parents[1] / "examples" / "patients" / "01-resectable-metachronous.ttl"
    proc = subprocess.run([sys.executable, "-m", "crlm_kg", "recommend", str(good), str(HERE / "no-patient.ttl")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no-patient.ttl" in proc.stderr
