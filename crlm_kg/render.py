"""Render patient results: JSON (the contract in shared/contract/recommend-json.md), text, and Turtle with PROV-O."""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json

import pyoxigraph as ox

from .match import Fact
from .namespaces import BASE, BATCH_GRAPH, CRLM, GUIDELINE_IRI, PREFIXES, PROV, RDF_TYPE, RDFS, XSD, compact
from .terms import display

_CRLM = CRLM


def _label_pair(g, iri):
    return {"iri": iri, "label_en": g.label(iri, "en"), "label_zh": g.label(iri, "zh")}


def _fact_json(g, f: Fact) -> dict:
    name_en, name_zh = g.label(f.feature, "en"), g.label(f.feature, "zh")
    if f.value is None:
        return {"fact": f.feature, "label_en": f"{name_en}: not recorded", "label_zh": f"{name_zh}:无记录",
                "feature": f.feature, "value": None, "derived_by": None}
    if isinstance(f.value, str) and f.value.startswith(("http://", "https://")):
        label_en, label_zh, value = g.label(f.value, "en"), g.label(f.value, "zh"), f.value
        fact = f.value
    else:
        label_en = label_zh = display(f.value)
        value = display(f.value) if not isinstance(f.value, (bool, int)) else f.value
        fact = f.feature
    return {"fact": fact, "label_en": f"{name_en}: {label_en}", "label_zh": f"{name_zh}:{label_zh}",
            "feature": f.feature, "value": value,
            "derived_by": None if f.source == BATCH_GRAPH else f.source}


def _because(g, facts) -> list:
    out, seen = [], set()
    for f in facts:
        key = (f.feature, str(f.value))
        if key not in seen:
            seen.add(key)
            out.append(_fact_json(g, f))
    return out


def _first(result, feature):
    vals = result.fact_values(feature)
    return vals[0] if vals else None


def derived_json(result) -> dict:
    g = result.engine.g
    timing = _first(result, CRLM.timing)
    site = _first(result, CRLM.primarySite)
    side = _first(result, CRLM.primarySide)
    crs = _first(result, CRLM.clinicalRiskScore)
    return {
        "timing": g.notation(timing) if timing else None,
        "primary_side": (g.notation(site) if site and g.notation(site) else None) or (g.notation(side) if side else None),
        "clinical_risk_score": int(crs) if crs is not None else None,
        "classes": [_label_pair(g, c) for c in result.classes],
    }


_STATIC: dict = {}


def _static_parts(g, rec) -> dict:
    """The patient-independent part of a recommendation's JSON, built once per guideline and recommendation."""
    key = (id(g), rec.iri)
    parts = _STATIC.get(key)
    if parts is None:
        parts = _STATIC[key] = {
            "head": {"iri": rec.iri, "section": g.section_number(rec.section), "strength": g.notation(rec.strength),
                     "evidence_level": g.notation(rec.level), "grade": g.notation(rec.grade),
                     "setting": g.notation(rec.settings[0]) if rec.settings else None,
                     "label_en": g.label(rec.iri, "en"), "label_zh": g.label(rec.iri, "zh"),
                     "source_text_zh": g.text(rec.iri, CRLM.sourceText, "zh")},
            "tail": {"settings": [g.notation(s) for s in rec.settings],
                     "source_text_en": g.text(rec.iri, CRLM.sourceText, "en"),
                     "schedule": [dict((k, float(v) if v is not None else None) for k, v in s.items()) for s in rec.schedules]},
            "actions": {a: _action_json(g, a) for a in rec.actions}}
    return parts


def _action_json(g, a) -> dict:
    info = g.actions.get(a)
    return {"key": info.key if info else a.rsplit("/", 1)[-1], "iri": a,
            "label_en": g.label(a, "en"), "label_zh": g.label(a, "zh"),
            "codes": [dict(c) for c in info.codes] if info else []}


def recommendation_json(g, gr) -> dict:
    parts = _static_parts(g, gr.rec)
    out = dict(parts["head"])
    out["actions"] = [dict(parts["actions"][a]) for a in gr.actions]
    out["because"] = _because(g, gr.because)
    out.update(parts["tail"])
    out["removed_actions"] = [{"key": g.actions[a].key if a in g.actions else a,
                               "requirements": [req.iri for req, _ in fails]} for a, fails in gr.removed]
    return out


def flag_json(f) -> dict:
    out = {"kind": f.kind, "severity": f.severity, "constraint": f.constraint, "focus": f.focus, "path": f.path,
           "action": f.action, "section": f.section, "message_en": f.message_en, "message_zh": f.message_zh}
    out.update(f.extra)
    return out


def result_to_json(result, lang: str = "en") -> dict:
    g = result.engine.g
    return {
        "patient": result.patient,
        "guideline": {"iri": GUIDELINE_IRI, "version": g.notation(GUIDELINE_IRI) or "2023"},
        "derived": derived_json(result),
        "recommendations": [recommendation_json(g, gr) for gr in result.recommendations],
        "flags": [flag_json(f) for f in result.flags],
        "withheld": [{"iri": rec.iri, "section": g.section_number(rec.section),
                      "label_en": g.label(rec.iri, "en"), "label_zh": g.label(rec.iri, "zh"),
                      "requirements": sorted({req.iri for _, fails in removed for req, _ in fails})}
                     for rec, removed in result.withheld],
        "source": result.source,
        "as_of": result.as_of.isoformat(),
    }


