"""Words for findings: guideline items as Sources, criteria and witness assignments as readable text."""
from __future__ import annotations

import pyoxigraph as ox

from ..guideline import GUIDELINE_GRAPH, Criterion, Guideline
from ..namespaces import CRLM, compact
from ..terms import display
from .findings import Source
from .regions import ABSENT, describe_value


def source(g: Guideline, iri: str, section: str | None = None) -> Source:
    """A guideline item (recommendation, grading, threshold, requirement…) with its section and source sentence."""
    if section is None:
        secs = [q.object.value for q in g.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(CRLM.section), None,
                                                                  ox.NamedNode(GUIDELINE_GRAPH))]
        section = sorted(secs)[0] if secs else ""
    return Source(iri=iri, section=g.section_number(section) if section else "",
                  label_en=g.label(iri, "en"), label_zh=g.label(iri, "zh"),
                  text_zh=g.text(iri, CRLM.sourceText, "zh") or "", text_en=g.text(iri, CRLM.sourceText, "en") or "")


def rec_source(g: Guideline, rec) -> Source:
    return source(g, rec.iri, rec.section)


def criterion_text(g: Guideline, c: Criterion, lang: str = "en", thresholds: dict | None = None) -> str:
    thresholds = thresholds if thresholds is not None else g.thresholds
    if c.kind == "any":
        return "(" + (" 或 " if lang == "zh" else " or ").join(criterion_text(g, m, lang, thresholds) for m in c.members) + ")"
    if c.kind == "all":
        return "(" + (" 且 " if lang == "zh" else " and ").join(criterion_text(g, m, lang, thresholds) for m in c.members) + ")"
    name = g.label(c.feature, lang) if c.feature else "?"
    op = g.notation(c.op) or (compact(c.op) if c.op else "?")
    if c.op == CRLM.absent:
        return f"{name}: {g.label(c.op, lang)}"
    if c.threshold is not None:
        value = thresholds.get(c.threshold)
        unit = g.threshold_units.get(c.threshold, "")
        target = (display(value) + ("" if unit in ("", "1") else " " + unit)) if value is not None else compact(c.threshold)
    else:
        target = ", ".join(g.label(v, lang) if isinstance(v, str) else display(v) for v in c.values)
    return f"{name} {op} {target}"


def criteria_text(g: Guideline, criteria, lang: str = "en") -> str:
    return "; ".join(criterion_text(g, c, lang) for c in criteria) or ("(everyone)" if lang == "en" else "(所有患者)")


def assignment_text(g: Guideline, values: dict, lang: str = "en") -> list[str]:
    """`feature = value` lines of a witness, the absent ones last."""
    present = [f"{g.label(f, lang)} = {describe_value(g, v, lang)}" for f, v in sorted(values.items(), key=lambda kv: g.label(kv[0]))
               if v != ABSENT]
    absent = [f"{g.label(f, lang)}: {'none recorded' if lang == 'en' else '无记录'}" for f, v in sorted(values.items(), key=lambda kv: g.label(kv[0]))
              if v == ABSENT]
    return present + absent


def assignment_json(values: dict) -> dict:
    out = {}
    for f, v in sorted(values.items()):
        key = compact(f)
        if v == ABSENT:
            out[key] = None
        elif isinstance(v, frozenset):
            out[key] = sorted(compact(x) if isinstance(x, str) else display(x) for x in v)
        elif isinstance(v, str):
            out[key] = compact(v)
        elif isinstance(v, bool):
            out[key] = v
        else:
            out[key] = display(v)
    return out
