"""Seeded synthetic patient records with realistic distributions of the facts the guideline decides on.

Distributions (approximate, from the guideline's own framing and common CRLM epidemiology; for benchmarking only):
~50% synchronous / 35% metachronous / 15% without metastases; 30/45/25% initially resectable / potentially
convertible / never NED among metastatic patients; RAS mutant ~45%, BRAF V600E ~8%, dMMR/MSI-H ~4%; left-sided ~70%;
85% fit for intensive therapy; 25% with a symptomatic primary; treatment histories with adjuvant oxaliplatin and
0–2 progressions; a planned treatment for one patient in three.
"""
from __future__ import annotations

import datetime as dt
import random

PREFIX = """@prefix crlm: <https://w3id.org/crlm-kg/def/> .
@prefix act: <https://w3id.org/crlm-kg/action/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/crlm/synthetic/> .
"""
LEFT = ["SplenicFlexure", "DescendingColon", "SigmoidColon", "Rectum"]
RIGHT = ["Caecum", "AscendingColon", "HepaticFlexure", "TransverseColon"]


def _d(day: dt.date) -> str:
    return f'"{day.isoformat()}"^^xsd:date'


def patient(rng: random.Random, i: int) -> str:
    facts = [f"ex:p{i} a crlm:Patient"]
    add = facts.append
    dx = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(1200))
    add(f"crlm:crcDiagnosisDate {_d(dx)}")
    site = rng.choice(LEFT) if rng.random() < 0.7 else rng.choice(RIGHT)
    add(f"crlm:primarySite crlm:{site}")
    if site == "Rectum":
        add(f"crlm:distanceFromAnalVergeCm {rng.choice([4.0, 6.5, 9.0, 13.0])}")
    add(f"crlm:nCategory crlm:{rng.choice(['N0', 'N1', 'N2'])}")
    add(f"crlm:tCategory crlm:{rng.choice(['T2', 'T3', 'T3', 'T4'])}")
    kind = rng.random()
    if kind < 0.15:
        add("crlm:liverMetastasis false ; crlm:distantMetastasis false")
        add(f"crlm:stageGroup crlm:{rng.choice(['StageII', 'StageIII'])}")
        add(f"crlm:lymphNodesExamined {rng.randint(6, 30)} ; crlm:highRiskFactorsAssessed true")
        add(f"crlm:primaryRadicallyResected true ; crlm:primaryResectionDate {_d(dx + dt.timedelta(days=20))}")
        return " ;\n    ".join(facts) + " .\n"
    synchronous = kind < 0.65
    add("crlm:stageGroup crlm:StageIV ; crlm:distantMetastasis true")
    if synchronous:
        lm = dx
        add(f"crlm:primarySymptom crlm:{rng.choice(['NoPrimarySymptom'] * 3 + ['Bleeding', 'Obstruction'])}")
        add(f"crlm:primaryResectable {str(rng.random() < 0.9).lower()}")
    else:
        rx = dx + dt.timedelta(days=rng.randint(10, 40))
        lm = rx + dt.timedelta(days=rng.randint(120, 1000))
        add(f"crlm:primaryResectionDate {_d(rx)} ; crlm:primaryRadicallyResected true")
        if rng.random() < 0.6:
            end = rx + dt.timedelta(days=rng.randint(90, 200))
            add(f"crlm:hasTreatment [ a crlm:TreatmentEpisode ; crlm:agent act:{rng.choice(['capeox', 'folfox'])} ; "
                f"crlm:treatmentSetting crlm:AdjuvantSetting ; crlm:startDate {_d(rx + dt.timedelta(days=30))} ; crlm:endDate {_d(end)} ]")
    add(f"crlm:liverMetastasisDiagnosisDate {_d(lm)}")
    for _ in range(rng.choice([1, 1, 2, 3, 5])):
        add(f"crlm:hasLiverLesion [ a crlm:LiverLesion ; crlm:diameterCm {round(rng.uniform(0.8, 8.0), 1)} ]")
    add(f"crlm:ceaNgPerMl {round(rng.lognormvariate(3, 1.5), 1)}")
    add(f"crlm:resectability crlm:{rng.choices(['InitiallyResectable', 'PotentiallyConvertible', 'NeverNED'], [30, 45, 25])[0]}")
    add(f"crlm:futureLiverRemnantPercent {round(rng.uniform(20, 70), 1)}")
    add(f"crlm:ecogScore {rng.choices([0, 1, 2, 3], [45, 40, 10, 5])[0]}")
    if rng.random() < 0.85:
        add("crlm:fitForIntensiveTherapy true")
    add(f"crlm:rasStatus crlm:{'RASMutant' if rng.random() < 0.45 else 'RASWildType'}")
    add(f"crlm:brafStatus crlm:{'BRAFV600EMutant' if rng.random() < 0.08 else 'BRAFWildType'}")
    deficient = rng.random() < 0.04
    add(f"crlm:mmrStatus crlm:{'dMMR' if deficient else 'pMMR'} ; crlm:msiStatus crlm:{'MSIHigh' if deficient else 'MSS'}")
    add("crlm:extrahepaticDisease crlm:" + rng.choices(["NoExtrahepaticDisease", "ResectableExtrahepaticDisease",
                                                         "UnresectableExtrahepaticDisease"], [75, 15, 10])[0])
    start = lm + dt.timedelta(days=20)
    for line in range(rng.choices([0, 1, 2], [60, 25, 15])[0]):
        end = start + dt.timedelta(days=rng.randint(90, 240))
        add(f"crlm:hasTreatment [ a crlm:TreatmentEpisode ; crlm:agent act:{['folfox', 'folfiri'][line % 2]} ; "
            f"crlm:treatmentSetting crlm:{['FirstLineSetting', 'SecondLineSetting'][line]} ; crlm:startDate {_d(start)} ; "
            f"crlm:endDate {_d(end)} ; crlm:response crlm:ProgressiveDisease ]")
        start = end + dt.timedelta(days=14)
    if rng.random() < 0.33:
        add(f"crlm:plannedTreatment [ a crlm:PlannedTreatment ; crlm:agent act:{rng.choice(['folfox', 'cetuximab', 'hepatectomy', 'folfoxiri', 'bevacizumab'])} ]")
    return " ;\n    ".join(facts) + " .\n"


def cohort_turtle(n: int, seed: int = 2023, start: int = 0) -> list[str]:
    """n patient records (one Turtle document each), reproducible from the seed."""
    rng = random.Random(seed)
    return [PREFIX + patient(rng, start + i) for i in range(n)]
