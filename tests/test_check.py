"""crlm-kg check: the consistency check of the guideline itself.

- seeded faults (tests/check_faults/*/fault.json): each fault is put into a COPY of the guideline and must be found
  with the right kind; none of the expected findings may appear for the unmodified guideline;
- the real findings of the 2023 guideline (tests/check_faults/expected-real-findings.json) are reported, and every
  conflict's witness patient, written to a file, makes the public engine API give both recommendations;
- the region arithmetic, the pathways graph, the flowchart formats and the command line (exit codes 0/1/2).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from crlm_kg.terms import to_rdflib
from crlm_kg import cli, paths
from crlm_kg.check.run import CHECKS, run_check
from crlm_kg.namespaces import compact

CASES_DIR = Path(__file__).parent / "check_faults"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "fault.json").is_file())
EXPECTED = json.loads((CASES_DIR / "expected-real-findings.json").read_text(encoding="utf-8"))
HAS_JAVA = shutil.which("java") is not None


def test_fault_cases_collected():
    assert [c.name for c in CASES] == ["contradictory-recommendation", "population-without-recommendation",
                                       "unreachable-pathway-state", "unsatisfiable-class", "wrong-grade"]


@pytest.fixture(scope="module")
def baseline():
    """The unmodified guideline, every check but HermiT (test_hermit.py covers the DL reasoner on it)."""
    return run_check(hermit=False)


def _matches(finding, exp: dict) -> bool:
    if finding.kind != exp["kind"]:
        return False
    if "verdict" in exp and finding.verdict != exp["verdict"]:
        return False
    wanted = exp.get("message_contains", [])
    if any(w not in finding.message for w in ([wanted] if isinstance(wanted, str) else wanted)):
        return False
    srcs = {compact(s.iri) for s in finding.sources}
    return set(exp.get("sources", [])) <= srcs


def _seed(case: Path, tmp: Path) -> Path:
    """Copy the guideline to tmp and apply the case's edits; return the copy's directory."""
    spec = json.loads((case / "fault.json").read_text(encoding="utf-8"))
    copy = tmp / "ontology"
    shutil.copytree(paths.ONTOLOGY_DIR, copy)
    for edit in spec.get("edits", []):
        target = copy / edit["file"]
        text = target.read_text(encoding="utf-8")
        start, end = 0, len(text)
        if "within" in edit:
            start = text.index(edit["within"])
            end = text.find("\n\n", start)
            end = len(text) if end < 0 else end
        block = text[start:end]
        assert block.count(edit["old"]) == edit["count"], f"{case.name}: {edit['old']!r} occurs {block.count(edit['old'])} times"
        target.write_text(text[:start] + block.replace(edit["old"], edit["new"]) + text[end:], encoding="utf-8")
    if spec.get("add"):
        shutil.copy(case / spec["add"], copy / "guideline" / "zz-seeded-fault.ttl")
    return copy


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_seeded_fault_is_detected_with_the_right_kind(case, tmp_path, baseline):
    spec = json.loads((case / "fault.json").read_text(encoding="utf-8"))
    copy = _seed(case, tmp_path)
    report = run_check([copy], hermit=spec["hermit"], checks=tuple(spec["checks"]), verify_coverage=False)
    for exp in spec["expect"]:
        assert any(_matches(f, exp) for f in report.findings), \
            f"{case.name}: no {exp} among {[(f.kind, f.message[:120]) for f in report.findings][:20]}"
        assert not any(_matches(f, exp) for f in baseline.findings), f"{case.name}: {exp} is already in the unmodified guideline"


@pytest.mark.skipif(not HAS_JAVA, reason="HermiT needs Java")
def test_hermit_finds_the_seeded_unsatisfiable_class(tmp_path):
    copy = _seed(CASES_DIR / "unsatisfiable-class", tmp_path)
    report = run_check([copy], hermit=True, checks=("logic",))
    by = {f.details.get("reasoner") for f in report.findings
          if f.kind == "owl-unsatisfiable-class" and f.details.get("class") == "crlm:FitAndUnfitPatient"}
    assert by == {"HermiT", "OWL 2 RL (reasonable)"}


# ---------------------------------------------------------------------- the unmodified 2023 guideline
@pytest.mark.parametrize("exp", EXPECTED["findings"], ids=lambda e: f"{e['kind']}:{'/'.join(e.get('sources', []))}")
def test_real_finding_is_reported(baseline, exp):
    assert any(_matches(f, exp) for f in baseline.findings), exp


@pytest.mark.parametrize("exp", EXPECTED["examined"], ids=lambda e: f"{e['a']}/{e['b']}")
def test_candidate_pair_examined_and_not_a_conflict(baseline, exp):
    rows = [x for x in baseline.tables["conflicts_examined"] if compact(x["a"]) == exp["a"] and compact(x["b"]) == exp["b"]]
    assert len(rows) == 1 and rows[0]["outcome"] == exp["outcome"] and exp["reason"] in rows[0]["reason"], rows


def test_threshold_verdicts(baseline):
    verdicts = {r["quantity"]: r["verdict"] for r in baseline.tables["thresholds"]}
    for quantity, verdict in EXPECTED["threshold_verdicts"].items():
        assert verdicts[quantity] == verdict, (quantity, verdicts.get(quantity))


def test_bundled_guideline_is_structurally_clean_and_has_errors(baseline):
    assert [f for f in baseline.findings if f.check in ("structure", "logic", "pathways") and f.severity != "info"] == []
    assert baseline.has_errors                                      # the real conflicts: exit code 1
    from crlm_kg.check.model import load_model
    cov, size = baseline.tables["coverage"], 1
    for d in load_model().space.dimensions:
        size *= len(d.profiles)
    assert cov["size"] == size == cov["excluded_by_model"] + cov["inconsistent"] + cov["evaluated"]


def test_every_conflict_has_sections_and_both_source_sentences(baseline):
    conflicts = [f for f in baseline.findings if f.kind == "conflicting-recommendations"]
    assert len(conflicts) >= 10
    for f in conflicts:
        assert f.verdict in ("true conflict", "refinement", "alternative")
        assert f.details["verified_by_engine"] is True
        assert len(f.sections) >= 1
        assert all(s.text_zh and s.text_en for s in f.sources[:2]), f.message


@pytest.fixture(scope="module")
def witness_dir(baseline, tmp_path_factory):
    out = tmp_path_factory.mktemp("witnesses")
    picked = [f for f in baseline.findings if f.kind == "conflicting-recommendations"
              and any(_matches(f, e) for e in EXPECTED["findings"])]
    for i, f in enumerate(picked):
        (out / f"w{i}.ttl").write_text(f.details["witness_turtle"], encoding="utf-8")
    return out, picked


def test_witness_records_give_both_recommendations_through_the_public_api(engine, witness_dir):
    out, picked = witness_dir
    expected = [e for e in EXPECTED["findings"] if e["kind"] == "conflicting-recommendations"]
    assert len(picked) >= len(expected) >= 3
    results = engine.evaluate_files([out])
    for f, result in zip(picked, results):
        given = {gr.rec.iri for gr in result.recommendations}
        assert {f.sources[0].iri, f.sources[1].iri} <= given, f.message


def test_witness_turtle_reads_the_same_in_two_parsers(witness_dir):
    """The witness records of the report are one graph whichever parser reads them (compared as graphs, blank
    node episodes included: rdflib isomorphism)."""
    import rdflib
    from rdflib.compare import isomorphic
    out, _ = witness_dir
    for path in sorted(out.glob("*.ttl")):
        a = rdflib.Graph().parse(path, format="turtle")
        b = rdflib.Graph()
        for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            b.add(tuple(to_rdflib(x) for x in (t.subject, t.predicate, t.object)))
        assert len(a) > 0 and isomorphic(a, b)



# ---------------------------------------------------------------------- regions
def test_regions_containment_and_disjointness(guideline):
    from crlm_kg.check.regions import FeatureModel
    fm = FeatureModel(guideline)
    rec = {compact(r.iri): r for r in guideline.recommendations}
    inner, outer = rec["rec:R6.1.1.1-i"], rec["rec:R6-b"]
    assert fm.contains(outer.criteria, fm.regions(inner.criteria))          # FOLFOXIRI-first ⊂ conversion chemotherapy
    assert not fm.contains(inner.criteria, fm.regions(outer.criteria))
    assert fm.overlap(fm.regions(rec["rec:R6.1.1.1-f"].criteria), fm.regions(rec["rec:R6.1.1.1-g"].criteria))
    assert not fm.overlap(fm.regions(rec["rec:R6.1.1.1-g"].criteria), fm.regions(rec["rec:R6.1.1.1-h"].criteria))  # left vs right
    assert not fm.overlap(fm.regions(rec["rec:R1.3.2-d"].criteria), fm.regions(rec["rec:R4.1.3-d"].criteria))


# ---------------------------------------------------------------------- pathways and flowchart
@pytest.fixture(scope="module")
def pathway_check(guideline):
    from crlm_kg.check.model import load_model
    from crlm_kg.check.pathways import PathwayCheck
    from crlm_kg.check.regions import FeatureModel
    return PathwayCheck(guideline, load_model(), FeatureModel(guideline))


def test_pathway_graph_reachable_with_only_reevaluation_cycles(pathway_check):
    import networkx as nx
    R = pathway_check.realised_graph()
    entry = [n for n, d in R.nodes(data=True) if d["entry"]]
    assert len(entry) == 1 and nx.descendants(R, entry[0]) | set(entry) == set(R.nodes)
    for cyc in nx.simple_cycles(R):
        assert any(R.edges[a, b]["loop"] for a, b in zip(cyc, cyc[1:] + cyc[:1])), cyc
    assert any(d["interval"] == "every 6–8 wk" for _, _, d in R.edges(data=True))   # from thr:conversion-evaluation-*


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_flowchart_text_formats_name_every_state(pathway_check, fmt):
    text = pathway_check.render(fmt, "zh").decode("utf-8")
    for _, d in pathway_check.graph.nodes(data=True):
        assert d["label_zh"] in text
    assert text.startswith("flowchart TD" if fmt == "mermaid" else "digraph")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_flowchart_svg(pathway_check):
    svg = pathway_check.render("svg", "en")
    assert b"<svg" in svg and b"Liver surgery" in svg and svg.count(b'class="node"') == len(pathway_check.graph.nodes)


# ---------------------------------------------------------------------- command line
def _main(argv) -> int:
    modules = cli.COMMAND_MODULES if "crlm_kg.check_cli" in cli.COMMAND_MODULES else cli.COMMAND_MODULES + ["crlm_kg.check_cli"]
    old = list(cli.COMMAND_MODULES)
    cli.COMMAND_MODULES[:] = modules
    try:
        return cli.main(argv)
    finally:
        cli.COMMAND_MODULES[:] = old


def test_cli_exit_codes_and_formats(tmp_path, capsys):
    assert _main(["check", "--only", "evidence,structure", "--format", "json"]) == 0      # warnings only
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["error"] == 0 and any(f["kind"] == "grade-level-mismatch" for f in doc["findings"])
    assert _main(["check", "--only", "conflicts", "--format", "html", "--out", str(tmp_path)]) == 1
    assert "<html" in (tmp_path / "consistency-report.html").read_text(encoding="utf-8")
    capsys.readouterr()
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix x: <https://e.org/> .\nx:a x:b\n", encoding="utf-8")
    assert _main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"crlm-kg: error: {bad}:")
    assert _main(["check", str(tmp_path / "missing.ttl")]) == 2
    assert _main(["flowchart", "--format", "mermaid", "--out", str(tmp_path / "p.mmd")]) == 0
    assert (tmp_path / "p.mmd").read_text(encoding="utf-8").startswith("flowchart TD")


def test_register_adds_both_commands():
    from crlm_kg import check_cli
    p = argparse.ArgumentParser()
    check_cli.register(p.add_subparsers(dest="command"))
    assert p.parse_args(["check", "--no-hermit"]).func is check_cli.cmd_check
    assert p.parse_args(["flowchart", "--format", "svg", "--lang", "zh"]).func is check_cli.cmd_flowchart


def test_checks_are_the_seven_of_the_issue():
    assert CHECKS == ("structure", "logic", "conflicts", "evidence", "thresholds", "coverage", "pathways")
