"""recommend's three outputs on every example patient: the JSON contract (shared/contract/recommend-json.md),
the Turtle results graph with PROV-O (checked as a graph against the JSON), and the text report."""
from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys

import pytest
import rdflib

from crlm_kg import paths
from crlm_kg.namespaces import CRLM, PREFIXES, PROV
from crlm_kg.render import result_to_json, result_to_text, results_to_turtle

EXAMPLES = sorted(paths.EXAMPLES_DIR.glob("*.ttl"))
SHARED = paths.ROOT.parent / "shared"
STRENGTHS = {"first-choice", "recommended", "consider", "not-routine", "not-recommended", "clinical-trial-only"}
LEVELS = {"1a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "4", "5", None}
KINDS = {"data-contradiction", "eligibility-violation", "plan-conflict", "missing-data", "guideline-conflict"}


@pytest.fixture(scope="module")
def results(engine):
    return engine.evaluate_files(EXAMPLES, as_of=dt.date(2026, 11, 27))


@pytest.fixture(scope="module")
def codes():
    path = SHARED / "terms" / "actions.csv"
    if not path.is_file():
        pytest.skip("shared/terms not beside the checkout")
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["key"]: sorted(filter(None, r["codes"].split(";"))) for r in csv.DictReader(fh)}


def test_examples_are_many():
    assert len(EXAMPLES) >= 12


def test_json_contract(results, codes):
    assert len(results) == len(EXAMPLES)
    for r in results:
        doc = json.loads(json.dumps(result_to_json(r), ensure_ascii=False))
        assert set(doc) >= {"patient", "guideline", "derived", "recommendations", "flags"}
        assert doc["guideline"]["version"] == "2023"
        d = doc["derived"]
        assert d["timing"] in {"synchronous", "metachronous", None}
        assert d["primary_side"] in {"left", "right", "rectum", None}
        assert d["clinical_risk_score"] is None or 0 <= d["clinical_risk_score"] <= 5
        assert all({"iri", "label_en", "label_zh"} <= set(c) for c in d["classes"])
        assert doc["recommendations"], doc["patient"]
        for rec in doc["recommendations"]:
            assert rec["section"] and rec["source_text_zh"] and rec["label_en"] and rec["label_zh"]
            assert rec["strength"] in STRENGTHS and rec["evidence_level"] in LEVELS
            assert (rec["evidence_level"] is None) == (rec["grade"] is None)
            assert rec["grade"] in {"A", "B", "C", "D", None} and rec["setting"]
            for a in rec["actions"]:
                assert a["key"] in codes
                assert sorted(f"{c['system']}:{c['code']}" for c in a["codes"]) == codes[a["key"]]
            assert all({"fact", "label_en"} <= set(b) for b in rec["because"])
            if rec["strength"] in {"first-choice", "recommended", "consider"}:
                assert rec["because"], rec["iri"]
        for f in doc["flags"]:
            assert f["kind"] in KINDS and f["severity"] in {"violation", "warning", "info"}
            assert f["constraint"].startswith("http") and f["focus"] and f["message_en"] and f["message_zh"]
            assert f["section"], f


def test_turtle_matches_json_as_a_graph(results, guideline):
    ttl = results_to_turtle(results, "test", generated=dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc))
    g = rdflib.Graph().parse(data=ttl, format="turtle")
    C = lambda n: rdflib.URIRef(CRLM[n])  # noqa: E731
    pairs = {(str(p), str(rec)) for node in g.subjects(rdflib.RDF.type, C("RecommendationResult"))
             for p in g.objects(node, C("forPatient")) for rec in g.objects(node, C("recommendation"))}
    expected = {(r.patient, gr.rec.iri) for r in results for gr in r.recommendations}
    assert pairs == expected
    guideline_recs = {rdflib.URIRef(r.iri) for r in guideline.recommendations}
    for node in g.subjects(rdflib.RDF.type, C("RecommendationResult")):
        # crlm:recommendation is a sub-property of prov:wasDerivedFrom; the time is on the generating activity
        assert set(g.objects(node, C("recommendation"))) <= guideline_recs
        run = g.value(node, rdflib.URIRef(PROV.wasGeneratedBy))
        assert (run, rdflib.URIRef(PROV.endedAtTime), None) in g
        for fact in g.objects(node, C("becauseFact")):
            assert (fact, C("feature"), None) in g
    flags = sum(len(r.flags) for r in results)
    assert len(set(g.subjects(rdflib.RDF.type, C("FlagResult")))) == flags


def test_text_report_groups_and_cites(results):
    text = result_to_text(results[0])
    assert "Recommendations" in text and "Flags" in text and "[" in text
    zh = result_to_text(results[0], "zh")
    assert "推荐" in zh and "原文" in zh


def test_cli_json_for_any_example():
    proc = subprocess.run([sys.executable, "-m", "crlm_kg", "recommend", str(EXAMPLES[2]), "--format", "json", "--as-of", "2026-11-27"],
                          capture_output=True, text=True, check=True)
    doc = json.loads(proc.stdout)
    assert doc["patient"].startswith(PREFIXES["ex"]) and doc["recommendations"]
