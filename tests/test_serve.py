"""`crlm-kg serve`: the SPARQL 1.1 Protocol endpoint and IRI dereferencing, exercised with real HTTP clients (httpx,
SPARQLWrapper) against a server started on a free loopback port and stopped at the end.

Shown here: the endpoint answers queries (GET, POST form, POST application/sparql-query) in the negotiated result
format; every library query answers over HTTP exactly as locally; SPARQL Update and write methods are refused; a
query past the time limit is cancelled (503) and the endpoint keeps serving; answers are cut at the row limit; the
service description and the project's IRIs are served as Turtle, JSON-LD and HTML.
"""
from __future__ import annotations


import pyoxigraph as ox
import pytest

httpx = pytest.importorskip("httpx")

from crlm_kg import query as Q  # noqa: E402
from crlm_kg import serve  # noqa: E402
from crlm_kg.namespaces import BASE, PREFIXES  # noqa: E402

from test_query_library import LIBRARY, NAMES, cohort_files, ox_store, params_for, same_answer  # noqa: E402,F401

pytestmark = [pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")]

TIMEOUT = 3.0
MAX_ROWS = 2000
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def triples_of(body: bytes, fmt) -> list:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt)]


@pytest.fixture(scope="module")
def server(cohort_files):
    handle = serve.start("127.0.0.1", 0, cohort_files, workers=2, timeout=TIMEOUT, max_rows=MAX_ROWS, max_request=200_000)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_loopback_and_free_port(server):
    host, port = server.server.server_address[:2]
    assert serve.is_loopback(host) and port > 0


