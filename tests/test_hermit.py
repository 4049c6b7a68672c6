"""HermiT (OWL 2 DL, through owlready2 and Java) finds the whole ontology consistent with no unsatisfiable class."""
from __future__ import annotations

import shutil

import pyoxigraph as ox
import pytest

from crlm_kg import paths
from crlm_kg.check.hermit import run_hermit


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")
def test_hermit_consistent_no_unsatisfiable_class():
    triples = [t for f in paths.ontology_files() for t in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE)]
    report = run_hermit(triples)
    assert report.consistent, report.message
    assert report.unsatisfiable == []


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")
def test_hermit_detects_an_inconsistency():
    """The check can fail: a patient typed both fit and unfit for intensive therapy contradicts the functional property."""
    triples = [t for f in paths.ontology_files() for t in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE)]
    extra = ox.parse(input=b"""@prefix crlm: <https://w3id.org/crlm-kg/def/> .
        <https://example.org/x> a crlm:UnfitForIntensiveTherapyPatient , crlm:FitForIntensiveTherapyPatient .""",
                     format=ox.RdfFormat.TURTLE)
    report = run_hermit(triples + list(extra))
    assert not report.consistent
