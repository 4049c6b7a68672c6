"""OWL 2 RL rules compiled from the guideline's TBox, applied to patient subgraphs only.

The guideline's class hierarchy is closed once, at load time; per patient, only the rules that can fire on patient
facts run, to a fixpoint, in plain Python over the patient's triples. The subset covers what the patient model uses:

- prp-spo1   sub-property:            s p o, p ⊑ q            → s q o
- prp-spo2   2-step property chains:  s p1 x, x p2 o (TBox)   → s p o
- cls-hv1/2  hasValue restrictions:   s p v  ↔  s a C         (C ≡ or ⊑ ∃p.{v})
- cax-sco    subclass closure:        s a C, C ⊑ D            → s a D

tests/test_reasoner.py checks the result against a full OWL 2 RL closure (reasonable) on the example patients.
"""
from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

from .namespaces import GUIDELINE_GRAPH, RDF_TYPE, sparql_prefixes

_T = ox.NamedNode(RDF_TYPE)


class RLRules:
    def __init__(self, store: ox.Store):
        g = ox.NamedNode(GUIDELINE_GRAPH)
        q = lambda text: store.query(sparql_prefixes() + text, default_graph=g)  # noqa: E731
        self.supers: dict = defaultdict(set)
        for r in q("SELECT ?c ?d WHERE { ?c rdfs:subClassOf+ ?d . FILTER(isIRI(?c) && isIRI(?d)) }"):
            self.supers[r["c"]].add(r["d"])
        self.subprops: dict = defaultdict(set)
        for r in q("SELECT ?p ?q WHERE { ?p rdfs:subPropertyOf+ ?q . FILTER(isIRI(?p) && isIRI(?q)) }"):
            self.subprops[r["p"]].add(r["q"])
        # hasValue: (p, v) -> classes (equivalent: both directions; subclass: class -> value only)
        self.hv_to_class: dict = defaultdict(set)
        self.class_to_hv: dict = defaultdict(set)
        for r in q("""SELECT ?c ?p ?v ?eq WHERE {
                        { ?c owl:equivalentClass ?r BIND(true AS ?eq) } UNION { ?c rdfs:subClassOf ?r BIND(false AS ?eq) }
                        ?r owl:onProperty ?p ; owl:hasValue ?v . FILTER(isIRI(?c)) }"""):
            if r["eq"].value == "true":
                self.hv_to_class[(r["p"], r["v"])].add(r["c"])
            self.class_to_hv[r["c"]].add((r["p"], r["v"]))
        # property chains of length 2 whose second step is answered by the TBox/ABox of the guideline
        self.chains: dict = defaultdict(list)
        for r in q("""SELECT ?p ?p1 ?p2 WHERE { ?p owl:propertyChainAxiom ?l . ?l rdf:first ?p1 ; rdf:rest ?l2 .
                        ?l2 rdf:first ?p2 ; rdf:rest rdf:nil }"""):
            ext: dict = defaultdict(set)
            for quad in store.quads_for_pattern(None, r["p2"], None, g):
                ext[quad.subject].add(quad.object)
            self.chains[r["p1"]].append((r["p"], ext))

    def infer(self, triples: list) -> set:
        """Return the triples entailed (beyond the input) for the given patient triples (pyoxigraph Triples)."""
        known = {(t.subject, t.predicate, t.object) for t in triples}
        todo = list(known)
        new: set = set()

        def add(s, p, o):
            if (s, p, o) not in known:
                known.add((s, p, o))
                new.add((s, p, o))
                todo.append((s, p, o))

        while todo:
            s, p, o = todo.pop()
            for q in self.subprops.get(p, ()):
                add(s, q, o)
            for target, ext in self.chains.get(p, ()):
                for o2 in ext.get(o, ()):
                    add(s, target, o2)
            for c in self.hv_to_class.get((p, o), ()):
                add(s, _T, c)
            if p == _T:
                for d in self.supers.get(o, ()):
                    add(s, _T, d)
                for hp, hv in self.class_to_hv.get(o, ()):
                    add(s, hp, hv)
        return new
