"""`crlm-kg serve`: a read-only SPARQL 1.1 Protocol endpoint over the guideline and loaded data, which also
dereferences the project's IRIs (https://w3id.org/crlm-kg/PATH is served at /PATH).

    handle = start(host="127.0.0.1", port=0, data=["results.ttl"])   # port 0: a free port
    ... handle.url + "/sparql" ...
    handle.stop()

Routes
  /sparql          GET ?query=… or POST (application/x-www-form-urlencoded `query=`, or application/sparql-query):
                   SELECT/ASK as SPARQL JSON (default), XML, CSV, TSV or an HTML table; CONSTRUCT/DESCRIBE as Turtle
                   (default), JSON-LD, N-Triples, RDF/XML or HTML; chosen by Accept (q-values) or `format=`.
                   `default-graph-uri` / `named-graph-uri` select graphs; without them the default graph is the union
                   of all graphs. Without a query: the service description (sd:, Turtle/JSON-LD) or a query form (HTML).
                   SPARQL Update (`update=`, application/sparql-update) → 403; PUT/DELETE/PATCH → 405.
  /query/KIND/NAME a query of the project (crlmq: IRIs; KIND = library, derive or qc): its text
                   (application/sparql-query) or an HTML page with its header and a link that runs it.
  /PATH            the description of https://w3id.org/crlm-kg/PATH (its concise bounded description) as HTML,
                   Turtle or JSON-LD; 404 when the graph knows nothing about it.

Bounds: queries run in worker processes (--workers); a query still running after --timeout seconds is cancelled by
ending its worker (a fresh one replaces it) and answered 503. At most --max-rows rows (or triples) are returned; a
cut answer carries the headers `X-SPARQL-MaxRows` and `X-Crlm-Kg-Truncated: true`. Requests larger than
--max-request bytes are refused (413).
"""
from __future__ import annotations

import html
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from .namespaces import BASE, GUIDELINE_IRI, PREFIXES, compact

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_REQUEST = 1_000_000

# result format names → media types (a request's `format=` may give either)
BINDINGS_MEDIA = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                  "csv": "text/csv", "tsv": "text/tab-separated-values", "html": "text/html"}
GRAPH_MEDIA = {"turtle": "text/turtle", "jsonld": "application/ld+json", "ntriples": "application/n-triples",
               "rdfxml": "application/rdf+xml", "html": "text/html"}
_ALIASES = {"application/json": "json", "application/x-turtle": "turtle", "text/plain": "ntriples",
            "application/xml": "xml", "text/xml": "xml", "application/sparql-results+json": "json",
            "application/sparql-results+xml": "xml", "text/n-triples": "ntriples"}


# ------------------------------------------------------------------------------------------------ negotiation
def negotiate(accept: str | None, offers: dict[str, str], default: str) -> str | None:
    """The offered format name that best fits an Accept header (q-values, type/* and */*); `default` for a missing
    header or */*; None when nothing acceptable is offered (→ 406)."""
    if not accept or not accept.strip():
        return default
    by_media = {media: name for name, media in offers.items()}
    for media, name in _ALIASES.items():
        if name in offers:
            by_media.setdefault(media, name)
    best, best_q, best_rank = None, 0.0, 99
    for i, part in enumerate(accept.split(",")):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        q = 1.0
        for b in bits[1:]:
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media == "*/*":
            cand, rank = default, 3
        elif media.endswith("/*"):
            major = media[:-1]
            cand = default if offers[default].startswith(major) else next(
                (n for m, n in by_media.items() if m.startswith(major)), None)
            rank = 2
        else:
            cand, rank = by_media.get(media), 1
        if cand and (q > best_q or (q == best_q and rank < best_rank)):
            best, best_q, best_rank = cand, q, rank
    return best


def choose_format(params: dict, accept: str | None, offers: dict, default: str) -> str | None:
    fmt = (params.get("format") or [None])[0]
    if fmt:
        fmt = _ALIASES.get(fmt, fmt)
        if fmt in offers:
            return fmt
        return next((n for n, m in offers.items() if m == fmt), None)
    return negotiate(accept, offers, default)


