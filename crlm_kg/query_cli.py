"""Commands `crlm-kg query`, `crlm-kg serve` and `crlm-kg push`: thin layers over query.py, serve.py and push.py.
Heavy libraries are imported inside the command functions, so `crlm-kg --help` stays fast."""
from __future__ import annotations

import os
import sys

FORMATS = ["table", "json", "csv", "tsv", "turtle"]


def cmd_query(args) -> int:
    from . import query as Q

    if args.list:
        lib = Q.library()
        width = max(len(n) for n in lib)
        for name, q in sorted(lib.items()):
            params = " ".join(f"?{p.name}" for p in q.parameters)
            sys.stdout.write(f"{name:<{width}}  {q.en}" + (f"  [{params}]" if params else "") + "\n")
        return 0
    if not args.query:
        from .errors import InputError
        raise InputError("query", None, "give a library query NAME or a FILE.rq (crlm-kg query --list shows the library)")
    lq = Q.load(args.query)
    text = Q.bind(lq, Q.parse_params(args.param))
    if args.show:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    where = str(lq.path or lq.name)
    if args.endpoint:
        result = Q.execute_remote(args.endpoint, text, where=where, timeout=args.timeout, auth=_auth(args))
    else:
        store = Q.load_dataset(args.data or [])
        result = Q.execute(store, text, where=where)
    fmt = args.format or ("turtle" if result.kind == "graph" else "table")
    sys.stdout.flush()
    sys.stdout.buffer.write(Q.serialize(result, fmt))
    return 0


def cmd_serve(args) -> int:
    from .serve import serve_forever
    return serve_forever(args.host, args.port, args.data or [], workers=args.workers, timeout=args.timeout,
                         max_rows=args.max_rows, max_request=args.max_request, quiet=not args.verbose)


def cmd_push(args) -> int:
    from .push import push, write_nquads
    if args.out:
        report = write_nquads(args.out, args.data or [], graph=args.graph, guideline=not args.no_guideline)
        where = args.out
    else:
        from .errors import InputError
        if not args.endpoint:
            raise InputError("push", None, "give --endpoint URL (or --out FILE.nq to write the quads)")
        report = push(args.endpoint, args.data or [], graph=args.graph, protocol=args.protocol,
                      guideline=not args.no_guideline, append=args.append, batch_size=args.batch_size,
                      auth=_auth(args), timeout=args.timeout)
        where = args.endpoint
    for g, n in report.graphs.items():
        print(f"{n:>8} triples  " + ("the default graph" if g == "default" else f"<{g}>"))
    print(f"{report.triples:>8} triples in {len(report.graphs)} graphs to {where}"
          + (f" ({report.requests} requests, {report.seconds:.1f} s)" if report.requests else ""))
    return 0


def _auth(args):
    """--user NAME with the password from the environment variable CRLM_KG_PASSWORD (never on the command line)."""
    user = getattr(args, "user", None)
    return (user, os.environ.get("CRLM_KG_PASSWORD", "")) if user else None


def register(subparsers) -> None:
    q = subparsers.add_parser("query", help="run a library query (or a .rq file) over the guideline and data files, or on an endpoint",
                              description="Run a named query of queries/library/ (or any .rq file) over the guideline, "
                                          "its shapes and the given data files (pyoxigraph, default graph = union of all "
                                          "graphs), or on a remote SPARQL 1.1 endpoint.")
    q.add_argument("query", nargs="?", metavar="NAME|FILE.rq")
    q.add_argument("--data", nargs="+", metavar="FILE_OR_DIR", help="patient records, results graphs (crlm-kg recommend --format turtle)…")
    q.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="bind a parameter, e.g. section=sec:4.1.1 (prefixed names, <IRIs>, numbers, true/false, text); repeat for several values")
    q.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default for SELECT/ASK), json/csv/tsv (SPARQL 1.1 result formats), turtle (default for CONSTRUCT/DESCRIBE; json = JSON-LD there)")
    q.add_argument("--endpoint", metavar="URL", help="run on this SPARQL 1.1 Protocol endpoint instead of locally")
    q.add_argument("--user", metavar="NAME", help="user for the endpoint; the password is read from $CRLM_KG_PASSWORD")
    q.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="HTTP timeout for --endpoint (default 120)")
    q.add_argument("--list", action="store_true", help="list the library queries and their parameters")
    q.add_argument("--show", action="store_true", help="print the query with its parameters bound instead of running it")
    q.set_defaults(func=cmd_query)

    s = subparsers.add_parser("serve", help="a read-only SPARQL 1.1 endpoint over the guideline and data; dereferences the project's IRIs")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data", nargs="+", metavar="FILE_OR_DIR", help="patient records, results graphs… (one named graph per file)")
    s.add_argument("--workers", type=int, default=2, help="query worker processes (default 2)")
    s.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="time limit per query (default 30)")
    s.add_argument("--max-rows", type=int, default=10_000, metavar="N", help="rows (or triples) per answer at most (default 10000)")
    s.add_argument("--max-request", type=int, default=1_000_000, metavar="BYTES", help="request size limit (default 1 MB)")
    s.add_argument("--verbose", action="store_true", help="log each request on stderr")
    s.set_defaults(func=cmd_serve)

    p = subparsers.add_parser("push", help="load the guideline, patients and results into an external SPARQL 1.1 store")
    p.add_argument("--endpoint", metavar="URL", help="SPARQL Update endpoint (or the Graph Store endpoint with --protocol gsp)")
    p.add_argument("--data", nargs="+", metavar="FILE_OR_DIR", help="patient records and results graphs to load beside the guideline")
    p.add_argument("--graph", metavar="IRI", help="put everything into this one graph, or `default` for the store's default graph "
                        "(without it: guideline, shapes and each data file in their own named graphs)")
    p.add_argument("--protocol", choices=["update", "gsp"], default="update", help="SPARQL 1.1 Update (default) or Graph Store HTTP Protocol")
    p.add_argument("--append", action="store_true", help="add to the target graphs instead of replacing them")
    p.add_argument("--no-guideline", action="store_true", help="send only the data files")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="triples per request (default 1000 for update, 20000 for gsp)")
    p.add_argument("--user", metavar="NAME", help="user for the store; the password is read from $CRLM_KG_PASSWORD")
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="HTTP timeout per request (default 300)")
    p.add_argument("--out", metavar="FILE.nq", help="write the quads to this N-Quads file instead of sending them (for bulk loaders)")
    p.set_defaults(func=cmd_push)
