"""Conflicting recommendations: pairs that can apply to the same patient and advise incompatible things.

Candidates (all decided from the graph and the check model, never from names):
- opposite-advice: one recommendation is for an action, the other against it (not routine / not recommended):
  advising the first entails the second (the same action, a regimen or procedure containing it, a drug of its
  class, or its drug class);
- competing-first-choice: both are first choices and name different actions;
- opposite-preference: the text of one ranks its action above an action the other advises (check model
  crlm:preferredOver); a true conflict when the other ranks the other way;
- unavailable-action: one population is defined by a condition under which actions cannot be used (check model
  crlm:ActionUnavailability), the other advises such an action to the same patients.

For each candidate the populations are intersected (regions.py) together with the central action requirements the
advised action must pass (a pair whose overlap the requirements remove is resolved by safety, not a conflict). A
witness assignment is built from the overlap, written as a patient record and run through the real engine
(crlm_kg.recommend.Engine): the conflict is confirmed when the engine gives both recommendations, with the
conflicting actions kept. The verdict: refinement when one population lies strictly inside the other; otherwise
true conflict, or alternative when the advice is compatible (a hedged strength pair of the check model, first
choices sharing an action, a one-sided preference).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..guideline import Criterion, Guideline, Recommendation
from ..namespaces import CRLM, compact
from .describe import assignment_json, assignment_text, criteria_text, rec_source, source
from .findings import Finding
from .regions import FeatureModel
from .witness import WitnessBuilder

TRUE_CONFLICT, REFINEMENT, ALTERNATIVE = "true conflict", "refinement", "alternative"
SEVERITY = {TRUE_CONFLICT: "error", REFINEMENT: "warning", ALTERNATIVE: "info"}
MAX_WITNESS_TRIES = 6


def _features(criteria) -> set:
    out = set()
    for c in criteria:
        out |= {c.feature} if c.kind == "leaf" else _features(c.members)
    return out


@dataclass
class Candidate:
    kind: str
    a: Recommendation                 # the for-recommendation, the preferring one, or the one defined by unavailability
    b: Recommendation
    a_actions: tuple                  # a's actions involved
    b_actions: tuple                  # b's actions involved
    mutual: bool = False              # opposite-preference: b prefers the other way too
    texts: tuple = ()                 # opposite-preference: the preference texts of the check model
    model_items: tuple = ()           # unavailable-action: the check model's crlm:ActionUnavailability IRIs


@dataclass
class Examined:
    """A candidate that turned out not to be a finding, and why (kept for the report)."""
    kind: str
    a: str
    b: str
    outcome: str                      # disjoint, resolved by requirement, not realisable


class ConflictChecker:
    def __init__(self, g: Guideline, engine, model, fm: FeatureModel):
        self.g, self.engine, self.model, self.fm = g, engine, model, fm
        self.witnesses = WitnessBuilder(engine, model, fm)
        self.requirements = [r for r in g.requirements if r.kind == "requirement" and not r.plan_only]
        self.examined: list[Examined] = []
        self._regions: dict = {}
        self.drug_classes = {a for a in g.actions if CRLM.DrugClass in g.types_of(a)}

    # ------------------------------------------------------------------ relations between actions
    def closure(self, a: str) -> frozenset:
        return self.fm.closure(a)

    def entails(self, x: str, y: str) -> bool:
        """Advising x advises y: y is x, a component of x or a class of x; or x is a drug class y belongs to."""
        return y in self.closure(x) or (x in self.drug_classes and x in self.closure(y))

    def population(self, rec: Recommendation):
        if rec.iri not in self._regions:
            self._regions[rec.iri] = self.fm.regions(rec.criteria)
        return self._regions[rec.iri]

    # ------------------------------------------------------------------ candidates
    def candidates(self) -> list[Candidate]:
        recs = [r for r in self.g.recommendations if self.population(r)]
        out: list[Candidate] = []
        fors = [r for r in recs if r.direction == CRLM.For]
        against = [r for r in recs if r.direction == CRLM.Against]
        for f in fors:
            for n in against:
                pairs = [(x, y) for x in f.actions for y in n.actions if self.entails(x, y)]
                if pairs:
                    out.append(Candidate("opposite-advice", f, n, tuple(sorted({x for x, _ in pairs})), tuple(sorted({y for _, y in pairs}))))
        firsts = [r for r in fors if r.strength == CRLM.FirstChoice]
        for i, a in enumerate(firsts):
            for b in firsts[i + 1:]:
                if set(a.actions) != set(b.actions):
                    out.append(Candidate("competing-first-choice", a, b, a.actions, b.actions))
        by_iri = {r.iri: r for r in recs}
        for p_iri, prefs in sorted(self.model.preferences.items()):
            p = by_iri.get(p_iri)
            if p is None:
                continue
            for b in fors:
                if b.iri == p.iri:
                    continue
                hits = tuple(sorted({x for x in b.actions for y, _ in prefs if self.entails(x, y)}))
                if not hits:
                    continue
                back = self.model.preferences.get(b.iri, [])
                mutual = any(self.entails(x, y) for y, _ in back for x in p.actions)
                if mutual and b.iri < p.iri:
                    continue                     # a mutual pair is reported once
                out.append(Candidate("opposite-preference", p, b, p.actions, hits, mutual,
                                     tuple(t for _, t in prefs) + tuple(t for _, t in back)))
        for u in self.model.unavailabilities:
            anchors = [r for r in fors if self.fm.contains(u.criteria, self.population(r))]
            for a in anchors:
                for b in fors:
                    if b.iri == a.iri:
                        continue
                    hits = tuple(sorted({x for x in b.actions for y in u.actions if self.entails(x, y)}))
                    if hits:
                        out.append(Candidate("unavailable-action", a, b, a.actions, hits, model_items=(u.iri,)))
        return out

    # ------------------------------------------------------------------ populations where a recommendation is given
    def _requirements_for(self, action: str, rec: Recommendation) -> list:
        closure = self.closure(action)
        return [r for r in self.requirements if r.action in closure and r.iri not in rec.waived
                and (not r.settings or r.settings.intersection(rec.settings))]

    def given_criteria(self, rec: Recommendation, action: str) -> tuple:
        """The criteria under which the engine gives `rec` with `action` kept: the recommendation's own, the action's
        requirements, and for every other essential combination part, the requirements of one of its members."""
        if rec.direction != CRLM.For:
            return rec.criteria
        extra = [c for r in self._requirements_for(action, rec) for c in r.criteria]
        for part in rec.parts:
            if action in part:
                continue
            options = tuple(Criterion(f"part:{m}", "all", members=tuple(c for r in self._requirements_for(m, rec) for c in r.criteria))
                            for m in part)
            extra.append(Criterion("part", "any", members=options))
        return tuple(rec.criteria) + tuple(extra)

    # ------------------------------------------------------------------ assessment
    def assess(self, cand: Candidate) -> Finding | None:
        fm = self.fm
        pa, pb = self.population(cand.a), self.population(cand.b)
        if not fm.overlap(pa, pb):
            self.examined.append(Examined(cand.kind, cand.a.iri, cand.b.iri, "disjoint"))
            return None
        a_focus = cand.a_actions if cand.kind in ("opposite-advice", "competing-first-choice") else cand.a.actions
        b_focus = cand.b_actions
        overlap = []
        for x in (a_focus or cand.a.actions):
            ra = fm.regions(self.given_criteria(cand.a, x))
            for y in (b_focus or cand.b.actions):
                rb = fm.regions(self.given_criteria(cand.b, y))
                overlap += [(r, x, y) for r in fm.overlap(ra, rb)]
        if not overlap:
            self.examined.append(Examined(cand.kind, cand.a.iri, cand.b.iri, "resolved by an action requirement"))
            return None
        hit = None
        for region, x, y in overlap[:MAX_WITNESS_TRIES]:
            attempt = self.witnesses.run(fm.witness(region), region)
            if attempt.given(cand.a.iri, x if cand.a.direction == CRLM.For else None) and \
                    attempt.given(cand.b.iri, y if cand.b.direction == CRLM.For else None):
                hit = (attempt, x, y)
                break
        if hit is None:
            self.examined.append(Examined(cand.kind, cand.a.iri, cand.b.iri, "overlap on paper, the engine does not give both"))
            return None
        run, x, y = hit
        a_in_b = fm.contains(cand.b.criteria, pa)
        b_in_a = fm.contains(cand.a.criteria, pb)
        verdict = self._verdict(cand, a_in_b, b_in_a)
        return self._finding(cand, verdict, a_in_b, b_in_a, run, x, y)

    def _verdict(self, cand: Candidate, a_in_b: bool, b_in_a: bool) -> str:
        if cand.kind == "unavailable-action":
            return TRUE_CONFLICT
        if a_in_b != b_in_a:
            return REFINEMENT
        if cand.kind == "opposite-advice":
            return ALTERNATIVE if (cand.a.strength, cand.b.strength) in self.model.hedges else TRUE_CONFLICT
        if cand.kind == "competing-first-choice":
            return ALTERNATIVE if set(cand.a.actions) & set(cand.b.actions) else TRUE_CONFLICT
        if cand.kind == "opposite-preference":
            return TRUE_CONFLICT if cand.mutual else ALTERNATIVE
        return TRUE_CONFLICT

    def _finding(self, cand, verdict, a_in_b, b_in_a, run, x, y) -> Finding:
        g = self.g
        an, bn = compact(cand.a.iri), compact(cand.b.iri)
        key = lambda a: g.actions[a].key if a in g.actions else compact(a)  # noqa: E731
        what = {
            "opposite-advice": f"{an} ({g.label(cand.a.strength)}: {key(x)}) and {bn} ({g.label(cand.b.strength)}: {key(y)}) "
                               "apply to the same patient",
            "competing-first-choice": f"{an} (first choice: {', '.join(map(key, cand.a.actions))}) and {bn} "
                                      f"(first choice: {', '.join(map(key, cand.b.actions))}) apply to the same patient",
            "opposite-preference": f"{an} ranks {key(x)} above {', '.join(map(key, cand.b_actions))}, which {bn} advises"
                                   + (" and ranks the other way" if cand.mutual else ""),
            "unavailable-action": f"{an} is for patients who cannot receive {', '.join(map(key, cand.b_actions))}, "
                                  f"which {bn} advises to the same patients",
        }[cand.kind]
        nesting = ("the populations are equal" if a_in_b and b_in_a else
                   f"the population of {an} lies inside that of {bn}" if a_in_b else
                   f"the population of {bn} lies inside that of {an}" if b_in_a else "the populations overlap partly")
        details = {
            "conflict": cand.kind, "nesting": nesting,
            "actions": {an: [key(a) for a in cand.a_actions], bn: [key(b) for b in cand.b_actions]},
            "strengths": {an: compact(cand.a.strength), bn: compact(cand.b.strength)},
            "population": {an: criteria_text(g, cand.a.criteria), bn: criteria_text(g, cand.b.criteria)},
            "witness": assignment_text(g, run.values), "witness_facts": assignment_json(run.values),
            "witness_turtle": run.turtle,
            "engine_gives": [compact(gr.rec.iri) for gr in run.result.recommendations
                             if gr.rec.iri in (cand.a.iri, cand.b.iri)],
            "verified_by_engine": True,
        }
        if run.notes:
            details["witness_notes"] = run.notes
        if cand.kind == "opposite-advice":
            mine = _features(cand.a.criteria)
            details["open_features"] = sorted(g.label(f) for f in _features(cand.b.criteria) - mine)
            fixes = self._plan_only_fixes(cand, x)
            if fixes:
                details["plan_only_requirements"] = [compact(r) for r in fixes]
                what += f" (the plan-only requirement {', '.join(compact(r) for r in fixes)} would resolve it if the engine applied it)"
        if cand.texts or cand.model_items:
            details["model"] = list(cand.texts) + [compact(t) for t in cand.model_items]
        sources = [rec_source(g, cand.a), rec_source(g, cand.b)]
        for t in cand.model_items:
            src = source(self.model.g, t)
            src.section = ", ".join(g.section_number(s) for u in self.model.unavailabilities if u.iri == t for s in u.sections)
            sources.append(src)
        details["what"] = what
        return Finding("conflicts", "conflicting-recommendations", SEVERITY[verdict],
                       f"{cand.kind}: {what}; {nesting}. Verdict: {verdict}.", sources, verdict, details)

    def _plan_only_fixes(self, cand: Candidate, x: str) -> list:
        """Plan-only requirements of the advised action that, applied by the engine, would remove the overlap."""
        closure = self.closure(x)
        out = []
        rb = self.fm.regions(cand.b.criteria)
        for r in self.g.requirements:
            if r.kind != "requirement" or not r.plan_only or r.action not in closure:
                continue
            if r.settings and not r.settings.intersection(cand.a.settings):
                continue
            ra = self.fm.regions(self.given_criteria(cand.a, x) + tuple(r.criteria))
            if not self.fm.overlap(ra, rb):
                out.append(r.iri)
        return out

    def run(self) -> list[Finding]:
        findings = []
        for cand in self.candidates():
            f = self.assess(cand)
            if f is not None:
                findings.append(f)
        order = {"error": 0, "warning": 1, "info": 2}
        findings.sort(key=lambda f: (order[f.severity], f.details["conflict"], f.sources[0].iri, f.sources[1].iri))
        return findings
