"""Read patient records (Turtle) and reject bad input with the file and line.

Checks, all driven by the ontology: the file parses; it has at least one crlm:Patient; every crlm: property used is
declared; a datatype property carries a literal of its declared range and an object property an IRI or node; every
crlm: value used is declared. Properties outside the crlm: namespace are kept and ignored by the engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .errors import InputError
from .guideline import Guideline, parse_rdf_file
from .namespaces import CRLM, GUIDELINE_GRAPH, PREFIXES, RDF_TYPE, compact
from .terms import IllTyped, python_matches_datatype, to_python

_CRLM = PREFIXES["crlm"]
_ACT = PREFIXES["act"]


@dataclass
class PatientFile:
    path: Path
    triples: list
    patients: list[str]


def expand_inputs(items, suffixes: tuple = (".ttl",), recursive: bool = False) -> list[Path]:
    """FILE_OR_DIR arguments → files: a directory gives its files with one of the suffixes (sorted; below it too
    when recursive). An unknown path or a directory without such files is bad input."""
    out: list[Path] = []
    for item in items or ():
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in (p.rglob("*") if recursive else p.iterdir())
                           if f.is_file() and f.suffix.lower() in suffixes)
            if not found:
                raise InputError(str(p), None, f"directory has no {', '.join(suffixes)} files")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(str(p), None, "no such file or directory")
    return out


def _line_of(path: Path, needles: list[str]) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    needles = [n for n in needles if n]
    for k in range(len(needles), 0, -1):
        for i, line in enumerate(lines, 1):
            if all(n in line for n in needles[:k]):
                return i
    return None


def _local(iri: str) -> str:
    return re.split(r"[/#]", iri)[-1]


class PatientReader:
    def __init__(self, guideline: Guideline):
        g = guideline
        self.ranges = g.ranges
        store, graph = g.store, ox.NamedNode(GUIDELINE_GRAPH)
        self.object_props = {q.subject.value for q in store.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), ox.NamedNode(PREFIXES["owl"] + "ObjectProperty"), graph)}
        self.declared = {q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, graph)
                         if isinstance(q.subject, ox.NamedNode)}

    def read(self, path: Path) -> PatientFile:
        triples = parse_rdf_file(path)
        if not triples:
            raise InputError(str(path), None, "empty graph: no triples")
        patients = sorted({t.subject.value for t in triples
                           if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode)
                           and t.object.value == CRLM.Patient and isinstance(t.subject, ox.NamedNode)})
        if not patients:
            raise InputError(str(path), None, f"no patient: no node is typed {compact(CRLM.Patient)}")
        for t in triples:
            self._check(path, t)
        return PatientFile(path, triples, patients)

    def _check(self, path: Path, t) -> None:
        p = t.predicate.value
        if p.startswith(_CRLM):
            if p not in self.declared:
                raise InputError(str(path), _line_of(path, [_local(p)]),
                                 f"unknown property {compact(p)} (see docs/patient-model.md)")
            if p in self.object_props and isinstance(t.object, ox.Literal):
                raise InputError(str(path), _line_of(path, [_local(p), t.object.value]),
                                 f"{compact(p)} takes a concept or node, not the literal \"{t.object.value}\"")
            rng = self.ranges.get(p)
            if rng is not None:
                if not isinstance(t.object, ox.Literal):
                    raise InputError(str(path), _line_of(path, [_local(p)]),
                                     f"{compact(p)} takes a literal of type {compact(rng)}, not {t.object}")
                try:
                    value = to_python(t.object)
                except IllTyped:
                    raise InputError(str(path), _line_of(path, [_local(p), t.object.value]),
                                     f"\"{t.object.value}\" is not a valid {compact(t.object.datatype.value)} for {compact(p)}") from None
                if not python_matches_datatype(value, rng):
                    raise InputError(str(path), _line_of(path, [_local(p), t.object.value]),
                                     f"{compact(p)} expects {compact(rng)}, got \"{t.object.value}\" ({compact(t.object.datatype.value)})")
        o = t.object
        if isinstance(o, ox.NamedNode) and (o.value.startswith(_CRLM) or o.value.startswith(_ACT)) and o.value not in self.declared:
            raise InputError(str(path), _line_of(path, [_local(o.value)]), f"unknown term {compact(o.value)}")
