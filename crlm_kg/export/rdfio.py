"""Deterministic RDF writing: stable blank-node labels, sorted canonical N-Triples / N-Quads, Turtle, RDF/XML and a
compacted JSON-LD with an inline prefix context.

Two exports of the same graph are byte-identical: blank nodes are relabelled from their content and position (a hash
of what they say and of who points at them, parents before children), triples are sorted by their canonical
N-Triples form, and every writer gets its input in that order.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import pyoxigraph as ox

from ..namespaces import PREFIXES, RDF_TYPE, XSD


@dataclass(frozen=True)
class Format:
    key: str            # the --format name and file extension
    media_type: str
    rdf: ox.RdfFormat | None   # None: written by this module (JSON-LD)
    quads: bool = False


FORMATS: dict[str, Format] = {
    "ttl": Format("ttl", "text/turtle", ox.RdfFormat.TURTLE),
    "nt": Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    "nq": Format("nq", "application/n-quads", ox.RdfFormat.N_QUADS, quads=True),
    "xml": Format("xml", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    "jsonld": Format("jsonld", "application/ld+json", None),
}

_GEN_DELIMS = tuple("/#:?[]@")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_triples(items: Iterable) -> list[ox.Triple]:
    """Triples from triples or quads (pyoxigraph's parser yields quads in the default graph)."""
    return [t.triple if isinstance(t, ox.Quad) else t for t in items]


def stable_triples(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The triples with every blank node relabelled by content and position, deduplicated and sorted.

    Label of a blank node = hash(its outgoing triples, recursively through nested blank nodes; the final labels of
    the nodes pointing at it and the predicates they use). Parents are labelled before their children, so two
    identical nested structures under different parents get different labels, and identical siblings are
    interchangeable (any assignment of their suffixes yields the same set of triples).
    """
    triples = list(dict.fromkeys(as_triples(triples)))
    out: dict[ox.BlankNode, list[ox.Triple]] = defaultdict(list)
    inc: dict[ox.BlankNode, list[ox.Triple]] = defaultdict(list)
    bnodes: set[ox.BlankNode] = set()
    for t in triples:
        if isinstance(t.subject, ox.BlankNode):
            out[t.subject].append(t)
            bnodes.add(t.subject)
        if isinstance(t.object, ox.BlankNode):
            inc[t.object].append(t)
            bnodes.add(t.object)
    if not bnodes:
        return sorted(triples, key=_nt_key)

    content: dict[ox.BlankNode, str] = {}

    def content_hash(b: ox.BlankNode, stack: set) -> str:
        if b in content:
            return content[b]
        if b in stack:
            return "cycle"
        stack.add(b)
        parts = sorted(f"{t.predicate} {('_:' + content_hash(t.object, stack)) if isinstance(t.object, ox.BlankNode) else t.object}"
                       for t in out[b])
        stack.discard(b)
        content[b] = _digest("\n".join(parts))
        return content[b]

    for b in sorted(bnodes, key=str):
        content_hash(b, set())

    labels: dict[ox.BlankNode, str] = {}
    pending = set(bnodes)
    while pending:
        ready = [b for b in pending if all(not isinstance(t.subject, ox.BlankNode) or t.subject in labels for t in inc[b])]
        if not ready:                       # a cycle of blank nodes: fall back to content for one of them
            ready = [min(pending, key=lambda b: content[b])]
        groups: dict[str, list[ox.BlankNode]] = defaultdict(list)
        for b in ready:
            parents = sorted(f"{('_:' + labels.get(t.subject, content.get(t.subject, ''))) if isinstance(t.subject, ox.BlankNode) else t.subject} {t.predicate}"
                             for t in inc[b])
            groups["b" + _digest(content[b] + "|" + "\n".join(parents))[:20]].append(b)
        for base, members in groups.items():
            for i, b in enumerate(members):      # members are indistinguishable: any order gives the same triples
                labels[b] = base if i == 0 else f"{base}x{i}"
            pending.difference_update(members)

    def relabel(term):
        return ox.BlankNode(labels[term]) if isinstance(term, ox.BlankNode) else term

    result = {ox.Triple(relabel(t.subject), t.predicate, relabel(t.object)) for t in triples}
    return sorted(result, key=_nt_key)


def _nt_key(t: ox.Triple) -> bytes:
    return f"{t.subject} {t.predicate} {t.object} .".encode("utf-8")


def canonical_ntriples(triples: list[ox.Triple]) -> bytes:
    """Sorted canonical N-Triples (one triple a line, UTF-8, no duplicates); input from stable_triples()."""
    lines = sorted({_nt_key(t) for t in triples})
    return b"".join(line + b"\n" for line in lines)


def canonical_nquads(triples: list[ox.Triple], graph: str) -> bytes:
    g = f" <{graph}> ."
    lines = sorted({f"{t.subject} {t.predicate} {t.object}{g}".encode("utf-8") for t in triples})
    return b"".join(line + b"\n" for line in lines)


def used_prefixes(triples: list[ox.Triple], prefixes: dict[str, str] | None = None) -> dict[str, str]:
    """The prefixes (from PREFIXES) that some IRI of the triples uses, sorted by name."""
    prefixes = prefixes or PREFIXES
    iris = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    used = {}
    for name, base in prefixes.items():
        if any(i.startswith(base) for i in iris):
            used[name] = base
    return dict(sorted(used.items()))


def _compact(iri: str, prefixes: dict[str, str]) -> str:
    """Compact IRI for JSON-LD: only with prefixes ending in a gen-delim (JSON-LD 1.1 prefix rule)."""
    best = ""
    for name, base in prefixes.items():
        if iri.startswith(base) and len(base) > len(best) and base.endswith(_GEN_DELIMS):
            rest = iri[len(base):]
            if not rest.startswith("//"):
                best, short = base, f"{name}:{rest}"
    return short if best else iri


def _jsonld_value(term, prefixes):
    if isinstance(term, ox.NamedNode):
        return {"@id": _compact(term.value, prefixes)}
    if isinstance(term, ox.BlankNode):
        return {"@id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD.string:
        return term.value
    return {"@value": term.value, "@type": _compact(term.datatype.value, prefixes)}


def jsonld_document(triples: list[ox.Triple], prefixes: dict[str, str]) -> dict:
    """A flattened JSON-LD document: inline prefix context, one node object per subject, sorted."""
    ctx = {name: base for name, base in sorted(prefixes.items()) if base.endswith(_GEN_DELIMS)}
    nodes: dict[str, dict] = {}
    for t in triples:
        sid = f"_:{t.subject.value}" if isinstance(t.subject, ox.BlankNode) else _compact(t.subject.value, ctx)
        node = nodes.setdefault(sid, {"@id": sid})
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(t.object.value, ctx))
        else:
            node.setdefault(_compact(t.predicate.value, ctx), []).append(_jsonld_value(t.object, ctx))
    graph = []
    for sid in sorted(nodes):
        node = nodes[sid]
        ordered = {"@id": node.pop("@id")}
        if "@type" in node:
            ordered["@type"] = sorted(node.pop("@type"))
        for key in sorted(node):
            ordered[key] = sorted(node[key], key=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
        graph.append(ordered)
    return {"@context": ctx, "@graph": graph}


def serialize(triples: list[ox.Triple], fmt: Format, graph: str, prefixes: dict[str, str] | None = None) -> bytes:
    """Bytes of the (already stable, sorted) triples in one format; `graph` names the graph for N-Quads."""
    prefixes = used_prefixes(triples, prefixes)
    if fmt.key == "nt":
        return canonical_ntriples(triples)
    if fmt.key == "nq":
        return canonical_nquads(triples, graph)
    if fmt.key == "jsonld":
        return (json.dumps(jsonld_document(triples, prefixes), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return ox.serialize(triples, format=fmt.rdf, prefixes=prefixes if fmt.key != "xml" else xml_prefixes(prefixes))


def xml_prefixes(prefixes: dict[str, str]) -> dict[str, str]:
    """Namespaces usable as XML namespaces in RDF/XML (the writer splits other IRIs itself)."""
    return {k: v for k, v in prefixes.items() if v.endswith(("/", "#"))}


def parse_bytes(data: bytes, fmt: Format) -> list[ox.Triple]:
    """Read back what serialize() wrote (JSON-LD through pyoxigraph's own parser)."""
    return as_triples(ox.parse(input=data, format=fmt.rdf or ox.RdfFormat.JSON_LD))