# ------------------------------------------------------------------------------------------------ HTML
_STYLE = ("body{font-family:sans-serif;max-width:72em;margin:1em auto;padding:0 1em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .4em;vertical-align:top;text-align:left}code{font-size:90%}"
          "textarea{width:100%;font-family:monospace}")


def html_page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>").encode("utf-8")


def local_path(iri: str) -> str | None:
    """/PATH for a project IRI (https://w3id.org/crlm-kg/PATH), else None."""
    return "/" + iri[len(BASE):] if iri.startswith(BASE) else None


def _term_html(term, labels: dict | None = None) -> str:
    import pyoxigraph as ox
    if isinstance(term, ox.NamedNode):
        href = local_path(term.value) or term.value
        text = compact(term.value)
        label = (labels or {}).get(term.value)
        extra = f" <small>{html.escape(label)}</small>" if label else ""
        return f'<a href="{html.escape(quote(href, safe=":/#?=&%~+-._"))}">{html.escape(text)}</a>{extra}'
    if isinstance(term, ox.BlankNode):
        return f"<code>_:{html.escape(term.value)}</code>"
    if term is None:
        return ""
    lang = f' <small>@{html.escape(term.language)}</small>' if term.language else ""
    return html.escape(term.value).replace("\n", "<br>") + lang


def results_html(result, title: str = "SPARQL results") -> bytes:
    if result.kind == "boolean":
        return html_page(title, f"<h1>{html.escape(title)}</h1><p><b>{'true' if result.boolean else 'false'}</b></p>")
    from .query import as_rows
    r = as_rows(result)
    head = "".join(f"<th>{html.escape(v)}</th>" for v in r.variables)
    rows = "".join("<tr>" + "".join(f"<td>{_term_html(row.get(v))}</td>" for v in r.variables) + "</tr>" for row in r.rows)
    note = f"<p>{len(r.rows)} rows{' (truncated)' if r.truncated else ''}</p>"
    return html_page(title, f"<h1>{html.escape(title)}</h1>{note}<table><tr>{head}</tr>{rows}</table>")


def query_form_html(endpoint: str, query_text: str = "") -> bytes:
    default = query_text or ("PREFIX crlm: <" + PREFIXES["crlm"] + ">\nPREFIX rdfs: <" + PREFIXES["rdfs"] + ">\n"
                             "SELECT ?r ?label WHERE {\n  ?r a crlm:Recommendation ; rdfs:label ?label .\n"
                             '  FILTER(LANG(?label) = "en")\n} LIMIT 20')
    body = (f"<h1>crlm-kg SPARQL endpoint</h1><p>SPARQL 1.1 Protocol endpoint: <code>{html.escape(endpoint)}</code> "
            f"(read-only). <a href=\"?format=turtle\">Service description</a> · <a href=\"/\">home</a></p>"
            f'<form method="get"><textarea name="query" rows="14">{html.escape(default)}</textarea><br>'
            '<select name="format"><option value="html">HTML</option><option value="json">JSON</option>'
            '<option value="csv">CSV</option><option value="tsv">TSV</option><option value="turtle">Turtle</option>'
            '</select> <button type="submit">Run</button></form>')
    return html_page("crlm-kg SPARQL endpoint", body)


# ------------------------------------------------------------------------------------------------ worker process
def _worker_main(conn, data: list, max_rows: int, timeout: float) -> None:   # pragma: no cover - runs in a child
    """A worker process: loads the dataset once, then answers requests from the parent until the pipe closes."""
    try:
        from . import query as Q
        from .errors import InputError
        try:
            store = Q.load_dataset(data)
            graphs = sorted(g.value for g in store.named_graphs())
        except InputError as exc:
            conn.send(("error", exc.path, exc.line, exc.message))
            return
        conn.send(("ready", graphs, len(store)))
        while True:
            try:
                req = conn.recv()
            except EOFError:
                return
            try:
                conn.send(_answer(Q, store, req, max_rows, timeout))
            except Exception as exc:      # never let one request end the worker: report it as a server error
                conn.send((500, "text/plain; charset=utf-8", f"internal error: {exc}".encode(), {}))
    except KeyboardInterrupt:
        return


