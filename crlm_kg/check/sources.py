"""Where the consistency check's data files live: re-exported from crlm_kg/paths.py (the one module that knows the
data layout)."""
from ..paths import (GUIDELINE_SHAPES_DIR, QC_GUIDELINE_DIR, check_model_files, guideline_qc_queries,  # noqa: F401
                     guideline_shape_files)
