"""The bilingual guideline browser: one static HTML page with every section of the guideline (table of contents and
body), its recommendations with evidence, strength, actions, criteria and source sentence (zh verbatim, en), and
every other resource of the project namespaces (gradings, actions, thresholds, requirements, vocabulary
individuals, shapes, queries, modules), each with an HTML anchor named after its IRI path, so that
https://w3id.org/crlm-kg/rec/R4.1.4.1-a resolves to index.html#rec/R4.1.4.1-a. Generated from the graph only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from ..guideline import Guideline, _q
from ..namespaces import BASE, CRLM, GUIDELINE_IRI, ONTOLOGY_IRI
from ..terms import display
from . import criteria as crit

CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans",sans-serif;margin:0;line-height:1.45;color:#222}
header{background:#1f3b57;color:#fff;padding:1em 2em}header a{color:#cfe3ff}
main{display:grid;grid-template-columns:minmax(16em,24em) 1fr;gap:1.5em;padding:1em 2em}
nav#toc{position:sticky;top:0;max-height:100vh;overflow:auto;font-size:.9em}nav ol{padding-left:1.1em}
section.gl{border-top:1px solid #ccd;margin-top:1em;padding-top:.5em}
article{border:1px solid #dde;border-radius:6px;padding:.6em 1em;margin:.6em 0;background:#fafbfd}
.num{font-weight:bold;margin-right:.4em}.iri{font-size:.8em;color:#567;word-break:break-all}
blockquote{margin:.4em 0;padding:.3em .8em;border-left:4px solid #9ab;background:#fff}
dl{display:grid;grid-template-columns:10em 1fr;gap:.2em .8em;margin:.4em 0}dt{font-weight:600;color:#345}dd{margin:0}
.against{color:#a22}.for{color:#174}.research-only{color:#764}pre{white-space:pre-wrap;font-size:.8em;background:#f4f4f4;padding:.5em}
"""


def anchor(iri: str) -> str:
    """The HTML id of a project IRI: its path under the base (rec/R4.1.4.1-a); '' for other IRIs."""
    return iri[len(BASE):] if iri.startswith(BASE) else ""


@dataclass
class Entry:
    """One resource shown outside the section tree (shape, query, module…)."""
    iri: str
    label_en: str
    label_zh: str = ""
    text_en: str = ""
    text_zh: str = ""
    pre: str = ""
    doc: str = ""            # a further page that documents it (the pyLODE page for classes and properties)


@dataclass
class Group:
    key: str
    title_en: str
    title_zh: str
    entries: list = field(default_factory=list)


class _Page:
    def __init__(self, g: Guideline, ontology_doc: str, ontology_anchors: dict[str, str]):
        self.g = g
        self.ontology_doc = ontology_doc
        self.ontology_anchors = ontology_anchors
        self.classes_and_properties = {r["x"].value for r in _q(g.store, """SELECT ?x WHERE { ?x a ?k .
            FILTER(?k IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty, owl:AnnotationProperty)) }""")}

    def href(self, iri: str) -> str:
        if iri in self.classes_and_properties and iri in self.ontology_anchors:
            return f"{self.ontology_doc}#{escape(self.ontology_anchors[iri])}"
        a = anchor(iri)
        return f"#{escape(a)}" if a else escape(iri)

    def both(self, iri: str, link: bool = True) -> str:
        en, zh = escape(self.g.label(iri, "en")), escape(self.g.label(iri, "zh"))
        text = f'<span lang="en">{en}</span>' + (f' · <span lang="zh">{zh}</span>' if zh != en else "")
        return f'<a href="{self.href(iri)}">{text}</a>' if link else text

    def pair(self, en: str | None, zh: str | None, tag: str = "dd") -> str:
        out = ""
        if zh:
            out += f'<{tag} lang="zh">{escape(zh)}</{tag}>'
        if en:
            out += f'<{tag} lang="en">{escape(en)}</{tag}>'
        return out


