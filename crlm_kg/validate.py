"""SHACL validation of patient records (crlm-kg validate), with three interchangeable engines.

- fast (default): the engine's compiled shapes on Oxigraph (crlm_kg/shapes.py), one query per shape per batch;
- pyshacl: the reference engine, on an rdflib data graph;
- rudof: pyrudof (Rust), an independent implementation.

All three validate the same data graph: the record, its derived facts (queries/derive/, OWL 2 RL) and the support
part of the guideline the shapes and rules read (Engine.support_quads: thresholds, regimen composition, drug
classes, types).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .namespaces import SHAPES_GRAPH
from .errors import InputError
from .namespaces import PREFIXES, RDF_TYPE, SH
from .terms import to_rdflib

ENGINES = ("fast", "pyshacl", "rudof")
_SEV = {"Violation": "violation", "Warning": "warning", "Info": "info",
        SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass
class ValidationResult:
    patient: str
    shape: str
    focus: str
    path: str | None
    severity: str
    kind: str = ""
    section: str = ""
    message_en: str = ""
    message_zh: str = ""
    value: str | None = None

    def key(self) -> tuple:
        return (self.patient, self.shape, self.path or "")


@dataclass
class PatientReport:
    patient: str
    source: str
    results: list = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "violation" for r in self.results)





class Validator:
    def __init__(self, engine=None):
        if engine is None:
            from .recommend import Engine
            engine = Engine()
        self.engine = engine
        self.g = engine.g
        self._support = None
        self._shapes_rdflib = None
        self._shapes_text = None

    # ------------------------------------------------------------------ data
    def support_triples(self) -> list:
        """The part of the guideline the shapes read (Engine.shape_support_quads); derived facts come computed."""
        if self._support is None:
            self._support = [ox.Triple(q.subject, q.predicate, q.object) for q in self.engine.shape_support_quads()]
        return self._support

    def shapes_turtle(self) -> bytes:
        if self._shapes_text is None:
            quads = self.g.store.quads_for_pattern(None, None, None, ox.NamedNode(SHAPES_GRAPH))
            self._shapes_text = ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                                             format=ox.RdfFormat.TURTLE)
        return self._shapes_text

    def validate_files(self, inputs, engine: str = "fast") -> list[PatientReport]:
        from .patients import expand_inputs
        files = [self.engine.reader.read(p) for p in expand_inputs([str(i) for i in inputs])]
        return self.validate(files, engine)

    def validate(self, files, engine: str = "fast") -> list[PatientReport]:
        if engine not in ENGINES:
            raise ValueError(f"unknown SHACL engine {engine!r}; choose one of {', '.join(ENGINES)}")
        store = self.engine.batch_store(files)
        try:
            self.engine.deriver.run()
            if engine == "fast":
                index = self.engine._index()
                present = {p for triples in index.values() for p, _, _ in triples}
                flags = self.engine.shapes.run(store, present, index=index)
                results = [ValidationResult(p, f.constraint, f.focus, f.path, f.severity, f.kind, f.section,
                                            f.message_en, f.message_zh) for p, fs in flags.items() for f in fs]
            else:
                data = [ox.Triple(q.subject, q.predicate, q.object)
                        for g in self.engine.deriver.graphs for q in store.quads_for_pattern(None, None, None, g)]
                data += self.support_triples()
                results = (self._pyshacl if engine == "pyshacl" else self._rudof)(data)
        finally:
            self.engine.deriver.use(self.g.store)
        reports = []
        for pf in files:
            for patient in pf.patients:
                mine = sorted((r for r in results if r.patient == patient), key=lambda r: (r.severity, r.shape, r.path or ""))
                reports.append(PatientReport(patient, str(pf.path), mine))
        return reports

    # ------------------------------------------------------------------ reference engines
    def _owners(self, data) -> dict:
        patients = {t.subject.value for t in data if t.predicate.value == RDF_TYPE and t.object.value == PREFIXES["crlm"] + "Patient"}
        owner = {}
        for t in data:
            if t.subject.value in patients and not isinstance(t.object, ox.Literal):
                owner.setdefault(t.object.value, t.subject.value)
        return {**owner, **{p: p for p in patients}}

    def _pyshacl(self, data) -> list[ValidationResult]:
        import pyshacl
        import rdflib
        data_graph = rdflib.Graph()          # built term by term, so blank nodes keep their identity
        for t in data:
            data_graph.add(tuple(to_rdflib(x) for x in (t.subject, t.predicate, t.object)))
        if self._shapes_rdflib is None:
            self._shapes_rdflib = rdflib.Graph().parse(data=self.shapes_turtle(), format="turtle")
        _, report, text = pyshacl.validate(data_graph, shacl_graph=self._shapes_rdflib, inference="none",
                                           advanced=False, allow_warnings=True)
        if not isinstance(report, rdflib.Graph):           # pySHACL refused the shapes graph itself
            raise InputError("shapes", None, f"pySHACL cannot run the shapes: {report}")
        owners = self._owners(data)
        SHN = rdflib.Namespace(PREFIXES["sh"])
        out = []
        for res in report.subjects(rdflib.RDF.type, SHN.ValidationResult):
            focus = report.value(res, SHN.focusNode)
            shape = report.value(res, SHN.sourceShape)
            path = report.value(res, SHN.resultPath)
            sev = report.value(res, SHN.resultSeverity)
            fkey = str(focus) if not isinstance(focus, rdflib.BNode) else str(focus)
            out.append(ValidationResult(owners.get(fkey, fkey), str(shape), fkey, str(path) if path is not None else None,
                                        _SEV.get(str(sev), "violation"),
                                        message_en=" ".join(str(m) for m in report.objects(res, SHN.resultMessage) if getattr(m, "language", None) != "zh")))
        return out

    def _rudof(self, data) -> list[ValidationResult]:
        import pyrudof
        r = pyrudof.Rudof(pyrudof.RudofConfig())
        r.read_data(ox.serialize(data, format=ox.RdfFormat.TURTLE).decode("utf-8"))
        r.read_shacl(self.shapes_turtle().decode("utf-8"))
        report = r.validate_shacl()
        owners = self._owners(data)
        out = []
        for v in report.violations:
            focus = v.focus_node.strip("<>")
            key = focus[2:] if focus.startswith("_:") else focus
            patient = owners.get(key) or owners.get(focus, focus)
            path = v.path.strip("<>") if v.path else None
            out.append(ValidationResult(patient, v.source_shape.strip("<>"), focus, path, _SEV.get(v.severity, "violation"),
                                        message_en=v.message.strip('"')))
        return out
