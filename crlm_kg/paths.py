"""Where the guideline data files live. The only module that knows the layout of the data directories."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Data directories sit beside the package in a source checkout; an installed wheel carries them under crlm_kg/data.
_ROOT_CANDIDATES = [PACKAGE_DIR.parent, PACKAGE_DIR / "data"]
ROOT = Path(os.environ.get("CRLM_KG_DATA") or next(
    (p for p in _ROOT_CANDIDATES if (p / "ontology" / "crlm.ttl").is_file()), PACKAGE_DIR.parent))

ONTOLOGY_DIR = ROOT / "ontology"
SHAPES_DIR = ROOT / "shapes"
QUERIES_DIR = ROOT / "queries"
DERIVE_DIR = QUERIES_DIR / "derive"
QC_DIR = QUERIES_DIR / "qc"
LIBRARY_DIR = QUERIES_DIR / "library"
EXAMPLES_DIR = ROOT / "examples" / "patients"


def ontology_files() -> list[Path]:
    """Every Turtle file of the ontology: the modules, then the chapter files in order."""
    return sorted(ONTOLOGY_DIR.glob("*.ttl")) + sorted((ONTOLOGY_DIR / "guideline").glob("*.ttl"))


def shape_files() -> list[Path]:
    """Hand-written shapes, then the shapes generated from the ontology (shapes/generated/)."""
    return sorted(SHAPES_DIR.glob("*.ttl")) + sorted((SHAPES_DIR / "generated").glob("*.ttl"))


def derive_rules() -> list[Path]:
    """Derivation rules, applied in file-name order (rules may build on earlier ones)."""
    return sorted(DERIVE_DIR.glob("*.rq"))


def qc_queries() -> list[Path]:
    return sorted(QC_DIR.glob("*-violation.rq"))


def library_queries() -> list[Path]:
    return sorted(LIBRARY_DIR.glob("*.rq"))


# the consistency check's own data: SHACL shapes for the guideline graph itself, extra SPARQL checks and the
# hand-written check model (stated preferences, state space, treatment pathways)
GUIDELINE_SHAPES_DIR = SHAPES_DIR / "guideline"
QC_GUIDELINE_DIR = QUERIES_DIR / "qc-guideline"


def guideline_shape_files() -> list[Path]:
    return sorted(GUIDELINE_SHAPES_DIR.glob("*.ttl"))


def guideline_qc_queries() -> list[Path]:
    return sorted(QC_GUIDELINE_DIR.glob("*.rq"))


def check_model_files() -> list[Path]:
    return sorted(QC_GUIDELINE_DIR.glob("*.ttl"))
