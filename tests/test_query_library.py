"""The SPARQL query library (queries/library/*.rq) and `crlm-kg query`.

- every library query has a complete header (name, zh, en, parameters with an example, columns naming every
  result variable);
- every query, unbound and with its example parameters, gives the same answer on rdflib and on pyoxigraph
  (SELECT/ASK as multisets of rows, CONSTRUCT compared as graphs, by isomorphism);
- binding a parameter filters: the bound answer is exactly the unbound answer's rows with that value (a seeded-fault
  query with its parameter inside an OPTIONAL is caught by the same check);
- cohort queries stay scoped per patient: on k renamed copies of the cohort every answer is k times the answer;
- the command line writes the SPARQL 1.1 result formats, and bad input is one line with exit code 2 (manifest).
The cohort and the expectations are in tests/query_cases/ (library.json, terms.json, bad_input.json).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from crlm_kg import paths
from crlm_kg import query as Q
from crlm_kg.namespaces import PREFIXES

# rdflib's Dataset warns about its own internals on every triple it reads
pytestmark = [pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")]

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "query_cases"
MANIFEST = json.loads((CASES / "library.json").read_text(encoding="utf-8"))
LIBRARY = Q.library()
NAMES = sorted(LIBRARY)
COHORT_QUERIES = [n for n in NAMES if n.startswith("cohort-")]


def test_collected():
    assert len(NAMES) == len(paths.library_queries())
    assert len([n for n in NAMES if not n.startswith("coverage-")]) >= 25
    assert {"coverage-by-action", "coverage-by-evidence", "coverage-by-section"} <= set(NAMES)
    assert len(VARIANTS) == len(NAMES) + sum(1 for n in NAMES if LIBRARY[n].parameters)
    assert len(COHORT_QUERIES) >= 4


# ------------------------------------------------------------------------------------------------ the cohort
@pytest.fixture(scope="session")
def cohort_files(engine, tmp_path_factory) -> list[str]:
    """The test cohort: the manifest's data files plus the Engine's results graph for the example patients."""
    from crlm_kg import __version__
    from crlm_kg.render import results_to_turtle
    as_of = dt.date.fromisoformat(MANIFEST["as_of"])
    generated = dt.datetime.fromisoformat(MANIFEST["generated"])
    results = engine.evaluate_files([str(ROOT / p) for p in MANIFEST["evaluate"]], as_of=as_of)
    out = tmp_path_factory.mktemp("query-cohort") / "example-results.ttl"
    out.write_bytes(results_to_turtle(results, __version__, generated=generated))
    return [str(ROOT / p) for p in MANIFEST["data"]] + [str(out)]


@pytest.fixture(scope="session")
def ox_store(cohort_files):
    return Q.load_dataset(cohort_files)


@pytest.fixture(scope="session")
def rdflib_dataset(cohort_files):
    ds = rdflib.Dataset(default_union=True)
    for graph, quads in Q.dataset_quads(cohort_files):
        ds.graph(rdflib.URIRef(graph)).parse(data="".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads),
                                             format="nt")
    return ds


def _ox_term(t):
    if t is None:
        return None
    if isinstance(t, rdflib.URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, rdflib.BNode):
        return ox.BlankNode(re.sub(r"\W", "_", str(t)))
    if t.language:
        return ox.Literal(str(t), language=t.language)
    return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)) if t.datatype else None)


def run_rdflib(ds, text: str) -> Q.Result:
    res = ds.query(text)
    if res.type == "ASK":
        return Q.Result("boolean", boolean=bool(res.askAnswer))
    if res.type in ("CONSTRUCT", "DESCRIBE"):
        return Q.Result("graph", triples=[ox.Triple(_ox_term(s), _ox_term(p), _ox_term(o)) for s, p, o in res.graph])
    names = [str(v) for v in res.vars]
    return Q.Result("bindings", variables=names,
                    rows=[{v: _ox_term(row[v]) for v in names if row[v] is not None} for row in res])


def _rdflib_graph(result: Q.Result) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(data=Q.graph_bytes(result, "ntriples").decode("utf-8"), format="nt")
    return g


def same_answer(a: Q.Result, b: Q.Result) -> bool:
    """Two results agree: same booleans, same multiset of rows (numbers by value), or isomorphic graphs."""
    if a.kind != b.kind:
        return False
    if a.kind == "graph":
        return isomorphic(_rdflib_graph(a), _rdflib_graph(b))
    if a.kind == "bindings" and a.variables != b.variables:
        return False
    return Q.canonical(a) == Q.canonical(b)


def params_for(name: str) -> dict:
    """The example parameters of a library query (or the manifest's override for the test cohort)."""
    override = MANIFEST["test_parameters"].get(name)
    if override:
        return override
    return {p.name: [p.example] for p in LIBRARY[name].parameters}

VARIANTS = [(n, "all") for n in NAMES] + [(n, "example") for n in NAMES if LIBRARY[n].parameters]


# ------------------------------------------------------------------------------------------------ headers
@pytest.mark.parametrize("name", NAMES)
def test_header(name, ox_store):
    q = LIBRARY[name]
    assert q.path.stem == name, "the header's name is the file name"
    assert q.en and q.zh and q.columns, "name, zh, en and columns are required"
    assert re.search(r"[\u4e00-\u9fff]", q.zh), "the zh question is written in Chinese"
    head = Q.parse_header(q.text)
    assert set(Q.HEADER_KEYS) <= set(head), f"header keys missing: {set(Q.HEADER_KEYS) - set(head)}"
    for p in q.parameters:
        assert p.meaning and p.example
        assert re.search(r"[?$]" + p.name + r"\b", Q.mask(q.text)), f"?{p.name} is not a variable of the query"
        Q.parse_term(p.example)
    result = Q.execute(ox_store, q.text, where=name)
    if result.kind == "bindings":
        missing = [v for v in result.variables if not re.search(r"\b" + re.escape(v) + r"\b", q.columns)]
        assert not missing, f"# columns: does not describe {missing}"


# ------------------------------------------------------------------------------------------------ engines agree
@pytest.mark.parametrize("name,variant", VARIANTS, ids=[f"{n}-{v}" for n, v in VARIANTS])
def test_rdflib_and_oxigraph_agree(name, variant, ox_store, rdflib_dataset):
    q = LIBRARY[name]
    text = Q.bind(q, params_for(name) if variant == "example" else None)
    a = Q.execute(ox_store, text, where=name)
    b = run_rdflib(rdflib_dataset, text)
    assert same_answer(a, b), f"{name} ({variant}): pyoxigraph and rdflib disagree"
    empty_ok = variant == "all" and name in MANIFEST["empty_without_parameters"]
    if a.kind == "bindings" and not empty_ok:
        assert a.rows, f"{name} ({variant}) answers nothing on the test cohort"
    if a.kind == "graph":
        assert a.triples
    if a.kind == "boolean":
        assert a.boolean


def test_seeded_fault_engines_disagree_is_detected(ox_store, rdflib_dataset):
    """The comparison can fail: with one triple fewer on one side, the answers no longer agree."""
    q = LIBRARY["recommendations-by-strength"]
    a = Q.execute(ox_store, q.text)
    b = run_rdflib(rdflib_dataset, q.text)
    assert same_answer(a, b)
    b.rows = b.rows[:-1]
    assert not same_answer(a, b)
    c = Q.execute(ox_store, LIBRARY["section-tree-skos"].text)
    d = Q.Result("graph", triples=c.triples[1:])
    assert not same_answer(c, d)


# ------------------------------------------------------------------------------------------------ binding filters
def _filters_exactly(store, q: Q.LibraryQuery, params: dict) -> tuple[bool, str]:
    """Bound answer == the unbound answer's rows whose parameter columns hold the bound values."""
    unbound = Q.execute(store, Q.bind(q, None))
    bound = Q.execute(store, Q.bind(q, params))
    wanted = {}
    for name, values in params.items():
        terms = Q.execute(ox.Store(), f"SELECT ?x WHERE {{ VALUES ?x {{ {' '.join(Q.parse_term(v) for v in values)} }} }}")
        wanted[name] = {Q.canonical_term(r["x"]) for r in terms.rows}
    idx = {v: i for i, v in enumerate(unbound.variables)}
    expect = [row for row in Q.canonical(unbound) if all(row[idx[n]] in vals for n, vals in wanted.items())]
    got = Q.canonical(bound)
    return got == sorted(expect), f"{len(got)} rows bound, {len(expect)} expected"


def _filter_checkable(q: Q.LibraryQuery, params: dict) -> bool:
    masked = Q.mask(q.text)
    if q.form != "SELECT" or re.search(r"\bGROUP\s+BY\b|\bCOUNT\s*\(|\bSUM\s*\(", masked, re.IGNORECASE):
        return False
    head = masked[:masked.upper().index("WHERE")]
    return all(re.search(r"[?$]" + n + r"\b", head) for n in params)


FILTER_CASES = [n for n in NAMES if LIBRARY[n].parameters and _filter_checkable(LIBRARY[n], params_for(n))
                and n not in MANIFEST["empty_without_parameters"]]


def test_filter_cases_collected():
    assert len(FILTER_CASES) >= 15


@pytest.mark.parametrize("name", FILTER_CASES)
def test_binding_a_parameter_filters(name, ox_store):
    ok, why = _filters_exactly(ox_store, LIBRARY[name], params_for(name))
    assert ok, f"{name}: binding the parameters does not just filter the rows ({why})"


def test_seeded_fault_parameter_inside_optional_is_caught(ox_store):
    fault = Q.read_query(CASES / "faults" / "parameter-in-optional.rq")
    params = {p.name: [p.example] for p in fault.parameters}
    assert _filter_checkable(fault, params)
    ok, why = _filters_exactly(ox_store, fault, params)
    assert not ok, "a parameter that only occurs inside OPTIONAL must be reported"


# ------------------------------------------------------------------------------------------------ cohort scoping
def _copies(cohort_files, k: int) -> ox.Store:
    """The guideline plus k copies of the patients and results, each copy's patient and result IRIs renamed."""
    pat, res = PREFIXES["ex"], PREFIXES["crlmr"]
    quads = [q for g, qs in Q.dataset_quads(cohort_files, guideline=False) for q in qs]
    text = "".join(f"{q} .\n" for q in quads)
    store = Q.load_dataset()
    for i in range(k):
        copy = text.replace(pat, f"{pat}copy{i}-").replace(res, f"{res}copy{i}-")
        copy = re.sub(r"_:(\w+)", rf"_:\1x{i}", copy)
        store.load(copy.encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    return store


def _unrename(term):
    if term[0] == "iri":
        return ("iri", re.sub(r"/copy\d+-", "/", term[1]))
    return term


@pytest.fixture(scope="module")
def copied(cohort_files):
    return _copies(cohort_files, MANIFEST["cohort_copies"])


@pytest.mark.parametrize("name", COHORT_QUERIES)
def test_cohort_queries_are_scoped_per_patient(name, ox_store, copied):
    """k copies of the cohort: per-patient rows repeat k times; counts over the cohort are k times larger."""
    k = MANIFEST["cohort_copies"]
    q = LIBRARY[name]
    one = Q.execute(ox_store, q.text, where=name)
    many = Q.execute(copied, q.text, where=name)
    rows = [tuple(_unrename(t) for t in row) for row in Q.canonical(many)]
    if "patient" in one.variables:
        expect = Counter({row: n * k for row, n in Counter(Q.canonical(one)).items()})
        assert Counter(rows) == expect
    else:
        scaled = sorted(tuple(("num", str((Decimal(t[1]) * k).normalize())) if t[0] == "num" else t for t in row)
                        for row in Q.canonical(one))
        assert sorted(rows) == scaled


# ------------------------------------------------------------------------------------------------ parameters
TERMS = json.loads((CASES / "terms.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("given,expected", TERMS["ok"])
def test_parse_term(given, expected):
    assert Q.parse_term(given) == expected


@pytest.mark.parametrize("given,error", TERMS["error"])
def test_parse_term_rejects(given, error):
    from crlm_kg.errors import InputError
    with pytest.raises(InputError, match=re.escape(error)):
        Q.parse_term(given)


def test_terms_collected():
    assert len(TERMS["ok"]) == 16 and len(TERMS["error"]) == 3


def test_bind_places_values_first_or_at_the_marker():
    q = LIBRARY["patient-flags"]
    text = Q.bind(q, {"patient": ["ex:p03", "ex:p15"]})
    assert "VALUES ?patient { <https://example.org/crlm/patient/p03> <https://example.org/crlm/patient/p15> }" in text
    assert text.index("VALUES ?patient") < text.index("?flag a crlm:FlagResult")
    marked = LIBRARY["cohort-pathway-counts"]
    text = Q.bind(marked, {"pathway": ["crlm:NeverNED"]})
    assert "#@parameters" not in text and text.index("GROUP BY ?pathway") < text.index("VALUES ?pathway")


# ------------------------------------------------------------------------------------------------ command line
@pytest.fixture
def cli(monkeypatch):
    from crlm_kg import cli as cli_module
    if "crlm_kg.query_cli" not in cli_module.COMMAND_MODULES:
        monkeypatch.setattr(cli_module, "COMMAND_MODULES", list(cli_module.COMMAND_MODULES) + ["crlm_kg.query_cli"])
    monkeypatch.chdir(ROOT)
    return cli_module.main


def _run(cli, capsysbinary, *args):
    code = cli(list(args))
    out = capsysbinary.readouterr()
    return code, out.out.decode("utf-8"), out.err.decode("utf-8")


def test_cli_list(cli, capsysbinary):
    code, out, _ = _run(cli, capsysbinary, "query", "--list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == NAMES


def test_cli_formats(cli, capsysbinary, cohort_files, ox_store):
    q = "recommendations-by-strength"
    expected = Q.execute(ox_store, Q.bind(LIBRARY[q], {"strength": ["crlm:FirstChoice"]}))
    code, out, _ = _run(cli, capsysbinary, "query", q, "--param", "strength=crlm:FirstChoice", "--format", "json")
    assert code == 0
    assert same_answer(Q.parse_json_results(out.encode()), expected)
    code, out, _ = _run(cli, capsysbinary, "query", q, "--param", "strength=crlm:FirstChoice", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == expected.variables and len(rows) == len(expected.rows) + 1
    assert out.endswith("\r\n")
    code, out, _ = _run(cli, capsysbinary, "query", q, "--param", "strength=crlm:FirstChoice", "--format", "tsv")
    lines = out.splitlines()
    assert lines[0].split("\t") == ["?" + v for v in expected.variables] and len(lines) == len(expected.rows) + 1
    assert "<https://w3id.org/crlm-kg/def/FirstChoice>" in lines[1]
    code, out, _ = _run(cli, capsysbinary, "query", q, "--param", "strength=crlm:FirstChoice")
    assert "crlm:FirstChoice" in out and f"({len(expected.rows)} rows)" in out
    code, out, _ = _run(cli, capsysbinary, "query", "section-tree-skos", "--param", "section=sec:4.1")
    g = rdflib.Graph().parse(data=out, format="turtle")
    assert isomorphic(g, _rdflib_graph(Q.execute(ox_store, Q.bind(LIBRARY["section-tree-skos"], {"section": ["sec:4.1"]}))))
    code, out, _ = _run(cli, capsysbinary, "query", "section-tree-skos", "--param", "section=sec:4.1", "--format", "json")
    assert len(rdflib.Graph().parse(data=out, format="json-ld")) == len(g)
    data = ["--data"] + cohort_files
    code, out, _ = _run(cli, capsysbinary, "query", "patient-recommendation-applies", *data, "--param", "patient=ex:p03",
                        "--param", "recommendation=rec:R6.1.1.1-a", "--format", "json")
    assert json.loads(out) == {"head": {}, "boolean": True}
    code, out, _ = _run(cli, capsysbinary, "query", "patient-flags", "--show", "--param", "patient=ex:p15")
    assert "VALUES ?patient { <https://example.org/crlm/patient/p15> }" in out


def test_cli_query_file_and_data(cli, capsysbinary, cohort_files, tmp_path):
    f = tmp_path / "mine.rq"
    f.write_text("PREFIX crlm: <https://w3id.org/crlm-kg/def/>\nSELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a crlm:Patient }\n",
                 encoding="utf-8")
    code, out, _ = _run(cli, capsysbinary, "query", str(f), "--data", *cohort_files, "--format", "csv")
    patients = len(list((ROOT / "examples" / "patients").glob("*.ttl"))) + len(list((CASES / "patients").glob("*.ttl")))
    assert code == 0 and out.splitlines() == ["n", str(patients)]


BAD = json.loads((CASES / "bad_input.json").read_text(encoding="utf-8"))["cases"]


def test_bad_cases_collected():
    assert len(BAD) == 13


@pytest.mark.parametrize("case", BAD, ids=[" ".join(c["args"][:2]) + f"-{i}" for i, c in enumerate(BAD)])
def test_cli_bad_input(case, cli, capsysbinary):
    code, out, err = _run(cli, capsysbinary, *case["args"])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crlm-kg: error: "), err
    assert case["error"] in lines[0], lines[0]
    assert "Traceback" not in err
