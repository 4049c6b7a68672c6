"""Evidence and grading: every grading's grade against the Oxford mapping in the ontology (crlm:expectedGrade on each
level), through the queries of queries/qc-guideline/ marked `# check: evidence`, plus a summary table."""
from __future__ import annotations

from collections import Counter

import pyoxigraph as ox

from ..guideline import GUIDELINE_GRAPH, Guideline
from ..namespaces import sparql_prefixes
from .describe import rec_source
from .findings import Finding
from .structure import query_findings


def evidence_findings(g: Guideline, queries) -> tuple[list[Finding], dict]:
    out = []
    for path in queries:
        for f in query_findings(g, path, "evidence", path.stem, "warning"):
            grading = f.sources[0].iri if f.sources else ""
            f.sources += [rec_source(g, r) for r in g.recommendations if r.grading == grading]
            out.append(f)
    rows = g.store.query(sparql_prefixes() + """
        SELECT ?ln ?gn ?en (COUNT(?x) AS ?n) WHERE { ?x a crlm:EvidenceGrading ; crlm:evidenceLevel ?l ; crlm:grade ?gr .
          ?l skos:notation ?ln . ?gr skos:notation ?gn . OPTIONAL { ?l crlm:expectedGrade/skos:notation ?en } }
        GROUP BY ?ln ?gn ?en ORDER BY ?ln ?gn""", default_graph=ox.NamedNode(GUIDELINE_GRAPH))
    pairs = [{"level": r["ln"].value, "grade": r["gn"].value, "expected": r["en"].value if r["en"] is not None else "",
              "gradings": int(r["n"].value)} for r in rows]
    counts = Counter("follows" if p["grade"] == p["expected"] else "differs" for p in pairs for _ in range(p["gradings"]))
    graded = sum(1 for r in g.recommendations if r.grading)
    table = {"pairs": pairs, "gradings": sum(p["gradings"] for p in pairs), "follow_mapping": counts["follows"],
             "differ": counts["differs"], "graded_recommendations": graded, "recommendations": len(g.recommendations)}
    return out, table
