"""Linked-data export of crlm-kg (`crlm-kg export`): a deterministic release folder with the ontology, shapes,
queries, example patients and results in several RDF formats, a JSON-LD context, VoID/DCAT/PROV metadata, SHA-256
checksums, HTML documentation (pyLODE + the guideline browser) and a CPG-on-FHIR bundle.

    from crlm_kg.export import export_release, parse_formats
    release = export_release("release/", formats=parse_formats("ttl,jsonld"))

Modules: rdfio (deterministic serialisation), release (the folder), context (JSON-LD context), criteria (criteria as
text / CQL-like), browser (guideline browser), ontology_doc (pyLODE), fhir + fhir_models (CPG-on-FHIR, R4 models).
Heavy libraries are imported lazily.
"""
from __future__ import annotations


def export_release(*args, **kwargs):
    from .release import export_release as run
    return run(*args, **kwargs)


def parse_formats(text: str):
    from .release import parse_formats as run
    return run(text)


def parse_includes(text: str):
    from .release import parse_includes as run
    return run(text)


__all__ = ["export_release", "parse_formats", "parse_includes"]
