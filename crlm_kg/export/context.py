"""The JSON-LD context of the release: every prefix of namespaces.PREFIXES usable as a JSON-LD prefix, and a term
per property of the project vocabulary (object properties coerce to @id, datatype properties to their range)."""
from __future__ import annotations

import json

import pyoxigraph as ox

from ..namespaces import OWL, PREFIXES, RDF_TYPE, RDFS, XSD
from .rdfio import _GEN_DELIMS, _compact

_KEYWORDS = {"type", "id", "value", "language", "graph", "context", "list", "set", "reverse", "index", "base", "vocab"}


def jsonld_context(triples: list[ox.Triple], vocabulary: str | None = None) -> dict:
    """The context document for the ontology triples; terms for the properties in `vocabulary` (default crlm:)."""
    vocabulary = vocabulary or PREFIXES["crlm"]
    prefixes = {n: b for n, b in sorted(PREFIXES.items()) if b.endswith(_GEN_DELIMS)}
    kinds: dict[str, str] = {}
    ranges: dict[str, str] = {}
    for t in triples:
        s = t.subject.value if isinstance(t.subject, ox.NamedNode) else None
        if not s or not s.startswith(vocabulary):
            continue
        if t.predicate.value == RDF_TYPE and t.object.value in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
            kinds[s] = t.object.value
        elif t.predicate.value == RDFS.range and isinstance(t.object, ox.NamedNode):
            ranges[s] = t.object.value
    terms: dict[str, object] = {}
    for iri in sorted(kinds):
        local = iri[len(vocabulary):]
        if not local or local in prefixes or local.lower() in _KEYWORDS or local in terms:
            continue
        kind = kinds[iri]
        if kind == OWL.ObjectProperty:
            terms[local] = {"@id": _compact(iri, prefixes), "@type": "@id"}
        elif kind == OWL.DatatypeProperty and iri in ranges and ranges[iri].startswith(PREFIXES["xsd"]) and ranges[iri] != XSD.string:
            terms[local] = {"@id": _compact(iri, prefixes), "@type": _compact(ranges[iri], prefixes)}
        else:
            terms[local] = _compact(iri, prefixes)
    return {"@context": {"@version": 1.1, **prefixes, **terms}}


def context_bytes(triples: list[ox.Triple]) -> bytes:
    return (json.dumps(jsonld_context(triples), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
