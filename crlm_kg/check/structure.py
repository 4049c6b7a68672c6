"""Structure: the QC SPARQL queries (queries/qc/*-violation.rq) and the SHACL shapes of the guideline graph itself
(shapes/guideline/, run with pySHACL), plus the extra guideline queries of queries/qc-guideline/ that declare
`# check: structure` in their header."""
from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox

from ..derive import read_header
from ..errors import InputError
from ..guideline import GUIDELINE_GRAPH, Guideline
from ..namespaces import SH, compact
from .describe import source
from .findings import Finding

_SEVERITY = {SH.Violation: "error", SH.Warning: "warning", SH.Info: "info"}


def query_findings(g: Guideline, path: Path, check: str, default_kind: str, default_severity: str = "error",
                   store: ox.Store | None = None, graph: str | None = GUIDELINE_GRAPH) -> list[Finding]:
    """One finding per row of a query file. The header (# problem:, # fix:, # kind:, # severity:) gives the words;
    the first variable is the entity, `?detail` (optional) adds a short explanation."""
    text = path.read_text(encoding="utf-8")
    header = read_header(text)
    kind = header.get("kind") or default_kind
    severity = header.get("severity") or default_severity
    problem = header.get("problem") or header.get("en") or path.stem
    st = store if store is not None else g.store
    res = st.query(text, default_graph=ox.NamedNode(graph)) if graph else st.query(text)
    names = [v.value for v in res.variables]
    out = []
    for row in res:
        entity = row[names[0]] if names else None
        iri = entity.value if isinstance(entity, ox.NamedNode) else (str(entity) if entity is not None else "")
        detail = row["detail"].value if "detail" in names and row["detail"] is not None else ""
        section = row["section"].value if "section" in names and row["section"] is not None else None
        src = source(g, iri, section) if isinstance(entity, ox.NamedNode) else None
        extra = {n: (compact(row[n].value) if isinstance(row[n], ox.NamedNode) else row[n].value)
                 for n in names[1:] if row[n] is not None and n not in ("detail", "section")}
        msg = f"{problem} {compact(iri) if iri.startswith('http') else iri}" + (f": {detail}" if detail else "")
        out.append(Finding(check, kind, severity, msg, [src] if src else [],
                           details={"query": path.name, "fix": header.get("fix", ""), **extra}))
    return out


def qc_findings(g: Guideline, files: list[Path]) -> list[Finding]:
    out = []
    for path in files:
        kind = "qc-" + re.sub(r"-violation$", "", path.stem)
        out += query_findings(g, path, "structure", kind)
    return out


def shacl_findings(g: Guideline, guideline_files: list[Path], shape_files: list[Path]) -> list[Finding]:
    """pySHACL over the guideline graph (no inference: the graph states its types)."""
    import rdflib
    from pyshacl import validate

    data, shapes = rdflib.Graph(), rdflib.Graph()
    for graph, files in ((data, guideline_files), (shapes, shape_files)):
        for f in files:
            try:
                graph.parse(f, format="turtle")
            except Exception as exc:            # rdflib raises parser-specific types; report them as bad input
                raise InputError(str(f), None, f"rdflib cannot parse it: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    _conforms, results, _text = validate(data, shacl_graph=shapes, inference="none", advanced=False, allow_warnings=True)
    out = []
    q = """PREFIX sh: <http://www.w3.org/ns/shacl#>
           SELECT ?focus ?path ?shape ?sev ?msg ?comp WHERE { ?r a sh:ValidationResult ; sh:focusNode ?focus ;
             sh:resultSeverity ?sev ; sh:sourceShape ?shape ; sh:sourceConstraintComponent ?comp .
             OPTIONAL { ?r sh:resultPath ?path } OPTIONAL { ?r sh:resultMessage ?msg FILTER(LANG(?msg) = "en" || LANG(?msg) = "") } }"""
    seen = set()
    for row in results.query(q):
        focus, path, shape, sev, msg, comp = row
        key = (str(focus), str(path), str(shape), str(msg))
        if key in seen:
            continue
        seen.add(key)
        parent = _parent_shape(shapes, shape)
        name = compact(str(parent)) if isinstance(parent, rdflib.URIRef) else "shape"
        src = source(g, str(focus)) if isinstance(focus, rdflib.URIRef) else None
        where = compact(str(focus)) if isinstance(focus, rdflib.URIRef) else "a blank node"
        message = f"{str(msg) if msg else compact(str(comp))} ({where}{', ' + compact(str(path)) if isinstance(path, rdflib.URIRef) else ''})"
        out.append(Finding("structure", "shape-violation", _SEVERITY.get(str(sev), "error"), message, [src] if src else [],
                           details={"shape": name, "path": compact(str(path)) if isinstance(path, rdflib.URIRef) else "",
                                    "focus": where, "component": compact(str(comp))}))
    return out


def _parent_shape(shapes, shape):
    """The named node shape a (blank) property shape belongs to."""
    import rdflib
    if isinstance(shape, rdflib.URIRef):
        return shape
    for s in shapes.subjects(rdflib.URIRef(SH.property), shape):
        return s
    return shape
