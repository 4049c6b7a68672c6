"""The one prefix table of crlm-kg, and the vocabulary terms the Python code refers to.

Every IRI the package spells out lives here; other modules import these constants. The terms are generic mechanism
vocabulary (criteria, operators, strengths, results), never clinical content: the clinical meaning stays in the
graph files.
"""
from __future__ import annotations

BASE = "https://w3id.org/crlm-kg/"

PREFIXES: dict[str, str] = {
    "crlm": BASE + "def/",
    "act": BASE + "action/",
    "sec": BASE + "section/",
    "rec": BASE + "rec/",
    "grd": BASE + "grading/",
    "thr": BASE + "threshold/",
    "req": BASE + "requirement/",
    "crlmsh": BASE + "shapes/",
    "crlmq": BASE + "query/",
    "crlmr": BASE + "result/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "sh": "http://www.w3.org/ns/shacl#",
    "vann": "http://purl.org/vocab/vann/",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sct": "http://snomed.info/id/",
    "loinc": "https://loinc.org/",
    "atc": "http://purl.bioontology.org/ontology/ATC/",
    "hgnc": "https://identifiers.org/hgnc:",
    "ncit": "http://purl.obolibrary.org/obo/NCIT_",
    "ex": "https://example.org/crlm/patient/",
}

# Code systems: how a skos:exactMatch IRI is reported as {"system", "code"} in the JSON contract.
CODE_SYSTEMS: dict[str, str] = {
    "ATC": PREFIXES["atc"],
    "LOINC": PREFIXES["loinc"],
    "SNOMED": PREFIXES["sct"],
    "HGNC": PREFIXES["hgnc"],
}

ONTOLOGY_IRI = BASE + "ontology"
GUIDELINE_IRI = BASE + "guideline/2023"
GUIDELINE_GRAPH = BASE + "graph/guideline"
SHAPES_GRAPH = GUIDELINE_GRAPH + "/shapes"        # the SHACL shapes, beside the guideline
DATA_GRAPH_BASE = BASE + "graph/data/"            # query/serve/push: one named graph per data file (+ file stem)
BATCH_GRAPH = BASE + "graph/batch"        # patient records of the batch being evaluated
REASONED_GRAPH = BASE + "graph/owl-rl"    # facts inferred by the compiled OWL 2 RL rules


def sparql_prefixes(names: list[str] | None = None) -> str:
    """PREFIX lines for the given prefix names (all when None)."""
    items = PREFIXES.items() if names is None else ((n, PREFIXES[n]) for n in names)
    return "".join(f"PREFIX {n}: <{iri}>\n" for n, iri in items)


def _ns(prefix: str):
    base = PREFIXES[prefix]

    class _N:
        def __getattr__(self, name: str) -> str:
            if name.startswith("__"):
                raise AttributeError(name)
            value = base + name
            setattr(self, name, value)        # later lookups are plain attribute reads (hot paths use them)
            return value

        def __getitem__(self, name: str) -> str:
            return base + name

    return _N()


CRLM = _ns("crlm")
ACT = _ns("act")
RDF_TYPE = PREFIXES["rdf"] + "type"
RDFS = _ns("rdfs")
OWL = _ns("owl")
SKOS = _ns("skos")
XSD = _ns("xsd")
PROV = _ns("prov")
SH = _ns("sh")
DCTERMS = _ns("dcterms")


def compact(iri: str) -> str:
    """The prefixed form of an IRI when a prefix fits, else <iri>."""
    best = ""
    for name, base in PREFIXES.items():
        if iri.startswith(base) and len(base) > len(best):
            best, short = base, f"{name}:{iri[len(base):]}"
    return short if best else f"<{iri}>"