def test_select_json_get_and_post(client, ox_store):
    text = Q.bind(LIBRARY["recommendations-by-strength"], {"strength": ["crlm:FirstChoice"]})
    expected = Q.execute(ox_store, text)
    r = client.get("/sparql", params={"query": text})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    assert same_answer(Q.parse_json_results(r.content), expected)
    r = client.post("/sparql", data={"query": text})
    assert r.status_code == 200 and same_answer(Q.parse_json_results(r.content), expected)
    r = client.post("/sparql", content=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and same_answer(Q.parse_json_results(r.content), expected)


@pytest.mark.parametrize("accept,media,fmt", [
    ("application/sparql-results+xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/csv", "text/csv", None),
    ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ("text/csv;q=0.5, application/sparql-results+json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("*/*", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
])
def test_select_content_negotiation(client, accept, media, fmt):
    text = "PREFIX crlm: <%s> SELECT ?s WHERE { ?s a crlm:EvidenceGrading }" % PREFIXES["crlm"]
    r = client.get("/sparql", params={"query": text}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media
    if fmt is None:                                                   # CSV is lossy: read it as a table
        import csv
        import io
        rows = list(csv.reader(io.StringIO(r.text)))[1:]
    else:
        rows = list(ox.parse_query_results(r.content, format=fmt))     # a standard parser reads it
    assert len(rows) == 48


def test_not_acceptable(client):
    r = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert r.status_code == 406


@pytest.mark.parametrize("accept,fmt", [("text/turtle", ox.RdfFormat.TURTLE), ("application/ld+json", ox.RdfFormat.JSON_LD),
                                        ("application/n-triples", ox.RdfFormat.N_TRIPLES)])
def test_construct_as_turtle_and_jsonld(client, ox_store, accept, fmt):
    text = Q.bind(LIBRARY["section-tree-skos"], {"section": ["sec:4.1"]})
    expected = Q.execute(ox_store, text)
    r = client.post("/sparql", data={"query": text}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == accept
    got = Q.Result("graph", triples=triples_of(r.content, fmt))
    assert same_answer(got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_every_library_query_over_http(name, client, ox_store):
    text = Q.bind(LIBRARY[name], params_for(name) if LIBRARY[name].parameters else None)
    expected = Q.execute(ox_store, text, where=name)
    got = Q.execute_remote(str(client.base_url.join("/sparql")), text, where=name)
    assert same_answer(got, expected)


def test_sparqlwrapper_client(server):
    sw = pytest.importorskip("SPARQLWrapper")
    w = sw.SPARQLWrapper(server.url + "/sparql")
    w.setQuery("PREFIX crlm: <%s> SELECT (COUNT(?r) AS ?n) WHERE { ?r a crlm:Recommendation }" % PREFIXES["crlm"])
    w.setReturnFormat(sw.JSON)
    n = int(w.query().convert()["results"]["bindings"][0]["n"]["value"])
    assert n >= 90
    w.setMethod(sw.POST)
    w.setQuery("PREFIX crlm: <%s> INSERT DATA { crlm:x crlm:y crlm:z }" % PREFIXES["crlm"])
    with pytest.raises(Exception) as err:
        w.query()
    assert "403" in str(err.value) or "Forbidden" in str(err.value) or "read-only" in str(err.value)


@pytest.mark.parametrize("how", ["form", "media-type", "in-query"])
def test_update_is_refused(client, how):
    update = "INSERT DATA { <urn:x-test:a> <urn:x-test:b> <urn:x-test:c> }"
    if how == "form":
        r = client.post("/sparql", data={"update": update})
    elif how == "media-type":
        r = client.post("/sparql", content=update.encode(), headers={"Content-Type": "application/sparql-update"})
    else:
        r = client.post("/sparql", data={"query": update})
    assert r.status_code == 403 and ("read-only" in r.text or "not accepted" in r.text)
    r = client.get("/sparql", params={"query": "ASK { <urn:x-test:a> ?p ?o }"})
    assert r.json()["boolean"] is False


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_write_methods_are_refused(client, method):
    r = client.request(method, "/sparql", content=b"<urn:x-test:a> <urn:x-test:b> <urn:x-test:c> .")
    assert r.status_code == 405


def test_bad_query_and_big_request(client):
    r = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert r.status_code == 400 and "syntax" in r.text.lower()
    r = client.post("/sparql", data={"query": "ASK {} #" + "x" * 300_000})
    assert r.status_code == 413


def test_time_limit_cancels_and_the_endpoint_keeps_serving(client):
    r = client.get("/sparql", params={"query": SLOW})
    assert r.status_code == 503 and "longer than" in r.text
    r = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert r.status_code == 200 and r.json()["boolean"] is True


def test_row_limit(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 200
    assert len(r.json()["results"]["bindings"]) == MAX_ROWS
    assert r.headers["x-sparql-maxrows"] == str(MAX_ROWS) and r.headers["x-crlm-kg-truncated"] == "true"
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"})
    assert len(r.json()["results"]["bindings"]) == 5 and "x-crlm-kg-truncated" not in r.headers


def test_service_description(client, server):
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    store = ox.Store()
    store.load(r.content, format=ox.RdfFormat.TURTLE)
    sd = PREFIXES["sd"]
    assert store.query(f"ASK {{ <{server.url}/sparql> a <{sd}Service> ; <{sd}supportedLanguage> <{sd}SPARQL11Query> }}")
    graphs = {row["g"].value for row in store.query(f"SELECT ?g WHERE {{ ?d <{sd}namedGraph>/<{sd}name> ?g }}")}
    assert Q.GUIDELINE_GRAPH in graphs and any(g.startswith(Q.DATA_GRAPH_BASE) for g in graphs)
    r = client.get("/sparql", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "<form" in r.text


def test_named_graph_selection(client):
    text = "PREFIX crlm: <%s> ASK { ?p a crlm:Patient }" % PREFIXES["crlm"]
    assert client.get("/sparql", params={"query": text}).json()["boolean"] is True
    r = client.get("/sparql", params={"query": text, "default-graph-uri": Q.GUIDELINE_GRAPH})
    assert r.json()["boolean"] is False


@pytest.mark.parametrize("accept,fmt", [("text/turtle", ox.RdfFormat.TURTLE), ("application/ld+json", ox.RdfFormat.JSON_LD)])
def test_dereference_project_iri(client, accept, fmt):
    iri = PREFIXES["rec"] + "R4.1.1.1-a"
    r = client.get("/rec/R4.1.1.1-a", headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == accept
    triples = triples_of(r.content, fmt)
    assert ox.Triple(ox.NamedNode(iri), ox.NamedNode(PREFIXES["rdf"] + "type"), ox.NamedNode(PREFIXES["crlm"] + "Recommendation")) in triples
    # the criteria (blank nodes) come with it: a concise bounded description
    assert any(isinstance(t.subject, ox.BlankNode) for t in triples)


def test_dereference_html_and_unknown(client):
    r = client.get("/section/4.1.1.1", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "四、(一)1.(1)" in r.text and "/rec/R4.1.1.1-a" in r.text       # incoming links: its recommendations
    assert client.get("/rec/R0-none", headers={"Accept": "text/turtle"}).status_code == 404
    r = client.get("/query/library/patient-why")
    assert r.status_code == 200 and r.text == LIBRARY["patient-why"].text
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200


def test_collected():
    assert len(NAMES) >= 28
    assert BASE.startswith("https://")
