"""crlm-kg export: the release folder, its determinism, metadata and checksums, and independent readers (Apache Jena
riot, raptor's rapper, jsonld.js) that must read every RDF file with the same triples as the exporter wrote."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from crlm_kg import __version__, cli
from crlm_kg.export import rdfio
from crlm_kg.export.release import CHECKSUMS
from crlm_kg.namespaces import BASE, ONTOLOGY_IRI, OWL, PREFIXES

ROOT = Path(__file__).resolve().parent.parent
NODE_READER = ROOT / "tools" / "node" / "read-jsonld.js"
JENA_CP = ROOT / "tools" / "jena-classpath.sh"
FORMATS = ["ttl", "nt", "nq", "xml", "jsonld"]
PARTS = ["crlm-kg", "crlm-kg-base", "shapes", "queries", "examples", "results", "void", "prov"] + \
        [f"modules/{p.stem}" for p in sorted((ROOT / "ontology").glob("*.ttl")) if p.stem != "crlm"] + \
        [f"modules/{p.stem}" for p in sorted((ROOT / "ontology" / "guideline").glob("*.ttl"))]
INCLUDE = "ontology,shapes,queries,patients,results"     # docs and FHIR: tests/test_docs_render.py, tests/test_fhir.py


def run_cli(argv: list[str]) -> int:
    if "crlm_kg.export_cli" not in cli.COMMAND_MODULES:
        cli.COMMAND_MODULES.append("crlm_kg.export_cli")
    return cli.main(argv)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "release"
    assert run_cli(["export", "--out", str(out), "--format", ",".join(FORMATS), "--include", INCLUDE]) == 0
    return out


def stable(path: Path) -> set:
    fmt = rdfio.FORMATS[path.suffix[1:]]
    return set(rdfio.stable_triples(rdfio.parse_bytes(path.read_bytes(), fmt)))


def test_release_has_every_part_in_every_format(release):
    assert len(PARTS) == 17
    missing = [f"{p}.{f}" for p in PARTS for f in FORMATS if not (release / f"{p}.{f}").is_file()]
    assert missing == []
    assert (release / "context.jsonld").is_file() and (release / CHECKSUMS).is_file()


def test_checksums_cover_every_file_and_match(release):
    lines = (release / CHECKSUMS).read_text(encoding="utf-8").splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    files = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file() and p.name != CHECKSUMS}
    assert set(listed) == files and len(files) == len(PARTS) * len(FORMATS) + 1
    assert all(hashlib.sha256((release / f).read_bytes()).hexdigest() == h for f, h in listed.items())
    if shutil.which("sha256sum"):
        assert subprocess.run(["sha256sum", "--quiet", "-c", CHECKSUMS], cwd=release).returncode == 0


def test_checksums_detect_a_changed_file(release, tmp_path):
    """Seeded fault: one byte changed in a copy of the release is caught by the checksum list."""
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    target = copy / "crlm-kg.nt"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    bad = [line.split("  ", 1)[1] for line in (copy / CHECKSUMS).read_text(encoding="utf-8").splitlines()
           if hashlib.sha256((copy / line.split("  ", 1)[1]).read_bytes()).hexdigest() != line.split("  ", 1)[0]]
    assert bad == ["crlm-kg.nt"]


def test_two_exports_are_byte_identical(release, tmp_path):
    again = tmp_path / "again"
    assert run_cli(["export", "--out", str(again), "--format", ",".join(FORMATS), "--include", INCLUDE]) == 0
    files = sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    differ = [f for f in files if (release / f).read_bytes() != (again / f).read_bytes()]
    assert differ == []
    # exporting again into the same folder replaces the earlier release
    assert run_cli(["export", "--out", str(again), "--format", ",".join(FORMATS), "--include", INCLUDE]) == 0
    assert (again / CHECKSUMS).read_bytes() == (release / CHECKSUMS).read_bytes()


def test_every_format_holds_the_same_graph(release):
    for part in PARTS:
        graphs = {f: stable(release / f"{part}.{f}") for f in FORMATS}
        assert all(g == graphs["nt"] for g in graphs.values()), part
        assert len(graphs["nt"]) == len((release / f"{part}.nt").read_text(encoding="utf-8").splitlines())


def test_ntriples_are_sorted_canonical_and_blank_nodes_stable(release):
    lines = (release / "crlm-kg.nt").read_bytes().splitlines()
    assert lines == sorted(set(lines))
    labels = {m for line in lines for m in re.findall(rb"_:(b[0-9a-f]+(?:x\d+)?)", line)}
    assert len(labels) > 1000


def test_blank_node_labels_depend_on_content_not_on_parsing():
    """Two parses give fresh random blank nodes, yet the same bytes; a changed nested value changes the output."""
    text = (ROOT / "ontology" / "guideline" / "ch4.ttl").read_bytes()
    one = rdfio.canonical_ntriples(rdfio.stable_triples(rdfio.as_triples(ox.parse(input=text, format=ox.RdfFormat.TURTLE))))
    two = rdfio.canonical_ntriples(rdfio.stable_triples(rdfio.as_triples(ox.parse(input=text, format=ox.RdfFormat.TURTLE))))
    assert one == two
    seeded = text.replace(b"crlm:literalValue true ]", b"crlm:literalValue false ]", 1)
    assert seeded != text
    three = rdfio.canonical_ntriples(rdfio.stable_triples(rdfio.as_triples(ox.parse(input=seeded, format=ox.RdfFormat.TURTLE))))
    assert three != one and len(three.splitlines()) == len(one.splitlines())


def test_ontology_headers_and_versions(release):
    full = stable(release / "crlm-kg.ttl")
    version_base = f"{BASE}2023/{__version__}/"

    def objects(s, p, graph):
        return {t.object.value for t in graph if t.subject == ox.NamedNode(s) and t.predicate == ox.NamedNode(p)}
    assert objects(ONTOLOGY_IRI, OWL.versionIRI, full) == {version_base + "ontology"}
    assert any(__version__ in v for v in objects(ONTOLOGY_IRI, OWL.versionInfo, full))
    assert objects(ONTOLOGY_IRI, OWL.imports, full) == set()
    base = stable(release / "crlm-kg-base.ttl")
    assert objects(BASE + "ontology/base", OWL.versionIRI, base) == {version_base + "ontology/base"}
    assert len(objects(BASE + "ontology/base", OWL.imports, base)) == 9
    shapes = stable(release / "shapes.ttl")
    assert objects(BASE + "shapes", OWL.versionIRI, shapes) == {version_base + "shapes"}
    assert objects(BASE + "shapes", OWL.versionInfo, shapes)


def test_full_file_holds_every_axiom_of_every_module(release):
    full = stable(release / "crlm-kg.nt")
    modules = [p for p in PARTS if p.startswith("modules/")]
    assert len(modules) == 9
    for m in modules:
        triples = stable(release / f"{m}.nt")
        heads = {t.subject for t in triples if t.object == ox.NamedNode(OWL.Ontology)}
        body = {t for t in triples if t.subject not in heads}
        assert body and body <= full, m


def test_release_description_void_dcat_prov(release):
    store = ox.Store()
    for name in ("void.ttl", "prov.ttl", "crlm-kg.ttl"):
        store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                     for t in rdfio.parse_bytes((release / name).read_bytes(), rdfio.FORMATS["ttl"]))
    prefixes = "".join(f"PREFIX {n}: <{i}>\n" for n, i in PREFIXES.items()) + "PREFIX spdx: <http://spdx.org/rdf/terms#>\n"
    rel = f"<{BASE}2023/{__version__}/>"

    def rows(q):
        return list(store.query(prefixes + q))

    def ask(q) -> bool:
        return bool(store.query(prefixes + q))
    # the subset triple counts are those of the files
    for part, name in (("ontology", "crlm-kg"), ("shapes", "shapes"), ("results", "results")):
        n = int(rows(f"SELECT ?n WHERE {{ {rel} void:subset ?p . ?p void:triples ?n FILTER(STRENDS(STR(?p), '/{part}')) }}")[0]["n"].value)
        assert n == len((release / f"{name}.nt").read_text(encoding="utf-8").splitlines())
    # every data file is a distribution with its checksum, size and media type
    dist = {r["f"].value: (r["sha"].value, int(r["size"].value)) for r in rows(
        "SELECT ?f ?sha ?size WHERE { ?f a dcat:Distribution ; dcat:byteSize ?size ; spdx:checksum/spdx:checksumValue ?sha ; dcat:mediaType [] }")}
    assert len(dist) == (len(PARTS) - 2) * len(FORMATS) + 1
    for iri, (sha, size) in dist.items():
        data = (release / iri[len(f"{BASE}2023/{__version__}/"):]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha, size)
    assert ask(f"ASK {{ {rel} dcterms:license ?l ; dcterms:source ?g ; dcterms:bibliographicCitation ?c ; void:sparqlEndpoint ?e ; "
                "void:triples ?t . ?cat a dcat:Catalog ; dcat:dataset ?d . ?s a dcat:DataService ; dcat:endpointURL ?e }")
    examples = rows(f"SELECT ?x WHERE {{ {rel} void:exampleResource ?x }}")
    assert len(examples) == 6
    # provenance: generated by the export run, every source file used, with its checksum
    sources = rows("SELECT ?s ?path WHERE { ?a a prov:Activity ; prov:used ?s . ?s dcterms:identifier ?path ; spdx:checksum [] }")
    assert len(sources) > 40
    for r in sources:
        assert r["s"].value == "urn:sha256:" + hashlib.sha256((ROOT / r["path"].value).read_bytes()).hexdigest()
    assert ask(f"ASK {{ {rel} prov:wasGeneratedBy ?a . ?a prov:wasAssociatedWith ?agent . ?agent a prov:SoftwareAgent }}")


def test_queries_and_results_parts(release):
    queries = stable(release / "queries.ttl")
    sh = PREFIXES["sh"]
    kinds = {t.object.value for t in queries if t.predicate.value.endswith("#type") and t.object.value.startswith(sh)}
    assert {sh + "SPARQLConstructExecutable", sh + "SPARQLSelectExecutable"} <= kinds <= \
        {sh + "SPARQLConstructExecutable", sh + "SPARQLSelectExecutable", sh + "SPARQLAskExecutable"}
    files = [p for d in ("derive", "qc", "library") for p in (ROOT / "queries" / d).glob("*.rq")]
    texts = {t.object.value for t in queries if t.predicate.value in (sh + "construct", sh + "select", sh + "ask")}
    assert texts == {p.read_text(encoding="utf-8") for p in files}        # every query, verbatim
    results = (release / "results.nt").read_text(encoding="utf-8")
    assert str(ROOT) not in results and '"examples/patients/' in results


def test_jsonld_context_is_generated_from_the_vocabulary(release):
    ctx = json.loads((release / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    assert ctx["crlm"] == PREFIXES["crlm"] and ctx["section"] == {"@id": "crlm:section", "@type": "@id"}
    assert all(not k.startswith("@") or k == "@version" for k in ctx)


def test_bad_output_folder_is_one_line_error(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("not a release")
    assert run_cli(["export", "--out", str(tmp_path), "--include", "shapes"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("crlm-kg: error: ") and "not empty" in err[0]
    assert run_cli(["export", "--out", str(tmp_path / "x"), "--format", "ttl,yaml"]) == 2
    assert "unknown format yaml" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ independent readers
def _rdf_files(release: Path, suffixes) -> list[Path]:
    return sorted(p for p in release.rglob("*") if p.suffix[1:] in suffixes and p.name != "context.jsonld")


@pytest.fixture(scope="module")
def jena_classpath(tmp_path_factory):
    if not shutil.which("java") or not Path("/usr/share/java/jena-core.jar").is_file():
        pytest.skip("Apache Jena (Debian libapache-jena-java) not installed")
    env = {**os.environ, "CRLM_KG_JENA_FIX": str(tmp_path_factory.mktemp("jena-fix"))}
    proc = subprocess.run(["bash", str(JENA_CP)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _riot_counts(cp: str, files: list[Path], *extra: str) -> dict[str, int]:
    proc = subprocess.run(["java", "-cp", cp, "riotcmd.riot", "--count", *extra, *map(str, files)], capture_output=True, text=True)
    assert "ERROR" not in proc.stderr and "WARN" not in proc.stderr, proc.stderr[-2000:]
    counts = {m.group(1): int(m.group(2).replace(",", "")) for m in
              re.finditer(r"file://(\S+) : (?:Triples|Quads) = ([\d,]+)", proc.stdout + proc.stderr)}
    return counts


def test_jena_riot_reads_every_file_with_the_same_counts(release, jena_classpath):
    files = _rdf_files(release, ("ttl", "nt", "nq", "xml"))
    jsonld = _rdf_files(release, ("jsonld",))
    assert len(files) == len(PARTS) * 4 and len(jsonld) == len(PARTS)
    counts = _riot_counts(jena_classpath, files)
    # Debian's Jena has no Jakarta JSON provider for its JSON-LD 1.1 reader (Titanium): read with jsonld-java (1.0)
    counts.update(_riot_counts(jena_classpath, jsonld, "--syntax=jsonld10"))
    expected = {str(p): len((p.with_suffix(".nt")).read_text(encoding="utf-8").splitlines()) for p in files + jsonld}
    assert counts == expected


def test_jena_riot_turtle_is_the_same_graph(release, jena_classpath):
    for name in ("crlm-kg.ttl", "results.ttl", "void.ttl"):
        proc = subprocess.run(["java", "-cp", jena_classpath, "riotcmd.riot", "--output=nt", str(release / name)],
                              capture_output=True)
        assert proc.returncode == 0, proc.stderr[-1000:]
        got = set(rdfio.stable_triples(rdfio.parse_bytes(proc.stdout, rdfio.FORMATS["nt"])))
        assert got == stable(release / name.replace(".ttl", ".nt")), name


def test_rapper_reads_turtle_and_rdfxml(release):
    if not shutil.which("rapper"):
        pytest.skip("rapper (Debian raptor2-utils) not installed")
    checked = 0
    for path in _rdf_files(release, ("ttl", "xml")):
        syntax = "turtle" if path.suffix == ".ttl" else "rdfxml"
        proc = subprocess.run(["rapper", "-q", "-i", syntax, "-o", "ntriples", str(path)], capture_output=True)
        assert proc.returncode == 0, (path, proc.stderr[-500:])
        got = set(rdfio.stable_triples(rdfio.parse_bytes(proc.stdout, rdfio.FORMATS["nt"])))
        assert got == stable(path.with_suffix(".nt")), path
        checked += 1
    assert checked == len(PARTS) * 2


def _node_reader():
    if not shutil.which("node"):
        pytest.skip("node not installed")
    if not (ROOT / "tools" / "node" / "node_modules" / "jsonld").is_dir():
        pytest.skip("jsonld.js not installed (cd tools/node && npm ci)")


def _read_jsonld(files: list[Path]) -> dict[str, dict]:
    proc = subprocess.run(["node", str(NODE_READER), *map(str, files)], capture_output=True, text=True)
    return {d["file"]: d for d in map(json.loads, proc.stdout.splitlines())}


def test_jsonld_js_reads_every_file_in_safe_mode_with_the_turtle_triples(release):
    _node_reader()
    files = _rdf_files(release, ("jsonld",))
    out = _read_jsonld(files)
    assert len(out) == len(PARTS)
    for path in files:
        result = out[str(path)]
        assert "error" not in result, result.get("error")
        got = set(rdfio.stable_triples(rdfio.parse_bytes(result["quads"].encode("utf-8"), rdfio.FORMATS["nq"])))
        assert got == stable(path.with_suffix(".ttl")), path


def test_jsonld_js_applies_the_context(release, tmp_path):
    _node_reader()
    ctx = json.loads((release / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    doc = {"@context": ctx, "@id": "ex:p1", "@type": "crlm:Patient", "timing": "crlm:Synchronous", "ecogScore": 1}
    good = tmp_path / "doc.jsonld"
    good.write_text(json.dumps(doc))
    bad = tmp_path / "bad.jsonld"                       # seeded fault: a key the context does not map
    bad.write_text(json.dumps({**doc, "notATerm": 3}))
    out = _read_jsonld([good, bad])
    quads = out[str(good)]["quads"]
    assert f"<{PREFIXES['ex']}p1> <{PREFIXES['crlm']}timing> <{PREFIXES['crlm']}Synchronous> ." in quads
    assert '"1"^^<http://www.w3.org/2001/XMLSchema#integer>' in quads
    assert "error" in out[str(bad)]