def _answer(Q, store, req: dict, max_rows: int, timeout: float):
    from .errors import InputError
    op = req["op"]
    if op == "query":
        try:
            result = Q.execute(store, req["text"], where="query", max_rows=max_rows, timeout=timeout,
                               default_graph=req.get("default_graph") or None, named_graphs=req.get("named_graphs") or None)
        except InputError as exc:
            return 400, "text/plain; charset=utf-8", f"{exc.message}\n".encode(), {}
        except Q.QueryTimeout as exc:
            return 503, "text/plain; charset=utf-8", f"query cancelled: {exc}\n".encode(), {}
        return _render(Q, result, req["format"], max_rows)
    if op == "describe":
        return _describe(Q, store, req["iri"], req["format"], max_rows)
    return 400, "text/plain", b"unknown operation\n", {}


def _render(Q, result, fmt: str, max_rows: int):
    headers = {"X-SPARQL-MaxRows": str(max_rows), "X-Crlm-Kg-Truncated": "true"} if result.truncated else {}
    if fmt == "html":
        return 200, "text/html; charset=utf-8", results_html(result), headers
    if result.kind == "graph":
        return 200, GRAPH_MEDIA[fmt] + ("; charset=utf-8" if fmt in ("turtle", "ntriples") else ""), Q.graph_bytes(result, fmt), headers
    body = {"json": Q.to_json, "xml": Q.to_xml, "csv": Q.to_csv, "tsv": Q.to_tsv}[fmt](result)
    return 200, BINDINGS_MEDIA[fmt] + "; charset=utf-8", body, headers


def _describe(Q, store, iri: str, fmt: str, max_rows: int):
    import pyoxigraph as ox
    node = ox.NamedNode(iri)
    result = Q.execute(store, f"DESCRIBE <{iri}>", max_rows=max_rows)
    incoming = [q for q in store.quads_for_pattern(None, None, node)][:max_rows]
    if not result.triples and not incoming:
        return 404, "text/plain; charset=utf-8", f"nothing is known about <{iri}>\n".encode(), {}
    seen, unique = set(), []
    for t in result.triples:                 # the union default graph repeats a triple held in several graphs
        if str(t) not in seen:
            seen.add(str(t))
            unique.append(t)
    result.triples = unique
    if fmt != "html":
        return 200, GRAPH_MEDIA[fmt] + ("; charset=utf-8" if fmt in ("turtle", "ntriples") else ""), Q.graph_bytes(result, fmt), {}
    labels = {}
    names = {t.predicate.value for t in unique} | {t.object.value for t in unique if isinstance(t.object, ox.NamedNode)}
    names |= {q.subject.value for q in incoming if isinstance(q.subject, ox.NamedNode)} | {q.predicate.value for q in incoming}
    for name in names:
        for q in store.quads_for_pattern(ox.NamedNode(name), ox.NamedNode(PREFIXES["rdfs"] + "label"), None):
            if isinstance(q.object, ox.Literal) and (q.object.language in ("en", None) or name not in labels):
                labels[name] = q.object.value
    title = next((t.object.value for t in unique if t.subject == node and t.predicate.value == PREFIXES["rdfs"] + "label"
                  and isinstance(t.object, ox.Literal) and t.object.language == "en"), compact(iri))
    rows = "".join(f"<tr><td>{_term_html(t.subject)}</td><td>{_term_html(t.predicate, labels)}</td>"
                   f"<td>{_term_html(t.object, labels)}</td></tr>"
                   for t in sorted(unique, key=lambda t: (t.subject != node, str(t.subject), str(t.predicate), str(t.object))))
    seen_in = sorted({(str(q.subject), str(q.predicate)): q for q in incoming}.values(), key=lambda q: (str(q.predicate), str(q.subject)))
    back = "".join(f"<tr><td>{_term_html(q.subject, labels)}</td><td>{_term_html(q.predicate, labels)}</td></tr>" for q in seen_in)
    link = html.escape(local_path(iri) or "")
    body = (f"<h1>{html.escape(title)}</h1><p><code>{html.escape(iri)}</code> · "
            f'<a href="{link}?format=turtle">Turtle</a> · <a href="{link}?format=jsonld">JSON-LD</a> · '
            f'<a href="/sparql">SPARQL</a></p><table><tr><th>subject</th><th>property</th><th>value</th></tr>{rows}</table>')
    if back:
        body += f"<h2>Referenced by</h2><table><tr><th>subject</th><th>property</th></tr>{back}</table>"
    return 200, "text/html; charset=utf-8", html_page(title, body), {}


