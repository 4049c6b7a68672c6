"""Logic: OWL 2 DL consistency and unsatisfiable classes with HermiT (check/hermit.py), and the quick path, an OWL 2
RL closure with `reasonable` searched by the clash queries of queries/qc-guideline/ (`# check: owl-rl`).

The RL path also finds unsatisfiable classes (soundly, not completely): every named class gets a fresh probe
individual before the closure is computed; a clash on a probe means its class cannot have members.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox

from ..derive import read_header
from ..guideline import GUIDELINE_GRAPH, Guideline
from ..namespaces import OWL, RDF_TYPE, compact, sparql_prefixes
from ..terms import from_rdflib, to_rdflib
from .describe import source
from .findings import Finding

PROBE = "probe-"


def guideline_triples(g: Guideline) -> list:
    gg = ox.NamedNode(GUIDELINE_GRAPH)
    return [ox.Triple(q.subject, q.predicate, q.object) for q in g.store.quads_for_pattern(None, None, None, gg)]


def named_classes(g: Guideline) -> list[str]:
    rows = g.store.query(sparql_prefixes() + "SELECT DISTINCT ?c WHERE { ?c a owl:Class . FILTER(isIRI(?c)) } ORDER BY ?c",
                         default_graph=ox.NamedNode(GUIDELINE_GRAPH))
    return [r["c"].value for r in rows if r["c"].value not in (OWL.Thing, OWL.Nothing)]


def hermit_findings(g: Guideline, timeout: int = 300) -> tuple[list[Finding], str]:
    """(findings, note). Without Java the check is skipped with a note, not failed."""
    if shutil.which("java") is None:
        return [], "HermiT skipped: no Java runtime (install openjdk-17-jre-headless)"
    from .hermit import run_hermit
    report = run_hermit(guideline_triples(g), timeout=timeout)
    out = []
    if not report.consistent:
        failed = report.message.startswith(("HermiT failed", "HermiT timed out"))
        out.append(Finding("logic", "hermit-failed" if failed else "owl-inconsistent", "warning" if failed else "error",
                           f"HermiT: {report.message}"))
    for iri in report.unsatisfiable:
        out.append(Finding("logic", "owl-unsatisfiable-class", "error",
                           f"HermiT: class {compact(iri)} is unsatisfiable (it can have no member)", [source(g, iri)],
                           details={"class": compact(iri), "reasoner": "HermiT"}))
    return out, f"HermiT: {report.message}"


def rl_closure(g: Guideline, probe: bool = True) -> tuple[ox.Store, dict]:
    """The OWL 2 RL closure of the guideline graph (plus one probe individual per named class)."""
    import rdflib
    import reasonable

    graph = rdflib.Graph()
    for t in guideline_triples(g):
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    probes = {}
    if probe:
        for i, c in enumerate(named_classes(g)):
            node = rdflib.BNode(f"{PROBE}{i}")
            probes[str(node)] = c
            graph.add((node, rdflib.URIRef(RDF_TYPE), rdflib.URIRef(c)))
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(graph)
    store = ox.Store()
    store.extend(ox.Quad(from_rdflib(s), from_rdflib(p), from_rdflib(o), ox.DefaultGraph()) for s, p, o in reasoner.reason())
    store.extend(ox.Quad(from_rdflib(s), from_rdflib(p), from_rdflib(o), ox.DefaultGraph()) for s, p, o in graph)
    return store, probes


def rl_findings(g: Guideline, clash_queries: list[Path]) -> list[Finding]:
    store, probes = rl_closure(g)
    out, unsat = [], {}
    for path in clash_queries:
        text = path.read_text(encoding="utf-8")
        header = read_header(text)
        for row in store.query(text):
            x = row["x"]
            detail = row["detail"].value if row["detail"] is not None else ""
            if isinstance(x, ox.BlankNode) and x.value in probes:
                unsat.setdefault(probes[x.value], []).append(detail)
                continue
            iri = x.value if isinstance(x, ox.NamedNode) else "_:" + x.value
            out.append(Finding("logic", header.get("kind", "owl-rl-clash"), header.get("severity", "error"),
                               f"OWL 2 RL: {compact(iri) if isinstance(x, ox.NamedNode) else 'a blank node'} is inconsistent: "
                               f"{_compact_text(detail)}",
                               [source(g, iri)] if isinstance(x, ox.NamedNode) else [],
                               details={"query": path.name, "rule": header.get("problem", "")}))
    for c, details in sorted(unsat.items()):
        out.append(Finding("logic", "owl-unsatisfiable-class", "error",
                           f"OWL 2 RL: class {compact(c)} is unsatisfiable: a member would be inconsistent "
                           f"({_compact_text(details[0])})", [source(g, c)],
                           details={"class": compact(c), "reasoner": "OWL 2 RL (reasonable)", "clashes": [_compact_text(d) for d in details]}))
    return out


def _compact_text(text: str) -> str:
    import re
    return re.sub(r"<([^<>\s]+)>", lambda m: compact(m.group(1)), text)
