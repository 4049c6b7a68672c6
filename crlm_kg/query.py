"""The SPARQL query library and the one way crlm-kg runs a query: locally on pyoxigraph, or on a remote endpoint.

    from crlm_kg import query
    q = query.load("recommendations-by-section")            # a library query (queries/library/NAME.rq) or a file
    text = query.bind(q, {"section": "sec:4.1.1.1"})        # parameters become a VALUES block (see bind)
    store = query.load_dataset(["results.ttl"])             # guideline + shapes + data files, one graph per file
    result = query.execute(store, text)                     # the default graph is the union of all graphs
    print(query.to_table(result))                           # or to_json / to_csv / to_tsv / to_xml / graph_bytes

Library files carry a header of `# key: value` lines (name, zh, en, parameters, columns); a parameter line reads
`?name — meaning. Example: TERM`, one per line. Results are materialised as `Result` (SELECT rows, ASK boolean or
CONSTRUCT/DESCRIBE triples) and serialised in the SPARQL 1.1 result formats by this module, so local runs, remote
runs and the HTTP endpoint (serve.py) write the same bytes.
"""
from __future__ import annotations

import csv
import io
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

import pyoxigraph as ox

from . import paths
from .errors import InputError
from .namespaces import DATA_GRAPH_BASE, GUIDELINE_GRAPH, PREFIXES, SHAPES_GRAPH, XSD, compact

GRAPH_MEDIA = {"turtle": "text/turtle", "jsonld": "application/ld+json", "ntriples": "application/n-triples",
               "rdfxml": "application/rdf+xml"}
_GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD,
                  "ntriples": ox.RdfFormat.N_TRIPLES, "rdfxml": ox.RdfFormat.RDF_XML}
RDF_EXTENSIONS = (".ttl", ".nt", ".nq", ".trig", ".jsonld", ".rdf", ".owl", ".n3")
HEADER_KEYS = ("name", "zh", "en", "parameters", "columns")


# ---------------------------------------------------------------------------------------------------- library
@dataclass(frozen=True)
class Parameter:
    name: str            # variable name without '?'
    meaning: str
    example: str         # a value as written on the command line (prefixed name, IRI, number, string)


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    path: Path | None
    text: str
    zh: str = ""
    en: str = ""
    parameters: tuple = ()
    columns: str = ""

    @property
    def form(self) -> str:
        return query_form(self.text, str(self.path or self.name))


_PARAM_LINE = re.compile(r"^\?(\w+)\s+[—-]+\s+(.*?)\s*Example:\s*(.+?)\s*$")


def parse_header(text: str, where: str = "query") -> dict:
    """The `# key: value` lines at the top of a query file; indented `#   ...` lines continue the previous key."""
    header: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        m = re.match(r"#\s?(\w+):\s?(.*)$", line)
        if m and m.group(1) in HEADER_KEYS and not line.startswith("#  "):
            key = m.group(1)
            header.setdefault(key, []).append(m.group(2).strip())
        elif key and line.startswith("#  "):
            header[key].append(line[1:].strip())
    return header


def _parameters(lines: list[str], where: str) -> tuple:
    if not lines or lines == ["none"]:
        return ()
    out = []
    for line in lines:
        m = _PARAM_LINE.match(line)
        if not m:
            raise InputError(where, None, f"parameter line not of the form `?name — meaning. Example: VALUE`: {line}")
        out.append(Parameter(m.group(1), m.group(2).rstrip(" ."), m.group(3)))
    return tuple(out)


def read_query(path: Path) -> LibraryQuery:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot read: {exc}") from None
    h = parse_header(text, str(path))
    one = lambda k: " ".join(h.get(k, []))  # noqa: E731
    return LibraryQuery(name=one("name") or Path(path).stem, path=Path(path), text=text, zh=one("zh"), en=one("en"),
                        parameters=_parameters(h.get("parameters", []), str(path)), columns=one("columns"))


