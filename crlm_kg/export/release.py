"""Build a release folder of crlm-kg: the ontology (full and base files, each module), the shapes, the queries, the
example patients and their results, in the chosen RDF formats; a JSON-LD context; the HTML documentation (pyLODE)
and the guideline browser; the CPG-on-FHIR bundle; a VoID + DCAT description and PROV provenance of the release;
SHA-256 checksums. Deterministic: two exports of the same version are byte-identical.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from .. import __version__, paths
from ..errors import InputError
from ..guideline import parse_rdf_file
from ..namespaces import BASE, CRLM, DCTERMS, GUIDELINE_IRI, ONTOLOGY_IRI, OWL, PREFIXES, RDF_TYPE, RDFS, SH, XSD
from . import rdfio
from .rdfio import FORMATS, Format

INCLUDES = ("ontology", "shapes", "queries", "patients", "results", "docs", "fhir")
CHECKSUMS = "SHA256SUMS"
TEMPLATES = resources.files(__package__) / "templates"
N = ox.NamedNode


@dataclass
class Part:
    """One RDF artifact of the release."""
    key: str                 # "ontology", "ontology/base", "modules/patient", "shapes", …
    stem: str                # file name without extension
    header: str              # the part's own (unversioned) IRI
    iri: str                 # its versioned IRI (graph name in N-Quads, VoID subset)
    triples: list
    sources: list = field(default_factory=list)     # source files (Path)


@dataclass
class ReleaseFile:
    path: str                # relative, POSIX
    part: str                # IRI of the dataset it distributes
    media_type: str
    size: int
    sha256: str
    rdf: bool = False


@dataclass
class Release:
    out: Path
    version: str
    version_base: str
    issued: dt.date
    formats: list
    parts: list = field(default_factory=list)
    files: list = field(default_factory=list)
    fhir_resources: dict = field(default_factory=dict)

    def file(self, rel: str) -> Path:
        return self.out / rel


def _rel(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(paths.ROOT.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- inputs
@dataclass
class Module:
    path: Path
    iri: str
    version_iri: str | None
    imports: list
    triples: list


def load_modules(files=None) -> dict[str, Module]:
    """The ontology modules by ontology IRI (each file declares one owl:Ontology)."""
    modules = {}
    for path in files or paths.ontology_files():
        triples = rdfio.as_triples(parse_rdf_file(path))
        heads = [t.subject.value for t in triples if t.predicate.value == RDF_TYPE and t.object == N(OWL.Ontology)
                 and isinstance(t.subject, ox.NamedNode)]
        if len(heads) != 1:
            raise InputError(str(path), None, f"expected one owl:Ontology, found {len(heads)}")
        iri = heads[0]
        version = next((t.object.value for t in triples if t.subject == N(iri) and t.predicate == N(OWL.versionIRI)), None)
        imports = [t.object.value for t in triples if t.subject == N(iri) and t.predicate == N(OWL.imports)]
        modules[iri] = Module(path, iri, version, imports, triples)
    return modules


def import_closure(modules: dict[str, Module], root: str) -> list[str]:
    order, todo = [], [root]
    while todo:
        iri = todo.pop(0)
        if iri in order:
            continue
        if iri not in modules:
            raise InputError("ontology", None, f"owl:imports <{iri}>: no ontology file declares it")
        order.append(iri)
        todo.extend(modules[iri].imports)
    return order


def release_date(triples: list, override: dt.date | None = None) -> dt.date:
    """--date, else SOURCE_DATE_EPOCH, else the ontology's dcterms:modified or dcterms:created."""
    if override:
        return override
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date()
    for prop in ("modified", "created"):
        for t in triples:
            if t.subject == N(ONTOLOGY_IRI) and t.predicate == N(DCTERMS[prop]):
                return dt.date.fromisoformat(t.object.value[:10])
    raise InputError("ontology/crlm.ttl", None, "no dcterms:modified or dcterms:created on the ontology: give --date")


def _headers(version_base: str) -> list[ox.Triple]:
    return rdfio.as_triples(ox.parse(input=_template("headers.ttl").encode("utf-8"), format=ox.RdfFormat.TURTLE, base_iri=version_base))