# ---------------------------------------------------------------------- text
def result_to_text(result, lang: str = "en") -> str:
    g = result.engine.g
    zh = lang == "zh"
    L = lambda iri: g.label(iri, lang)  # noqa: E731
    d = derived_json(result)
    lines = [f"{'患者' if zh else 'Patient'} {compact(result.patient)}   ({result.source}, {'评估日期' if zh else 'as of'} {result.as_of})"]
    lines.append(("推导状态" if zh else "Derived") + f": timing={d['timing']}  side={d['primary_side']}  CRS={d['clinical_risk_score']}")
    if result.classes:
        lines.append("  " + ", ".join(L(c) for c in result.classes))
    lines.append("")
    lines.append("推荐" if zh else "Recommendations")
    current = None
    for gr in result.recommendations:
        rec = gr.rec
        if rec.strength != current:
            current = rec.strength
            lines.append(f"  == {L(rec.strength).upper() if not zh else L(rec.strength)} ==")
        ev = ""
        if rec.level:
            ev = f" ({g.notation(rec.level)}, {g.notation(rec.grade)})"
        lines.append(f"  • [{g.section_number(rec.section)}] {L(rec.iri)}{ev}")
        lines.append(f"      {'措施' if zh else 'actions'}: " + ", ".join(L(a) for a in gr.actions))
        because = _because(g, gr.because)
        if because:
            lines.append(f"      {'依据' if zh else 'because'}: " + "; ".join(b["label_zh" if zh else "label_en"] for b in because))
        src = g.text(rec.iri, CRLM.sourceText, "zh")
        if src:
            lines.append(f"      {'原文' if zh else 'source'}: {src}")
    if not result.recommendations:
        lines.append("  " + ("(无)" if zh else "(none)"))
    lines.append("")
    lines.append("警示" if zh else "Flags")
    quiet = [f for f in result.flags if f.kind == "missing-data" and f.severity == "info"]
    for f in result.flags:
        if f in quiet:
            continue
        msg = f.message_zh if zh else f.message_en
        lines.append(f"  ! [{f.severity}] {f.kind} [{f.section}] {msg}")
    if quiet:
        names = ", ".join(L(f.path) for f in quiet if f.path)
        lines.append(("  · 其他可补充的事实(信息级):" if zh else "  · further facts that would complete the picture (info): ") + names)
    if not result.flags:
        lines.append("  " + ("(无)" if zh else "(none)"))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- turtle
def results_to_turtle(results, engine_version: str, generated: _dt.datetime | None = None) -> bytes:
    prefixes = {k: PREFIXES[k] for k in ("crlm", "act", "rec", "prov", "xsd", "rdfs", "crlmr", "ex")}
    triples = ox.parse(input=results_to_ntriples(results, engine_version, generated), format=ox.RdfFormat.N_TRIPLES)
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)


@functools.lru_cache(maxsize=65536)
def _iri(value: str) -> str:
    return f"<{value}>"


def _literal(text: str, datatype: str | None = None, lang: str | None = None) -> str:
    body = json.dumps(text, ensure_ascii=False)          # a JSON string is a valid N-Triples string literal body
    if lang:
        return f"{body}@{lang}"
    return f"{body}^^<{datatype}>" if datatype else body


