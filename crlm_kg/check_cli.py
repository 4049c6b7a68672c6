"""Commands `crlm-kg check` (consistency of the guideline itself) and `crlm-kg flowchart` (the treatment pathways).

Registered through cli.COMMAND_MODULES; heavy modules are imported inside the command functions only.

    crlm-kg check [GUIDELINE_FILES...] [--format text|json|html|markdown] [--out DIR] [--no-hermit]
    crlm-kg flowchart [GUIDELINE_FILES...] [--format svg|png|dot|mermaid] [--lang zh|en] [--out FILE]

`check` exits 1 when the report has findings of severity error, 0 otherwise, 2 on bad input.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPORT_NAME = "consistency-report"


def cmd_check(args) -> int:
    from .check.report import RENDERERS
    from .check.run import CHECKS, run_check

    checks = tuple(args.only.split(",")) if args.only else CHECKS
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        from .errors import InputError
        raise InputError("--only", None, f"unknown check(s) {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    report = run_check(args.files or None, hermit=not args.no_hermit, checks=checks)
    render, ext = RENDERERS[args.format]
    text = render(report)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{REPORT_NAME}.{ext}"
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 1 if report.has_errors else 0


def cmd_flowchart(args) -> int:
    from . import paths
    from .check.model import load_model
    from .check.pathways import PathwayCheck
    from .check.regions import FeatureModel
    from .check.run import expand_guideline_files
    from .guideline import Guideline

    files = expand_guideline_files(args.files) if args.files else paths.ontology_files()
    g = Guideline.load(files, shapes=[])
    data = PathwayCheck(g, load_model(), FeatureModel(g)).render(args.format, args.lang)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    return 0


def register(subparsers) -> None:
    c = subparsers.add_parser("check", help="consistency of the guideline graph itself: structure, logic, conflicting "
                                            "recommendations, grading, thresholds, coverage, pathways (exit 1 on errors)")
    c.add_argument("files", nargs="*", metavar="GUIDELINE_FILES",
                   help="Turtle files or directories of the guideline (default: the bundled ontology)")
    c.add_argument("--format", choices=["text", "json", "html", "markdown"], default="text")
    c.add_argument("--out", metavar="DIR", help="write DIR/consistency-report.{txt,json,html,md} instead of stdout")
    c.add_argument("--no-hermit", action="store_true", help="skip the OWL 2 DL reasoner (HermiT, Java); the OWL 2 RL path still runs")
    c.add_argument("--only", metavar="CHECKS", help="comma-separated subset of: structure, logic, conflicts, evidence, "
                                                  "thresholds, coverage, pathways")
    c.set_defaults(func=cmd_check)

    f = subparsers.add_parser("flowchart", help="draw the treatment pathways rebuilt from the recommendations")
    f.add_argument("files", nargs="*", metavar="GUIDELINE_FILES", help="Turtle files or directories (default: the bundled ontology)")
    f.add_argument("--format", choices=["svg", "png", "dot", "mermaid"], default="mermaid",
                   help="svg and png need Graphviz `dot`; mermaid and dot are text")
    f.add_argument("--lang", choices=["zh", "en"], default="en")
    f.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    f.set_defaults(func=cmd_flowchart)