def _sections(g: Guideline):
    rows = _q(g.store, """SELECT ?s ?parent ?order WHERE { ?s a crlm:GuidelineSection .
                          OPTIONAL { ?s crlm:partOfSection ?parent } OPTIONAL { ?s crlm:order ?order } }""")
    children: dict[str | None, list] = {}
    for r in rows:
        parent = r["parent"].value if r["parent"] is not None else None
        order = int(r["order"].value) if r["order"] is not None else 0
        children.setdefault(parent, []).append((order, r["s"].value))
    for v in children.values():
        v.sort()
    return children


def _toc(p: _Page, children, node: str | None) -> str:
    items = children.get(node, [])
    if not items:
        return ""
    lis = []
    for _, s in items:
        num = escape(p.g.section_number(s))
        lis.append(f'<li data-section="{escape(anchor(s))}"><a href="#{escape(anchor(s))}"><span class="num">{num}</span>'
                   f'<span lang="zh">{escape(p.g.label(s, "zh"))}</span></a>{_toc(p, children, s)}</li>')
    return "<ol>" + "".join(lis) + "</ol>"


def _rec(p: _Page, rec) -> str:
    g = p.g
    a = anchor(rec.iri)
    direction = g.notation(rec.direction) or ""
    rows = []
    written = g.text(rec.iri, CRLM.strengthAsWritten, "zh")
    rows.append(f'<dt>Strength · 推荐强度</dt><dd class="{escape(direction)}">{p.both(rec.strength)}'
                + (f' — 原文「<span lang="zh">{escape(written)}</span>」' if written else "")
                + (f" · {p.both(rec.direction)}" if rec.direction else "") + "</dd>")
    if rec.grading:
        as_written = g.text(rec.grading, CRLM.asWritten, "zh") or ""
        rows.append(f'<dt>Evidence · 证据</dt><dd><a href="{p.href(rec.grading)}">{escape(g.label(rec.level, "en") if rec.level else "")}'
                    f', {escape(g.label(rec.grade, "en") if rec.grade else "")}</a> 「<span lang="zh">{escape(as_written)}</span>」</dd>')
    else:
        rows.append('<dt>Evidence · 证据</dt><dd>not graded by the text · 原文未标注</dd>')
    rows.append("<dt>Settings · 场景</dt><dd>" + ", ".join(p.both(s) for s in rec.settings) + "</dd>")
    rows.append('<dt>Actions · 措施</dt><dd class="actions">' + ", ".join(p.both(x) for x in rec.actions) + "</dd>")
    rows.append("<dt>Population · 人群</dt>" + (p.pair(g.text(rec.iri, CRLM.population, "en"), g.text(rec.iri, CRLM.population, "zh")) or "<dd></dd>"))
    rows.append("<dt>Criteria · 条件</dt>" + p.pair(crit.criteria_text(g, rec.criteria, "en"), crit.criteria_text(g, rec.criteria, "zh")))
    sources = "".join(f'<blockquote class="source" lang="{lang}">{escape(t)}</blockquote>'
                      for lang in ("zh", "en") for t in [g.text(rec.iri, CRLM.sourceText, lang)] if t)
    defs = g.definitions.get(rec.iri, {})
    return (f'<article class="rec" id="{escape(a)}" data-strength="{escape(g.notation(rec.strength) or "")}">'
            f'<h4><a href="#{escape(a)}">{escape(a.rsplit("/", 1)[-1])}</a> <span lang="zh">{escape(g.label(rec.iri, "zh"))}</span> · '
            f'<span lang="en">{escape(g.label(rec.iri, "en"))}</span></h4>'
            + p.pair(defs.get("en"), defs.get("zh"), "p") + "<dl>" + "".join(rows) + "</dl>" + sources
            + f'<p class="iri"><a href="{escape(rec.iri)}">{escape(rec.iri)}</a></p></article>')