# ---------------------------------------------------------------------------------------------------- parts
def ontology_parts(modules: dict[str, Module], headers: list, version_base: str, version_info) -> list[Part]:
    root = modules.get(ONTOLOGY_IRI)
    if root is None:
        raise InputError("ontology", None, f"no file declares the ontology <{ONTOLOGY_IRI}>")
    closure = import_closure(modules, ONTOLOGY_IRI)
    module_iris = set(closure)
    full = []
    for iri in closure:
        for t in modules[iri].triples:
            if isinstance(t.subject, ox.NamedNode) and t.subject.value in module_iris and t.subject.value != ONTOLOGY_IRI:
                continue                                              # module headers: merged away
            if t.subject == N(ONTOLOGY_IRI) and t.predicate == N(OWL.imports):
                continue
            full.append(t)
    parts = [Part("ontology", "crlm-kg", ONTOLOGY_IRI, root.version_iri or version_base + "ontology", full,
                  [modules[i].path for i in closure])]
    base_iri = BASE + "ontology/base"
    replaced = {N(OWL.versionIRI), N(DCTERMS.title), N(DCTERMS.description)}
    base = [ox.Triple(N(base_iri), t.predicate, t.object) if t.subject == N(ONTOLOGY_IRI) else t
            for t in root.triples if not (t.subject == N(ONTOLOGY_IRI) and t.predicate in replaced)]
    base += [t for t in headers if t.subject == N(base_iri)]
    parts.append(Part("ontology/base", "crlm-kg-base", base_iri, version_base + "ontology/base", base, [root.path]))
    for iri in closure[1:]:
        m = modules[iri]
        triples = list(m.triples)
        if version_info is not None and not any(t.subject == N(iri) and t.predicate == N(OWL.versionInfo) for t in triples):
            triples.append(ox.Triple(N(iri), N(OWL.versionInfo), version_info))
        name = m.path.stem
        parts.append(Part(f"modules/{name}", f"modules/{name}", iri, m.version_iri or f"{version_base}ontology/{name}",
                          triples, [m.path]))
    return parts


def _with_header(key: str, triples: list, headers: list, version_base: str, version_info, sources) -> Part:
    header = BASE + key
    own = [t for t in headers if t.subject == N(header)]
    if version_info is not None:
        own.append(ox.Triple(N(header), N(OWL.versionInfo), version_info))
    return Part(key, key, header, version_base + key, triples + own, list(sources))


def shapes_part(headers, version_base, version_info) -> Part:
    files = paths.shape_files()
    triples = [t for f in files for t in rdfio.as_triples(parse_rdf_file(f))]
    return _with_header("shapes", triples, headers, version_base, version_info, files)


_FORM = re.compile(r"^\s*(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", re.IGNORECASE | re.MULTILINE)


def queries_part(headers, version_base, version_info, section_iris: dict[str, str]) -> Part:
    """Every query file as a SHACL-AF SPARQL executable: its text verbatim, header fields as annotations."""
    from ..derive import load_rules, read_header

    rule_iris = {r.path: r.iri for r in load_rules()}
    triples = []
    files = [("derive", p) for p in paths.derive_rules()] + [("qc", p) for p in paths.qc_queries()] + \
            [("library", p) for p in paths.library_queries()]
    for kind, path in files:
        text = path.read_text(encoding="utf-8")
        head = read_header(text)
        iri = rule_iris.get(path) or PREFIXES["crlmq"] + f"{kind}/{head.get('name') or path.stem}"
        node = N(iri)
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        form = (_FORM.search(body).group(1).upper() if _FORM.search(body) else "SELECT")
        cls = {"SELECT": "SPARQLSelectExecutable", "CONSTRUCT": "SPARQLConstructExecutable", "ASK": "SPARQLAskExecutable"}.get(form)
        prop = {"SELECT": "select", "CONSTRUCT": "construct", "ASK": "ask"}.get(form)
        if cls:
            triples.append(ox.Triple(node, N(RDF_TYPE), N(SH[cls])))
            triples.append(ox.Triple(node, N(SH[prop]), ox.Literal(text)))
        triples.append(ox.Triple(node, N(RDFS.label), ox.Literal(head.get("rule") or head.get("name") or path.stem)))
        triples.append(ox.Triple(node, N(DCTERMS.source), ox.Literal(_rel(path))))
        triples.append(ox.Triple(node, N(DCTERMS.isPartOf), N(BASE + "queries")))
        for lang in ("zh", "en"):
            if head.get(lang):
                triples.append(ox.Triple(node, N(DCTERMS.description), ox.Literal(head[lang], language=lang)))
        for key in ("problem", "fix", "result", "parameters", "columns", "derives", "requires"):
            if head.get(key):
                triples.append(ox.Triple(node, N(RDFS.comment), ox.Literal(f"{key}: {head[key]}", language="en")))
        number = head.get("section")
        if number and number in section_iris:
            triples.append(ox.Triple(node, N(CRLM.section), N(section_iris[number])))
    return _with_header("queries", triples, headers, version_base, version_info, [p for _, p in files])


