"""Hypothesis strategies for whole patient records (as pyoxigraph triples), wide enough to hit every pathway:
timing, resectability group, symptoms, biomarkers (including unknown and contradictory), fitness, remnant volumes
around the thresholds, and treatment histories with oxaliplatin adjuvant therapy near the 12-month window."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyoxigraph as ox
from hypothesis import strategies as st

from crlm_kg.namespaces import ACT, CRLM, RDF_TYPE, XSD
from crlm_kg.patients import PatientFile

N = ox.NamedNode
B = lambda v: ox.Literal("true" if v else "false", datatype=N(XSD.boolean))  # noqa: E731
I = lambda v: ox.Literal(str(v), datatype=N(XSD.integer))  # noqa: E741,E731
D = lambda v: ox.Literal(str(v), datatype=N(XSD.decimal))  # noqa: E731
DATE = lambda v: ox.Literal(v.isoformat(), datatype=N(XSD.date))  # noqa: E731

SITES = ["Caecum", "AscendingColon", "TransverseColon", "SplenicFlexure", "DescendingColon", "SigmoidColon", "Rectum"]
AGENTS = ["folfox", "capeox", "folfiri", "folfoxiri", "fluorouracil-leucovorin", "capecitabine-mono", "bevacizumab",
          "cetuximab", "panitumumab", "pembrolizumab", "mxeliri", "hepatectomy", "rfa", "hai"]
SETTINGS = ["AdjuvantSetting", "NeoadjuvantSetting", "FirstLineSetting", "ConversionSetting", "SecondLineSetting",
            "ThirdLineSetting", "MaintenanceSetting"]
RESPONSES = ["CompleteResponse", "PartialResponse", "StableDisease", "ProgressiveDisease"]


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def episode(draw, lm_date):
    start = lm_date + dt.timedelta(days=draw(st.integers(-900, 400)))
    end = start + dt.timedelta(days=draw(st.integers(0, 240)))
    return {"agents": draw(st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2, unique=True)),
            "setting": draw(st.sampled_from(SETTINGS)), "start": start, "end": draw(maybe(st.just(end))),
            "response": draw(maybe(st.sampled_from(RESPONSES)))}


@st.composite
def patient_facts(draw):
    dx = dt.date(2022, 1, 1) + dt.timedelta(days=draw(st.integers(0, 1000)))
    timing = draw(st.sampled_from(["sync", "meta", "none"]))
    f = {"dx": dx, "timing": timing}
    if timing == "meta":
        f["rx"] = dx + dt.timedelta(days=draw(st.integers(5, 60)))
        f["lm"] = f["rx"] + dt.timedelta(days=draw(st.integers(30, 900)))
    elif timing == "sync":
        f["lm"] = dx + dt.timedelta(days=draw(st.integers(-10, 0)))
        f["rx"] = draw(maybe(st.just(dx + dt.timedelta(days=30))))
    f["site"] = draw(maybe(st.sampled_from(SITES)))
    f["resectability"] = draw(maybe(st.sampled_from(["InitiallyResectable", "PotentiallyConvertible", "NeverNED"])))
    f["symptom"] = draw(maybe(st.sampled_from(["Bleeding", "Obstruction", "Perforation", "NoPrimarySymptom"])))
    f["ras"] = draw(st.lists(st.sampled_from(["RASWildType", "RASMutant"]), max_size=2, unique=True))
    f["kras_variant"] = draw(st.booleans()) if not f["ras"] else False
    f["braf"] = draw(maybe(st.sampled_from(["BRAFV600EMutant", "BRAFWildType"])))
    f["mmr"] = draw(maybe(st.sampled_from(["dMMR", "pMMR"])))
    f["msi"] = draw(maybe(st.sampled_from(["MSIHigh", "MSILow", "MSS"])))
    f["fit"] = draw(maybe(st.booleans()))
    f["ecog"] = draw(maybe(st.integers(0, 4)))
    f["flr"] = draw(maybe(st.sampled_from([15, 25, 29.9, 30, 35, 39.9, 40, 45, 60])))
    f["resection_pct"] = draw(maybe(st.sampled_from([30, 59, 60, 69, 75])))
    f["lesions"] = draw(st.lists(st.sampled_from([0.8, 1.5, 2.9, 3.0, 4.5, 6.0]), max_size=4))
    f["cea"] = draw(maybe(st.sampled_from([3, 150, 250])))
    f["n"] = draw(maybe(st.sampled_from(["N0", "N1", "N2"])))
    f["emergency"] = draw(maybe(st.booleans()))
    f["ned"] = draw(maybe(st.booleans()))
    f["episodes"] = draw(st.lists(episode(f.get("lm", dx)), max_size=3))
    f["planned"] = draw(st.lists(st.sampled_from(AGENTS), max_size=2, unique=True))
    return f


def to_patient_file(i: int, f: dict) -> PatientFile:
    p = N(f"https://example.org/crlm/generated/p{i}")
    t: list = [ox.Triple(p, N(RDF_TYPE), N(CRLM.Patient))]
    add = lambda s, pred, o: t.append(ox.Triple(s, N(pred), o))  # noqa: E731
    add(p, CRLM.crcDiagnosisDate, DATE(f["dx"]))
    if f["timing"] == "none":
        add(p, CRLM.liverMetastasis, B(False))
        add(p, CRLM.distantMetastasis, B(False))
    else:
        add(p, CRLM.liverMetastasisDiagnosisDate, DATE(f["lm"]))
    if f.get("rx"):
        add(p, CRLM.primaryResectionDate, DATE(f["rx"]))
        add(p, CRLM.primaryRadicallyResected, B(True))
    for key, prop in (("site", CRLM.primarySite), ("resectability", CRLM.resectability), ("symptom", CRLM.primarySymptom),
                      ("braf", CRLM.brafStatus), ("mmr", CRLM.mmrStatus), ("msi", CRLM.msiStatus), ("n", CRLM.nCategory)):
        if f[key]:
            add(p, prop, N(CRLM[f[key]]))
    for r in f["ras"]:
        add(p, CRLM.rasStatus, N(CRLM[r]))
    if f["kras_variant"]:
        v = ox.BlankNode()
        add(p, CRLM.hasGenomicVariant, v)
        add(v, CRLM.gene, N(CRLM.KRAS))
        add(v, CRLM.proteinChange, ox.Literal("p.G12C"))
    for key, prop, conv in (("fit", CRLM.fitForIntensiveTherapy, B), ("ecog", CRLM.ecogScore, I),
                            ("flr", CRLM.futureLiverRemnantPercent, D), ("resection_pct", CRLM.plannedResectionPercent, D),
                            ("cea", CRLM.ceaNgPerMl, D), ("emergency", CRLM.emergencySurgery, B), ("ned", CRLM.nedAchieved, B)):
        if f[key] is not None:
            add(p, prop, conv(f[key]))
    for d in f["lesions"]:
        node = ox.BlankNode()
        add(p, CRLM.hasLiverLesion, node)
        add(node, CRLM.diameterCm, D(d))
    for e in f["episodes"]:
        node = ox.BlankNode()
        add(p, CRLM.hasTreatment, node)
        for a in e["agents"]:
            add(node, CRLM.agent, N(ACT[a]))
        add(node, CRLM.treatmentSetting, N(CRLM[e["setting"]]))
        add(node, CRLM.startDate, DATE(e["start"]))
        if e["end"]:
            add(node, CRLM.endDate, DATE(e["end"]))
        if e["response"]:
            add(node, CRLM.response, N(CRLM[e["response"]]))
    for a in f["planned"]:
        node = ox.BlankNode()
        add(p, CRLM.plannedTreatment, node)
        add(node, CRLM.agent, N(ACT[a]))
    return PatientFile(Path(f"<generated p{i}>"), t, [p.value])