def _grading(p: _Page, iri: str, levels: dict) -> str:
    g = p.g
    a = anchor(iri)
    level, grade = levels.get(iri, (None, None))
    return (f'<article class="grading" id="{escape(a)}"><h4><a href="#{escape(a)}">{escape(a.rsplit("/", 1)[-1])}</a> '
            f'「<span lang="zh">{escape(g.text(iri, CRLM.asWritten, "zh") or "")}</span>」</h4><dl>'
            + (f"<dt>Level · 证据等级</dt><dd>{p.both(level)}</dd>" if level else "")
            + (f"<dt>Grade · 推荐级别</dt><dd>{p.both(grade)}</dd>" if grade else "")
            + "</dl>" + "".join(f'<blockquote class="source" lang="{lang}">{escape(t)}</blockquote>'
                                for lang in ("zh", "en") for t in [g.text(iri, CRLM.sourceText, lang)] if t)
            + f'<p class="iri"><a href="{escape(iri)}">{escape(iri)}</a></p></article>')


def _section(p: _Page, children, s: str, recs_by_section, gradings_by_section, levels, depth: int = 2) -> str:
    g = p.g
    a = anchor(s)
    h = f"h{min(depth, 6)}"
    defs = g.definitions.get(s, {})
    body = "".join(_grading(p, x, levels) for x in gradings_by_section.get(s, []))
    body += "".join(_rec(p, r) for r in recs_by_section.get(s, []))
    inner = "".join(_section(p, children, c, recs_by_section, gradings_by_section, levels, depth + 1) for _, c in children.get(s, []))
    return (f'<section class="gl" id="{escape(a)}" data-section-number="{escape(g.section_number(s))}">'
            f'<{h}><span class="num">{escape(g.section_number(s))}</span><span lang="zh">{escape(g.label(s, "zh"))}</span> · '
            f'<span lang="en">{escape(g.label(s, "en"))}</span></{h}>'
            + p.pair(defs.get("en"), defs.get("zh"), "p") + body + inner + "</section>")


def _entry(p: _Page, e: Entry) -> str:
    a = anchor(e.iri)
    return (f'<article id="{escape(a)}"><h4><a href="#{escape(a)}">{escape(a)}</a> <span lang="en">{escape(e.label_en)}</span>'
            + (f' · <span lang="zh">{escape(e.label_zh)}</span>' if e.label_zh and e.label_zh != e.label_en else "") + "</h4>"
            + p.pair(e.text_en, e.text_zh, "p") + (f"<pre>{escape(e.pre)}</pre>" if e.pre else "")
            + (f'<p><a class="doc" href="{escape(e.doc)}">ontology documentation · 本体文档</a></p>' if e.doc else "")
            + f'<p class="iri"><a href="{escape(e.iri)}">{escape(e.iri)}</a></p></article>')


def _resource_entries(p: "_Page", shown: set) -> list[Group]:
    """Everything else in the project namespaces that the ontology describes: actions, thresholds, requirements,
    vocabulary terms (classes and properties link on to the pyLODE page), the guideline, the ontology modules."""
    g = p.g
    groups = [Group("actions", "Care actions", "诊疗措施"), Group("thresholds", "Thresholds", "阈值"),
              Group("requirements", "Action requirements and cautions", "措施安全前提与注意事项"),
              Group("terms", "Vocabulary", "词表"), Group("other", "Guideline and ontology modules", "指南与本体模块")]
    by_key = {x.key: x for x in groups}
    rows = _q(g.store, """SELECT DISTINCT ?x WHERE { ?x ?p ?o FILTER(isIRI(?x)) } ORDER BY ?x""")
    for r in rows:
        iri = r["x"].value
        if iri in shown or not iri.startswith(BASE):
            continue
        kind = anchor(iri).split("/", 1)[0]
        key = {"action": "actions", "threshold": "thresholds", "requirement": "requirements", "def": "terms"}.get(kind, "other")
        text_en = g.definitions.get(iri, {}).get("en", "")
        text_zh = g.definitions.get(iri, {}).get("zh", "")
        if iri in g.thresholds:
            unit = g.threshold_units.get(iri, "")
            text_en = f"{display(g.thresholds[iri])} {unit}".strip() + (f" — {text_en}" if text_en else "")
        action = g.actions.get(iri)
        if action and action.codes:
            text_en += " · codes: " + ", ".join(f"{c['system']} {c['code']}" for c in action.codes)
        message_en, message_zh = g.text(iri, CRLM.message, "en"), g.text(iri, CRLM.message, "zh")
        if message_en:
            text_en += f" — {message_en}"
        if message_zh:
            text_zh += f" —— {message_zh}"
        doc = p.href(iri) if iri in p.ontology_anchors else ""
        by_key[key].entries.append(Entry(iri, g.label(iri, "en"), g.label(iri, "zh"), text_en, text_zh, doc=doc))
    return groups


