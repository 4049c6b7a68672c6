"""The consistency check of a guideline graph (crlm-kg check): load once, run the seven checks, collect a report.

    from crlm_kg.check.run import run_check
    report = run_check()                      # the bundled guideline (paths.ontology_files())
    report.has_errors, report.findings, report.tables

Checks, in order: structure (QC queries, SHACL shapes of the guideline graph), logic (OWL 2 RL closure; HermiT unless
hermit=False), conflicts (pairs of recommendations, witnesses run through the engine), evidence (grade vs Oxford
level), thresholds (limits on the same quantity), coverage (state space), pathways (networkx graph).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from .. import paths
from ..derive import read_header
from ..errors import InputError
from ..guideline import GUIDELINE_GRAPH, Guideline
from .conflicts import ConflictChecker
from .findings import CheckReport
from .model import load_model
from .regions import FeatureModel

CHECKS = ("structure", "logic", "conflicts", "evidence", "thresholds", "coverage", "pathways")


def expand_guideline_files(items) -> list[Path]:
    """GUIDELINE_FILES arguments: Turtle files, or directories (all *.ttl below them, sorted)."""
    from ..patients import expand_inputs
    return expand_inputs(items, recursive=True)


def _queries(check: str) -> list[Path]:
    return [p for p in paths.guideline_qc_queries() if read_header(p.read_text(encoding="utf-8")).get("check") == check]


@contextmanager
def _timed(report: CheckReport, name: str):
    t = time.perf_counter()
    yield
    report.timings[name] = report.timings.get(name, 0.0) + time.perf_counter() - t


def run_check(files=None, hermit: bool = True, checks=CHECKS, model_files=None, verify_coverage: bool = True,
              hermit_timeout: int = 300) -> CheckReport:
    from ..recommend import Engine

    t0 = time.perf_counter()
    files = expand_guideline_files(files) if files else paths.ontology_files()
    report = CheckReport(files)
    with _timed(report, "load"):
        g = Guideline.load(files)
        if not any(True for _ in g.store.quads_for_pattern(None, None, None, ox.NamedNode(GUIDELINE_GRAPH))):
            raise InputError(str(files[0]) if files else "guideline", None, "empty graph: no triples")
        if not g.recommendations:
            report.notes.append("the guideline graph has no crlm:Recommendation")
        model = load_model(model_files)
        fm = FeatureModel(g)
        engine = Engine(g)
    pairs: dict = {}
    if "structure" in checks:
        from .structure import qc_findings, query_findings, shacl_findings
        with _timed(report, "structure"):
            report.findings += qc_findings(g, paths.qc_queries())
            report.findings += shacl_findings(g, files, paths.guideline_shape_files())
            for q in _queries("structure"):
                report.findings += query_findings(g, q, "structure", q.stem)
    if "logic" in checks:
        from .logic import hermit_findings, rl_findings
        with _timed(report, "logic (OWL 2 RL)"):
            report.findings += rl_findings(g, _queries("owl-rl"))
        if hermit:
            with _timed(report, "logic (HermiT)"):
                found, note = hermit_findings(g, hermit_timeout)
                report.findings += found
                report.notes.append(note)
        else:
            report.notes.append("HermiT skipped (--no-hermit)")
    if "conflicts" in checks:
        with _timed(report, "conflicts"):
            cc = ConflictChecker(g, engine, model, fm)
            found = cc.run()
            report.findings += found
            report.tables["conflicts_examined"] = [
                {"kind": x.kind, "a": x.a, "b": x.b, "outcome": x.outcome, "reason": _disjoint_reason(cc, x)} for x in cc.examined]
            pairs = {(x.a, x.b): x.outcome for x in cc.examined}
            pairs.update({(f.sources[0].iri, f.sources[1].iri): f.verdict for f in found})
    if "evidence" in checks:
        from .evidence import evidence_findings
        with _timed(report, "evidence"):
            found, table = evidence_findings(g, _queries("evidence"))
            report.findings += found
            report.tables["evidence"] = table
    if "thresholds" in checks:
        from .thresholds import ThresholdCheck
        with _timed(report, "thresholds"):
            found, table = ThresholdCheck(g, fm, pairs).run()
            report.findings += found
            report.tables["thresholds"] = table
    if "coverage" in checks and model.space is not None:
        from .statespace import CoverageCheck
        with _timed(report, "coverage"):
            found, table = CoverageCheck(engine, model, fm).run(verify=verify_coverage)
            report.findings += found
            report.tables["coverage"] = table
    if "pathways" in checks and model.states:
        from .pathways import PathwayCheck
        with _timed(report, "pathways"):
            found, table = PathwayCheck(g, model, fm).run()
            report.findings += found
            report.tables["pathways"] = table
    report.timings["total"] = time.perf_counter() - t0
    return report


def _disjoint_reason(cc: ConflictChecker, x) -> str:
    """For a disjoint pair: the features on which the two populations exclude each other."""
    if x.outcome != "disjoint":
        return ""
    by = {r.iri: r for r in cc.g.recommendations}
    a, b = by.get(x.a), by.get(x.b)
    if a is None or b is None:
        return ""
    feats = set()
    for ra in cc.population(a):
        for rb in cc.population(b):
            for f in set(ra.fcs) & set(rb.fcs):
                if cc.fm.fc_empty(f, ra.fcs[f] & rb.fcs[f]):
                    feats.add(cc.g.label(f))
    return ", ".join(sorted(feats))