def library() -> dict[str, LibraryQuery]:
    """Every query of queries/library/, by name."""
    out = {}
    for path in paths.library_queries():
        q = read_query(path)
        out[q.name] = q
    return out


def load(name_or_file: str) -> LibraryQuery:
    """A library query by name, or any .rq file (its header is read when it has one)."""
    p = Path(name_or_file)
    if p.suffix == ".rq" or p.is_file():
        return read_query(p)
    lib = library()
    if name_or_file in lib:
        return lib[name_or_file]
    close = [n for n in lib if name_or_file in n][:5]
    hint = f" (did you mean: {', '.join(close)}?)" if close else " (crlm-kg query --list shows them)"
    raise InputError(name_or_file, None, f"no library query or .rq file of that name{hint}")


# ---------------------------------------------------------------------------------------------------- query text
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")


def mask(text: str) -> str:
    """The query with comments, string literals and IRIs blanked out (same length, newlines kept), so keywords,
    variables and braces can be found with regular expressions."""
    out = list(text)
    n, i = len(text), 0

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "<" and (m := _IRIREF.match(text, i)):
            blank(i, m.end())
            i = m.end()
        elif c in "\"'":
            long = text.startswith(c * 3, i)
            quote_ = c * 3 if long else c
            j = i + len(quote_)
            while j < n and not text.startswith(quote_, j):
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and not long:
                    break
                j += 1
            j = min(n, j + len(quote_))
            blank(i, j)
            i = j
        else:
            i += 1
    return "".join(out)


