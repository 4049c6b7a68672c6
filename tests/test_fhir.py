"""CPG-on-FHIR export: one PlanDefinition (CPGRecommendationDefinition) per recommendation and one
ActivityDefinition per action key, validated with the fhir.resources FHIR R4 (4.0.1) models; expectations are read
from the graph, not written here."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from crlm_kg import __version__
from crlm_kg.export import fhir
from crlm_kg.namespaces import CRLM

DATE = "2026-11-27"


@pytest.fixture(scope="module")
def g():
    from crlm_kg.guideline import Guideline
    return Guideline.load()


@pytest.fixture(scope="module")
def bundle(g):
    return fhir.build_bundle(g, __version__, DATE)


@pytest.fixture(scope="module")
def models():
    from crlm_kg.export import fhir_models
    try:
        fhir_models.r4_models()
    except fhir_models.ModelsUnavailable as exc:
        pytest.skip(str(exc))
    return fhir_models


def _by_type(bundle, kind):
    return {e["resource"]["url"]: e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind}


def test_one_plan_definition_per_recommendation_and_one_activity_per_action(g, bundle):
    plans, acts = _by_type(bundle, "PlanDefinition"), _by_type(bundle, "ActivityDefinition")
    assert len(g.recommendations) >= 90 and set(plans) == {r.iri for r in g.recommendations}
    assert set(acts) == set(g.actions) and len(acts) == len({a.key for a in g.actions.values()})
    assert len(bundle["entry"]) == len(plans) + len(acts)
    assert len({e["resource"]["id"] for e in bundle["entry"]}) == len(bundle["entry"])   # ids unique
    for plan in plans.values():                               # every definitionCanonical resolves in the bundle
        for action in plan["action"]:
            targets = [action.get("definitionCanonical")] + [a["definitionCanonical"] for a in action.get("action", [])]
            assert all(t in acts for t in targets if t) and any(targets)


def test_the_models_are_fhir_r4(models):
    assert models.fhir_version() == "4.0.1"


def test_bundle_and_every_resource_validate(bundle, models):
    assert fhir.validate_bundle(bundle) == []


def test_cpg_shape_strength_direction_quality_and_documentation(g, bundle):
    fm = fhir.fhir_map()
    plans = _by_type(bundle, "PlanDefinition")
    n_direction = n_quality = 0
    for rec in g.recommendations:
        plan = plans[rec.iri]
        assert plan["meta"]["profile"] == [fm["profiles"]["recommendation"]]
        assert plan["type"]["coding"][0]["code"] == fm["planDefinitionType"]
        action = plan["action"][0]
        ext = {e["url"]: e["valueCodeableConcept"] for e in action["extension"]}
        strength = ext[fm["extensions"]["strength"]]
        assert strength["coding"][0]["code"] == g.notation(rec.strength)
        assert (len(strength["coding"]) == 2) == bool(rec.grade)
        direction = g.notation(rec.direction)
        if direction in fm["directionCodes"]:
            n_direction += 1
            assert ext[fm["extensions"]["direction"]]["coding"][0] == {
                "system": fm["codeSystems"]["direction"], "code": fm["directionCodes"][direction]}
        else:
            assert fm["extensions"]["direction"] not in ext
        if rec.level:
            n_quality += 1
            coding = ext[fm["extensions"]["quality"]]["coding"]
            assert coding[-1]["code"] == g.notation(rec.level) and coding[0]["system"] == fm["codeSystems"]["quality"]
        else:
            assert fm["extensions"]["quality"] not in ext
        cited = action["documentation"][0]
        assert cited["type"] == "citation" and cited["url"] == rec.section and cited["label"] == g.section_number(rec.section)
        sources = [d["display"] for d in action["documentation"] if d["type"] == "documentation"]
        assert g.text(rec.iri, CRLM.sourceText, "zh") in sources
        condition = action["condition"][0]
        assert condition["kind"] == "applicability" and condition["expression"]["language"] == fm["expressionLanguage"]
        assert bool(rec.criteria) == (condition["expression"]["expression"] != "true")
    assert n_direction > 0.8 * len(g.recommendations)
    assert n_quality == sum(1 for r in g.recommendations if r.level) > 40


def test_applicability_expression_names_every_feature(g, bundle):
    plans = _by_type(bundle, "PlanDefinition")

    def features(c):
        return [c.feature] if c.kind == "leaf" else [f for m in c.members for f in features(m)]
    for rec in g.recommendations:
        expr = plans[rec.iri]["action"][0]["condition"][0]["expression"]
        for f in (f for c in rec.criteria for f in features(c)):
            assert f'"crlm:{f.rsplit("/", 1)[-1]}"' in expr["expression"]
            assert g.label(f, "en") in expr["description"]


def test_activity_definitions_carry_the_action_codes(g, bundle):
    fm = fhir.fhir_map()
    acts = _by_type(bundle, "ActivityDefinition")
    coded = 0
    for iri, action in g.actions.items():
        codings = acts[iri]["code"].get("coding", [])
        expected = {(fm["actionCodeSystems"][c["system"]], c["code"]) for c in action.codes if c["system"] in fm["actionCodeSystems"]}
        assert {(c["system"], c["code"]) for c in codings} == expected
        assert acts[iri]["identifier"][0]["value"] == action.key
        coded += bool(expected)
    assert coded == sum(1 for a in g.actions.values() if a.codes) > 10


def test_export_is_deterministic(g, bundle):
    assert fhir.bundle_json(fhir.build_bundle(g, __version__, DATE)) == fhir.bundle_json(bundle)


@pytest.mark.parametrize("fault", ["r4b-only-element", "unknown-element", "wrong-type", "bad-date"])
def test_validation_catches_seeded_faults(bundle, models, fault):
    plan = copy.deepcopy(next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "PlanDefinition"))
    assert models.validate(plan) == []
    if fault == "r4b-only-element":            # PlanDefinition.subjectCanonical exists in R4B (4.3.0), not in R4
        plan["subjectCanonical"] = "https://example.org/Group/x"
    elif fault == "unknown-element":
        plan["action"][0]["strength"] = "strong"
    elif fault == "wrong-type":
        plan["action"] = plan["action"][0]["title"]
    else:
        plan["date"] = dt.date(2026, 11, 27).strftime("%d/%m/%Y")
    assert models.validate(plan) != []
