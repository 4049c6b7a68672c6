"""The FHIR R4 (4.0.1) resource models used to validate the CPG-on-FHIR export.

fhir.resources 6.4.x is the last release whose default models are FHIR R4 4.0.1 (7.x and later default to R5 and
ship R4B, 4.3.0, as a sub-package). It is written for pydantic 1; when pydantic 2 is installed, its bundled
`pydantic.v1` is put in place of `pydantic` while the models are imported (all of them, eagerly, so that no lazy
import later sees pydantic 2), and the real module is restored at once.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from functools import lru_cache


class ModelsUnavailable(RuntimeError):
    """fhir.resources with FHIR R4 models is not installed."""


def _import_all(package) -> None:
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            importlib.import_module(f"{package.__name__}.{info.name}")


@lru_cache(maxsize=1)
def r4_models():
    """The fhir.resources package with FHIR R4 4.0.1 models, fully imported."""
    try:
        import pydantic
    except ImportError as exc:                      # pragma: no cover - pydantic comes with fhir.resources
        raise ModelsUnavailable(str(exc)) from None
    shim = pydantic.VERSION.startswith("2.")
    saved = {}
    if shim:
        import pydantic.v1 as v1
        subs = {}
        for info in pkgutil.iter_modules(v1.__path__):
            if info.name in ("mypy", "_hypothesis_plugin"):
                continue
            subs[f"pydantic.{info.name}"] = importlib.import_module(f"pydantic.v1.{info.name}")
        saved = {k: m for k, m in sys.modules.items() if k == "pydantic" or k.startswith("pydantic.")}
        sys.modules["pydantic"] = v1
        sys.modules.update(subs)
    try:
        try:
            import fhir.resources as fr
        except ImportError as exc:
            raise ModelsUnavailable(f"fhir.resources is not installed ({exc}); install fhir.resources>=6.4,<6.5") from None
        if getattr(fr, "__fhir_version__", "") != "4.0.1":
            raise ModelsUnavailable(f"fhir.resources {getattr(fr, '__version__', '?')} has FHIR {fr.__fhir_version__} models, "
                                    "not R4 4.0.1; install fhir.resources>=6.4,<6.5")
        _import_all(fr)
        return fr
    finally:
        if shim:
            for k in [k for k in sys.modules if k == "pydantic" or k.startswith("pydantic.")]:
                del sys.modules[k]
            sys.modules.update(saved)


def validate(resource: dict) -> list[str]:
    """Validation errors of one FHIR R4 resource (a Bundle validates its entries too); [] when valid."""
    fr = r4_models()
    try:
        model = fr.get_fhir_model_class(resource.get("resourceType", ""))
    except (KeyError, ValueError) as exc:
        return [f"unknown resourceType: {exc}"]
    try:
        model.parse_obj(resource)
    except Exception as exc:                              # pydantic.v1 ValidationError (or a model's own check)
        return [line for line in str(exc).splitlines() if line.strip()]
    return []


def fhir_version() -> str:
    return r4_models().__fhir_version__