def query_form(text: str, where: str = "query") -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE. A SPARQL Update is refused: crlm-kg queries are read-only."""
    masked = mask(text)
    m = re.search(r"\b(" + "|".join(_FORMS + _UPDATE_WORDS) + r")\b", masked, re.IGNORECASE)
    if not m:
        raise InputError(where, None, "not a SPARQL query (no SELECT, ASK, CONSTRUCT or DESCRIBE)")
    word = m.group(1).upper()
    if word in _UPDATE_WORDS:
        raise InputError(where, masked.count("\n", 0, m.start()) + 1, f"{word}: SPARQL Update is not accepted (read-only)")
    return word


def variables(text: str) -> set[str]:
    return set(re.findall(r"[?$](\w+)", mask(text)))


def _where_brace(text: str, where: str) -> int:
    """Index just after the `{` that opens the outermost WHERE group."""
    masked = mask(text)
    form = query_form(text, where)
    start = re.search(r"\b" + form + r"\b", masked, re.IGNORECASE).end()
    depth, seen_where = 0, False
    for m in re.finditer(r"\bWHERE\b|[{}]", masked[start:], re.IGNORECASE):
        tok = m.group(0)
        if tok == "{":
            if depth == 0 and (seen_where or form in ("SELECT", "ASK")):
                return start + m.end()
            depth += 1
        elif tok == "}":
            depth -= 1
        elif depth == 0:
            seen_where = True
    raise InputError(where, None, "cannot bind parameters: the query has no WHERE group")


def parse_term(value: str, where: str = "--param") -> str:
    """A command-line value as a SPARQL term: prefixed name (prefixes of crlm_kg.namespaces) or <IRI> or absolute IRI
    → IRI; true/false → boolean; 12 / 1.5 → integer / decimal; "..."@lang or "..."^^<dt> → as written;
    anything else → a plain string literal."""
    t = value.strip()
    iri = None
    if t.startswith("<") and t.endswith(">"):
        iri = t[1:-1]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", t) or t.startswith("urn:"):
        iri = t
    elif m := re.fullmatch(r"([A-Za-z][\w-]*):([^\s:]*)", t):
        if m.group(1) not in PREFIXES:
            raise InputError(where, None, f"unknown prefix {m.group(1)}: in {value!r} (known: {', '.join(PREFIXES)})")
        iri = PREFIXES[m.group(1)] + m.group(2)
    if iri is not None:
        if not _IRIREF.fullmatch(f"<{iri}>"):
            raise InputError(where, None, f"not a valid IRI: {value!r}")
        return f"<{iri}>"
    if t in ("true", "false") or re.fullmatch(r"[+-]?\d+(\.\d+)?", t):
        return t
    if t.startswith('"'):
        if re.fullmatch(r'"(?:[^"\\\n]|\\.)*"(@[A-Za-z]+(-[A-Za-z0-9]+)*|\^\^<[^<>"{}|^`\\\x00-\x20]*>)?', t):
            return t
        raise InputError(where, None, f"not a valid literal: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def bind(query: LibraryQuery | str, params: dict[str, list[str] | str] | None, where: str | None = None) -> str:
    """The query text with each parameter given as `VALUES ?name { term ... }`: standard SPARQL 1.1 that rdflib,
    Oxigraph and remote stores all accept. The block goes where the query has a line `#@parameters` (a comment, so
    the file runs unchanged), else first in the outermost WHERE group. A parameter left out is unconstrained (the
    query answers for every value); several values of one parameter answer for each."""
    lq = query if isinstance(query, LibraryQuery) else LibraryQuery(name="query", path=None, text=query)
    where = where or str(lq.path or lq.name)
    text = lq.text
    if not params:
        return text
    declared = {p.name for p in lq.parameters}
    present = variables(text)
    lines = []
    for name, values in params.items():
        name = name.lstrip("?$")
        if declared and name not in declared:
            raise InputError(where, None, f"no parameter ?{name} (this query takes: {', '.join('?' + d for d in sorted(declared))})")
        if name not in present:
            raise InputError(where, None, f"no variable ?{name} in the query")
        values = [values] if isinstance(values, str) else list(values)
        lines.append(f"  VALUES ?{name} {{ {' '.join(parse_term(v) for v in values)} }}")
    marker = re.search(r"^[ \t]*#@parameters[ \t]*$", text, re.MULTILINE)
    if marker:
        return text[:marker.start()] + "\n".join(lines) + text[marker.end():]
    at = _where_brace(text, where)
    return text[:at] + "\n" + "\n".join(lines) + "\n" + text[at:]


def parse_params(items: Iterable[str]) -> dict[str, list[str]]:
    """`key=value` strings (repeatable keys) → {key: [values]}."""
    out: dict[str, list[str]] = {}
    for item in items or ():
        if "=" not in item:
            raise InputError("--param", None, f"expected key=value, got {item!r}")
        k, v = item.split("=", 1)
        if not re.fullmatch(r"[?$]?\w+", k.strip()):
            raise InputError("--param", None, f"not a variable name: {k!r}")
        out.setdefault(k.strip().lstrip("?$"), []).append(v)
    return out


# ---------------------------------------------------------------------------------------------------- dataset
def expand_data(items: Iterable[str | Path]) -> list[Path]:
    """--data arguments: RDF files, or directories of them (sorted)."""
    from .patients import expand_inputs
    return expand_inputs(items, suffixes=tuple(RDF_EXTENSIONS))


def data_graphs(files: Iterable[Path]) -> dict[Path, str]:
    """The named graph of each data file: DATA_GRAPH_BASE + file stem (made unique with -2, -3...)."""
    out, used = {}, set()
    for f in files:
        base = quote(Path(f).stem, safe="-._~")
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        out[Path(f)] = DATA_GRAPH_BASE + name
    return out


def rdf_format(path: Path) -> ox.RdfFormat:
    fmt = ox.RdfFormat.from_extension(Path(path).suffix.lstrip(".").lower() or "ttl")
    if Path(path).suffix.lower() == ".owl":
        fmt = ox.RdfFormat.RDF_XML
    if fmt is None:
        raise InputError(str(path), None, f"unknown RDF file extension (use one of {', '.join(RDF_EXTENSIONS)})")
    return fmt


def read_quads(path: Path, graph: str) -> list:
    """The quads of one RDF file: triples (and default-graph quads) go to `graph`. Errors → InputError FILE:LINE."""
    fmt = rdf_format(path)
    g = ox.NamedNode(graph)
    try:
        items = list(ox.parse(path=str(path), format=fmt))
    except SyntaxError as exc:
        line = exc.args[1][1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else None
        m = re.search(r"line (\d+)|(\d+):\d+", str(exc)) if line is None else None
        line = line or (int(m.group(1) or m.group(2)) if m else None)
        raise InputError(str(path), line, str(exc.args[0]) if exc.args else str(exc)) from None
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(str(path), None, f"cannot read: {exc}") from None
    out = []
    for t in items:
        if isinstance(t, ox.Quad):
            out.append(t if not isinstance(t.graph_name, ox.DefaultGraph) else ox.Quad(t.subject, t.predicate, t.object, g))
        else:
            out.append(ox.Quad(t.subject, t.predicate, t.object, g))
    return out


def dataset_quads(data: Iterable[str | Path] = (), guideline: bool = True):
    """(graph IRI, quads) for the guideline, the shapes and each data file, in load order."""
    if guideline:
        for group, files in ((GUIDELINE_GRAPH, paths.ontology_files()), (SHAPES_GRAPH, paths.shape_files())):
            quads = []
            for f in files:
                quads.extend(read_quads(f, group))
            yield group, quads
    for f, graph in data_graphs(expand_data(data)).items():
        yield graph, read_quads(f, graph)


def load_dataset(data: Iterable[str | Path] = (), guideline: bool = True) -> ox.Store:
    """An in-memory pyoxigraph store: the guideline (GUIDELINE_GRAPH), the shapes (SHAPES_GRAPH) and one named graph
    per data file (data_graphs). Queries run with the default graph as the union of all graphs."""
    store = ox.Store()
    for _, quads in dataset_quads(data, guideline):
        store.extend(quads)
    return store


# ---------------------------------------------------------------------------------------------------- results
@dataclass
class Result:
    kind: str                                   # "bindings", "boolean" or "graph"
    variables: list = field(default_factory=list)
    rows: list = field(default_factory=list)    # dict variable name -> pyoxigraph term (absent = unbound)
    boolean: bool | None = None
    triples: list = field(default_factory=list)
    truncated: bool = False                     # stopped at max_rows


class QueryTimeout(Exception):
    """The query ran past its time budget (checked between result rows)."""


def _syntax_error(exc: SyntaxError, where: str, text: str) -> InputError:
    msg = str(exc.args[0]) if exc.args else str(exc)
    m = re.search(r"(?:line |at )(\d+):(\d+)|^(\d+):(\d+)", msg)
    line = int(m.group(1) or m.group(3)) if m else None
    first = msg.splitlines()[0] if msg else msg
    if len(first) > 160:                       # Oxigraph lists every token it would accept: keep the start
        first = first[:157].rstrip(", ") + "…"
    return InputError(where, line, f"SPARQL syntax error: {first}")


def execute(store: ox.Store, text: str, *, where: str = "query", max_rows: int | None = None,
            timeout: float | None = None, default_graph: list[str] | None = None,
            named_graphs: list[str] | None = None) -> Result:
    """Run a query on a pyoxigraph store. The default graph is the union of all graphs unless `default_graph` names
    graphs. `max_rows` truncates (Result.truncated); `timeout` (seconds) is checked while rows are produced."""
    form = query_form(text, where)
    kw = {}
    if default_graph:
        kw["default_graph"] = [ox.NamedNode(g) for g in default_graph]
    else:
        kw["use_default_graph_as_union"] = True
    if named_graphs:
        kw["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
    deadline = time.monotonic() + timeout if timeout else None
    try:
        res = store.query(text, **kw)
    except SyntaxError as exc:
        raise _syntax_error(exc, where, text) from None
    if form == "ASK":
        return Result("boolean", boolean=bool(res))
    out = Result("graph" if form in ("CONSTRUCT", "DESCRIBE") else "bindings")
    if out.kind == "bindings":
        out.variables = [v.value for v in res.variables]
    sink = out.triples if out.kind == "graph" else out.rows
    try:
        for item in res:
            if max_rows is not None and len(sink) >= max_rows:
                out.truncated = True
                break
            if deadline and time.monotonic() > deadline:
                raise QueryTimeout(f"query ran longer than {timeout:g} s")
            if out.kind == "graph":
                sink.append(item)
            else:
                sink.append({v: item[v] for v in out.variables if item[v] is not None})
    except OSError as exc:
        raise InputError(where, None, f"query failed: {exc}") from None
    return out


# ---------------------------------------------------------------------------------------------------- remote
def http_request(url: str, data: bytes | None, headers: dict, timeout: float, method: str | None = None, auth=None):
    """One HTTP request with the standard library: (status, content type, body). `auth` = (user, password) answers
    Basic and Digest challenges. HTTP and network errors become InputError (one line, exit code 2 in the CLI)."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=data, headers=dict(headers), method=method)
    handlers = []
    if auth:
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, url, auth[0], auth[1])
        handlers = [urllib.request.HTTPBasicAuthHandler(mgr), urllib.request.HTTPDigestAuthHandler(mgr)]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace").strip().splitlines()
        first = next((line.strip() for line in body if line.strip()), "")
        raise InputError(url, None, f"HTTP {exc.code} {exc.reason}: {first[:300]}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(url, None, f"cannot reach the endpoint: {reason}") from None


def _json_term(b: dict):
    t, v = b.get("type"), b.get("value", "")
    if t == "uri":
        return ox.NamedNode(v)
    if t == "bnode":
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9_]", "_", v) or "b")
    if "xml:lang" in b:
        return ox.Literal(v, language=b["xml:lang"])
    if b.get("datatype"):
        return ox.Literal(v, datatype=ox.NamedNode(b["datatype"]))
    return ox.Literal(v)


