"""crlm-kg command line: a thin layer over the library. Heavy imports happen inside the commands, so `--help` is fast.

Exit codes: 0 success; 1 findings (validation violations, check errors); 2 bad input (file, line and reason on one
line on stderr, never a traceback).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from .argtypes import iso_date

from . import __version__


# Modules that add a command: each defines register(subparsers) and imports heavy libraries only inside its
# command function, so that `crlm-kg --help` stays fast.
COMMAND_MODULES: list[str] = ["crlm_kg.export_cli", "crlm_kg.query_cli", "crlm_kg.check_cli"]



def cmd_recommend(args) -> int:
    from .recommend import Engine
    from .render import result_to_json, result_to_text, results_to_turtle

    if args.cohort:
        from .cohort import run_cohort
        if not args.out:
            raise SystemExit("crlm-kg: error: --cohort needs --out DIR")
        summary = run_cohort(args.inputs, args.out, workers=args.workers, batch_size=args.batch_size, as_of=args.as_of)
        print(json.dumps(summary, indent=2))
        return 0
    engine = Engine()
    results = engine.evaluate_files(args.inputs, as_of=args.as_of)
    out = sys.stdout
    if args.format == "json":
        docs = [result_to_json(r, args.lang) for r in results]
        json.dump(docs[0] if len(docs) == 1 else docs, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "turtle":
        out.flush()
        sys.stdout.buffer.write(results_to_turtle(results, __version__))
    else:
        out.write("\n".join(result_to_text(r, args.lang) for r in results))
    return 0


def cmd_validate(args) -> int:
    from .validate import Validator
    from .render import validation_to_json, validation_to_text, validation_to_turtle

    reports = Validator().validate_files(args.inputs, engine=args.engine)
    if args.format == "json":
        json.dump(validation_to_json(reports), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.format == "turtle":
        sys.stdout.flush()
        sys.stdout.buffer.write(validation_to_turtle(reports))
    else:
        sys.stdout.write(validation_to_text(reports, args.lang))
    return 0 if all(r.conforms for r in reports) else 1


def cmd_build_shapes(args) -> int:
    from .shapegen import main as generate
    return generate()


def cmd_coverage(args) -> int:
    from .coverage import coverage_markdown
    text = coverage_markdown()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crlm-kg", description="The Chinese CRLM guideline (2023) as a computable knowledge graph.")
    p.add_argument("--version", action="version", version=f"crlm-kg {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("recommend", help="patient RDF in, explained recommendations and flags out")
    r.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="patient Turtle files or directories of them")
    r.add_argument("--format", choices=["text", "json", "turtle"], default="text")
    r.add_argument("--lang", choices=["zh", "en"], default="en")
    r.add_argument("--as-of", type=iso_date, default=None, metavar="DATE", help="evaluation date (default: today)")
    r.add_argument("--cohort", action="store_true",
                   help="evaluate many patients in batches on every core; write --out DIR/results.jsonl, results.nt, summary.json")
    r.add_argument("--out", metavar="DIR", help="output folder for --cohort")
    r.add_argument("--workers", type=int, default=None, help="worker processes for --cohort (default: the cores)")
    r.add_argument("--batch-size", type=int, default=200, help="files per batch for --cohort (default 200)")
    r.set_defaults(func=cmd_recommend)

    v = sub.add_parser("validate", help="SHACL validation of patient records (exit 0 conforms, 1 violations, 2 bad input)")
    v.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR")
    v.add_argument("--format", choices=["text", "json", "turtle"], default="text")
    v.add_argument("--lang", choices=["zh", "en"], default="en")
    v.add_argument("--engine", choices=["fast", "pyshacl", "rudof"], default="fast",
                   help="fast: compiled shapes on Oxigraph (default); pyshacl: the reference; rudof: pyrudof")
    v.set_defaults(func=cmd_validate)

    b = sub.add_parser("build-shapes", help="regenerate shapes/generated/requirements.ttl from the action requirements")
    b.set_defaults(func=cmd_build_shapes)

    c = sub.add_parser("coverage", help="the coverage table: recommendations per section, evidence level/grade and action")
    c.add_argument("--out", metavar="FILE", help="write Markdown here (docs/coverage.md) instead of stdout")
    c.set_defaults(func=cmd_coverage)

    for module in COMMAND_MODULES:           # further commands, each in its own module with a register(sub)
        importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .errors import InputError
    try:
        return args.func(args)
    except InputError as exc:
        print(f"crlm-kg: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
