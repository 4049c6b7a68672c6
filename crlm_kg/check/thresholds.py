"""Thresholds: every numeric limit on the same quantity (crlm:quantityKind, or the feature a criterion compares),
across thresholds, recommendations and action requirements, as one table per quantity with a consistency verdict.

Pairs of limits on the same quantity are compared when their contexts overlap (the rest of the criteria they sit
in, as regions) and their actions are related:
- opposite advice (for / required vs against): complementary when the two intervals meet at one cut point; a gap
  when values between them get neither; overlapping when both apply to some values (unless an action requirement
  resolves it);
- the same direction: the same limit, a different limit (≥30 vs ≥40 for the same patients), or a differing
  boundary (< vs ≤ at the same number).
Limits in disjoint contexts (synchronous vs metachronous) are context-dependent, hence consistent. Thresholds with
the same number on different quantities in the same chapter (≤6 cycles, ≤6 months) cannot be compared without a
conversion, which the guideline does not give; they are listed as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .. import paths
from ..guideline import GUIDELINE_GRAPH, SHAPES_GRAPH, Guideline
from ..namespaces import CRLM, compact, sparql_prefixes
from ..terms import display
from .describe import criterion_text, source
from .findings import Finding
from .regions import FeatureModel

_CMP = {CRLM.lessThan: ("<", "hi", False), CRLM.lessOrEqual: ("≤", "hi", True),
        CRLM.greaterThan: (">", "lo", False), CRLM.greaterOrEqual: ("≥", "lo", True)}
ORDER = {"consistent": 0, "context-dependent": 0, "same limit": 0, "complementary": 0, "independent": 0, "resolved": 0,
         "narrower range": 0,
         "boundary differs": 1, "not comparable": 1, "gap": 2, "different limit": 2, "overlapping": 2}


@dataclass
class Usage:
    """The limits one conjunction of an item's criteria puts on one quantity (an interval), with its context."""
    feature: str
    threshold: str | None            # the threshold(s) named, space-separated (None: literal)
    value: object                    # the first limit (for sorting and same-number comparisons)
    unit: str
    op: str | None                   # the operator of the first limit (None: declared, not used in criteria)
    item: str | None                 # recommendation or requirement IRI (None: declared, not used in criteria)
    role: str                        # for, against, requires, research, declared
    actions: tuple
    section: str
    context: str = ""
    binding: list = field(default_factory=list)      # regions where this conjunction decides (no other one is met)
    lo: object = None
    lo_closed: bool = True
    hi: object = None
    hi_closed: bool = True

    def interval(self):
        return (self.lo, self.lo_closed, self.hi, self.hi_closed)

    def limit_text(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(("≥" if self.lo_closed else ">") + display(self.lo))
        if self.hi is not None:
            parts.append(("≤" if self.hi_closed else "<") + display(self.hi))
        return " and ".join(parts) or "any"


@dataclass
class Group:
    feature: str
    units: set
    usages: list = field(default_factory=list)
    relations: list = field(default_factory=list)     # (relation, usage a, usage b, note)
    verdict: str = "consistent"


def _shared_ends(a, b) -> list:
    """(value, closed in a, closed in b) for every finite end the two intervals share (lower with lower, upper with upper)."""
    out = []
    if a[0] is not None and a[0] == b[0]:
        out.append((a[0], a[1], b[1]))
    if a[2] is not None and a[2] == b[2]:
        out.append((a[2], a[3], b[3]))
    return out


def _inside(a, b) -> bool:
    """Interval a lies inside interval b."""
    lo_ok = b[0] is None or (a[0] is not None and (a[0] > b[0] or (a[0] == b[0] and (b[1] or not a[1]))))
    hi_ok = b[2] is None or (a[2] is not None and (a[2] < b[2] or (a[2] == b[2] and (b[3] or not a[3]))))
    return lo_ok and hi_ok


def _meet(a, b) -> bool:
    """Two disjoint intervals that touch: one ends where the other starts."""
    return (a[2] is not None and b[0] is not None and a[2] == b[0] and a[3] != b[1]) or \
        (b[2] is not None and a[0] is not None and b[2] == a[0] and b[3] != a[1])


def _intersects(a, b) -> bool:
    lo, lo_c = (a[0], a[1]) if b[0] is None or (a[0] is not None and (a[0] > b[0] or (a[0] == b[0] and not a[1]))) else (b[0], b[1])
    hi, hi_c = (a[2], a[3]) if b[2] is None or (a[2] is not None and (a[2] < b[2] or (a[2] == b[2] and not a[3]))) else (b[2], b[3])
    if lo is None or hi is None:
        return True
    return lo < hi or (lo == hi and lo_c and hi_c)


class ThresholdCheck:
    def __init__(self, g: Guideline, fm: FeatureModel, pairs: dict | None = None):
        self.g, self.fm = g, fm
        self.pairs = pairs or {}        # (for item, against item) -> what the conflict check found
        self.drug_classes = {a for a in g.actions if CRLM.DrugClass in g.types_of(a)}
        self.kinds = {}
        q = sparql_prefixes() + "SELECT ?t ?k WHERE { ?t a crlm:Threshold . OPTIONAL { ?t crlm:quantityKind ?k } }"
        for r in g.store.query(q, default_graph=ox.NamedNode(GUIDELINE_GRAPH)):
            self.kinds[r["t"].value] = r["k"].value if r["k"] is not None else None
        shape_text = " ".join(q.object.value for q in g.store.quads_for_pattern(None, None, None, ox.NamedNode(SHAPES_GRAPH))
                              if isinstance(q.object, ox.Literal))
        self.in_shapes = {t for t in self.kinds if compact(t) in shape_text or t in shape_text}
        rule_text = " ".join(p.read_text(encoding="utf-8") for p in paths.derive_rules())
        self.in_rules = {t for t in self.kinds if compact(t) in rule_text or t in rule_text}

    # ------------------------------------------------------------------ usages
    def usages(self) -> dict[str, Group]:
        g, fm = self.g, self.fm
        items = [(r.iri, {CRLM.For: "for", CRLM.Against: "against"}.get(r.direction, "research"), r.actions, r.section, r.criteria)
                 for r in g.recommendations]
        items += [(q.iri, "requires", (q.action,), q.sections[0] if q.sections else "", q.criteria)
                  for q in g.requirements if q.kind == "requirement"]
        groups: dict[str, Group] = {}
        used = set()
        for iri, role, actions, section, criteria in items:
            conjs = fm.dnf(criteria)
            common = set.intersection(*[set(c) for c in conjs]) if conjs else set()
            seen = set()
            for k, conj in enumerate(conjs):
                numeric = [leaf for leaf in conj if leaf.op in _CMP and not isinstance(fm.limit(leaf), (bool, str, type(None)))]
                for feature in dict.fromkeys(leaf.feature for leaf in numeric):
                    leaves = [leaf for leaf in numeric if leaf.feature == feature]
                    key = tuple(sorted(leaf.node for leaf in leaves))
                    if key in seen:
                        continue
                    seen.add(key)
                    rest = fm.region([c for c in conj if c.feature != feature])
                    fc = fm.region(leaves).fcs[feature]
                    others = [c for j, c in enumerate(conjs) if j != k]
                    binding = fm.outside_all(rest, others) if others else [rest]
                    first = leaves[0]
                    thr = " ".join(leaf.threshold for leaf in leaves if leaf.threshold) or None
                    unit = next((g.threshold_units.get(leaf.threshold, "") for leaf in leaves if leaf.threshold), "")
                    ctx = [c for c in conj if c not in common and c.feature != feature]
                    grp = groups.setdefault(feature, Group(feature, set()))
                    if unit:
                        grp.units.add(unit)
                    grp.usages.append(Usage(feature, thr, fm.limit(first), unit, first.op, iri, role, tuple(actions), section,
                                            "; ".join(criterion_text(g, c) for c in ctx), binding,
                                            fc.lo, fc.lo_closed, fc.hi, fc.hi_closed))
                    used.update(leaf.threshold for leaf in leaves if leaf.threshold)
        for t, kind in sorted(self.kinds.items()):
            if t in used:
                continue
            feature = kind or ""
            grp = groups.setdefault(feature, Group(feature, set()))
            unit = g.threshold_units.get(t, "")
            if unit:
                grp.units.add(unit)
            users = [w for w, used in (("shapes", t in self.in_shapes), ("derivation rules", t in self.in_rules)) if used]
            grp.usages.append(Usage(feature, t, g.thresholds.get(t), unit, None, None,
                                    "declared" + (f" (used by {' and '.join(users)})" if users else ""), (), self._section(t)))
        return groups

    def _section(self, iri: str) -> str:
        secs = [q.object.value for q in self.g.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(CRLM.section), None,
                                                                        ox.NamedNode(GUIDELINE_GRAPH))]
        return sorted(secs)[0] if secs else ""

    # ------------------------------------------------------------------ relations
    def relate(self, a: Usage, b: Usage) -> tuple[str, str] | None:
        fm = self.fm
        if a.op is None or b.op is None or a.item == b.item:
            return None
        if not fm.overlap(a.binding, b.binding):
            return ("context-dependent", "the contexts exclude each other") if a.value != b.value else None
        ia, ib = a.interval(), b.interval()
        roles = {a.role, b.role}
        if "against" in roles and roles & {"for", "requires"}:
            f, n = (a, b) if a.role != "against" else (b, a)
            if not any(self.entails(x, y) for x in f.actions for y in n.actions):
                return None
            if _intersects(ia, ib):
                outcome = self.pairs.get((f.item, n.item))
                if outcome in ("resolved by an action requirement", "alternative"):
                    return ("resolved", f"both hold for some values; the conflict check found: {outcome}")
                return ("overlapping", "for and against both hold for some values" + (f" (conflict check: {outcome})" if outcome else ""))
            if _meet(ia, ib):
                return ("complementary", "the two ranges meet")
            return ("gap", "values between the two ranges get neither")
        if roles <= {"for", "requires"}:
            ends = _shared_ends(ia, ib)
            if not set(a.actions) & set(b.actions):
                if any(ca != cb for _, ca, cb in ends):
                    v = next(v for v, ca, cb in ends if ca != cb)
                    return ("boundary differs", f"different actions; at exactly {display(v)} one limit holds and the other does not")
                return ("independent", "different actions") if a.limit_text() != b.limit_text() else None
            if ia == ib:
                return ("same limit", "")
            if not _intersects(ia, ib) or _meet(ia, ib):
                return ("complementary", "adjacent ranges for the same action")
            if any(ca != cb for _, ca, cb in ends):
                v = next(v for v, ca, cb in ends if ca != cb)
                return ("boundary differs", f"{a.limit_text()} vs {b.limit_text()}: at exactly {display(v)} one holds and the other does not")
            if _inside(ia, ib) or _inside(ib, ia):
                return ("narrower range", f"{a.limit_text()} vs {b.limit_text()}: one range lies inside the other")
            return ("different limit", f"{a.limit_text()} vs {b.limit_text()} for the same action and patients")
        return None

    def entails(self, x: str, y: str) -> bool:
        return y in self.fm.closure(x) or x in self.fm.closure(y) and x in self.drug_classes

    def run(self) -> tuple[list[Finding], list[dict]]:
        g = self.g
        groups = self.usages()
        findings, table = [], []
        for feature, grp in sorted(groups.items(), key=lambda kv: self.g.label(kv[0]) if kv[0] else "~"):
            us = [u for u in grp.usages if u.op is not None]
            for i, a in enumerate(us):
                for b in us[i + 1:]:
                    rel = self.relate(a, b)
                    if rel is not None:
                        grp.relations.append((rel[0], a, b, rel[1]))
            if feature and len(grp.units) > 1:
                grp.relations.append(("not comparable", None, None, f"units differ: {', '.join(sorted(grp.units))}"))
            worst = max((r[0] for r in grp.relations), key=lambda r: ORDER[r], default="consistent")
            grp.verdict = ("consistent" if ORDER[worst] == 0 else worst) if feature else "not a patient quantity"
            table.append(self._row(grp))
            for rel, a, b, note in grp.relations:
                if ORDER[rel] < 1:
                    continue
                sev = "warning" if ORDER[rel] >= 2 else "info"
                srcs = [source(g, u.item, u.section) for u in (a, b) if u is not None and u.item]
                findings.append(Finding("thresholds", "threshold-inconsistency" if sev == "warning" else "threshold-note", sev,
                                        f"{g.label(feature) if feature else 'thresholds without a quantity'}: {rel}: "
                                        f"{self._usage_text(a)} vs {self._usage_text(b)}" + (f" ({note})" if note else ""),
                                        srcs, details={"quantity": compact(feature) if feature else "", "relation": rel}))
        cross = self._cross_quantity(groups)
        for row, srcs in cross:
            findings.append(Finding("thresholds", "threshold-note", "info", row["note"], srcs,
                                    details={"relation": "not comparable", **{k: v for k, v in row.items() if k != "note"}}))
        return findings, table + [r for r, _ in cross]

    def _usage_text(self, u: Usage | None) -> str:
        if u is None:
            return ""
        g = self.g
        name = ", ".join(compact(t) for t in u.threshold.split()) if u.threshold else "literal"
        where = compact(u.item) if u.item else "declared"
        acts = ",".join(g.actions[a].key if a in g.actions else compact(a) for a in u.actions)
        ctx = f" when {u.context}" if u.context else ""
        unit = (" " + u.unit) if u.unit not in ("", "1") else ""
        limit = (u.limit_text() if u.op else display(u.value)) + unit
        return f"{where} [{u.role} {acts}] {limit} ({name}){ctx}"

    def _row(self, grp: Group) -> dict:
        g = self.g
        limits = []
        for u in sorted(grp.usages, key=lambda u: (str(u.value), u.op or "", u.item or "")):
            limits.append({"threshold": ", ".join(compact(t) for t in u.threshold.split()) if u.threshold else "literal",
                           "limit": (u.limit_text() if u.op else display(u.value)) + (f" {u.unit}" if u.unit not in ("", "1") else ""),
                           "item": compact(u.item) if u.item else "", "role": u.role,
                           "actions": [g.actions[a].key if a in g.actions else compact(a) for a in u.actions],
                           "context": u.context, "section": g.section_number(u.section) if u.section else ""})
        rel = [{"relation": r, "a": self._usage_text(a), "b": self._usage_text(b), "note": n} for r, a, b, n in grp.relations]
        return {"quantity": compact(grp.feature) if grp.feature else "(no quantity kind)",
                "label": g.label(grp.feature) if grp.feature else "thresholds without a quantity kind",
                "units": sorted(grp.units), "verdict": grp.verdict, "limits": limits, "relations": rel}

    def _cross_quantity(self, groups: dict) -> list:
        """Thresholds not used by any criterion (plan checks use them) with the same number on different quantities of one
        chapter (≤6 cycles, ≤6 months): not comparable without a conversion."""
        g = self.g
        decl = [u for grp in groups.values() for u in grp.usages if u.threshold and u.unit and u.op is None and u.feature]
        by_key: dict = {}
        for u in decl:
            chapter = g.section_number(u.section)[:2] if u.section else ""
            by_key.setdefault((display(u.value), chapter), {}).setdefault((u.feature, u.unit), u)
        out = []
        for (value, chapter), per in sorted(by_key.items()):
            if len(per) < 2 or len({unit for _, unit in per}) < 2:
                continue
            us = list(per.values())
            names = [f"{compact(u.threshold)} ({g.label(u.feature) if u.feature else '?'}, {value} {u.unit})" for u in us]
            note = (f"Same number, different quantities in chapter {chapter}: {' vs '.join(names)}; not comparable without "
                    "a conversion the guideline does not give (e.g. a cycle length).")
            out.append(({"quantity": "(across quantities)", "label": f"{value}: " + " vs ".join(g.label(u.feature) for u in us),
                         "units": sorted({u.unit for u in us}), "verdict": "not comparable", "note": note,
                         "limits": [{"threshold": compact(u.threshold), "limit": f"{value} {u.unit}", "item": "", "role": u.role,
                                     "actions": [], "context": "", "section": g.section_number(u.section) if u.section else ""} for u in us],
                         "relations": []},
                        [source(g, u.threshold, u.section) for u in us]))
        return out