@dataclass
class _Worker:
    process: object
    conn: object


@dataclass
class WorkerPool:
    """Worker processes, each holding the dataset; a query that overruns its time kills its worker."""
    data: list
    size: int = 2
    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    graphs: list = field(default_factory=list)
    triples: int = 0

    def __post_init__(self):
        import queue
        self._idle: "queue.Queue[_Worker]" = queue.Queue()
        self._all: list = []
        self._lock = threading.Lock()
        self._closed = False
        starting = [self._spawn() for _ in range(max(1, self.size))]
        for w in starting:
            self._await_ready(w)
            self._idle.put(w)

    def _spawn(self) -> _Worker:
        """A fresh interpreter (`python -m crlm_kg.serve --worker FD CONFIG`) talking over a socket pair: unlike
        multiprocessing's spawn it never re-imports the caller's __main__, and it can be killed at any moment."""
        import json
        import multiprocessing
        import os
        import subprocess
        from pathlib import Path
        parent, child = multiprocessing.Pipe()
        config = json.dumps({"data": [str(d) for d in self.data], "max_rows": self.max_rows, "timeout": self.timeout})
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent)] + [x for x in [env.get("PYTHONPATH")] if x])
        p = subprocess.Popen([sys.executable, "-m", "crlm_kg.serve", "--worker", str(child.fileno()), config],
                             pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, env=env)
        child.close()
        w = _Worker(p, parent)
        with self._lock:
            self._all.append(w)
        return w

    def _await_ready(self, w: _Worker) -> None:
        from .errors import InputError
        if not w.conn.poll(300):
            self._kill(w)
            raise InputError("serve", None, "a query worker did not start within 300 s")
        try:
            msg = w.conn.recv()
        except EOFError:
            raise InputError("serve", None, "a query worker ended while loading the data") from None
        if msg[0] == "error":
            self.close()
            raise InputError(msg[1], msg[2], msg[3])
        self.graphs, self.triples = msg[1], msg[2]

    def _kill(self, w: _Worker) -> None:
        try:
            w.conn.close()
        except OSError:
            pass
        if w.process.poll() is None:
            w.process.kill()
        try:
            w.process.wait(5)
        except Exception:
            pass
        with self._lock:
            if w in self._all:
                self._all.remove(w)

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        if self._closed:
            return

        def start():
            try:
                nw = self._spawn()
                self._await_ready(nw)
                if self._closed:
                    self._kill(nw)
                else:
                    self._idle.put(nw)
            except Exception as exc:          # reported, the pool keeps serving with the workers it has
                print(f"crlm-kg serve: could not restart a worker: {exc}", file=sys.stderr)
        threading.Thread(target=start, daemon=True).start()

    def run(self, request: dict, wait: float | None = None):
        """(status, content type, body, headers) for a request; 503 when busy or cancelled at the time limit."""
        import queue
        try:
            w = self._idle.get(timeout=wait if wait is not None else self.timeout)
        except queue.Empty:
            return 503, "text/plain; charset=utf-8", b"all query workers are busy; try again\n", {"Retry-After": "5"}
        try:
            w.conn.send(request)
            if w.conn.poll(self.timeout + 2.0):
                answer = w.conn.recv()
                self._idle.put(w)
                return answer
        except (EOFError, OSError, BrokenPipeError):
            pass
        self._replace(w)
        return (503, "text/plain; charset=utf-8",
                f"query cancelled: it ran longer than the limit of {self.timeout:g} s\n".encode(), {})

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for w in workers:
            self._kill(w)