def examples_part(headers, version_base, version_info) -> Part:
    files = sorted(paths.EXAMPLES_DIR.glob("*.ttl"))
    triples = [t for f in files for t in rdfio.as_triples(parse_rdf_file(f))]
    return _with_header("examples", triples, headers, version_base, version_info, files)


def results_part(headers, version_base, version_info, issued: dt.date) -> Part:
    """The engine's results for the example patients, as of the release date (generated at its midnight UTC)."""
    from ..recommend import Engine
    from ..render import results_to_ntriples

    files = sorted(paths.EXAMPLES_DIR.glob("*.ttl"))
    results = Engine().evaluate_files([str(f) for f in files], as_of=issued)
    generated = dt.datetime(issued.year, issued.month, issued.day, tzinfo=dt.timezone.utc)
    data = results_to_ntriples(results, __version__, generated)
    triples = []
    for t in rdfio.as_triples(ox.parse(input=data, format=ox.RdfFormat.N_TRIPLES)):
        if t.predicate == N(CRLM.sourceFile):                    # paths relative to the checkout: same bytes anywhere
            t = ox.Triple(t.subject, t.predicate, ox.Literal(_rel(Path(t.object.value))))
        triples.append(t)
    return _with_header("results", triples, headers, version_base, version_info, files)


# ---------------------------------------------------------------------------------------------------- writing
def _prepare_out(out: Path) -> None:
    """Create OUT, or clear a previous release in it (only the files its SHA256SUMS lists)."""
    out.mkdir(parents=True, exist_ok=True)
    sums = out / CHECKSUMS
    if sums.is_file():
        for line in sums.read_text(encoding="utf-8").splitlines():
            rel = line.split("  ", 1)[-1].strip()
            target = (out / rel).resolve()
            if rel and out.resolve() in target.parents and target.is_file():
                target.unlink()
        sums.unlink()
        for d in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(d.iterdir()):
                d.rmdir()
    if any(out.iterdir()):
        raise InputError(str(out), None, "output folder is not empty and holds no earlier crlm-kg release (no SHA256SUMS)")


def _write(rel: Release, relpath: str, data: bytes, part: str, media: str, rdf: bool = False) -> None:
    target = rel.file(relpath)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    rel.files.append(ReleaseFile(relpath, part, media, len(data), _sha(data), rdf))


def write_part(rel: Release, part: Part) -> None:
    part.triples = rdfio.stable_triples(part.triples)
    for fmt in rel.formats:
        _write(rel, f"{part.stem}.{fmt.key}", rdfio.serialize(part.triples, fmt, part.iri), part.iri, fmt.media_type, True)


# ---------------------------------------------------------------------------------------------------- metadata
def _lit(value, datatype: str | None = None) -> ox.Literal:
    return ox.Literal(str(value), datatype=N(datatype)) if datatype else ox.Literal(str(value))


def _construct(store: ox.Store, template: str, **values) -> list[ox.Triple]:
    subs = {ox.Variable(k): v for k, v in values.items() if v is not None}
    return list(store.query(_template(template), substitutions=subs))


