"""The derivation rules are standard SPARQL 1.1: run on rdflib, they derive exactly what the engine derives on
Oxigraph. Each rule file has the header the engine and the docs read."""
from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib

from crlm_kg import paths
from crlm_kg.derive import load_rules, read_header

CASES = ["01-resectable-metachronous.ttl", "07-metachronous-after-oxaliplatin-adjuvant.ttl",
         "09-third-line-ras-wt-egfr-naive.ttl", "11-stage2-high-risk-colon.ttl", "14-ned-follow-up.ttl"]


@pytest.mark.parametrize("rule", paths.derive_rules(), ids=lambda p: p.name)
def test_rule_header(rule):
    header = read_header(rule.read_text(encoding="utf-8"))
    assert {"rule", "section", "derives", "zh", "en"} <= set(header), rule.name
    assert rule.stem.split("-", 1)[1] == header["rule"]


@pytest.fixture(scope="module")
def guideline_graph():
    g = rdflib.Graph()
    for f in paths.ontology_files():
        g.parse(f, format="turtle")
    return g


def _skolem_free(triples):
    return {t for t in triples if not any(isinstance(x, rdflib.BNode) for x in t)}


@pytest.mark.parametrize("name", CASES)
def test_rdflib_derives_what_oxigraph_derives(engine, guideline_graph, name):
    path = paths.EXAMPLES_DIR / name
    # Oxigraph, through the engine
    pf = engine.reader.read(path)
    store = engine.batch_store([pf])
    try:
        engine.deriver.run()
        ours = {(rdflib.URIRef(q.subject.value), rdflib.URIRef(q.predicate.value),
                 rdflib.URIRef(q.object.value) if isinstance(q.object, ox.NamedNode) else
                 rdflib.Literal(q.object.value, datatype=rdflib.URIRef(q.object.datatype.value)))
                for r in engine.deriver.rules for q in store.quads_for_pattern(None, None, None, ox.NamedNode(r.iri))
                if isinstance(q.subject, ox.NamedNode)}
    finally:
        engine.deriver.use(engine.g.store)
    # rdflib, the same rule files in the same order
    g = rdflib.Graph()
    for t in guideline_graph:
        g.add(t)
    g.parse(path, format="turtle")
    derived = set()
    for rule in load_rules():
        new = set(g.query(rule.text))
        derived |= new
        for t in new:
            g.add(t)
    theirs = {(s, p, rdflib.Literal(o.toPython(), datatype=o.datatype) if isinstance(o, rdflib.Literal) else o)
              for s, p, o in _skolem_free(derived)}
    ours = {(s, p, rdflib.Literal(o.toPython(), datatype=o.datatype) if isinstance(o, rdflib.Literal) else o) for s, p, o in ours}
    assert theirs == ours
    assert len(ours) >= 5
