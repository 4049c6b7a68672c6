"""The compiled OWL 2 RL rules (crlm_kg/reasoner.py), applied to patient subgraphs only, infer the same patient
classes and side as a full OWL 2 RL closure (owlrl) of the patient model plus the patient.

owlrl is the reference here because it implements property chains (prp-spo2), which the side of the primary needs;
`reasonable` does not derive them (checked while writing this test), so it cannot serve as the reference."""
from __future__ import annotations


import pyoxigraph as ox
import pytest
import rdflib

from crlm_kg import paths
from crlm_kg.terms import to_rdflib
from crlm_kg.namespaces import CRLM, PREFIXES, RDF_TYPE, REASONED_GRAPH

owlrl = pytest.importorskip("owlrl")
EXAMPLES = sorted(paths.EXAMPLES_DIR.glob("*.ttl"))


def _patient_state(engine, path):
    """(patient IRI, batch+derived triples, classes and sides from the compiled rules) for one example."""
    pf = engine.reader.read(path)
    store = engine.batch_store([pf])
    try:
        engine.deriver.run()
        base = [(q.subject, q.predicate, q.object) for g in engine.deriver.graphs[:-1] for q in store.quads_for_pattern(None, None, None, g)]
        inferred = [(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, ox.NamedNode(REASONED_GRAPH))]
    finally:
        engine.deriver.use(engine.g.store)
    return pf.patients[0], base, inferred



@pytest.fixture(scope="module")
def tbox():
    return rdflib.Graph().parse(paths.ONTOLOGY_DIR / "patient.ttl", format="turtle")


@pytest.mark.parametrize("path", EXAMPLES[:6], ids=lambda p: p.name)
def test_compiled_rules_match_full_owl_rl_closure(engine, tbox, path):
    patient, base, inferred = _patient_state(engine, path)
    g = rdflib.Graph()
    for t in tbox:
        g.add(t)
    for s, p, o in base:
        g.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    closure = g
    P = rdflib.URIRef(patient)
    crlm = PREFIXES["crlm"]
    full_types = {str(o) for s, p, o in closure if s == P and p == rdflib.RDF.type and str(o).startswith(crlm)}
    full_sides = {str(o) for s, p, o in closure if s == P and str(p) == CRLM.primarySide}
    ours = {(s.value, p.value, o.value) for s, p, o in inferred if isinstance(s, ox.NamedNode) and s.value == patient}
    our_types = {o for s, p, o in ours if p == RDF_TYPE} | {o.value for s, p, o in base
                                                           if isinstance(s, ox.NamedNode) and s.value == patient and p.value == RDF_TYPE}
    our_sides = {o for s, p, o in ours if p == CRLM.primarySide}
    assert our_types == full_types
    assert our_sides == full_sides
    assert len(our_types) >= 2
