"""`crlm-kg export`: write a release folder (see crlm_kg.export). Heavy imports happen inside the command."""
from __future__ import annotations

import sys

from .argtypes import iso_date



def cmd_export(args) -> int:
    from .export import export_release, parse_formats, parse_includes

    rel = export_release(args.out, formats=parse_formats(args.format), include=parse_includes(args.include),
                         date=args.date, sparql_endpoint=args.sparql_endpoint)
    counts = ", ".join(f"{p.stem} {len(p.triples)}" for p in rel.parts)
    print(f"crlm-kg {rel.version} ({rel.issued.isoformat()}): {len(rel.files)} files in {args.out} "
          f"[{', '.join(f.key for f in rel.formats)}]; triples: {counts}", file=sys.stderr)
    if rel.fhir_resources:
        print("FHIR R4 (validated): " + ", ".join(f"{n} {k}" for k, n in sorted(rel.fhir_resources.items())), file=sys.stderr)
    return 0


def register(subparsers) -> None:
    e = subparsers.add_parser(
        "export", help="write a release folder: ontology, shapes, queries, examples, results, JSON-LD context, "
                       "VoID/DCAT/PROV, checksums, HTML docs and a CPG-on-FHIR bundle")
    e.add_argument("--out", required=True, metavar="DIR", help="release folder (created; an earlier release in it is replaced)")
    e.add_argument("--format", default="ttl", metavar="FMT[,FMT…]",
                   help="RDF formats: ttl, nt, nq, xml, jsonld, comma-separated, or all (default: ttl)")
    e.add_argument("--include", default="all", metavar="PART[,PART…]",
                   help="ontology, shapes, queries, patients, results, docs, fhir, comma-separated, or all (default: all)")
    e.add_argument("--date", type=iso_date, default=None, metavar="DATE",
                   help="release date (default: SOURCE_DATE_EPOCH, else the ontology's dcterms:modified/created)")
    e.add_argument("--sparql-endpoint", default=None, metavar="URL",
                   help="SPARQL endpoint named in the VoID/DCAT description (default: https://w3id.org/crlm-kg/sparql)")
    e.set_defaults(func=cmd_export)
