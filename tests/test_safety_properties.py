"""Safety invariants over generated patients (hypothesis): whatever the record says, the engine never presents an
unsafe action as first choice, recommended or consider. The limits are read from the guideline graph."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crlm_kg.namespaces import ACT, CRLM, PREFIXES
from patient_strategies import patient_facts, to_patient_file

POSITIVE = {CRLM.FirstChoice, CRLM.Recommended, CRLM.Consider}
THR = PREFIXES["thr"]
BATCH = 25
EXAMPLES = 90           # 90 batches x 25 patients = 2,250 generated patients per run


def closure(g, action):
    return g.actions[action].closure if action in g.actions else {action}


def check_invariants(g, result):
    values = lambda feature: result.fact_values(feature)  # noqa: E731
    for gr in result.recommendations:
        rec = gr.rec
        if rec.strength not in POSITIVE:
            continue
        for action in gr.actions:
            c = closure(g, action)
            if ACT["anti-egfr-antibody"] in c:
                assert values(CRLM.rasStatus) == [CRLM.RASWildType], (rec.iri, action, values(CRLM.rasStatus))
            if ACT["immune-checkpoint-inhibitor"] in c:
                assert values(CRLM.mmrMsiGroup) == [CRLM.DeficientMMRorMSIH], (rec.iri, action)
            if ACT.hepatectomy in c:
                timing, flr = values(CRLM.timing), values(CRLM.futureLiverRemnantPercent)
                assert len(timing) == 1 and len(flr) == 1, (rec.iri, timing, flr)
                limit = g.thresholds[THR + ("flr-min-synchronous" if timing[0] == CRLM.Synchronous else "flr-min-metachronous")]
                assert flr[0] >= limit, (rec.iri, timing, flr)
            if ACT.oxaliplatin in c and set(rec.settings) & {CRLM.FirstLineSetting, CRLM.ConversionSetting}:
                assert values(CRLM.oxaliplatinAdjuvantWithin12Months) == [False], (rec.iri, action)
            if ACT.folfoxiri in c:
                assert values(CRLM.fitForIntensiveTherapy) == [True], (rec.iri, action)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(patient_facts(), min_size=BATCH, max_size=BATCH))
def test_safety_invariants(engine, batch):
    files = [to_patient_file(i, f) for i, f in enumerate(batch)]
    results = engine.evaluate(files)
    assert len(results) == BATCH
    for result in results:
        check_invariants(engine.g, result)


def test_invariant_checker_can_fail(engine):
    """The checker itself catches a seeded violation: cetuximab offered to a RAS-mutant patient."""
    import pytest
    from crlm_kg.recommend import GivenRecommendation
    f = {"dx": __import__("datetime").date(2023, 1, 1), "timing": "none", "site": None, "resectability": None, "symptom": None,
         "ras": ["RASMutant"], "kras_variant": False, "braf": None, "mmr": None, "msi": None, "fit": None, "ecog": None,
         "flr": None, "resection_pct": None, "lesions": [], "cea": None, "n": None, "emergency": None, "ned": None,
         "episodes": [], "planned": []}
    result = engine.evaluate([to_patient_file(0, f)])[0]
    rec = next(r for r in engine.g.recommendations if r.strength == CRLM.Consider)
    result.recommendations.append(GivenRecommendation(rec, [ACT.cetuximab], []))
    with pytest.raises(AssertionError):
        check_invariants(engine.g, result)
