"""CPG-on-FHIR export: every recommendation as a FHIR R4 PlanDefinition shaped as the HL7 CPG IG's
CPGRecommendationDefinition, every care action as an ActivityDefinition, in one collection Bundle.

- PlanDefinition.action carries the strength (cqf-strengthOfRecommendation: the project's strength and the Oxford
  grade), the direction (cpg-directionOfRecommendation: for / against; research-only has no CPG code and is left
  out) and the quality of evidence (cqf-qualityOfEvidence: the GRADE certainty the Oxford level maps to, and the
  level itself); its condition is the applicability (criteria as text and as a CQL-like expression), its
  documentation cites the guideline section and the source sentence, and its definitionCanonical points to the
  ActivityDefinition of each action.
- ActivityDefinition.code holds the action's ATC / LOINC / SNOMED codes from actions.csv (via the ontology).
The mapping tables (extension URLs, code systems, kinds) are data: templates/fhir-map.json.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from ..guideline import Guideline, _q
from ..namespaces import CRLM, GUIDELINE_IRI, ONTOLOGY_IRI, PREFIXES
from . import criteria as crit

DCTERMS = PREFIXES["dcterms"]


@lru_cache(maxsize=1)
def fhir_map() -> dict:
    return json.loads((resources.files(__package__) / "templates" / "fhir-map.json").read_text(encoding="utf-8"))


def fhir_id(iri: str) -> str:
    """The FHIR id of a resource for an IRI: its last path segment ([A-Za-z0-9.-], at most 64)."""
    local = iri.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9.\-]", "-", local)[:64]


def fhir_name(prefix: str, iri: str) -> str:
    """A computable name ([A-Z][A-Za-z0-9_]*)."""
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", fhir_id(iri))


class _Facts:
    """The few graph facts the FHIR export needs beyond the compiled Guideline."""

    def __init__(self, g: Guideline):
        self.in_scheme = {r["c"].value: r["s"].value for r in _q(g.store, "SELECT ?c ?s WHERE { ?c skos:inScheme ?s }")}
        self.certainty = {r["l"].value: r["c"].value for r in _q(g.store, "SELECT ?l ?c WHERE { ?l crlm:gradeCertainty ?c }")}
        self.direction = {r["s"].value: r["d"].value for r in _q(g.store, "SELECT ?s ?d WHERE { ?s crlm:direction ?d }")}
        self.header: dict[str, str] = {}
        for r in _q(g.store, f"SELECT ?p ?o WHERE {{ <{ONTOLOGY_IRI}> ?p ?o FILTER(isLiteral(?o) && (LANG(?o) = '' || LANG(?o) = 'en')) }}"):
            self.header.setdefault(r["p"].value, r["o"].value)
        self.license = next((r["o"].value for r in _q(g.store, f"SELECT ?o WHERE {{ <{ONTOLOGY_IRI}> dcterms:license ?o }}")), None)
        self.citation = next((r["o"].value for r in _q(
            g.store, f"SELECT ?o WHERE {{ <{GUIDELINE_IRI}> dcterms:bibliographicCitation ?o }}")), "")
        self.kinds: dict[str, set] = {}
        for r in _q(g.store, "SELECT ?a ?k WHERE { ?a a/rdfs:subClassOf* ?k }"):
            self.kinds.setdefault(r["a"].value, set()).add(r["k"].value)


def _translation(text_zh: str | None) -> dict | None:
    if not text_zh:
        return None
    url = fhir_map()["extensions"]["translation"]
    return {"extension": [{"url": url, "extension": [{"url": "lang", "valueCode": "zh"}, {"url": "content", "valueString": text_zh}]}]}


def _coding(g: Guideline, facts: _Facts, concept: str) -> dict:
    coding = {"code": g.notation(concept) or concept.rsplit("/", 1)[-1], "display": g.label(concept, "en")}
    if concept in facts.in_scheme:
        coding = {"system": facts.in_scheme[concept], **coding}
    return coding


def _extensions(g: Guideline, facts: _Facts, rec) -> list[dict]:
    fm = fhir_map()
    ext = []
    strength_codings = [_coding(g, facts, rec.strength)] if rec.strength else []
    if rec.grade:
        strength_codings.append(_coding(g, facts, rec.grade))
    if strength_codings:
        written = g.text(rec.iri, CRLM.strengthAsWritten, "zh")
        text = g.label(rec.strength, "en") + (f" ({written})" if written else "") + (f", {g.label(rec.grade, 'en')}" if rec.grade else "")
        ext.append({"url": fm["extensions"]["strength"], "valueCodeableConcept": {"coding": strength_codings, "text": text}})
    direction = g.notation(rec.direction) if rec.direction else None
    if direction in fm["directionCodes"]:
        ext.append({"url": fm["extensions"]["direction"], "valueCodeableConcept": {"coding": [
            {"system": fm["codeSystems"]["direction"], "code": fm["directionCodes"][direction]}], "text": g.label(rec.direction, "en")}})
    if rec.level:
        codings = []
        certainty = g.notation(facts.certainty.get(rec.level))
        if certainty in fm["qualityCodes"]:
            codings.append({"system": fm["codeSystems"]["quality"], "code": fm["qualityCodes"][certainty]})
        codings.append(_coding(g, facts, rec.level))
        written = g.text(rec.grading, CRLM.asWritten, "zh") if rec.grading else None
        ext.append({"url": fm["extensions"]["quality"], "valueCodeableConcept": {
            "coding": codings, "text": g.label(rec.level, "en") + (f" ({written})" if written else "")}})
    return ext


def _documentation(g: Guideline, facts: _Facts, rec) -> list[dict]:
    number = g.section_number(rec.section)
    docs = [{"type": "citation", "label": number, "url": rec.section,
             "display": f"{number} {g.label(rec.section, 'en')} / {g.label(rec.section, 'zh')}",
             "citation": facts.citation}]
    for lang in ("zh", "en"):
        text = g.text(rec.iri, CRLM.sourceText, lang)
        if text:
            docs.append({"type": "documentation", "label": f"source text ({lang})", "display": text, "url": rec.iri})
    return docs


def activity_url(action_iri: str) -> str:
    return action_iri


def plan_definition(g: Guideline, facts: _Facts, rec, version: str, date: str) -> dict:
    fm = fhir_map()
    label_zh = g.label(rec.iri, "zh")
    definition = g.definitions.get(rec.iri, {})
    action: dict = {
        "extension": _extensions(g, facts, rec),
        "title": g.label(rec.iri, "en"),
        "description": definition.get("en", g.label(rec.iri, "en")),
        "documentation": _documentation(g, facts, rec),
        "condition": [{"kind": "applicability", "expression": {
            "description": crit.criteria_text(g, rec.criteria, "en") or "always applicable",
            "language": fm["expressionLanguage"], "expression": crit.criteria_cql(g, rec.criteria)}}],
    }
    zh_title, zh_desc = _translation(label_zh), _translation(definition.get("zh"))
    if zh_title:
        action["_title"] = zh_title
    if zh_desc:
        action["_description"] = zh_desc
    population = g.text(rec.iri, CRLM.population, "en")
    if population:
        action["textEquivalent"] = population
    if len(rec.actions) == 1:
        action["definitionCanonical"] = activity_url(rec.actions[0])
    else:
        action["selectionBehavior"] = "any"
        action["action"] = [{"title": g.label(a, "en"), "definitionCanonical": activity_url(a)} for a in rec.actions]
    resource = {
        "resourceType": "PlanDefinition", "id": fhir_id(rec.iri),
        "meta": {"profile": [fm["profiles"]["recommendation"]]},
        "url": rec.iri, "version": version, "name": fhir_name("Rec", rec.iri),
        "title": g.label(rec.iri, "en"),
        "type": {"coding": [{"system": fm["codeSystems"]["planDefinitionType"], "code": fm["planDefinitionType"]}]},
        "status": "active", "experimental": False, "date": date,
        "publisher": facts.header.get(DCTERMS + "creator", ""),
        "description": definition.get("en", g.label(rec.iri, "en")),
        "relatedArtifact": [{"type": "citation", "label": g.section_number(rec.section), "citation": facts.citation,
                             "url": rec.section}],
        "action": [action],
    }
    if zh_title:
        resource["_title"] = zh_title
    if facts.license:
        resource["copyright"] = facts.header.get(DCTERMS + "rights", facts.license)
    return resource


def activity_definition(g: Guideline, facts: _Facts, action, version: str, date: str) -> dict:
    fm = fhir_map()
    kinds = facts.kinds.get(action.iri, set())
    kind = next((fm["activityKinds"][k] for k in sorted(fm["activityKinds"]) if k in kinds), fm["defaultActivityKind"])
    codings = [{"system": fm["actionCodeSystems"][c["system"]], "code": c["code"]}
               for c in action.codes if c["system"] in fm["actionCodeSystems"]]
    code = {"text": g.label(action.iri, "en")}
    if codings:
        code["coding"] = codings
    resource = {
        "resourceType": "ActivityDefinition", "id": fhir_id(action.iri), "url": activity_url(action.iri),
        "identifier": [{"system": action.iri.rsplit("/", 1)[0] + "/", "value": action.key}],
        "version": version, "name": fhir_name("Act", action.iri), "title": g.label(action.iri, "en"),
        "status": "active", "experimental": False, "date": date,
        "description": g.definitions.get(action.iri, {}).get("en", g.label(action.iri, "en")),
        "kind": kind, "code": code,
    }
    zh = _translation(g.label(action.iri, "zh"))
    if zh:
        resource["_title"] = zh
    if kind == "MedicationRequest" and codings:
        resource["productCodeableConcept"] = code
    return resource


def build_bundle(g: Guideline, version: str, date: str) -> dict:
    """The collection Bundle: one PlanDefinition per recommendation, one ActivityDefinition per action key."""
    facts = _Facts(g)
    entries = [plan_definition(g, facts, r, version, date) for r in sorted(g.recommendations, key=lambda r: r.iri)]
    entries += [activity_definition(g, facts, g.actions[a], version, date) for a in sorted(g.actions)]
    return {"resourceType": "Bundle", "id": fhir_id(ONTOLOGY_IRI) + "-" + version.replace(".", "-"),
            "type": "collection", "timestamp": f"{date}T00:00:00Z",
            "entry": [{"fullUrl": e["url"], "resource": e} for e in entries]}


def bundle_json(bundle: dict) -> bytes:
    return (json.dumps(bundle, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def validate_bundle(bundle: dict) -> list[str]:
    """FHIR R4 validation errors (fhir.resources models) of the bundle and of each resource, prefixed by its id."""
    from .fhir_models import validate
    errors = [f"Bundle: {e}" for e in validate(bundle)]
    for entry in bundle.get("entry", []):
        res = entry["resource"]
        errors += [f"{res['resourceType']}/{res.get('id')}: {e}" for e in validate(res)]
    return errors


def resources_used(bundle: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in bundle["entry"]:
        out[e["resource"]["resourceType"]] = out.get(e["resource"]["resourceType"], 0) + 1
    return out


__all__ = ["build_bundle", "bundle_json", "validate_bundle", "fhir_map"]
