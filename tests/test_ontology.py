"""The ontology as a whole: parses identically in two parsers, holds the 48 graded statements of the text with their
exact (level, grade) pairs, has at least 90 recommendations, uses every action the text mentions, passes every QC
query, and stays in sync with the controlled action list."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pyoxigraph as ox
import pytest
import rdflib

from crlm_kg import paths

SHARED = paths.ROOT.parent / "shared"
GUIDELINE_TEXT = SHARED / "guideline" / "crlm-guideline-2023.zh.md"
needs_text = pytest.mark.skipif(not GUIDELINE_TEXT.is_file(), reason="shared/ (the guideline text) not beside the checkout")

# The text's graded statements counted by (level, grade): read off the guideline by the methodologist (issue 2).
EXPECTED_GRADINGS = {("1a", "A"): 10, ("1b", "A"): 8, ("1c", "B"): 1, ("2a", "B"): 8, ("2b", "B"): 8,
                     ("2c", "B"): 2, ("3a", "B"): 3, ("3b", "B"): 6, ("4", "C"): 2}


@pytest.fixture(scope="module")
def union():
    store = ox.Store()
    for f in paths.ontology_files():
        store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                     for t in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
    return store


@pytest.mark.parametrize("path", paths.ontology_files(), ids=lambda p: p.name)
def test_two_parsers_agree(path):
    g = rdflib.Graph().parse(path, format="turtle")
    ox_triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    assert len(g) == len(set(map(str, ox_triples))) > 0


def test_graded_statements_match_the_text(union):
    rows = union.query("""PREFIX crlm: <https://w3id.org/crlm-kg/def/> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?g ?l ?gr WHERE { ?g a crlm:EvidenceGrading ; crlm:evidenceLevel/skos:notation ?l ; crlm:grade/skos:notation ?gr }""")
    counts = Counter((r["l"].value, r["gr"].value) for r in rows)
    assert dict(counts) == EXPECTED_GRADINGS
    assert sum(counts.values()) == 48


def test_every_graded_recommendation_carries_a_text_pair(guideline):
    graded = [r for r in guideline.recommendations if r.grading]
    assert all(r.level and r.grade for r in graded)
    pairs = {(guideline.notation(r.level), guideline.notation(r.grade)) for r in graded}
    assert pairs <= set(EXPECTED_GRADINGS)


def test_at_least_90_recommendations(guideline):
    assert len(guideline.recommendations) >= 90


def test_every_chapter_has_recommendations(guideline):
    chapters = Counter(guideline.section_number(r.section)[:2] for r in guideline.recommendations)
    assert set(chapters) >= {"一、", "二、", "三、", "四、", "五、", "六、"}


@needs_text
def test_actions_mentioned_in_the_text_are_used(guideline):
    """Every action key whose Chinese label (or its core term) occurs in the guideline text is used by a recommendation
    (directly, or as a drug of a regimen a recommendation names)."""
    text = (SHARED / "guideline" / "crlm-guideline-2023.zh.md").read_text(encoding="utf-8")
    used = {x for r in guideline.recommendations for a in r.actions
            for x in (guideline.actions[a].closure if a in guideline.actions else {a})}   # a regimen uses its drugs
    missing = []
    for iri, action in guideline.actions.items():
        zh = guideline.label(iri, "zh")
        core = zh.split("(")[0].split("(")[0].replace("方案", "").replace("单克隆抗体", "单克隆抗体")
        if (zh in text or (len(core) >= 2 and core in text)) and iri not in used:
            missing.append(action.key)
    assert not missing, f"actions mentioned in the text but used by no recommendation: {missing}"


@pytest.mark.parametrize("query", paths.qc_queries(), ids=lambda p: p.name)
def test_qc_query_returns_no_rows(union, query):
    rows = list(union.query(query.read_text(encoding="utf-8")))
    assert rows == [], f"{query.name}: {[[str(v) for v in r] for r in rows[:10]]}"


def test_qc_queries_exist():
    assert len(paths.qc_queries()) >= 15


@pytest.mark.skipif(not (SHARED / "terms" / "actions.csv").is_file(), reason="shared/terms not beside the checkout")
def test_actions_ttl_is_generated_from_the_csv():
    fresh = subprocess.run([sys.executable, str(paths.ROOT / "tools" / "gen_actions.py"), str(SHARED / "terms" / "actions.csv")],
                           capture_output=True, text=True, check=True).stdout
    assert fresh == (paths.ONTOLOGY_DIR / "actions.ttl").read_text(encoding="utf-8")


@needs_text
def test_source_texts_are_verbatim(guideline):
    """Every Chinese source text is a verbatim extract of the guideline (ignoring line breaks)."""
    text = (SHARED / "guideline" / "crlm-guideline-2023.zh.md").read_text(encoding="utf-8")
    flat = "".join(text.split())
    bad = []
    for rec in guideline.recommendations:
        zh = guideline.text(rec.iri, "https://w3id.org/crlm-kg/def/sourceText", "zh")
        for piece in (zh or "").replace("…", "\n").split("\n"):
            piece = "".join(piece.split())
            if piece and piece not in flat:
                bad.append(rec.iri)
                break
    assert not bad, bad[:10]


def test_generated_files_are_up_to_date():
    """docs/coverage.md and shapes/generated/requirements.ttl equal a fresh generation from the ontology."""
    from crlm_kg.coverage import coverage_markdown
    from crlm_kg.guideline import Guideline
    from crlm_kg.shapegen import generate
    assert (paths.ROOT / "docs" / "coverage.md").read_text(encoding="utf-8") == coverage_markdown()
    assert (paths.SHAPES_DIR / "generated" / "requirements.ttl").read_text(encoding="utf-8") == generate(Guideline.load(shapes=[]))