def metadata_parts(rel: Release, ontology_triples: list, header_triples: list, sparql_endpoint: str) -> list[Part]:
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in ontology_triples + header_triples)
    release = N(rel.version_base)
    ontology = N(ONTOLOGY_IRI)
    version = _lit(rel.version)
    total = sum(len(p.triples) for p in rel.parts if p.key in ("ontology", "shapes", "queries", "examples", "results"))
    void = _construct(store, "dataset.rq", release=release, catalog=N(BASE + "catalog"), home=N(BASE), ontology=ontology,
                      guideline=N(GUIDELINE_IRI), version=version, issued=_lit(rel.issued.isoformat(), XSD.date),
                      triples=_lit(total, XSD.integer), endpoint=N(sparql_endpoint), service=N(sparql_endpoint), vocab=N(PREFIXES["crlm"]),
                      uriSpace=_lit(BASE))
    for part in rel.parts:
        entities = len({t.subject.value for t in part.triples if isinstance(t.subject, ox.NamedNode)})
        void += _construct(store, "subset.rq", ontology=ontology, release=release, part=N(part.iri), header=N(part.header),
                           triples=_lit(len(part.triples), XSD.integer), entities=_lit(entities, XSD.integer), version=version)
    parts_by_iri = {p.iri for p in rel.parts}
    for f in sorted(rel.files, key=lambda f: f.path):
        part = N(f.part) if f.part in parts_by_iri else release
        download = N(rel.version_base + f.path)
        void += _construct(store, "distribution.rq", ontology=ontology, part=part, file=download, name=_lit(f.path),
                           media=_lit(f.media_type), bytes=_lit(f.size, XSD.nonNegativeInteger), sha256=_lit(f.sha256, XSD.hexBinary))
        if f.rdf:
            void += _construct(store, "dump.rq", part=part, file=download)
    activity = N(rel.version_base + "export")
    agent = N(BASE + "engine/" + rel.version)
    when = _lit(f"{rel.issued.isoformat()}T00:00:00Z", XSD.dateTime)
    prov = _construct(store, "prov.rq", release=release, activity=activity, agent=agent, guideline=N(GUIDELINE_IRI),
                      version=version, time=when)
    sources: dict[str, str] = {}
    for part in rel.parts:
        for src in part.sources:
            sha = _sha(Path(src).read_bytes())
            sources.setdefault(sha, _rel(src))
            prov += _construct(store, "prov-derivation.rq", part=N(part.iri), activity=activity, sha256=_lit(sha))
    for sha, path in sorted(sources.items(), key=lambda kv: kv[1]):
        prov += _construct(store, "prov-source.rq", activity=activity, path=_lit(path), sha256=_lit(sha))
    return [Part("void", "void", rel.version_base + "void", rel.version_base + "void", void),
            Part("prov", "prov", rel.version_base + "prov", rel.version_base + "prov", prov)]


