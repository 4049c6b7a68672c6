"""Populations as regions of the patient-fact space: interval and set arithmetic over the criteria (data).

A recommendation's population is the set of fact assignments for which the engine's matcher says every criterion is
met. Written in disjunctive normal form (any-of groups multiply out), it is a union of *regions*; a region constrains
each feature independently (feature → FC). On regions this module decides emptiness, intersection (do two populations
overlap?), containment (is one population inside another?) and picks a witness assignment.

The semantics are the matcher's (crlm_kg/match.py), feature by feature:
- a functional feature has one value or none: equals/one-of/not-equals/none-of on concepts and booleans, the four
  comparisons on numbers (intervals, integer-aware), `absent` = no value; a criterion on a missing value is not met;
- a many-valued feature holds a set: includes / equals / one-of = the set meets the values, excludes = it avoids them
  (closed world), none-of = non-empty and avoids them, absent = empty. For action-valued features (previously
  received) a set is closed under regimen components and drug classes (the guideline's action closure), as the
  derivation rule builds it.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import math
from dataclasses import dataclass, field
from decimal import Decimal

import pyoxigraph as ox

from ..guideline import GUIDELINE_GRAPH, Criterion, Guideline
from ..namespaces import CRLM, XSD, sparql_prefixes
from ..terms import NUMERIC_TYPES

ABSENT = "∅"          # witness value of a feature the record does not have
MAX_DNF = 512         # conjunctions per population; more would mean a pathological criterion tree

_EQ = {CRLM.equals, CRLM.oneOf}
_NE = {CRLM.notEquals, CRLM.noneOf}
_CMP = {CRLM.lessThan, CRLM.lessOrEqual, CRLM.greaterThan, CRLM.greaterOrEqual}


@dataclass(frozen=True)
class FC:
    """The constraint one region puts on one feature. Defaults mean "anything, or nothing"."""
    absent_ok: bool = True                 # the record may lack the feature (set-valued: the set may be empty)
    present_ok: bool = True                # the record may have a value
    allowed: frozenset | None = None       # functional: the value is one of these (None: any)
    excluded: frozenset = frozenset()      # functional: not these; set-valued: none of these (with their closure)
    lo: object = None                      # numbers: lower bound (None: unbounded)
    lo_closed: bool = True
    hi: object = None
    hi_closed: bool = True
    must: tuple = ()                       # set-valued: for each group, at least one member is in the set

    def __and__(self, other: "FC") -> "FC":
        allowed = self.allowed if other.allowed is None else other.allowed if self.allowed is None else self.allowed & other.allowed
        lo, lo_c = _tighter(self.lo, self.lo_closed, other.lo, other.lo_closed, lower=True)
        hi, hi_c = _tighter(self.hi, self.hi_closed, other.hi, other.hi_closed, lower=False)
        return FC(self.absent_ok and other.absent_ok, self.present_ok and other.present_ok, allowed,
                  self.excluded | other.excluded, lo, lo_c, hi, hi_c, tuple(dict.fromkeys(self.must + other.must)))


def _tighter(a, a_closed, b, b_closed, lower: bool):
    if a is None:
        return b, b_closed
    if b is None:
        return a, a_closed
    if a == b:
        return a, a_closed and b_closed
    return (a, a_closed) if (a > b) == lower else (b, b_closed)


@dataclass
class Region:
    """A conjunction: feature → FC. `leaves` keeps the criteria it came from (for explanations)."""
    fcs: dict = field(default_factory=dict)
    leaves: tuple = ()

    def __and__(self, other: "Region") -> "Region":
        fcs = dict(self.fcs)
        for f, c in other.fcs.items():
            fcs[f] = fcs[f] & c if f in fcs else c
        return Region(fcs, self.leaves + other.leaves)


class FeatureModel:
    """What the ontology says about each feature: value kind, functional or many-valued, the values it can take."""

    def __init__(self, g: Guideline, thresholds: dict | None = None):
        self.g = g
        self.thresholds = thresholds if thresholds is not None else g.thresholds
        q = lambda text: g.store.query(sparql_prefixes() + text, default_graph=ox.NamedNode(GUIDELINE_GRAPH))  # noqa: E731
        self.object_range = {r["p"].value: r["r"].value for r in q(
            "SELECT ?p ?r WHERE { ?p a owl:ObjectProperty ; rdfs:range ?r . FILTER(isIRI(?r)) }")}
        self.members: dict[str, set] = {}
        for r in q("SELECT ?c ?v WHERE { ?v a ?k . ?k rdfs:subClassOf* ?c . FILTER(isIRI(?v) && isIRI(?c)) }"):
            self.members.setdefault(r["c"].value, set()).add(r["v"].value)
        # a property chain of functional properties is functional too (OWL 2 DL cannot declare it: the property is
        # not simple), e.g. the side of the primary, derived from its site
        self.functional = set(g.functional)
        for r in q("SELECT ?p (GROUP_CONCAT(STR(?m); separator=' ') AS ?ms) WHERE { ?p owl:propertyChainAxiom ?l . "
                   "?l rdf:rest*/rdf:first ?m } GROUP BY ?p"):
            if all(m in g.functional for m in r["ms"].value.split()):
                self.functional.add(r["p"].value)
        self.mentioned: dict[str, set] = {}
        for c in g.criteria_nodes.values():
            if c.kind == "leaf" and c.feature:
                self.mentioned.setdefault(c.feature, set()).update(v for v in c.values if isinstance(v, str))

    def kind(self, feature: str) -> str:
        dt = self.g.ranges.get(feature)
        if dt == XSD.boolean:
            return "bool"
        if dt in NUMERIC_TYPES:
            return "dec" if dt in (XSD.decimal, XSD.double, XSD.float) else "int"
        if dt == XSD.date:
            return "date"
        if dt is not None:
            return "str"
        return "concept"

    def is_set(self, feature: str) -> bool:
        return feature not in self.functional

    def domain(self, feature: str) -> list:
        """The values a feature can take (finite kinds only), in a stable order."""
        kind = self.kind(feature)
        if kind == "bool":
            return [True, False]
        if kind != "concept":
            return []
        values = set(self.members.get(self.object_range.get(feature, ""), set())) | self.mentioned.get(feature, set())
        return sorted(values)

    def closure(self, value) -> frozenset:
        info = self.g.actions.get(value) if isinstance(value, str) else None
        return info.closure if info else frozenset({value})

    def action_valued(self, feature: str) -> bool:
        dom = self.domain(feature)
        return bool(dom) and all(v in self.g.actions for v in dom)

    # ------------------------------------------------------------------ leaves
    def limit(self, c: Criterion):
        if c.threshold is not None:
            return self.thresholds.get(c.threshold)
        return c.values[0] if c.values else None

    def met(self, c: Criterion) -> FC:
        """The values for which the leaf criterion is met."""
        op, vals = c.op, frozenset(c.values)
        if op == CRLM.absent:
            return FC(absent_ok=True, present_ok=False)
        if self.is_set(c.feature) and op not in _CMP:
            if op in (CRLM.includes,) or op in _EQ:
                return FC(absent_ok=False, must=(vals,))
            if op == CRLM.excludes:
                return FC(excluded=vals)
            if op in _NE:
                return FC(absent_ok=False, excluded=vals)
            return FC(absent_ok=False)
        if op in _EQ or op == CRLM.includes:
            return FC(absent_ok=False, allowed=vals)
        if op in _NE or op == CRLM.excludes:
            return FC(absent_ok=op == CRLM.excludes, excluded=vals)
        if op in _CMP:
            t = self.limit(c)
            if t is None or isinstance(t, (bool, str)):
                return FC(absent_ok=False, present_ok=False)
            return {CRLM.lessThan: FC(absent_ok=False, hi=t, hi_closed=False),
                    CRLM.lessOrEqual: FC(absent_ok=False, hi=t),
                    CRLM.greaterThan: FC(absent_ok=False, lo=t, lo_closed=False),
                    CRLM.greaterOrEqual: FC(absent_ok=False, lo=t)}[op]
        return FC(absent_ok=False, present_ok=False)          # an operator the matcher does not know: never met

    def not_met(self, c: Criterion) -> list[FC]:
        """The values for which the leaf criterion is not met (missing values included), as alternatives."""
        op, vals = c.op, frozenset(c.values)
        if op == CRLM.absent:
            return [FC(absent_ok=False)]
        if self.is_set(c.feature) and op not in _CMP:
            if op == CRLM.includes or op in _EQ:
                return [FC(excluded=vals)]
            if op == CRLM.excludes:
                return [FC(absent_ok=False, must=(vals,))]
            if op in _NE:
                return [FC(present_ok=False), FC(absent_ok=False, must=(vals,))]
            return [FC(present_ok=False)]
        if op in _EQ or op == CRLM.includes:
            return [FC(excluded=vals)]
        if op in _NE or op == CRLM.excludes:
            return [FC(allowed=vals)] + ([] if op == CRLM.excludes else [FC(present_ok=False)])
        if op in _CMP:
            t = self.limit(c)
            if t is None or isinstance(t, (bool, str)):
                return [FC()]
            return {CRLM.lessThan: [FC(lo=t)], CRLM.lessOrEqual: [FC(lo=t, lo_closed=False)],
                    CRLM.greaterThan: [FC(hi=t)], CRLM.greaterOrEqual: [FC(hi=t, hi_closed=False)]}[op] + [FC(present_ok=False)]
        return [FC()]

    # ------------------------------------------------------------------ emptiness and witnesses
    @staticmethod
    def _number_in(fc: FC, integer: bool):
        """A number inside the interval and not excluded: the closed end, else a point just inside."""
        lo, hi = fc.lo, fc.hi
        if integer:
            start = None if lo is None else (math.ceil(lo) if fc.lo_closed else math.floor(lo) + 1)
            end = None if hi is None else (math.floor(hi) if fc.hi_closed else math.ceil(hi) - 1)
            if start is None and end is None:
                start = 1
            if start is not None:
                seq = range(start, start + len(fc.excluded) + 1)
            else:
                seq = range(end, end - len(fc.excluded) - 1, -1)
            for v in seq:
                v = int(v)
                if (end is None or v <= end) and (start is None or v >= start) and v not in fc.excluded:
                    return v
            return None
        if lo is not None and hi is not None:
            if lo > hi or (lo == hi and not (fc.lo_closed and fc.hi_closed)):
                return None
            cands = [lo] if fc.lo_closed else []
            cands += [hi] if fc.hi_closed else []
            cands += [(Decimal(lo) + Decimal(hi)) / 2]
        elif lo is not None:
            cands = ([lo] if fc.lo_closed else []) + [Decimal(lo) + 1]
        elif hi is not None:
            cands = ([hi] if fc.hi_closed else []) + [Decimal(hi) - 1]
        else:
            cands = [Decimal(1), Decimal(2)]
        for v in cands:
            v = v if isinstance(v, Decimal) else Decimal(v)
            if _inside(v, fc) and v not in fc.excluded:
                return v
        return None

    def present_value(self, feature: str, fc: FC):
        """A value satisfying the constraint's present part, or None when none exists."""
        if not fc.present_ok:
            return None
        kind = self.kind(feature)
        if self.is_set(feature):
            return self._set_value(feature, fc)
        if kind in ("int", "dec"):
            if fc.allowed is not None:
                for v in sorted(fc.allowed, key=str):
                    if not isinstance(v, bool) and isinstance(v, (int, Decimal)) and _inside(v, fc) and v not in fc.excluded:
                        return v
                return None
            return self._number_in(fc, kind == "int")
        if kind == "date":
            if fc.allowed is not None:
                return next(iter(sorted(fc.allowed, key=str)), None)
            return _dt.date(2000, 1, 1) if fc.lo is None and fc.hi is None else (fc.lo or fc.hi)
        pool = sorted(fc.allowed, key=str) if fc.allowed is not None else self.domain(feature)
        for v in pool:
            if v not in fc.excluded:
                return v
        return None

    def _set_value(self, feature: str, fc: FC):
        """A smallest set meeting every must-group while avoiding the excluded values (closure-aware)."""
        action = self.action_valued(feature)

        def ok(v):
            return not ((self.closure(v) if action else {v}) & fc.excluded)

        chosen = []
        for group in fc.must:
            if any(v in group for v in chosen) or any(group & (self.closure(v) if action else {v}) for v in chosen):
                continue
            pick = next((v for v in sorted(group, key=str) if ok(v)), None)
            if pick is None:
                return None
            chosen.append(pick)
        if not chosen and not fc.absent_ok:
            pick = next((v for v in self.domain(feature) if ok(v)), None)
            if pick is None:
                return None
            chosen.append(pick)
        return frozenset(chosen)

    def fc_empty(self, feature: str, fc: FC) -> bool:
        if self.is_set(feature):
            if fc.must and not fc.present_ok:
                return True
            if not fc.must and fc.absent_ok:
                return False
            if not fc.present_ok:
                return not fc.absent_ok
            return self._set_value(feature, fc) is None
        if fc.absent_ok:
            return False
        return self.present_value(feature, fc) is None

    def empty(self, region: Region) -> bool:
        return any(self.fc_empty(f, c) for f, c in region.fcs.items())

    def witness(self, region: Region) -> dict:
        """feature → value (functional), frozenset (many-valued) or ABSENT, preferring absence where allowed."""
        out = {}
        for f, fc in sorted(region.fcs.items()):
            if self.is_set(f):
                if fc.absent_ok and not fc.must:
                    out[f] = ABSENT
                else:
                    out[f] = self._set_value(f, fc)
            elif fc.absent_ok:
                out[f] = ABSENT
            else:
                out[f] = self.present_value(f, fc)
        return out

    # ------------------------------------------------------------------ populations
    def dnf(self, criteria) -> list[tuple]:
        """The criteria (all must hold) as a list of conjunctions of leaf criteria."""
        conj = [()]
        for c in criteria:
            conj = [a + b for a in conj for b in self._dnf1(c)][:MAX_DNF]
        return conj

    def _dnf1(self, c: Criterion) -> list[tuple]:
        if c.kind == "leaf":
            return [(c,)]
        if c.kind == "any":
            return [d for m in c.members for d in self._dnf1(m)][:MAX_DNF]
        return self.dnf(c.members)

    def region(self, leaves) -> Region:
        r = Region()
        for c in leaves:
            r = r & Region({c.feature: self.met(c)}, (c,))
        return r

    def regions(self, criteria) -> list[Region]:
        """The population as non-empty regions."""
        return [r for r in (self.region(conj) for conj in self.dnf(criteria)) if not self.empty(r)]

    def overlap(self, a: list[Region], b: list[Region]) -> list[Region]:
        out = []
        for x, y in itertools.product(a, b):
            r = x & y
            if not self.empty(r):
                out.append(r)
        return out

    def outside(self, region: Region, criteria, limit: int = 20000) -> Region | None:
        """A non-empty part of `region` where the criteria are NOT all met, or None (region inside the population)."""
        conjs = self.dnf(criteria)
        steps = [0]

        def search(r: Region, i: int):
            steps[0] += 1
            if steps[0] > limit:
                raise OverflowError("containment search too large")
            if i == len(conjs):
                return r
            for leaf in conjs[i]:
                for alt in self.not_met(leaf):
                    nr = r & Region({leaf.feature: alt}, (leaf,))
                    if not self.empty(nr):
                        found = search(nr, i + 1)
                        if found is not None:
                            return found
            return None

        return search(region, 0)

    def outside_all(self, region: Region, conjs: list, limit: int = 2000) -> list[Region]:
        """The parts of `region` where none of the conjunctions (tuples of leaves) is met, as regions (they may overlap)."""
        out: list[Region] = []

        def walk(r: Region, i: int):
            if len(out) >= limit:
                return
            if i == len(conjs):
                out.append(r)
                return
            for leaf in conjs[i]:
                for alt in self.not_met(leaf):
                    nr = r & Region({leaf.feature: alt}, (leaf,))
                    if not self.empty(nr):
                        walk(nr, i + 1)

        walk(region, 0)
        return out

    def contains(self, outer_criteria, inner: list[Region]) -> bool:
        """Whether every region of `inner` lies in the population of `outer_criteria` (False when undecidable in the
        search budget)."""
        try:
            return all(self.outside(r, outer_criteria) is None for r in inner)
        except OverflowError:
            return False


def _inside(v, fc: FC) -> bool:
    if fc.lo is not None and (v < fc.lo or (v == fc.lo and not fc.lo_closed)):
        return False
    if fc.hi is not None and (v > fc.hi or (v == fc.hi and not fc.hi_closed)):
        return False
    return True


def as_term(value, datatype: str | None):
    """A witness value as an RDF term for a patient record."""
    if isinstance(value, str):
        return ox.NamedNode(value)
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD.boolean))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(datatype or XSD.integer))
    if isinstance(value, Decimal):
        return ox.Literal(format(value.normalize(), "f"), datatype=ox.NamedNode(datatype or XSD.decimal))
    if isinstance(value, _dt.date):
        return ox.Literal(value.isoformat(), datatype=ox.NamedNode(XSD.date))
    return ox.Literal(str(value))


def describe_value(g: Guideline, value, lang: str = "en") -> str:
    if value == ABSENT:
        return "(none)" if lang == "en" else "(无)"
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(describe_value(g, v, lang) for v in value)) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith("http"):
        return g.label(value, lang)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


__all__ = ["ABSENT", "FC", "Region", "FeatureModel", "as_term", "describe_value"]