# ------------------------------------------------------------------------------------------------ HTTP
class Handler(BaseHTTPRequestHandler):
    server_version = "crlm-kg"
    protocol_version = "HTTP/1.1"
    pool: WorkerPool = None            # set on the subclass made by make_server
    max_request: int = DEFAULT_MAX_REQUEST
    quiet: bool = True

    # -------------------------------------------------------------- plumbing
    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)

    def _send(self, status: int, ctype: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept")
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"), headers)

    def _base(self) -> str:
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        return f"http://{host}"

    # -------------------------------------------------------------- methods
    def do_GET(self):
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        self._route(url.path, params, None)

    do_HEAD = do_GET

    def do_POST(self):
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_request:
            self.close_connection = True
            return self._error(413, f"request larger than {self.max_request} bytes")
        body = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/sparql-update":
            return self._error(403, "read-only endpoint: SPARQL Update is not accepted")
        if ctype == "application/sparql-query":
            params["query"] = [body.decode("utf-8", "replace")]
        elif ctype in ("application/x-www-form-urlencoded", ""):
            for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        else:
            return self._error(415, f"unsupported content type {ctype}: use application/x-www-form-urlencoded or application/sparql-query")
        if url.path != "/sparql":
            return self._error(405, "POST is only accepted at /sparql", {"Allow": "GET, HEAD"})
        self._route(url.path, params, body)

    def _refuse_write(self):
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= self.max_request:
            self.rfile.read(length)            # keep the connection usable
        elif length:
            self.close_connection = True
        self._error(405, "read-only endpoint", {"Allow": "GET, HEAD, POST, OPTIONS"})

    do_PUT = do_DELETE = do_PATCH = _refuse_write

    def do_OPTIONS(self):
        self._send(204, "text/plain", b"", {"Allow": "GET, HEAD, POST, OPTIONS",
                                           "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
                                           "Access-Control-Allow-Headers": "Content-Type, Accept"})

    # -------------------------------------------------------------- routes
    def _route(self, path: str, params: dict, body: bytes | None):
        if len(self.path) > self.max_request:
            return self._error(414, "request line too long")
        if path == "/sparql":
            return self._sparql(params)
        if path in ("", "/"):
            return self._home()
        if path.startswith("/query/") and path.count("/") == 3:
            return self._project_query(*path[len("/query/"):].split("/"), params)
        return self._dereference(path, params)

    def _sparql(self, params: dict):
        from . import query as Q
        from .errors import InputError
        if "update" in params:
            return self._error(403, "read-only endpoint: SPARQL Update is not accepted")
        queries = params.get("query") or []
        if not queries:
            return self._service_description(params)
        if len(queries) > 1:
            return self._error(400, "more than one query parameter")
        text = queries[0]
        try:
            form = Q.query_form(text)
        except InputError as exc:
            status = 403 if "read-only" in exc.message else 400
            return self._error(status, exc.message)
        offers, default = (GRAPH_MEDIA, "turtle") if form in ("CONSTRUCT", "DESCRIBE") else (BINDINGS_MEDIA, "json")
        fmt = choose_format(params, self.headers.get("Accept"), offers, default)
        if fmt is None:
            return self._error(406, "none of the accepted media types is offered: " + ", ".join(offers.values()))
        status, ctype, out, headers = self.pool.run({"op": "query", "text": text, "format": fmt,
                                                     "default_graph": params.get("default-graph-uri", []),
                                                     "named_graphs": params.get("named-graph-uri", [])})
        self._send(status, ctype, out, headers)

    def _service_description(self, params: dict):
        offers = {"turtle": "text/turtle", "jsonld": "application/ld+json", "html": "text/html"}
        fmt = choose_format(params, self.headers.get("Accept"), offers, "turtle")
        endpoint = self._base() + "/sparql"
        if fmt == "html":
            return self._send(200, "text/html; charset=utf-8", query_form_html(endpoint))
        if fmt is None:
            return self._error(406, "the service description is offered as " + ", ".join(offers.values()))
        body = service_description(endpoint, self.pool.graphs, self.pool.triples, fmt)
        self._send(200, offers[fmt] + ("; charset=utf-8" if fmt == "turtle" else ""), body)

    def _home(self):
        from . import query as Q
        items = "".join(f'<li><a href="/query/library/{html.escape(n)}">{html.escape(n)}</a> — {html.escape(q.en)}</li>'
                        for n, q in sorted(Q.library().items()))
        body = ("<h1>crlm-kg</h1><p>The Chinese CRLM guideline (2023) as a knowledge graph. "
                f'<a href="/sparql">SPARQL endpoint</a> · <a href="{html.escape(local_path(GUIDELINE_IRI) or "")}">'
                f'the guideline</a> · <a href="{html.escape(local_path(PREFIXES["sec"] + "part1") or "")}">table of contents</a></p>'
                f"<h2>Query library</h2><ul>{items}</ul>")
        self._send(200, "text/html; charset=utf-8", html_page("crlm-kg", body))

    def _project_query(self, kind: str, name: str, params: dict):
        from .paths import qc_queries
        from . import query as Q
        q = None
        if kind == "library":
            q = Q.library().get(name)
        elif kind == "derive":
            from .derive import load_rules
            from .namespaces import PREFIXES as P
            rule = next((r for r in load_rules() if r.iri == P["crlmq"] + f"derive/{name}"), None)
            q = Q.read_query(rule.path) if rule else None
        elif kind == "qc":
            path = next((p for p in qc_queries() if p.stem == name), None)
            q = Q.read_query(path) if path else None
        if q is None:
            return self._dereference(f"/query/{kind}/{name}", params)
        offers = {"sparql": "application/sparql-query", "html": "text/html", "text": "text/plain"}
        fmt = choose_format(params, self.headers.get("Accept"), offers, "sparql")
        if fmt == "html":
            pars = "".join(f"<li><code>?{html.escape(p.name)}</code> — {html.escape(p.meaning)} (e.g. <code>{html.escape(p.example)}</code>)</li>"
                           for p in q.parameters) or "<li>none</li>"
            run = "" if kind != "library" else f'<p><a href="/sparql?format=html&amp;query={quote(q.text)}">run</a></p>'
            body = (f"<h1>{html.escape(name)}</h1><p>{html.escape(q.en)}</p><p>{html.escape(q.zh)}</p>"
                    f"<h2>Parameters</h2><ul>{pars}</ul><p>Columns: {html.escape(q.columns)}</p>"
                    f"{run}<pre>{html.escape(q.text)}</pre>")
            return self._send(200, "text/html; charset=utf-8", html_page(name, body))
        if fmt is None:
            return self._error(406, "offered: " + ", ".join(offers.values()))
        self._send(200, offers[fmt] + "; charset=utf-8", q.text.encode("utf-8"))

    def _dereference(self, path: str, params: dict):
        from urllib.parse import unquote
        iri = BASE + unquote(path.lstrip("/"))
        offers = {"html": "text/html", "turtle": "text/turtle", "jsonld": "application/ld+json", "ntriples": "application/n-triples"}
        fmt = choose_format(params, self.headers.get("Accept"), offers, "turtle")
        if fmt is None:
            return self._error(406, "offered: " + ", ".join(offers.values()))
        if any(c in iri for c in '<>"{}|^`\\ '):
            return self._error(400, "not an IRI path")
        status, ctype, out, headers = self.pool.run({"op": "describe", "iri": iri, "format": fmt})
        self._send(status, ctype, out, headers)


def service_description(endpoint: str, graphs: list, triples: int, fmt: str = "turtle") -> bytes:
    """A SPARQL 1.1 Service Description of the endpoint (sd:), with the result formats and the named graphs."""
    import pyoxigraph as ox
    N, L = ox.NamedNode, ox.Literal
    sd, rdf = PREFIXES["sd"], PREFIXES["rdf"]
    svc, ds, dg = N(endpoint), ox.BlankNode(), ox.BlankNode()
    out = [ox.Triple(svc, N(rdf + "type"), N(sd + "Service")),
           ox.Triple(svc, N(sd + "endpoint"), svc),
           ox.Triple(svc, N(sd + "supportedLanguage"), N(sd + "SPARQL11Query")),
           ox.Triple(svc, N(sd + "feature"), N(sd + "UnionDefaultGraph")),
           ox.Triple(svc, N(PREFIXES["rdfs"] + "label"), L("crlm-kg SPARQL endpoint (read-only)", language="en")),
           ox.Triple(svc, N(sd + "defaultDataset"), ds),
           ox.Triple(ds, N(rdf + "type"), N(sd + "Dataset")),
           ox.Triple(ds, N(sd + "defaultGraph"), dg),
           ox.Triple(dg, N(rdf + "type"), N(sd + "Graph")),
           ox.Triple(dg, N(PREFIXES["void"] + "triples"), L(str(triples), datatype=N(PREFIXES["xsd"] + "integer")))]
    for f in (ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML, ox.QueryResultsFormat.CSV, ox.QueryResultsFormat.TSV,
              ox.RdfFormat.TURTLE, ox.RdfFormat.JSON_LD, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.RDF_XML):
        out.append(ox.Triple(svc, N(sd + "resultFormat"), N(f.iri)))
    for g in graphs:
        ng = ox.BlankNode()
        out += [ox.Triple(ds, N(sd + "namedGraph"), ng), ox.Triple(ng, N(rdf + "type"), N(sd + "NamedGraph")),
                ox.Triple(ng, N(sd + "name"), N(g))]
    fmt_ = ox.RdfFormat.JSON_LD if fmt == "jsonld" else ox.RdfFormat.TURTLE
    prefixes = {k: PREFIXES[k] for k in ("sd", "void", "rdfs", "xsd")} if fmt_ == ox.RdfFormat.TURTLE else None
    return ox.serialize(out, format=fmt_, prefixes=prefixes) if prefixes else ox.serialize(out, format=fmt_)


# ------------------------------------------------------------------------------------------------ lifecycle
@dataclass
class ServerHandle:
    server: ThreadingHTTPServer
    pool: WorkerPool
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host if ':' not in host else '[' + host + ']'}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.close()
        if self.thread:
            self.thread.join(10)