def results_to_ntriples(results, engine_version: str, generated: _dt.datetime | None = None) -> bytes:
    """The results as RDF (N-Triples): per patient an evaluation (prov:Activity), its recommendation results
    (prov:Entity, prov:wasDerivedFrom the guideline recommendation, and per `because` fact the rule that derived it)
    and its flags. Written as text directly: cohorts produce hundreds of thousands of triples."""
    generated = generated or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    when = _literal(generated.isoformat(), XSD.dateTime)
    out: list[str] = []
    add = lambda s, p, o: out.append(f"{s} <{p}> {o} .\n")  # noqa: E731
    engine = _iri(BASE + "engine/" + engine_version)
    add(engine, RDF_TYPE, _iri(PROV.SoftwareAgent))
    add(engine, RDFS.label, _literal(f"crlm-kg {engine_version}"))
    for r in results:
        pid = hashlib.sha1(r.patient.encode()).hexdigest()[:12]
        base = BASE + f"result/{pid}/"
        run, patient = _iri(base + "evaluation"), _iri(r.patient)
        add(run, RDF_TYPE, _iri(CRLM.Evaluation))
        add(run, RDF_TYPE, _iri(PROV.Activity))
        add(run, CRLM.forPatient, patient)
        add(run, PROV.used, _iri(GUIDELINE_IRI))
        add(run, PROV.used, patient)
        add(run, PROV.wasAssociatedWith, engine)
        add(run, PROV.endedAtTime, when)
        add(run, CRLM.asOfDate, _literal(r.as_of.isoformat(), XSD.date))
        add(run, CRLM.sourceFile, _literal(str(r.source)))
        for c in r.classes:
            add(patient, RDF_TYPE, _iri(c))
        fact_nodes: dict = {}
        for gr in r.recommendations:
            node_iri = base + "rec/" + gr.rec.iri.rsplit("/", 1)[-1]
            node = _iri(node_iri)
            # crlm:RecommendationResult ⊑ prov:Entity and crlm:recommendation ⊑ prov:wasDerivedFrom (ontology/crlm.ttl);
            # the time is the evaluation's prov:endedAtTime: nothing implied is written again per recommendation
            add(node, RDF_TYPE, _iri(CRLM.RecommendationResult))
            add(node, CRLM.forPatient, patient)
            add(node, CRLM.recommendation, _iri(gr.rec.iri))
            add(node, PROV.wasGeneratedBy, run)
            for a in gr.actions:
                add(node, CRLM.givenAction, _iri(a))
            for f in gr.because:
                key = (f.feature, str(f.value))
                b = fact_nodes.get(key)
                if b is None:              # one node per patient fact, shared by every recommendation it supports
                    b = fact_nodes[key] = _iri(base + f"fact/{len(fact_nodes)}")
                    add(b, CRLM.feature, _iri(f.feature))
                    if f.value is not None:
                        add(b, CRLM.factValue, _iri(f.value) if isinstance(f.value, str) and f.value.startswith("http")
                            else _literal(display(f.value)))
                    if f.source and f.source != BATCH_GRAPH:
                        add(b, PROV.wasDerivedFrom, _iri(f.source))
                add(node, CRLM.becauseFact, b)
        for i, f in enumerate(r.flags):
            node = _iri(base + f"flag/{i}")
            add(node, RDF_TYPE, _iri(CRLM.FlagResult))
            add(node, PROV.wasGeneratedBy, run)
            add(node, CRLM.forPatient, patient)
            add(node, CRLM.flagKind, _literal(f.kind))
            add(node, CRLM.severity, _literal(f.severity))
            add(node, CRLM.constraint, _iri(f.constraint))
            add(node, CRLM.focus, _iri(f.focus) if f.focus.startswith("http") else _literal(f.focus))
            if f.path:
                add(node, CRLM.flagPath, _iri(f.path))
            if f.action:
                add(node, CRLM.flagAction, _literal(f.action))
            if f.section:
                add(node, CRLM.flagSection, _literal(f.section))
            add(node, CRLM.message, _literal(f.message_en, lang="en"))
            add(node, CRLM.message, _literal(f.message_zh, lang="zh"))
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------------- validation reports
def validation_to_json(reports) -> list:
    return [{"patient": r.patient, "source": r.source, "conforms": r.conforms,
             "results": [{"shape": x.shape, "focus": x.focus, "path": x.path, "severity": x.severity, "kind": x.kind,
                          "section": x.section, "message_en": x.message_en, "message_zh": x.message_zh} for x in r.results]}
            for r in reports]


def validation_to_text(reports, lang: str = "en") -> str:
    lines = []
    for r in reports:
        lines.append(f"{compact(r.patient)} ({r.source}): {'conforms' if r.conforms else 'does not conform'}")
        for x in r.results:
            lines.append(f"  [{x.severity}] {x.kind} [{x.section}] {x.message_zh if lang == 'zh' else x.message_en}  ({compact(x.shape)})")
    return "\n".join(lines) + "\n"


def validation_to_turtle(reports) -> bytes:
    """A standard sh:ValidationReport per patient, plus crlm:flagKind and the zh/en messages."""
    N, L = ox.NamedNode, ox.Literal
    SH = PREFIXES["sh"]
    T = N(RDF_TYPE)
    triples = []
    for r in reports:
        rep = ox.BlankNode()
        triples += [ox.Triple(rep, T, N(SH + "ValidationReport")),
                    ox.Triple(rep, N(SH + "conforms"), L("true" if r.conforms else "false", datatype=N(XSD.boolean)))]
        for x in r.results:
            res = ox.BlankNode()
            triples += [ox.Triple(rep, N(SH + "result"), res), ox.Triple(res, T, N(SH + "ValidationResult")),
                        ox.Triple(res, N(SH + "focusNode"), N(x.focus) if x.focus.startswith("http") else L(x.focus)),
                        ox.Triple(res, N(SH + "sourceShape"), N(x.shape) if x.shape.startswith("http") else L(x.shape)),
                        ox.Triple(res, N(SH + "resultSeverity"), N(SH + x.severity.capitalize())),
                        ox.Triple(res, N(CRLM.forPatient), N(r.patient))]
            if x.path:
                triples.append(ox.Triple(res, N(SH + "resultPath"), N(x.path)))
            if x.kind:
                triples.append(ox.Triple(res, N(CRLM.flagKind), L(x.kind)))
            for text, lang in ((x.message_en, "en"), (x.message_zh, "zh")):
                if text:
                    triples.append(ox.Triple(res, N(SH + "resultMessage"), L(text, language=lang)))
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes={"sh": SH, "crlm": PREFIXES["crlm"], "ex": PREFIXES["ex"]})
