"""Coverage: enumerate the patient state space the check model defines (dimensions × values, on top of base facts),
evaluate every state with the engine, and report states with no treatment recommendation (gaps) and states with
more than one first choice (ambiguities).

Speed: each state is evaluated by the engine's own per-patient decision step (Engine._evaluate_patient: criteria,
central action requirements, combination parts) on a fact index built directly from the state's facts, i.e. after
derivation; the RDF parsing and derivation rules are skipped. One representative state of every reported gap and
ambiguity pattern is then re-run through the full pipeline (a patient record, derivation rules, OWL 2 RL) to confirm
it.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..namespaces import CRLM, PREFIXES, compact
from ..match import MET, Fact, status_all
from .describe import criteria_text, source
from .findings import Finding
from .regions import FeatureModel, as_term, describe_value
from .witness import AS_OF, WitnessBuilder

WILDCARD = "*"


@dataclass
class State:
    index: tuple                      # profile index per dimension
    facts: dict                       # feature -> list of values (derived level)


@dataclass
class CoverageResult:
    size: int = 0                     # product of the dimension sizes
    excluded: int = 0                 # combinations the model excludes (crlm:excludedWith)
    inconsistent: int = 0             # combinations whose profiles disagree on a single-valued fact
    evaluated: int = 0
    asked: Counter = field(default_factory=Counter)     # question IRI -> states in its scope
    gaps: dict = field(default_factory=dict)            # question IRI -> [State]
    ambiguities: list = field(default_factory=list)     # (State, [first-choice recommendations])
    first_choice_counts: Counter = field(default_factory=Counter)
    method: str = ""


class CoverageCheck:
    def __init__(self, engine, model, fm: FeatureModel):
        self.engine, self.model, self.fm, self.g = engine, model, fm, engine.g
        self.space = model.space

    # ------------------------------------------------------------------ states
    def states(self, result: CoverageResult):
        dims = self.space.dimensions
        result.size = 1
        for d in dims:
            result.size *= len(d.profiles)
        for index in itertools.product(*[range(len(d.profiles)) for d in dims]):
            profiles = [d.profiles[i] for d, i in zip(dims, index)]
            nodes = {p.node for p in profiles}
            if any(p.excluded_with & nodes for p in profiles):
                result.excluded += 1
                continue
            facts = {f: list(v) for f, v in self.space.base.facts.items()}
            set_by: dict = {}
            ok = True
            for p in profiles:
                for f, vals in p.facts.items():
                    if self.fm.is_set(f):
                        facts[f] = list(dict.fromkeys((facts.get(f, []) if f in set_by else []) + vals))
                    elif f in set_by and set_by[f] != vals:
                        ok = False
                    else:
                        facts[f] = list(vals)
                    set_by[f] = vals
            if not ok:
                result.inconsistent += 1
                continue
            yield State(index, facts)

    def _index(self, patient: str, facts: dict) -> dict:
        """The engine's fact index (subject → [(predicate, term, graph)]) for a state, set-valued action features closed
        under regimen components and drug classes as the derivation rule closes them."""
        p = ox.NamedNode(patient)
        rows = []
        for f, vals in facts.items():
            values = set()
            for v in vals:
                values |= set(self.fm.closure(v)) if self.fm.is_set(f) and isinstance(v, str) and v in self.g.actions else {v}
            for v in sorted(values, key=str):
                rows.append((f, as_term(v, self.g.ranges.get(f)), PREFIXES["crlm"]))
        return {p: rows}

    def evaluate(self, facts: dict, name: str = "state"):
        patient = PREFIXES["ex"] + name
        return self.engine._evaluate_patient(patient, name, self._index(patient, facts), [], AS_OF)

    def in_scope(self, question, facts: dict) -> bool:
        index = {f: [Fact(f, v, "") for v in vals] for f, vals in facts.items()}
        return not question.criteria or status_all(question.criteria, index, self.g.thresholds) == MET

    def gaps_of(self, result_obj, facts: dict) -> list:
        """The questions (in scope for the state) that no given for-recommendation answers."""
        out = []
        for q in self.space.questions:
            if not self.in_scope(q, facts):
                continue
            if not any(gr.rec.direction == CRLM.For and set(gr.rec.settings) & q.settings for gr in result_obj.recommendations):
                out.append(q)
        return out

    @staticmethod
    def ambiguous_first_choices(result_obj) -> list:
        firsts = [gr for gr in result_obj.recommendations if gr.rec.strength == CRLM.FirstChoice]
        return firsts if len({tuple(sorted(gr.actions)) for gr in firsts}) > 1 else []

    # ------------------------------------------------------------------ run
    def run(self, verify: bool = True) -> tuple[list[Finding], dict]:
        res = CoverageResult(method="engine decision step on derived-level fact dicts (no RDF parsing or derivation); "
                                    "one state per reported pattern re-run through the full pipeline")
        for n, state in enumerate(self.states(res)):
            r = self.evaluate(state.facts, f"state-{n}")
            res.evaluated += 1
            for q in self.space.questions:
                if self.in_scope(q, state.facts):
                    res.asked[q.iri] += 1
            for q in self.gaps_of(r, state.facts):
                res.gaps.setdefault(q.iri, []).append(state)
            firsts = self.ambiguous_first_choices(r)
            if firsts:
                res.ambiguities.append((state, firsts))
            res.first_choice_counts[len({tuple(sorted(gr.actions)) for gr in r.recommendations
                                         if gr.rec.strength == CRLM.FirstChoice})] += 1
        return self._report(res, verify)

    def _pattern_text(self, pattern: tuple, lang: str = "en") -> str:
        parts = []
        for d, i in zip(self.space.dimensions, pattern):
            if i == WILDCARD:
                continue
            p = d.profiles[i]
            parts.append(p.label_en if lang == "en" else p.label_zh)
        return ", ".join(parts) or "every state"

    def _report(self, res: CoverageResult, verify: bool) -> tuple[list[Finding], dict]:
        findings = []
        builder = WitnessBuilder(self.engine, self.model, self.fm) if verify else None
        sizes = [len(d.profiles) for d in self.space.dimensions]
        gap_rows = []
        for q in self.space.questions:
            states = res.gaps.get(q.iri, [])
            by_index = {s.index: s for s in states}
            for pattern, members in merge_patterns([s.index for s in states], sizes):
                rep = by_index[members[0]]
                confirmed = self._confirm(builder, rep, question=q) if builder else None
                text = self._pattern_text(pattern)
                gap_rows.append({"question": q.label_en, "pattern": text, "states": len(members),
                                 "confirmed_by_full_pipeline": confirmed})
                findings.append(Finding("coverage", "coverage-gap", "warning",
                                        f"{q.label_en}: none for {len(members)} state(s): {text}",
                                        details={"question": q.label_en, "question_zh": q.label_zh, "states": len(members),
                                                 "pattern": text, "pattern_zh": self._pattern_text(pattern, "zh"),
                                                 "example": self._facts_text(rep.facts), "confirmed_by_full_pipeline": confirmed}))
        amb_by_recs: dict = {}
        for state, firsts in res.ambiguities:
            key = tuple(sorted(gr.rec.iri for gr in firsts))
            amb_by_recs.setdefault(key, []).append(state)
        amb_rows = []
        for recs, states in sorted(amb_by_recs.items()):
            patterns = merge_patterns([s.index for s in states], [len(d.profiles) for d in self.space.dimensions])
            idx = {s.index: s for s in states}
            rep = states[0]
            confirmed = self._confirm(builder, rep, recs=recs) if builder else None
            texts = [self._pattern_text(p) for p, _ in patterns]
            amb_rows.append({"first_choices": [compact(r) for r in recs], "states": len(states), "patterns": texts,
                             "confirmed_by_full_pipeline": confirmed})
            findings.append(Finding("coverage", "coverage-ambiguity", "warning",
                                    f"{len(states)} state(s) get {len(recs)} different first choices "
                                    f"({', '.join(compact(r) for r in recs)}): {'; '.join(texts[:4])}{' …' if len(texts) > 4 else ''}",
                                    [source(self.g, r) for r in recs],
                                    details={"states": len(states), "patterns": texts, "example": self._facts_text(idx[rep.index].facts),
                                             "confirmed_by_full_pipeline": confirmed}))
        table = {"dimensions": [{"dimension": d.label_en, "values": [p.label_en for p in d.profiles]} for d in self.space.dimensions],
                 "size": res.size, "excluded_by_model": res.excluded, "inconsistent": res.inconsistent,
                 "evaluated": res.evaluated,
                 "questions": [{"question": q.label_en, "settings": sorted(compact(x) for x in q.settings),
                                "scope": criteria_text(self.g, q.criteria), "states_asked": res.asked[q.iri],
                                "gaps": len(res.gaps.get(q.iri, []))} for q in self.space.questions],
                 "gaps": sum(len(v) for v in res.gaps.values()), "ambiguities": len(res.ambiguities),
                 "gap_patterns": gap_rows, "ambiguity_patterns": amb_rows,
                 "first_choices_per_state": {str(k): v for k, v in sorted(res.first_choice_counts.items())},
                 "method": res.method}
        return findings, table

    def _facts_text(self, facts: dict) -> list:
        return [f"{self.g.label(f)} = {', '.join(describe_value(self.g, v) for v in vals)}" for f, vals in sorted(facts.items())]

    def _confirm(self, builder, state: State, question=None, recs: tuple = ()) -> bool:
        values = {f: (frozenset(v) if self.fm.is_set(f) else v[0]) for f, v in state.facts.items()}
        run = builder.run(values, None, name="coverage-check")
        if question is not None:
            return any(q.iri == question.iri for q in self.gaps_of(run.result, state.facts))
        return sorted(gr.rec.iri for gr in self.ambiguous_first_choices(run.result)) == sorted(recs)


def merge_patterns(indices: list, sizes: list) -> list:
    """Compress a set of index tuples into patterns with wildcards: when every value of one dimension occurs with the
    same rest, the dimension becomes `*`. Returns [(pattern, [member indices])], largest first."""
    groups = {tuple(i): [tuple(i)] for i in indices}
    changed = True
    while changed:
        changed = False
        for d, size in enumerate(sizes):
            by_rest: dict = {}
            for pat in groups:
                if pat[d] == WILDCARD:
                    continue
                by_rest.setdefault(pat[:d] + (WILDCARD,) + pat[d + 1:], []).append(pat)
            for merged, pats in by_rest.items():
                if len({p[d] for p in pats}) == size and merged not in groups:
                    members = [m for p in pats for m in groups.pop(p)]
                    groups[merged] = members
                    changed = True
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
