"""`crlm-kg push`: load the guideline, patient records and results graphs into an external SPARQL 1.1 store.

    report = push("http://localhost:3030/crlm/update", data=["examples/patients", "results.ttl"])

Graphs: the guideline goes to GUIDELINE_GRAPH, the shapes to SHAPES_GRAPH, and each data file to its own graph
(query.data_graphs: DATA_GRAPH_BASE + file stem) — the same layout `crlm-kg query` and `crlm-kg serve` use locally,
so library queries give the same answers on the store when its default graph is the union of its named graphs.
With `graph=IRI` everything goes into that one graph instead, and with `graph="default"` into the store's default
graph (for stores whose default graph is not the union of the named graphs: Fuseki's in-memory datasets, QLever).

Protocols:
- "update" (default): SPARQL 1.1 Update POSTed as `update=` to the endpoint: `DROP SILENT GRAPH` per target graph
  (unless append), then `INSERT DATA` batches; a batch with blank nodes is sent as `INSERT { GRAPH … } WHERE {}`
  because some stores (Virtuoso) refuse blank nodes in INSERT DATA.
- "gsp": SPARQL 1.1 Graph Store HTTP Protocol on the endpoint URL with `?graph=IRI`: PUT the first batch of each
  graph (replace; POST when appending), POST the others, as N-Triples.
A blank node never straddles two batches (batches are cut between connected groups of blank-node triples), so the
store keeps every blank-node structure (criteria, lesions) intact.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlencode

import pyoxigraph as ox

from . import query as Q


@dataclass
class PushReport:
    graphs: dict = field(default_factory=dict)    # graph IRI -> triples sent
    requests: int = 0
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(self.graphs.values())


def plan(data: Iterable = (), *, graph: str | None = None, guideline: bool = True) -> dict[str, list]:
    """Graph IRI → triples to send, in load order (one graph when `graph` is given)."""
    out: dict[str, list] = {graph: []} if graph else {}      # with `graph`, pushing nothing empties that graph
    for g, quads in Q.dataset_quads(data, guideline):
        out.setdefault(graph or g, []).extend(ox.Triple(q.subject, q.predicate, q.object) for q in quads)
    return out


def batches(triples: list, size: int) -> list[list]:
    """Cut triples into batches of about `size`, never splitting a connected group of blank-node triples."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    groups: dict = {}
    order = []
    for i, t in enumerate(triples):
        nodes = [n for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)]
        if len(nodes) == 2:
            a, b = find(nodes[0].value), find(nodes[1].value)
            if a != b:
                parent[a] = b
    for i, t in enumerate(triples):
        nodes = [n for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)]
        key = ("b", find(nodes[0].value)) if nodes else ("t", i)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(t)
    out, current = [], []
    for key in order:
        group = groups[key]
        if current and len(current) + len(group) > size:
            out.append(current)
            current = []
        current.extend(group)
    if current:
        out.append(current)
    return out


def ntriples(triples: list) -> str:
    return "".join(f"{t.subject} {t.predicate} {t.object} .\n" for t in triples)


def _has_bnode(t) -> bool:
    return isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)


DEFAULT = "default"          # graph="default": the store's default graph


def _in_graph(g: str, body: str) -> str:
    return body if g == DEFAULT else f"GRAPH <{g}> {{\n{body}}}"


def update_requests(graphs: dict[str, list], size: int, append: bool = False, template_size: int = 500) -> list[str]:
    """The SPARQL 1.1 Update requests that load `graphs`: triples without blank nodes as INSERT DATA batches of
    `size`; blank-node structures as `INSERT {…} WHERE {}` batches of at most `template_size` triples (Virtuoso turns
    a template into SQL and refuses very long ones)."""
    out = [] if append else [("DROP SILENT DEFAULT" if g == DEFAULT else f"DROP SILENT GRAPH <{g}>") for g in graphs]
    for g, triples in graphs.items():
        plain = [t for t in triples if not _has_bnode(t)]
        for batch in batches(plain, size):
            out.append(f"INSERT DATA {{ {_in_graph(g, ntriples(batch))} }}")
        for batch in batches([t for t in triples if _has_bnode(t)], min(size, template_size)):
            out.append(f"INSERT {{ {_in_graph(g, ntriples(batch))} }} WHERE {{}}")
    return out


def push(endpoint: str, data: Iterable = (), *, graph: str | None = None, protocol: str = "update",
         guideline: bool = True, append: bool = False, batch_size: int | None = None, auth: tuple | None = None,
         timeout: float = 300.0) -> PushReport:
    """Send the guideline (unless guideline=False) and the data files to a store; see the module docstring."""
    start = time.monotonic()
    graphs = plan(data, graph=graph, guideline=guideline)
    report = PushReport({g: len(ts) for g, ts in graphs.items()})
    if protocol == "update":
        for text in update_requests(graphs, batch_size or 1000, append):
            Q.http_request(endpoint, urlencode({"update": text}).encode("utf-8"),
                           {"Content-Type": "application/x-www-form-urlencoded"}, timeout, "POST", auth)
            report.requests += 1
    elif protocol == "gsp":
        sep = "&" if "?" in endpoint else "?"
        for g, triples in graphs.items():
            for i, batch in enumerate(batches(triples, batch_size or 20000) or [[]]):
                method = "PUT" if i == 0 and not append else "POST"
                target = "default" if g == DEFAULT else urlencode({"graph": g})
                Q.http_request(f"{endpoint}{sep}{target}", ntriples(batch).encode("utf-8"),
                               {"Content-Type": "application/n-triples"}, timeout, method, auth)
                report.requests += 1
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    report.seconds = time.monotonic() - start
    return report


def write_nquads(path: str, data: Iterable = (), *, graph: str | None = None, guideline: bool = True) -> PushReport:
    """Write what push would send as one N-Quads file (for bulk loaders: Virtuoso ld_dir, Fuseki tdb2.tdbloader,
    GraphDB importrdf, QLever's index builder). With graph="default" the lines are plain N-Triples."""
    graphs = plan(data, graph=graph, guideline=guideline)
    with open(path, "w", encoding="utf-8") as fh:
        for g, triples in graphs.items():
            for t in triples:
                fh.write(f"{t.subject} {t.predicate} {t.object}{'' if g == DEFAULT else f' <{g}>'} .\n")
    return PushReport({g: len(ts) for g, ts in graphs.items()})
