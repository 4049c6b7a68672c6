"""SHACL: every constraint has a case that violates it and one that conforms, with the expected result as RDF
(compared as graphs); pySHACL (reference), pyrudof and the fast path agree on every case and every example;
every shape explains itself (zh/en message, section, kind); random mutations of valid records never crash it.

Case folders: tests/shacl/<shape local name>--violates/ and --conforms/, each with patient.ttl and expected.ttl
(an sh:ValidationReport holding the expected sh:ValidationResult(s) of that shape only, one per distinct focus node,
source shape, severity and path; the focus is the patient, also for results on its lesion, treatment or plan nodes)."""
from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from crlm_kg import paths
from crlm_kg.errors import InputError
from crlm_kg.guideline import SHAPES_GRAPH
from crlm_kg.namespaces import PREFIXES
from crlm_kg.patients import PatientFile
from crlm_kg.validate import Validator

HERE = Path(__file__).parent / "shacl"
CASES = sorted(p for p in HERE.iterdir() if p.is_dir()) if HERE.is_dir() else []
SH = rdflib.Namespace(PREFIXES["sh"])
SHAPES = PREFIXES["crlmsh"]


@pytest.fixture(scope="session")
def validator(engine):
    return Validator(engine)


def constraint_shapes(g) -> set[str]:
    """The shapes that produce results: SPARQL-based node shapes and property shapes."""
    q = g.store.query(PREFIXES and """PREFIX sh: <http://www.w3.org/ns/shacl#>
        SELECT DISTINCT ?s WHERE { { ?s sh:sparql ?c } UNION { ?n sh:property ?s } }""", default_graph=ox.NamedNode(SHAPES_GRAPH))
    return {r["s"].value for r in q}


def test_every_constraint_has_both_cases(guideline):
    shapes = constraint_shapes(guideline)
    names = {s[len(SHAPES):] for s in shapes}
    have = {(c.name.rsplit("--", 1)[0], c.name.rsplit("--", 1)[1]) for c in CASES}
    missing = sorted(f"{n}--{k}" for n in names for k in ("violates", "conforms") if (n, k) not in have)
    assert not missing, missing
    assert len(CASES) == 2 * len(shapes)


def test_every_shape_explains_itself(guideline):
    rows = guideline.store.query("""PREFIX sh: <http://www.w3.org/ns/shacl#> PREFIX crlm: <https://w3id.org/crlm-kg/def/>
        SELECT ?shape ?c (GROUP_CONCAT(LANG(?m)) AS ?langs) (SAMPLE(?sec) AS ?section) (SAMPLE(?kind) AS ?k) WHERE {
          { ?shape sh:sparql ?c . ?c sh:message ?m } UNION { ?shape sh:property ?c . ?c sh:message ?m }
          OPTIONAL { ?shape crlm:section ?sec } OPTIONAL { ?shape crlm:flagKind ?kind } } GROUP BY ?shape ?c""",
                                   default_graph=ox.NamedNode(SHAPES_GRAPH))
    rows = list(rows)
    assert len(rows) == len(constraint_shapes(guideline))
    for r in rows:
        assert {"zh", "en"} <= set(r["langs"].value.split()), r["shape"]
        assert r["section"] is not None and r["k"] is not None, r["shape"]


def _report_graph(results, shape: str) -> rdflib.Graph:
    g = rdflib.Graph()
    rep = rdflib.BNode()
    mine = list({(r.patient, r.shape, r.path, r.severity): r for r in results if r.shape == shape}.values())
    g.add((rep, rdflib.RDF.type, SH.ValidationReport))
    g.add((rep, SH.conforms, rdflib.Literal(not any(r.severity == "violation" for r in mine))))
    for r in mine:
        res = rdflib.BNode()
        g.add((rep, SH.result, res))
        g.add((res, rdflib.RDF.type, SH.ValidationResult))
        g.add((res, SH.focusNode, rdflib.URIRef(r.patient)))
        g.add((res, SH.sourceShape, rdflib.URIRef(r.shape)))
        g.add((res, SH.resultSeverity, SH[r.severity.capitalize()]))
        if r.path:
            g.add((res, SH.resultPath, rdflib.URIRef(r.path)))
    return g


