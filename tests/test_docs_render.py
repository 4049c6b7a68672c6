"""Generated documentation: the pyLODE ontology page and the bilingual guideline browser. Every project IRI has an
HTML anchor; both pages render in headless Chromium and the rendered DOM holds the whole section list."""
from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest

from crlm_kg.export import export_release, parse_includes, rdfio
from crlm_kg.export.ontology_doc import anchors
from crlm_kg.namespaces import BASE, CRLM, OWL, RDF_TYPE

INCLUDE = "ontology,shapes,queries,docs"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "release"
    export_release(out, include=parse_includes(INCLUDE))
    return out


@pytest.fixture(scope="module")
def graph(release):
    triples = []
    for name in ("crlm-kg.ttl", "shapes.ttl", "queries.ttl"):
        triples += rdfio.parse_bytes((release / name).read_bytes(), rdfio.FORMATS["ttl"])
    return triples


class _Dom(HTMLParser):
    """Element ids, and counts of elements by (tag, class or marker attribute)."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.count: Counter = Counter()
        self.source_langs: Counter = Counter()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "section" and "data-section-number" in a:
            self.count["section"] += 1
        if tag == "li" and "data-section" in a:
            self.count["toc-entry"] += 1
        if tag == "article" and "rec" in (a.get("class") or "").split():
            self.count["recommendation"] += 1
        if tag == "blockquote" and "source" in (a.get("class") or "").split():
            self.source_langs[a.get("lang")] += 1


def dom(html: str) -> _Dom:
    parser = _Dom()
    parser.feed(html)
    return parser


def subjects(graph, cls=None) -> set[str]:
    if cls:
        return {t.subject.value for t in graph if t.predicate.value == RDF_TYPE and t.object == ox.NamedNode(cls)}
    return {t.subject.value for t in graph if isinstance(t.subject, ox.NamedNode)}


def test_every_project_iri_has_an_anchor(release, graph):
    browser = dom((release / "html/browser/index.html").read_text(encoding="utf-8"))
    onto_html = (release / "html/ontology/index.html").read_text(encoding="utf-8")
    onto = anchors(onto_html)
    own = {s for s in subjects(graph) if s.startswith(BASE) and not s[len(BASE):].split("/")[0].isdigit()}
    assert len(own) > 900
    missing = sorted(s for s in own if s[len(BASE):] not in browser.ids)
    assert missing == []
    terms = {s for s in subjects(graph, OWL.Class) | subjects(graph, OWL.ObjectProperty) | subjects(graph, OWL.DatatypeProperty)
             if s.startswith(CRLM[""])}
    undocumented = sorted(s for s in terms if s not in onto)
    assert len(terms) > 100 and undocumented == []
    assert set(onto.values()) <= dom(onto_html).ids
    # the browser entry of each class and property links to its pyLODE anchor
    page = (release / "html/browser/index.html").read_text(encoding="utf-8")
    assert all(f'href="../ontology/index.html#{onto[s]}"' in page for s in terms)


def test_docs_are_deterministic(release, tmp_path):
    again = tmp_path / "again"
    export_release(again, include=parse_includes("ontology,shapes,queries,docs"))
    for page in ("html/browser/index.html", "html/ontology/index.html"):
        assert (again / page).read_bytes() == (release / page).read_bytes(), page


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium (Debian chromium) not installed")
    profile = tmp_path / f"profile-{page.parent.name}"
    profile.mkdir()
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, timeout=180)


def check_browser_dom(html: str, graph) -> list[str]:
    """What the rendered browser lacks: one section element and one contents entry per guideline section, one
    article per recommendation, each with its source sentence in zh and en."""
    d = dom(html)
    n_sections = len(subjects(graph, CRLM.GuidelineSection))
    n_recs = len(subjects(graph, CRLM.Recommendation))
    problems = []
    if d.count["section"] != n_sections:
        problems.append(f"{d.count['section']} section elements for {n_sections} sections")
    if d.count["toc-entry"] != n_sections:
        problems.append(f"{d.count['toc-entry']} contents entries for {n_sections} sections")
    if d.count["recommendation"] != n_recs:
        problems.append(f"{d.count['recommendation']} recommendation articles for {n_recs} recommendations")
    if d.source_langs["zh"] < n_recs or d.source_langs["en"] < n_recs:
        problems.append(f"source sentences zh {d.source_langs['zh']}, en {d.source_langs['en']} for {n_recs} recommendations")
    return problems


def test_browser_renders_in_chromium_with_every_section(release, graph, tmp_path):
    proc = _chromium(tmp_path, release / "html/browser/index.html", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-1000:]
    html = proc.stdout.decode("utf-8")
    assert len(subjects(graph, CRLM.GuidelineSection)) > 60
    assert check_browser_dom(html, graph) == []
    # seeded fault: a page that lost one section is caught
    broken = html.replace('data-section-number="', 'data-lost="', 1)
    assert check_browser_dom(broken, graph) != []


def test_ontology_page_renders_in_chromium(release, graph, tmp_path):
    proc = _chromium(tmp_path, release / "html/ontology/index.html", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-1000:]
    rendered = proc.stdout.decode("utf-8")
    found = anchors(rendered)
    classes = {s for s in subjects(graph, OWL.Class) if s.startswith(CRLM[""])}
    assert len(classes) > 40 and classes <= set(found) and set(found.values()) <= dom(rendered).ids


def test_browser_screenshot_is_not_blank(release, tmp_path):
    shot = tmp_path / "browser.png"
    proc = _chromium(tmp_path, release / "html/browser/index.html", f"--screenshot={shot}", "--window-size=1200,900",
                     "--virtual-time-budget=5000")
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-1000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000     # a blank page compresses to a few kB
