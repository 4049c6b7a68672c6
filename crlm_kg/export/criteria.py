"""Applicability criteria as readable text (zh, en) and as a CQL-like expression string.

Generic over the criteria vocabulary: feature, operator and value labels, threshold numbers and units all come from
the graph (Guideline labels and thresholds); only the operator symbols of the expression language are spelled here.
"""
from __future__ import annotations

from ..guideline import Criterion, Guideline
from ..namespaces import CRLM, compact
from ..terms import display

_JOIN = {"en": {"all": " and ", "any": " or "}, "zh": {"all": " 且 ", "any": " 或 "}}

# operator -> CQL-like template; {f} feature, {v} value(s)
_CQL = {
    CRLM.equals: "{f} = {v}", CRLM.notEquals: "{f} != {v}",
    CRLM.oneOf: "{f} in {{{v}}}", CRLM.noneOf: "not ({f} in {{{v}}})",
    CRLM.lessThan: "{f} < {v}", CRLM.lessOrEqual: "{f} <= {v}",
    CRLM.greaterThan: "{f} > {v}", CRLM.greaterOrEqual: "{f} >= {v}",
    CRLM.absent: "{f} is null", CRLM.includes: "{f} contains {v}", CRLM.excludes: "not ({f} contains {v})",
}


def _is_iri(value) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _value_text(g: Guideline, c: Criterion, lang: str) -> str:
    if c.threshold:
        number = display(g.thresholds.get(c.threshold))
        unit = g.threshold_units.get(c.threshold, "")
        unit = "" if unit == "1" else unit          # UCUM "1": a pure number
        return f"{number}{(' ' + unit) if unit and lang == 'en' else unit}"
    parts = [g.label(v, lang) if _is_iri(v) else display(v) for v in c.values]
    return (" / " if lang == "en" else "、").join(parts)


def criterion_text(g: Guideline, c: Criterion, lang: str = "en") -> str:
    if c.kind != "leaf":
        inner = _JOIN[lang][c.kind].join(criterion_text(g, m, lang) for m in c.members)
        return f"({inner})"
    feature = g.label(c.feature, lang) if c.feature else "?"
    op = g.label(c.op, lang) if c.op else "?"
    if c.op == CRLM.absent:
        return f"{feature}: {op}" if lang == "en" else f"{feature}:{op}"
    sep = " " if lang == "en" else ""
    return f"{feature}{sep}{op}{sep}{_value_text(g, c, lang)}"


def criteria_text(g: Guideline, criteria, lang: str = "en") -> str:
    return _JOIN[lang]["all"].join(criterion_text(g, c, lang) for c in criteria) if criteria else ""


def _cql_value(g: Guideline, c: Criterion) -> str:
    if c.threshold:
        return display(g.thresholds.get(c.threshold))
    out = []
    for v in c.values:
        if _is_iri(v):
            out.append(f"'{compact(v)}'")
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (int, float)) or type(v).__name__ == "Decimal":
            out.append(display(v))
        else:
            out.append("'" + str(v).replace("'", "\\'") + "'")
    return ", ".join(out)


def criterion_cql(g: Guideline, c: Criterion) -> str:
    if c.kind != "leaf":
        return "(" + (" and " if c.kind == "all" else " or ").join(criterion_cql(g, m) for m in c.members) + ")"
    feature = '"' + (compact(c.feature) if c.feature else "?") + '"'
    template = _CQL.get(c.op, "{f} ? {v}")
    return template.format(f=feature, v=_cql_value(g, c))


def criteria_cql(g: Guideline, criteria) -> str:
    """All criteria of an item, joined by `and`; `true` when there are none."""
    return " and ".join(criterion_cql(g, c) for c in criteria) if criteria else "true"
