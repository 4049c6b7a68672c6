"""Witness patients: a fact assignment (from regions.py) written as a patient record and run through the real engine.

Most facts are written as they are. Facts that derivation rules compute from the treatment history (line of
therapy, progressions, drugs previously received, any prior chemotherapy) cannot be stated directly, because the
rules would derive a second, contradictory value; they are written as treatment episodes instead, following the
witness encoding of the check model (which features play which role, which settings and response mean a
progression). The engine then derives them back, exactly as for a real record.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..guideline import GUIDELINE_GRAPH
from ..namespaces import CRLM, PREFIXES, RDF_TYPE, sparql_prefixes
from ..patients import PatientFile
from .regions import ABSENT, FeatureModel, Region, as_term, describe_value

AS_OF = _dt.date(2023, 6, 30)          # evaluation date of witness patients (the guideline's year; dates are not used)
_TURTLE_PREFIXES = {k: PREFIXES[k] for k in ("crlm", "act", "xsd", "ex")}


@dataclass
class WitnessRun:
    patient: str
    values: dict                      # intended feature -> value
    turtle: str
    result: object                    # PatientResult
    notes: list = field(default_factory=list)

    def given(self, rec_iri: str, action: str | None = None) -> bool:
        for gr in self.result.recommendations:
            if gr.rec.iri == rec_iri:
                return action is None or action in gr.actions or gr.rec.direction != CRLM.For
        return False


def _one(value):
    """A single value where the encoding needs one (a partial graph may not declare the feature functional)."""
    if isinstance(value, frozenset):
        return sorted(value, key=str)[0] if value else ABSENT
    return value


class WitnessBuilder:
    def __init__(self, engine, model, fm: FeatureModel):
        self.engine, self.model, self.fm, self.g = engine, model, fm, engine.g
        enc = model.witness
        self.enc = enc
        self._agents = []
        if enc.agent_classes:
            values = " ".join(f"<{c}>" for c in enc.agent_classes)
            rows = self.g.store.query(sparql_prefixes() + f"SELECT DISTINCT ?a WHERE {{ ?a a ?k . ?k rdfs:subClassOf* ?c . VALUES ?c {{ {values} }} }} ORDER BY ?a",
                                      default_graph=ox.NamedNode(GUIDELINE_GRAPH))
            self._agents = [r["a"].value for r in rows]
        self.counter = 0

    def triples(self, values: dict, region: Region | None, patient: str) -> tuple[list, list]:
        """(triples, notes) of a record that yields `values` once derived."""
        enc, notes = self.enc, []
        p = ox.NamedNode(patient)
        out = [ox.Triple(p, ox.NamedNode(RDF_TYPE), ox.NamedNode(CRLM.Patient))]
        vals = dict(values)
        history = vals.pop(enc.history_feature, ABSENT) if enc.history_feature else ABSENT
        line = vals.pop(enc.line_feature, ABSENT) if enc.line_feature else ABSENT
        progressions = vals.pop(enc.progression_feature, ABSENT) if enc.progression_feature else ABSENT
        any_treatment = vals.pop(enc.any_treatment_feature, ABSENT) if enc.any_treatment_feature else ABSENT
        line, progressions, any_treatment = _one(line), _one(progressions), _one(any_treatment)
        n = 0
        if line not in (ABSENT, None):
            n = int(line) - 1
            if progressions not in (ABSENT, None) and int(progressions) != n:
                notes.append("line of therapy and progression count disagree; the line is used")
        elif progressions not in (ABSENT, None):
            n = int(progressions)
        agents = sorted(history) if isinstance(history, frozenset) else []
        excluded = region.fcs[enc.history_feature].excluded if region is not None and enc.history_feature in region.fcs else frozenset()
        drug_agents = [a for a in agents if a in set(self._agents)]
        if any_treatment is True and not drug_agents:
            pick = next((a for a in self._agents if not (self.fm.closure(a) & excluded)), None)
            if pick is None:
                notes.append("no drug or regimen can express prior treatment without a value the criteria exclude")
            else:
                agents.append(pick)
        elif any_treatment is False and drug_agents:
            notes.append("prior treatment must be false, yet the history needs a drug or regimen: not realisable")
        episodes = []
        for i in range(max(n, 0)):
            settings = enc.progression_settings or (None,)
            episodes.append((settings[min(i, len(settings) - 1)], enc.progression_response, agents if i == 0 else []))
        if agents and not episodes:
            episodes.append((enc.history_setting, None, agents))
        for k, (setting, response, ags) in enumerate(episodes):
            e = ox.BlankNode(f"episode{k + 1}")
            out.append(ox.Triple(p, ox.NamedNode(CRLM.hasTreatment), e))
            out.append(ox.Triple(e, ox.NamedNode(RDF_TYPE), ox.NamedNode(CRLM.TreatmentEpisode)))
            if setting:
                out.append(ox.Triple(e, ox.NamedNode(CRLM.treatmentSetting), ox.NamedNode(setting)))
            if response:
                out.append(ox.Triple(e, ox.NamedNode(CRLM.response), ox.NamedNode(response)))
            for a in ags:
                out.append(ox.Triple(e, ox.NamedNode(CRLM.agent), ox.NamedNode(a)))
        for f, v in sorted(vals.items()):
            if v in (ABSENT, None):
                continue
            dt = self.g.ranges.get(f)
            for x in (sorted(v, key=str) if isinstance(v, frozenset) else [v]):
                out.append(ox.Triple(p, ox.NamedNode(f), as_term(x, dt)))
        return out, notes

    def run(self, values: dict, region: Region | None = None, name: str | None = None) -> WitnessRun:
        self.counter += 1
        patient = PREFIXES["ex"] + (name or f"witness-{self.counter}")
        triples, notes = self.triples(values, region, patient)
        turtle = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=_TURTLE_PREFIXES).decode("utf-8")
        pf = PatientFile(Path(f"{patient.rsplit('/', 1)[-1]}.ttl"), triples, [patient])
        result = self.engine.evaluate([pf], as_of=AS_OF)[0]
        for f, v in sorted(values.items()):
            got = [x.value for x in result.facts.get(f, [])]
            want = [] if v == ABSENT else sorted(v, key=str) if isinstance(v, frozenset) else [v]
            if isinstance(v, frozenset):
                ok = set(want) <= set(got)
            else:
                ok = got == want or (v == ABSENT and not got)
            if not ok:
                notes.append(f"{self.g.label(f)}: wanted {describe_value(self.g, v)}, the engine has "
                             f"{describe_value(self.g, frozenset(got)) if got else '(none)'}")
        return WitnessRun(patient, values, turtle, result, notes)
