"""The per-patient pipeline: patient RDF in, explained recommendations and flags out.

    engine = Engine()                       # loads and compiles the guideline once
    results = engine.evaluate_files(["examples/patients/01-resectable-metachronous.ttl"])
    for r in results: print(r.to_json())   # the JSON contract of shared/contract/recommend-json.md

Per batch of patients: the records go into the batch graph of the engine's store, the derivation rules and RL rules
add derived facts (with provenance), the generic matcher evaluates every recommendation's criteria, the central
action requirements remove unsafe actions, and flags are collected. The guideline graph is never re-read or
re-reasoned per patient.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from .derive import Deriver
from .guideline import Guideline, Recommendation, Requirement
from .match import EQ_OPS, MET, NOT_MET, UNKNOWN, Fact, Outcome, _leaf_status, compare_value, evaluate_all, status_all
from .namespaces import BATCH_GRAPH, CRLM, GUIDELINE_GRAPH, PREFIXES, RDF_TYPE
from .patients import PatientFile, PatientReader, expand_inputs
from .reasoner import RLRules
from .shapes import FlagShapes
from .terms import display, to_python

__all__ = ["Engine", "PatientResult", "Flag", "GivenRecommendation"]


@dataclass
class Flag:
    kind: str
    severity: str
    constraint: str
    focus: str
    section: str
    message_en: str
    message_zh: str
    path: str | None = None
    action: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class GivenRecommendation:
    rec: Recommendation
    actions: list
    because: list
    removed: list = field(default_factory=list)      # (action IRI, [(Requirement, Outcome)])


@dataclass
class PatientResult:
    patient: str
    source: str
    facts: dict
    classes: list
    recommendations: list
    withheld: list
    flags: list
    as_of: _dt.date
    engine: "Engine"

    # rendering lives in render.py; these are conveniences for integrators
    def to_json(self, lang: str = "en") -> dict:
        from .render import result_to_json
        return result_to_json(self, lang)

    def fact_values(self, feature: str) -> list:
        return [f.value for f in self.facts.get(feature, [])]


def _strength_rank(g: Guideline, rec: Recommendation) -> tuple:
    """Report order: by strength (crlm:order of the strength concepts), then section, then IRI."""
    return (g.orders.get(rec.strength, 99), g.section_number(rec.section), rec.iri)


def _gates(recommendations) -> list:
    """Group the recommendations by a shared equality criterion (the one most recommendations share, e.g. "liver
    metastases present"): one evaluation of the gate can then skip the whole group."""
    from collections import Counter
    from .guideline import content_key
    eq = lambda rec: [c for c in rec.criteria if c.kind == "leaf" and c.op in EQ_OPS]  # noqa: E731
    freq = Counter(content_key(c) for rec in recommendations for c in eq(rec))
    groups: dict = {}
    for rec in recommendations:
        cands = eq(rec)
        gate = max(cands, key=lambda c: (freq[content_key(c)], content_key(c))) if cands else None
        groups.setdefault(content_key(gate) if gate else None, (gate, []))[1].append(rec)
    return list(groups.values())


class Engine:
    """Load once, evaluate many patients."""

    def __init__(self, guideline: Guideline | None = None):
        self.g = guideline or Guideline.load()
        self.rl = RLRules(self.g.store)
        self.deriver = Deriver(self.g.store, self.rl)
        self.reader = PatientReader(self.g)
        self.shapes = FlagShapes(self.g)
        # requirements that remove unsafe actions from recommendations; plan-only ones are checked by the plan shapes
        self.requirements = [r for r in self.g.requirements if r.kind == "requirement" and not r.plan_only]
        self.cautions = [r for r in self.g.requirements if r.kind == "caution"]
        self.positive = {CRLM.For}
        self._support = None
        self._shape_support = None
        from . import __version__
        self.version = __version__
        self.gates = _gates(self.g.recommendations)
        self.ranks = {r.iri: _strength_rank(self.g, r) for r in self.g.recommendations}

    # ------------------------------------------------------------------ entry points
    def evaluate_files(self, inputs: list, as_of: _dt.date | None = None) -> list[PatientResult]:
        files = [self.reader.read(p) for p in expand_inputs([str(i) for i in inputs])]
        return self.evaluate(files, as_of)

    def support_quads(self) -> list:
        """The part of the guideline that derivation rules and shapes read: every guideline triple whose predicate
        occurs in a rule or shape query (thresholds, regimen composition, drug classes, types, class hierarchy...).
        Computed once; each batch gets a fresh small store with these quads, so per-patient work never touches (or
        degrades, through insert/delete churn) the whole guideline store."""
        if self._support is None:
            self._support = self._support_for([r.text for r in self.deriver.rules] + [s.query for s in self.shapes.shapes])
        return self._support

    def shape_support_quads(self) -> list:
        """The support the shapes alone need (for the reference SHACL engines, which get the derived facts already
        computed): predicates used by the shape queries, and rdf:type triples only for the classes they name."""
        if self._shape_support is None:
            self._shape_support = self._support_for([s.query for s in self.shapes.shapes], types_named_only=True)
        return self._shape_support

    def _support_for(self, texts: list[str], types_named_only: bool = False) -> list:
        used = set()
        for text in texts:
            used.update(re.findall(r"<([^<>\s]+)>", text))
            for prefix, local in re.findall(r"\b([a-z]+):([A-Za-z][\w-]*)", text):
                if prefix in PREFIXES:
                    used.add(PREFIXES[prefix] + local)
            if re.search(r"\sa\s", text):
                used.add(RDF_TYPE)
        gg = ox.NamedNode(GUIDELINE_GRAPH)
        return [ox.Quad(q.subject, q.predicate, q.object, gg)
                for q in self.g.store.quads_for_pattern(None, None, None, gg)
                if q.predicate.value in used
                and not (types_named_only and q.predicate.value == RDF_TYPE and q.object.value not in used)]

    def batch_store(self, files) -> ox.Store:
        store = ox.Store()
        store.extend(self.support_quads())
        batch = ox.NamedNode(BATCH_GRAPH)
        for pf in files:
            store.extend(ox.Quad(t.subject, t.predicate, t.object, batch) for t in pf.triples)
        self.deriver.use(store)
        return store

    def evaluate(self, files: list[PatientFile], as_of: _dt.date | None = None) -> list[PatientResult]:
        as_of = as_of or _dt.date.today()
        store = self.batch_store(files)
        try:
            self.deriver.run()
            by_subject = self._index()
            present = {p for triples in by_subject.values() for p, _, _ in triples}
            shape_flags = self.shapes.run(store, present, self.planned_actions(by_subject), index=by_subject)
            results = []
            for pf in files:
                for patient in pf.patients:
                    results.append(self._evaluate_patient(patient, str(pf.path), by_subject, shape_flags.get(patient, []), as_of))
            return results
        finally:
            self.deriver.use(self.g.store)      # the batch store is dropped with its last reference

    # ------------------------------------------------------------------ internals
    def planned_actions(self, by_subject: dict) -> set:
        """Every action contained in some planned agent of the batch (regimen components, drug classes)."""
        out = set()
        for triples in by_subject.values():
            for p, o, _ in triples:
                if p == CRLM.plannedTreatment:
                    for pp, a, _ in by_subject.get(o, []):
                        if pp == CRLM.agent:
                            info = self.g.actions.get(a.value)
                            out |= info.closure if info else {a.value}
        return out

    def _index(self) -> dict:
        """subject → [(predicate, object term, graph IRI)] over the batch and derived graphs."""
        index: dict = defaultdict(list)
        for graph in self.deriver.graphs:
            for q in self.deriver.store.quads_for_pattern(None, None, None, graph):
                index[q.subject].append((q.predicate.value, q.object, graph.value))
        return index

    def _facts(self, patient: str, by_subject: dict) -> dict:
        facts: dict = defaultdict(list)
        for p, o, graph in by_subject.get(ox.NamedNode(patient), []):
            value = to_python(o)
            if not any(f.value == value for f in facts[p]):
                facts[p].append(Fact(p, value, graph))
        # a single-valued (functional) fact recorded with two different values is contradictory: it decides nothing
        # (criteria on it are unknown) and crlmsh:SingleValuedFacts flags it
        return {p: fs for p, fs in facts.items() if len(fs) == 1 or p not in self.g.functional}

    def _evaluate_patient(self, patient, source, by_subject, shape_flags, as_of) -> PatientResult:
        g = self.g
        facts = self._facts(patient, by_subject)
        thresholds = g.thresholds
        given, withheld, flags = [], [], list(shape_flags)
        missing: dict = defaultdict(list)           # feature -> [(blocked IRI, section IRI, severity)]
        failed_requirements: dict = {}              # requirement IRI -> (Requirement, Outcome, actions)

        for rec in self._candidates(facts, thresholds):
            if status_all(rec.criteria, facts, thresholds) == NOT_MET:     # cheap first pass, no explanations
                continue
            out = evaluate_all(rec.criteria, facts, thresholds)
            positive = rec.direction in self.positive
            if out.status == UNKNOWN:
                if positive:
                    sev = "warning" if rec.strength == CRLM.FirstChoice else "info"
                    for feature in dict.fromkeys(out.missing):
                        missing[feature].append((rec.iri, rec.section, sev))
                continue
            if not positive:
                given.append(GivenRecommendation(rec, list(rec.actions), out.because))
                continue
            kept, removed = [], []
            for action in rec.actions:
                fails = [(req, o) for req in self._requirements_for(action, rec.settings) if req.iri not in rec.waived
                         for o in [evaluate_all(req.criteria, facts, thresholds)] if o.status != MET]
                (removed if fails else kept).append((action, fails) if fails else action)
                for req, o in fails:
                    if o.status == UNKNOWN:
                        for feature in dict.fromkeys(o.missing):
                            missing[feature].append((req.iri, req.sections[0] if req.sections else rec.section, "warning"))
                    else:
                        failed_requirements.setdefault(req.iri, (req, o, set()))[2].add(action)
            # an essential part of the advised combination with no member left withholds the whole recommendation
            if kept and all(set(part) & set(kept) for part in rec.parts):
                given.append(GivenRecommendation(rec, kept, out.because, removed))
            else:
                withheld.append((rec, removed))

        flags += self._requirement_flags(patient, failed_requirements, facts)
        flags += self._caution_flags(patient, given, facts)
        flags += self._plan_flags(patient, by_subject, given)
        flags += self._missing_flags(patient, missing)
        classes = sorted({o.value for p, o, graph in by_subject.get(ox.NamedNode(patient), [])
                          if p == RDF_TYPE and isinstance(o, ox.NamedNode) and o.value != CRLM.Patient})
        given.sort(key=lambda gr: self.ranks[gr.rec.iri])
        flags.sort(key=lambda f: ({"violation": 0, "warning": 1, "info": 2}.get(f.severity, 3), f.kind, f.constraint, f.path or ""))
        return PatientResult(patient, source, facts, classes, given, withheld, flags, as_of, self)

    def _candidates(self, facts: dict, thresholds: dict):
        """The recommendations whose shared first criterion (gate) does not already fail for the patient."""
        for gate, group in self.gates:
            if gate is None or _leaf_status(gate, facts, thresholds) != NOT_MET:
                yield from group

    def _requirements_for(self, action: str, settings) -> list[Requirement]:
        info = self.g.actions.get(action)
        closure = info.closure if info else frozenset({action})
        return [r for r in self.requirements
                if r.action in closure and (not r.settings or r.settings.intersection(settings))]

    # ------------------------------------------------------------------ flag builders
    def describe_failure(self, outcome: Outcome, lang: str) -> str:
        """The patient's own values against the limits, for each criterion that failed."""
        g = self.g
        parts = []
        for crit, present in outcome.failed:
            if crit.feature is None:
                continue
            name = g.label(crit.feature, lang)
            values = ", ".join(display(g.label(f.value, lang) if isinstance(f.value, str) else f.value) for f in present) or ("无记录" if lang == "zh" else "none recorded")
            limit = compare_value(crit, g.thresholds)
            op = g.notation(crit.op) or ""
            target = (display(limit) + (g.threshold_units.get(crit.threshold, "") if crit.threshold else "")) if limit is not None and not isinstance(limit, str) else \
                " / ".join(g.label(v, lang) if isinstance(v, str) else display(v) for v in crit.values)
            parts.append(f"{name} = {values} ({'要求' if lang == 'zh' else 'required'} {op} {target})")
        return "; ".join(parts)

    def _requirement_flags(self, patient, failed: dict, facts) -> list[Flag]:
        g, out = self.g, []
        for iri, (req, outcome, actions) in sorted(failed.items()):
            keys = ", ".join(sorted(g.actions[a].key if a in g.actions else a for a in actions))
            sec = g.section_number(req.sections[0]) if req.sections else ""
            detail_en, detail_zh = self.describe_failure(outcome, "en"), self.describe_failure(outcome, "zh")
            # the guideline withholds an action it would otherwise offer: a warning (a plan that needs it is a violation)
            out.append(Flag("eligibility-violation", "warning", iri, patient, sec,
                            f"{g.text(iri, CRLM.message, 'en') or g.label(iri)} Patient: {detail_en}. Withheld: {keys}.",
                            f"{g.text(iri, CRLM.message, 'zh') or g.label(iri, 'zh')} 患者:{detail_zh}。已撤下:{keys}。",
                            path=self._first_feature(outcome), action=g.actions[req.action].key if req.action in g.actions else None))
        return out

    @staticmethod
    def _first_feature(outcome: Outcome) -> str | None:
        for crit, _ in outcome.failed:
            if crit.feature:
                return crit.feature
        return outcome.missing[0] if outcome.missing else None

    def _caution_flags(self, patient, given, facts) -> list[Flag]:
        g, out, seen = self.g, [], set()
        for gr in given:
            if gr.rec.direction not in self.positive:
                continue
            for action in gr.actions:
                closure = g.actions[action].closure if action in g.actions else {action}
                for c in self.cautions:
                    if c.iri in seen or c.action not in closure:
                        continue
                    if evaluate_all(c.criteria, facts, g.thresholds).status == MET:
                        seen.add(c.iri)
                        sec = g.section_number(c.sections[0]) if c.sections else ""
                        out.append(Flag("eligibility-violation", "warning", c.iri, patient, sec,
                                        g.text(c.iri, CRLM.message, "en") or g.label(c.iri),
                                        g.text(c.iri, CRLM.message, "zh") or g.label(c.iri, "zh"),
                                        path=c.criteria[0].feature if c.criteria else None, action=g.actions[c.action].key))
        return out

    def _plan_flags(self, patient, by_subject, given) -> list[Flag]:
        """Planned actions that a recommendation applying to this patient advises against (not routine / not
        recommended). Plans that fail an action requirement are flagged by the plan shapes generated from the
        requirements (shapes/generated/requirements.ttl), run with the other shapes."""
        g, out = self.g, []
        against = {}
        for gr in given:
            if gr.rec.direction not in self.positive and gr.rec.direction != CRLM.ResearchOnly:
                for a in gr.actions:
                    against.setdefault(a, gr.rec)
        if not against:
            return out
        for p, plan, _ in by_subject.get(ox.NamedNode(patient), []):
            if p != CRLM.plannedTreatment:
                continue
            focus = plan.value if isinstance(plan, ox.NamedNode) else patient
            for pp, o, _ in by_subject.get(plan, []):
                if pp != CRLM.agent:
                    continue
                a = o.value
                info = g.actions.get(a)
                closure = info.closure if info else {a}
                key = info.key if info else a
                for target in sorted(closure):
                    rec = against.get(target)
                    if rec is not None:
                        out.append(Flag("plan-conflict", "warning", rec.iri, focus, g.section_number(rec.section),
                                        f"Planned {g.label(a)}, but the guideline advises: {g.label(rec.strength)} — {g.label(rec.iri)}.",
                                        f"计划的{g.label(a, 'zh')}与指南不符:{g.label(rec.strength, 'zh')}——{g.label(rec.iri, 'zh')}。",
                                        action=key))
                        break
        return out

    def _missing_flags(self, patient, missing: dict) -> list[Flag]:
        g, out = self.g, []
        for feature, blocked in sorted(missing.items()):
            iris = list(dict.fromkeys(b[0] for b in blocked))
            sections = [g.section_number(b[1]) for b in blocked if b[1]]
            severity = "warning" if any(b[2] == "warning" for b in blocked) else "info"
            test = g.obtained_by.get(feature)
            key = g.actions[test].key if test in g.actions else None
            how_en = f" Obtain it by {g.label(test)}." if test else ""
            how_zh = f"需进行{g.label(test, 'zh')}。" if test else ""
            out.append(Flag("missing-data", severity, iris[0], patient, sections[0] if sections else "",
                            f"{g.label(feature)} is not in the record; {len(iris)} decision(s) need it.{how_en}",
                            f"记录中缺少“{g.label(feature, 'zh')}”,{len(iris)}项决策需要该信息。{how_zh}",
                            path=feature, action=key, extra={"blocks": iris}))
        return out