def parse_json_results(body: bytes) -> Result:
    """SPARQL 1.1 JSON results (also the older `typed-literal` type some stores still write)."""
    doc = json.loads(body.decode("utf-8"))
    if "boolean" in doc:
        return Result("boolean", boolean=bool(doc["boolean"]))
    variables = list(doc.get("head", {}).get("vars", []))
    rows = [{k: _json_term(v) for k, v in b.items()} for b in doc.get("results", {}).get("bindings", [])]
    return Result("bindings", variables=variables, rows=rows)


def execute_remote(endpoint: str, text: str, *, where: str = "query", timeout: float = 120.0,
                   auth: tuple | None = None) -> Result:
    """Run a query on a SPARQL 1.1 Protocol endpoint (POST, application/x-www-form-urlencoded)."""
    from urllib.parse import urlencode
    form = query_form(text, where)
    accept = ("application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5" if form in ("CONSTRUCT", "DESCRIBE")
              else "application/sparql-results+json")
    status, ctype, body = http_request(endpoint, urlencode({"query": text}).encode(), {
        "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}, timeout, "POST", auth)
    media = ctype.split(";")[0].strip().lower()
    if form in ("CONSTRUCT", "DESCRIBE"):
        fmt = ox.RdfFormat.from_media_type(media) or (ox.RdfFormat.N_TRIPLES if media == "text/plain" else ox.RdfFormat.TURTLE)
        try:
            triples = [t if isinstance(t, ox.Triple) else ox.Triple(t.subject, t.predicate, t.object)
                       for t in ox.parse(body, format=fmt)]
        except SyntaxError as exc:
            raise InputError(endpoint, None, f"unreadable {media} answer: {exc}") from None
        return Result("graph", triples=triples)
    try:
        result = parse_json_results(body)
    except (ValueError, KeyError, AttributeError) as exc:
        raise InputError(endpoint, None, f"unreadable SPARQL JSON answer ({media}): {exc}") from None
    if form == "ASK" and result.kind == "bindings":
        # Virtuoso 7 answers ASK in JSON as one row of one variable (__ASK_RETVAL = 1 or 0) instead of "boolean"
        value = next(iter(result.rows[0].values()), None) if result.rows else None
        result = Result("boolean", boolean=value is not None and value.value.strip() in ("1", "true"))
    return result


# ---------------------------------------------------------------------------------------------------- writers
def _json_binding(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {k: _json_binding(getattr(term, k)) for k in ("subject", "predicate", "object")}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD.string:
        out["datatype"] = term.datatype.value
    return out


def to_json(r: Result) -> bytes:
    if r.kind == "boolean":
        doc = {"head": {}, "boolean": r.boolean}
    else:
        doc = {"head": {"vars": r.variables},
               "results": {"bindings": [{k: _json_binding(v) for k, v in row.items()} for row in r.rows]}}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def _xml_escape(s: str) -> str:
    from xml.sax.saxutils import escape
    return escape(s, {'"': "&quot;"})


def to_xml(r: Result) -> bytes:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    out += [f'<variable name="{v}"/>' for v in r.variables]
    out.append("</head>")
    if r.kind == "boolean":
        out.append(f"<boolean>{'true' if r.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for row in r.rows:
            out.append("<result>")
            for k, t in row.items():
                if isinstance(t, ox.NamedNode):
                    inner = f"<uri>{_xml_escape(t.value)}</uri>"
                elif isinstance(t, ox.BlankNode):
                    inner = f"<bnode>{_xml_escape(t.value)}</bnode>"
                elif t.language:
                    inner = f'<literal xml:lang="{t.language}">{_xml_escape(t.value)}</literal>'
                elif t.datatype.value != XSD.string:
                    inner = f'<literal datatype="{_xml_escape(t.datatype.value)}">{_xml_escape(t.value)}</literal>'
                else:
                    inner = f"<literal>{_xml_escape(t.value)}</literal>"
                out.append(f'<binding name="{k}">{inner}</binding>')
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>")
    return ("\n".join(out) + "\n").encode("utf-8")


def _csv_value(t) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.BlankNode):
        return "_:" + t.value
    return t.value


def to_csv(r: Result) -> bytes:
    """SPARQL 1.1 CSV results: RFC 4180, CRLF line ends, plain values."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if r.kind == "boolean":
        w.writerow(["boolean"])
        w.writerow(["true" if r.boolean else "false"])
    else:
        w.writerow(r.variables)
        for row in r.rows:
            w.writerow([_csv_value(row.get(v)) for v in r.variables])
    return buf.getvalue().encode("utf-8")


def to_tsv(r: Result) -> bytes:
    """SPARQL 1.1 TSV results: ?-prefixed header, terms in Turtle/N-Triples syntax."""
    if r.kind == "boolean":
        return ("?boolean\n" + ("true" if r.boolean else "false") + "\n").encode("utf-8")
    lines = ["\t".join("?" + v for v in r.variables)]
    for row in r.rows:
        lines.append("\t".join(str(row[v]) if v in row else "" for v in r.variables))
    return ("\n".join(lines) + "\n").encode("utf-8")


def graph_bytes(r: Result, fmt: str = "turtle") -> bytes:
    """CONSTRUCT/DESCRIBE triples as Turtle (with the project's prefixes), JSON-LD, N-Triples or RDF/XML."""
    rdf = _GRAPH_FORMATS[fmt]
    if rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML):
        used = {p for t in r.triples for term in (t.subject, t.predicate, t.object) if isinstance(term, ox.NamedNode)
                for p, base in PREFIXES.items() if term.value.startswith(base)}
        return ox.serialize(r.triples, format=rdf, prefixes={p: PREFIXES[p] for p in sorted(used)})
    return ox.serialize(r.triples, format=rdf)


def as_rows(r: Result) -> Result:
    """A graph result as a SELECT-like table (subject, predicate, object); other results unchanged."""
    if r.kind != "graph":
        return r
    return Result("bindings", variables=["subject", "predicate", "object"],
                  rows=[{"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in r.triples])


def _cell(t, width: int) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.NamedNode):
        s = compact(t.value)
    elif isinstance(t, ox.BlankNode):
        s = "_:" + t.value
    else:
        s = t.value
    s = " ".join(s.split())
    if _width(s) > width:
        cut = ""
        for ch in s:
            if _width(cut + ch) > width - 1:
                break
            cut += ch
        s = cut + "…"
    return s


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def to_table(r: Result, max_width: int = 60) -> str:
    """A readable table: IRIs compacted with the project's prefixes, long cells cut at `max_width` columns."""
    if r.kind == "boolean":
        return ("true" if r.boolean else "false") + "\n"
    r = as_rows(r)
    cells = [[_cell(row.get(v), max_width) for v in r.variables] for row in r.rows]
    widths = [max([_width(v)] + [_width(c[i]) for c in cells]) for i, v in enumerate(r.variables)]
    pad = lambda s, w: s + " " * (w - _width(s))  # noqa: E731
    lines = ["  ".join(pad(v, w) for v, w in zip(r.variables, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(pad(c, w) for c, w in zip(row, widths)).rstrip() for row in cells]
    n = len(r.rows)
    lines.append(f"({n} row{'s' if n != 1 else ''}{', truncated' if r.truncated else ''})")
    return "\n".join(lines) + "\n"


def serialize(r: Result, fmt: str) -> bytes:
    """CLI formats: table, json, csv, tsv, xml for SELECT/ASK; turtle, json (JSON-LD), ntriples, table, csv, tsv for
    CONSTRUCT/DESCRIBE."""
    if fmt == "table":
        return to_table(r).encode("utf-8")
    if r.kind == "graph":
        if fmt in ("csv", "tsv"):
            return (to_csv if fmt == "csv" else to_tsv)(as_rows(r))
        return graph_bytes(r, {"json": "jsonld"}.get(fmt, fmt))
    if fmt == "turtle":
        raise InputError("--format", None, "turtle is for CONSTRUCT and DESCRIBE queries; use table, json, csv or tsv")
    return {"json": to_json, "csv": to_csv, "tsv": to_tsv, "xml": to_xml}[fmt](r)


# ---------------------------------------------------------------------------------------------------- comparison
_NUMERIC = {XSD[t] for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                             "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger",
                             "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


def canonical_term(t):
    """A comparable form of a term that ignores differences stores are allowed to make: numbers by value (whatever
    their numeric datatype), booleans by value (some stores write 1/0), xsd:string = simple literal, blank node
    labels ignored, language tags in lower case."""
    if t is None:
        return ("unbound",)
    if isinstance(t, ox.NamedNode):
        return ("iri", t.value)
    if isinstance(t, ox.BlankNode):
        return ("bnode",)
    if t.language:
        return ("lang", t.value, t.language.lower())
    dt = t.datatype.value
    if dt in _NUMERIC:
        try:
            return ("num", str(Decimal(t.value).normalize()))
        except InvalidOperation:
            return ("lit", t.value, dt)
    if dt == XSD.boolean:
        return ("bool", t.value.strip() in ("true", "1"))
    if dt == XSD.string:
        return ("str", t.value)
    return ("lit", t.value, dt)


def canonical(r: Result):
    """Order-free, comparable content of a result: a sorted list of rows (SELECT), the boolean (ASK) or the sorted
    triples (CONSTRUCT/DESCRIBE; blank nodes compared as 'some node' — compare graphs by isomorphism where it
    matters)."""
    if r.kind == "boolean":
        return r.boolean
    if r.kind == "graph":
        return sorted(tuple(canonical_term(x) for x in (t.subject, t.predicate, t.object)) for t in r.triples)
    return sorted(tuple(canonical_term(row.get(v)) for v in r.variables) for row in r.rows)