def make_server(host: str = "127.0.0.1", port: int = 8000, data: list | None = None, *, workers: int = 2,
                timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS,
                max_request: int = DEFAULT_MAX_REQUEST, quiet: bool = True) -> ServerHandle:
    """Load the data into the workers and bind the HTTP server (not yet serving)."""
    from .errors import InputError
    from .query import expand_data
    files = [str(p) for p in expand_data(data or [])]      # bad paths fail here, before any process starts
    pool = WorkerPool(files, size=workers, timeout=timeout, max_rows=max_rows)
    handler = type("BoundHandler", (Handler,), {"pool": pool, "max_request": max_request, "quiet": quiet})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        pool.close()
        raise InputError(f"{host}:{port}", None, f"cannot listen: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return ServerHandle(server, pool)


def start(host: str = "127.0.0.1", port: int = 0, data: list | None = None, **kw) -> ServerHandle:
    """make_server, then serve in a background thread (for tests and embedding). Call .stop() when done."""
    handle = make_server(host, port, data, **kw)
    handle.thread = threading.Thread(target=handle.server.serve_forever, name="crlm-kg-serve", daemon=True)
    handle.thread.start()
    return handle


def is_loopback(host: str) -> bool:
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_forever(host: str, port: int, data: list, **kw) -> int:
    handle = make_server(host, port, data, **kw)
    if not is_loopback(host):
        print(f"crlm-kg serve: warning: listening on {host}, reachable from other machines (read-only)", file=sys.stderr)
    print(f"crlm-kg serve: {handle.url}/sparql  ({handle.pool.triples} triples in {len(handle.pool.graphs)} graphs; "
          f"{kw.get('workers', 2)} workers, {kw.get('timeout', DEFAULT_TIMEOUT):g} s, {kw.get('max_rows', DEFAULT_MAX_ROWS)} rows per query)",
          file=sys.stderr, flush=True)
    try:
        handle.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        handle.server.server_close()
        handle.pool.close()
    return 0


def _worker_entry(argv: list) -> int:   # pragma: no cover - runs in a child process
    import json
    from multiprocessing.connection import Connection
    config = json.loads(argv[1])
    _worker_main(Connection(int(argv[0])), config["data"], config["max_rows"], config["timeout"])
    return 0


if __name__ == "__main__" and len(sys.argv) > 3 and sys.argv[1] == "--worker":
    sys.exit(_worker_entry(sys.argv[2:]))