def write_checksums(rel: Release) -> None:
    files = sorted(p.relative_to(rel.out).as_posix() for p in rel.out.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    lines = [f"{_sha(rel.file(f).read_bytes())}  {f}\n" for f in files]
    rel.file(CHECKSUMS).write_text("".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- the release
def parse_formats(text: str) -> list[Format]:
    keys = list(FORMATS) if text.strip() == "all" else [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in FORMATS]
    if bad or not keys:
        raise InputError("--format", None, f"unknown format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)} or all")
    return [FORMATS[k] for k in dict.fromkeys(keys)]


def parse_includes(text: str) -> list[str]:
    keys = list(INCLUDES) if text.strip() == "all" else [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in INCLUDES]
    if bad or not keys:
        raise InputError("--include", None, f"unknown part {', '.join(bad) or '(none)'}; choose from {', '.join(INCLUDES)} or all")
    return list(dict.fromkeys(keys))


def export_release(out: Path | str, formats: list[Format] | None = None, include: list[str] | None = None,
                   date: dt.date | None = None, sparql_endpoint: str | None = None) -> Release:
    """Write the release folder OUT and return what was written."""
    out = Path(out)
    formats = formats or [FORMATS["ttl"]]
    include = include or list(INCLUDES)
    modules = load_modules()
    root = modules.get(ONTOLOGY_IRI)
    if root is None or not root.version_iri or not root.version_iri.endswith("/ontology"):
        raise InputError("ontology/crlm.ttl", None, "the ontology needs an owl:versionIRI ending in /ontology")
    version_base = root.version_iri[: -len("ontology")]
    if not version_base.rstrip("/").endswith("/" + __version__):
        raise InputError("ontology/crlm.ttl", None,
                         f"owl:versionIRI <{root.version_iri}> does not name the package version {__version__}")
    version_info = next((t.object for t in root.triples if t.subject == N(ONTOLOGY_IRI) and t.predicate == N(OWL.versionInfo)), None)
    issued = release_date(root.triples, date)
    headers = _headers(version_base)
    _prepare_out(out)
    rel = Release(out, __version__, version_base, issued, formats)

    onto = ontology_parts(modules, headers, version_base, version_info)
    full = onto[0]
    section_iris = {t.object.value: t.subject.value for t in full.triples if t.predicate == N(CRLM.sectionNumber)}
    if "ontology" in include:
        rel.parts += onto
    if "shapes" in include:
        rel.parts.append(shapes_part(headers, version_base, version_info))
    if "queries" in include:
        rel.parts.append(queries_part(headers, version_base, version_info, section_iris))
    if "patients" in include:
        rel.parts.append(examples_part(headers, version_base, version_info))
    if "results" in include:
        rel.parts.append(results_part(headers, version_base, version_info, issued))
    for part in rel.parts:
        write_part(rel, part)
    if "ontology" in include:
        from .context import context_bytes
        _write(rel, "context.jsonld", context_bytes(full.triples), rel.version_base, "application/ld+json")
    if "docs" in include:
        _write_docs(rel, rdfio.stable_triples(full.triples))
    if "fhir" in include:
        _write_fhir(rel)
    for meta in metadata_parts(rel, full.triples, headers, sparql_endpoint or BASE + "sparql"):
        meta.triples = rdfio.stable_triples(meta.triples)
        for fmt in formats:
            target = f"{meta.stem}.{fmt.key}"
            data = rdfio.serialize(meta.triples, fmt, meta.iri)
            rel.file(target).write_bytes(data)
        rel.parts.append(meta)
    write_checksums(rel)
    return rel


def _write_docs(rel: Release, ontology_triples: list) -> None:
    from ..guideline import Guideline
    from .browser import Entry, Group, browser_html
    from .ontology_doc import anchors, ontology_html

    onto_html = ontology_html(ontology_triples)
    _write(rel, "html/ontology/index.html", onto_html.encode("utf-8"), rel.version_base, "text/html")
    g = Guideline.load()
    extra = []
    by_key = {p.key: p for p in rel.parts}
    if "shapes" in by_key:
        grp = Group("shapes", "SHACL shapes", "SHACL形状")
        for iri in sorted({t.subject.value for t in by_key["shapes"].triples if isinstance(t.subject, ox.NamedNode)
                           and t.subject.value.startswith(PREFIXES["crlmsh"])}):
            lit = {(t.predicate.value, t.object.language): t.object.value for t in by_key["shapes"].triples
                   if t.subject == N(iri) and isinstance(t.object, ox.Literal)}
            grp.entries.append(Entry(iri, lit.get((RDFS.label, "en"), iri.rsplit("/", 1)[-1]), lit.get((RDFS.label, "zh"), ""),
                                     lit.get((SH.message, "en"), "") or lit.get((PREFIXES["skos"] + "definition", "en"), ""),
                                     lit.get((SH.message, "zh"), "") or lit.get((PREFIXES["skos"] + "definition", "zh"), "")))
        extra.append(grp)
    if "queries" in by_key:
        grp = Group("queries", "SPARQL queries", "SPARQL查询")
        for iri in sorted({t.subject.value for t in by_key["queries"].triples if t.predicate == N(DCTERMS.source)}):
            lit = {(t.predicate.value, t.object.language): t.object.value for t in by_key["queries"].triples
                   if t.subject == N(iri) and isinstance(t.object, ox.Literal)}
            text = next((t.object.value for t in by_key["queries"].triples if t.subject == N(iri)
                         and t.predicate.value in (SH.select, SH.construct, SH.ask)), "")
            grp.entries.append(Entry(iri, lit.get((RDFS.label, None), ""), "", lit.get((DCTERMS.description, "en"), ""),
                                     lit.get((DCTERMS.description, "zh"), ""), text))
        extra.append(grp)
    html = browser_html(g, rel.version, extra, ontology_anchors=anchors(onto_html))
    _write(rel, "html/browser/index.html", html.encode("utf-8"), rel.version_base, "text/html")


def _write_fhir(rel: Release) -> None:
    from ..guideline import Guideline
    from .fhir import build_bundle, bundle_json, resources_used, validate_bundle

    bundle = build_bundle(Guideline.load(), rel.version, rel.issued.isoformat())
    errors = validate_bundle(bundle)
    if errors:
        raise InputError("fhir", None, f"{len(errors)} FHIR R4 validation errors, first: {errors[0]}")
    rel.fhir_resources = resources_used(bundle)
    _write(rel, "fhir/bundle.json", bundle_json(bundle), rel.version_base, "application/fhir+json")


__all__ = ["export_release", "parse_formats", "parse_includes", "INCLUDES", "FORMATS"]