def _results(validator, path, engine):
    return [x for rep in validator.validate_files([path], engine=engine) for x in rep.results]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_matches_expected_report(validator, case):
    shape = SHAPES + case.name.rsplit("--", 1)[0]
    results = _results(validator, case / "patient.ttl", "fast")
    expected = rdflib.Graph().parse(case / "expected.ttl", format="turtle")
    actual = _report_graph(results, shape)
    assert isomorphic(actual, expected), actual.serialize(format="turtle")
    if case.name.endswith("--violates"):
        assert any(r.shape == shape for r in results)
    else:
        assert not any(r.shape == shape for r in results)


def _keys(results):
    return sorted({r.key() + (r.severity,) for r in results})


@pytest.mark.parametrize("engine_name", ["pyshacl", "rudof"])
def test_engines_agree_on_every_case_and_example(validator, engine_name):
    files = [c / "patient.ttl" for c in CASES] + sorted(paths.EXAMPLES_DIR.glob("*.ttl"))
    # one run per engine over all records at once (patient IRIs are unique), compared patient by patient
    fast = {r.patient: _keys(r.results) for r in validator.validate_files(files, engine="fast")}
    other = {r.patient: _keys(r.results) for r in validator.validate_files(files, engine=engine_name)}
    assert set(fast) == set(other) and len(fast) >= len(CASES)
    disagreements = [(p, sorted(set(fast[p]) ^ set(other[p]))[:4]) for p in fast if fast[p] != other[p]]
    assert not disagreements, disagreements[:5]
    assert len(files) >= 17


MUTATIONS = 10_000
BATCH = 500


def _mutate(rng, triples):
    """One random change of a valid record: drop, duplicate with another value, retype or swap an object."""
    t = list(triples)
    i = rng.randrange(len(t))
    s, p, o = t[i].subject, t[i].predicate, t[i].object
    choice = rng.randrange(6)
    pool = [x.object for x in t if not isinstance(x.object, ox.BlankNode)]
    if choice == 0:
        del t[i]
    elif choice == 1:
        t.append(ox.Triple(s, p, rng.choice(pool)))
    elif choice == 2:
        t[i] = ox.Triple(s, p, ox.Literal(str(rng.choice([-5, 0, 3.5, 101, 1e9, "x", "2024-02-30"]))))
    elif choice == 3:
        t[i] = ox.Triple(s, p, rng.choice(pool))
    elif choice == 4:
        t.append(ox.Triple(s, rng.choice([x.predicate for x in t]), o))
    else:
        t[i] = ox.Triple(s, p, ox.Literal(str(rng.randint(-10, 500)), datatype=ox.NamedNode(PREFIXES["xsd"] + "decimal")))
    return t


def test_random_mutations_never_crash_validation(validator, engine):
    rng = random.Random(20231)
    sources = [engine.reader.read(p) for p in sorted(paths.EXAMPLES_DIR.glob("*.ttl"))]
    validated = rejected = 0
    pending = []
    for n in range(MUTATIONS):
        src = rng.choice(sources)
        mutated = PatientFile(Path(f"<mutation {n}>"), _mutate(rng, src.triples), src.patients)
        try:
            for t in mutated.triples:           # the reader's own checks: bad input is a clean InputError
                engine.reader._check(mutated.path, t)
        except InputError:
            rejected += 1
            continue
        pending.append(mutated)
        if len(pending) == BATCH or n == MUTATIONS - 1:
            reports = validator.validate(pending)
            assert len(reports) == len(pending)
            validated += len(pending)
            pending = []
    assert validated + rejected == MUTATIONS
    assert validated > MUTATIONS // 3
