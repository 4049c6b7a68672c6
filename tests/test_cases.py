"""Case folders: tests/cases/<id>/patient.ttl + expected.json (+ README.md with the clinical story).

expected.json keys (all optional except group and polarity):
  group                   recommendation group the case exercises: the first two levels of the section path ("6.1")
  polarity                "positive" (the group's recommendation(s) must fire) or "negative" (must not)
  as_of                   evaluation date (default 2026-11-27)
  derived                 subset of the JSON "derived" object, compared by equality
  classes_include         patient-state classes the reasoner must infer
  recommendations_include / recommendations_exclude   recommendation IRIs (prefixed names allowed: rec:R6.1.1.1-e)
  actions_include / actions_exclude   action keys that must / must not appear in a positive recommendation
  flags_include / flags_exclude       flags matched on the keys given (kind, constraint, severity, path, action)
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crlm_kg.namespaces import PREFIXES
from crlm_kg.render import result_to_json

CASES = Path(__file__).parent / "cases"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []
POSITIVE = {"first-choice", "recommended", "consider"}


def expand(name: str) -> str:
    if ":" in name and not name.startswith("http"):
        prefix, local = name.split(":", 1)
        return PREFIXES[prefix] + local
    return name


def test_case_count():
    """Every folder is a complete case, and there are enough of them."""
    complete = [d for d in CASE_DIRS if (d / "patient.ttl").is_file() and (d / "expected.json").is_file()]
    assert len(complete) == len(CASE_DIRS)
    assert len(CASE_DIRS) >= 38


def test_every_group_has_a_positive_and_a_negative_case(guideline):
    groups = {".".join(r.section.rsplit("/", 1)[-1].split(".")[:2]) for r in guideline.recommendations}
    seen = {(json.loads((d / "expected.json").read_text())["group"], json.loads((d / "expected.json").read_text())["polarity"])
            for d in CASE_DIRS}
    missing = sorted(f"{g}/{pol}" for g in groups for pol in ("positive", "negative") if (g, pol) not in seen)
    assert not missing, f"groups without a case: {missing}"


def _flag_matches(flag: dict, want: dict) -> bool:
    return all(flag.get(k) == (expand(v) if k in ("constraint", "path") else v) for k, v in want.items())


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name)
def test_case(engine, case):
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(expected.get("as_of", "2026-11-27"))
    results = engine.evaluate_files([case / "patient.ttl"], as_of=as_of)
    assert len(results) == 1
    doc = result_to_json(results[0])
    recs = {r["iri"]: r for r in doc["recommendations"]}
    for key, value in expected.get("derived", {}).items():
        assert doc["derived"][key] == value, key
    classes = {c["iri"] for c in doc["derived"]["classes"]}
    for c in expected.get("classes_include", []):
        assert expand(c) in classes, c
    for r in expected.get("recommendations_include", []):
        assert expand(r) in recs, f"{r} should apply"
    for r in expected.get("recommendations_exclude", []):
        assert expand(r) not in recs, f"{r} should not apply"
    positive_actions = {a["key"] for r in doc["recommendations"] if r["strength"] in POSITIVE for a in r["actions"]}
    for a in expected.get("actions_include", []):
        assert a in positive_actions, f"action {a} should be offered"
    for a in expected.get("actions_exclude", []):
        assert a not in positive_actions, f"action {a} must not be offered"
    for want in expected.get("flags_include", []):
        assert any(_flag_matches(f, want) for f in doc["flags"]), f"missing flag {want}"
    for want in expected.get("flags_exclude", []):
        assert not any(_flag_matches(f, want) for f in doc["flags"]), f"unexpected flag {want}"
    for r in doc["recommendations"]:
        assert r["section"] and r["source_text_zh"], r["iri"]
