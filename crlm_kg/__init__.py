"""crlm-kg: the Chinese CRLM guideline (2023) as a computable knowledge graph.

Library API (heavy modules are imported lazily, so `import crlm_kg` stays cheap):

    from crlm_kg import Engine
    engine = Engine()                                  # load and compile the guideline once
    for result in engine.evaluate_files(["patient.ttl"]):
        print(result.to_json())
"""
__version__ = "0.1.0"

__all__ = ["Engine", "Guideline", "__version__"]


def __getattr__(name):
    if name == "Engine":
        from .recommend import Engine
        return Engine
    if name == "Guideline":
        from .guideline import Guideline
        return Guideline
    raise AttributeError(name)