def browser_html(g: Guideline, version: str, extra: list[Group] | None = None, ontology_doc: str = "../ontology/index.html",
                 ontology_anchors: dict[str, str] | None = None) -> str:
    """The whole browser page. `extra`: further groups (shapes, queries) the release adds; `ontology_anchors`: IRI ->
    id in the ontology documentation page (classes and properties link there)."""
    p = _Page(g, ontology_doc, ontology_anchors or {})
    children = _sections(g)
    recs_by_section: dict[str, list] = {}
    for r in sorted(g.recommendations, key=lambda r: r.iri):
        recs_by_section.setdefault(r.section, []).append(r)
    gradings_by_section: dict[str, list] = {}
    levels: dict[str, tuple] = {}
    for r in _q(g.store, """SELECT ?x ?s ?l ?gr WHERE { ?x a crlm:EvidenceGrading . OPTIONAL { ?x crlm:section ?s }
                            OPTIONAL { ?x crlm:evidenceLevel ?l } OPTIONAL { ?x crlm:grade ?gr } } ORDER BY ?x"""):
        if r["s"] is not None:
            gradings_by_section.setdefault(r["s"].value, []).append(r["x"].value)
        levels[r["x"].value] = (r["l"].value if r["l"] is not None else None, r["gr"].value if r["gr"] is not None else None)
    sections = {s for v in children.values() for _, s in v}
    roots = [s for _, s in children.get(None, [])]
    shown = sections | {r.iri for r in g.recommendations} | set(levels)
    groups = _resource_entries(p, shown) + list(extra or [])
    title_zh, title_en = g.label(GUIDELINE_IRI, "zh"), g.label(GUIDELINE_IRI, "en")
    body = "".join(_section(p, children, s, recs_by_section, gradings_by_section, levels) for s in roots)
    for grp in groups:
        if grp.entries:
            body += (f'<section class="group" id="{escape(grp.key)}"><h2><span lang="en">{escape(grp.title_en)}</span> · '
                     f'<span lang="zh">{escape(grp.title_zh)}</span></h2>' + "".join(_entry(p, e) for e in grp.entries) + "</section>")
    toc = _toc(p, children, None)
    toc += "<ol>" + "".join(f'<li><a href="#{escape(grp.key)}">{escape(grp.title_en)} · {escape(grp.title_zh)}</a></li>'
                            for grp in groups if grp.entries) + "</ol>"
    return ("<!DOCTYPE html>\n"
            f'<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title_zh)} · crlm-kg {escape(version)}</title><style>{CSS}</style></head><body>"
            f'<header><h1><span lang="zh">{escape(title_zh)}</span><br><span lang="en">{escape(title_en)}</span></h1>'
            f'<p>crlm-kg {escape(version)} · <a href="{escape(ONTOLOGY_IRI)}">{escape(ONTOLOGY_IRI)}</a> · '
            f'<a href="{escape(ontology_doc)}">ontology documentation · 本体文档</a> · {len(sections)} sections · '
            f"{len(g.recommendations)} recommendations</p></header>"
            f'<main><nav id="toc" aria-label="sections"><h2>目录 · Contents</h2>{toc}</nav><div id="content">{body}</div></main>'
            "</body></html>\n")
