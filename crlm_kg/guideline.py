"""Load the guideline once and compile what the per-patient pipeline needs.

`Guideline.load()` parses the ontology (and shapes) into one pyoxigraph store and compiles, from the graph data:
the recommendations with their criteria, the action requirements and cautions, action closures (regimen components,
drug classes), labels, feature metadata, thresholds and the OWL 2 RL rules. Nothing clinical is written here: every
value comes from the files under ontology/ and shapes/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from . import paths
from .errors import InputError
from .namespaces import CODE_SYSTEMS, CRLM, GUIDELINE_GRAPH, PREFIXES, RDF_TYPE, SHAPES_GRAPH, sparql_prefixes  # noqa: F401
from .terms import IllTyped, to_python



@dataclass(frozen=True)
class Criterion:
    node: str
    kind: str                      # "leaf", "any" or "all"
    feature: str | None = None
    op: str | None = None
    values: tuple = ()
    threshold: str | None = None
    members: tuple = ()


@dataclass
class Recommendation:
    iri: str
    section: str
    strength: str
    direction: str
    settings: tuple
    actions: tuple
    criteria: tuple
    grading: str | None = None
    level: str | None = None
    grade: str | None = None
    schedules: tuple = ()
    parts: tuple = ()              # essential combination parts: tuples of interchangeable actions
    waived: frozenset = frozenset()   # requirements the recommendation's own criteria already cover


@dataclass
class Requirement:
    iri: str
    kind: str                       # "requirement" or "caution"
    action: str
    criteria: tuple
    settings: frozenset
    sections: tuple
    plan_only: bool = False


@dataclass
class Action:
    iri: str
    key: str
    codes: tuple
    closure: frozenset = field(default_factory=frozenset)


def content_key(c: "Criterion") -> tuple:
    """A key that depends only on what a criterion says (blank-node labels change from load to load)."""
    return (c.kind, c.feature or "", c.op or "", tuple(sorted(map(str, c.values))), c.threshold or "",
            tuple(content_key(m) for m in c.members))


def _criterion_order(c: "Criterion") -> tuple:
    """Evaluation order of a recommendation's criteria: equality leaves first (they fail fastest), groups last."""
    rank = 0 if c.kind == "leaf" and c.op in (CRLM.equals, CRLM.oneOf) else 1 if c.kind == "leaf" else 2
    return (rank, content_key(c))


def _q(store: ox.Store, query: str, graph: str = GUIDELINE_GRAPH):
    return store.query(sparql_prefixes() + query, default_graph=ox.NamedNode(graph))


def _v(term):
    return None if term is None else to_python(term)


def parse_rdf_file(path: Path, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> list:
    """Parse one RDF file; syntax errors become InputError with file and line."""
    try:
        return list(ox.parse(path=str(path), format=fmt))
    except SyntaxError as exc:
        line = exc.args[1][1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else None
        message = str(exc.args[0]) if exc.args else str(exc)
        raise InputError(str(path), line, message) from None
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot read: {exc}") from None


class Guideline:
    """The guideline graph and everything compiled from it. Build one per process with `Guideline.load()`."""

    def __init__(self, store: ox.Store, files: list[Path]):
        self.store = store
        self.files = files
        self.labels: dict[str, dict[str, str]] = {}
        self.definitions: dict[str, dict[str, str]] = {}
        self.notations: dict[str, str] = {}
        self.section_numbers: dict[str, str] = {}
        self.thresholds: dict[str, object] = {}
        self.threshold_units: dict[str, str] = {}
        self.ranges: dict[str, str] = {}
        self.functional: set[str] = set()
        self.obtained_by: dict[str, str] = {}
        self.actions: dict[str, Action] = {}
        self.recommendations: list[Recommendation] = []
        self.requirements: list[Requirement] = []
        self.texts: dict[str, dict[str, dict[str, str]]] = {}
        self._compile()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, files: Iterable[Path] | None = None, shapes: Iterable[Path] | None = None) -> "Guideline":
        files = list(files) if files is not None else paths.ontology_files()
        shapes = list(shapes) if shapes is not None else paths.shape_files()
        store = ox.Store()
        g = ox.NamedNode(GUIDELINE_GRAPH)
        for path in files:
            store.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in parse_rdf_file(path))
        sg = ox.NamedNode(SHAPES_GRAPH)
        for path in shapes:
            store.extend(ox.Quad(t.subject, t.predicate, t.object, sg) for t in parse_rdf_file(path))
        return cls(store, files)

    # ------------------------------------------------------------------ compilation
    def _compile(self) -> None:
        st = self.store
        for row in _q(st, "SELECT ?s ?p ?o WHERE { ?s ?p ?o . FILTER(?p IN (rdfs:label, skos:definition, skos:prefLabel)) }"):
            s, p, o = row["s"], row["p"].value, row["o"]
            if isinstance(s, ox.NamedNode) and isinstance(o, ox.Literal):
                target = self.labels if p != PREFIXES["skos"] + "definition" else self.definitions
                target.setdefault(s.value, {}).setdefault(o.language or "", o.value)
        self.orders = {row["s"].value: int(row["o"].value) for row in _q(st, "SELECT ?s ?o WHERE { ?s crlm:order ?o . ?s a crlm:Strength }")}
        for row in _q(st, "SELECT ?s ?n WHERE { ?s skos:notation ?n }"):
            self.notations[row["s"].value] = row["n"].value
        for row in _q(st, "SELECT ?s ?n WHERE { ?s crlm:sectionNumber ?n }"):
            self.section_numbers[row["s"].value] = row["n"].value
        for row in _q(st, "SELECT ?t ?v ?u WHERE { ?t crlm:quantityValue ?v OPTIONAL { ?t crlm:unit ?u } }"):
            self.thresholds[row["t"].value] = to_python(row["v"])
            if row["u"] is not None:
                self.threshold_units[row["t"].value] = row["u"].value
        self.functional = {row["p"].value for row in _q(st, "SELECT ?p WHERE { ?p a owl:FunctionalProperty }")}
        for row in _q(st, "SELECT ?p ?r WHERE { ?p a owl:DatatypeProperty ; rdfs:range ?r }"):
            self.ranges[row["p"].value] = row["r"].value
        for row in _q(st, "SELECT ?p ?a WHERE { ?p crlm:obtainedBy ?a }"):
            self.obtained_by[row["p"].value] = row["a"].value
        for row in _q(st, "SELECT ?s ?p ?o WHERE { ?s ?p ?o . FILTER(?p IN (crlm:sourceText, crlm:population, crlm:message, crlm:strengthAsWritten, crlm:asWritten)) }"):
            o = row["o"]
            self.texts.setdefault(row["s"].value, {}).setdefault(row["p"].value, {})[o.language or ""] = o.value
        self._compile_actions()
        criteria = self._criterion_nodes()
        self.criteria_nodes = criteria
        self._compile_recommendations(criteria)
        self._compile_requirements(criteria)

    def _compile_actions(self) -> None:
        codes: dict[str, list] = {}
        for row in _q(self.store, "SELECT ?a ?m WHERE { ?a a ?k . ?k rdfs:subClassOf* crlm:CareAction . OPTIONAL { ?a skos:exactMatch ?m } }"):
            a = row["a"].value
            codes.setdefault(a, [])
            if row["m"] is not None:
                for system, base in CODE_SYSTEMS.items():
                    if row["m"].value.startswith(base):
                        codes[a].append({"system": system, "code": row["m"].value[len(base):]})
        closure: dict[str, set] = {a: {a} for a in codes}
        for row in _q(self.store, "SELECT ?a ?x WHERE { ?a (crlm:hasComponent|crlm:memberOfDrugClass)+ ?x }"):
            closure.setdefault(row["a"].value, {row["a"].value}).add(row["x"].value)
        for a, cs in codes.items():
            key = self.notations.get(a) or a.rsplit("/", 1)[-1]
            uniq = tuple({(c["system"], c["code"]): c for c in cs}.values())
            self.actions[a] = Action(a, key, uniq, frozenset(closure.get(a, {a})))

    def _criterion_nodes(self) -> dict[str, Criterion]:
        raw: dict[str, dict[str, list]] = {}
        query = """SELECT ?c ?p ?o WHERE { ?x crlm:criterion|crlm:assessedWhen ?top . ?top (crlm:anyOf|crlm:allOf)* ?c . ?c ?p ?o .
                   FILTER(?p IN (crlm:feature, crlm:operator, crlm:value, crlm:literalValue, crlm:threshold, crlm:anyOf, crlm:allOf)) }"""
        for row in _q(self.store, query):
            node = row["c"]
            key = ("_:" + node.value) if isinstance(node, ox.BlankNode) else node.value
            obj = row["o"]
            if isinstance(obj, ox.BlankNode):
                val = "_:" + obj.value
            else:
                try:
                    val = to_python(obj)
                except IllTyped as exc:
                    raise InputError("ontology", None, f"ill-typed literal {exc} in criterion {key}") from None
            raw.setdefault(key, {}).setdefault(row["p"].value, []).append(val)
        built: dict[str, Criterion] = {}

        def build(key: str, depth: int = 0) -> Criterion:
            if key in built:
                return built[key]
            if depth > 20:
                raise InputError("ontology", None, f"criterion {key} nests too deeply (cycle?)")
            props = raw.get(key, {})
            if CRLM.anyOf in props or CRLM.allOf in props:
                kind = "any" if CRLM.anyOf in props else "all"
                members = tuple(sorted((build(m, depth + 1) for m in props.get(CRLM.anyOf if kind == "any" else CRLM.allOf, [])),
                                       key=content_key))   # stable order: by content, not by blank-node label
                crit = Criterion(key, kind, members=members)
            else:
                values = tuple(props.get(CRLM.value, [])) + tuple(props.get(CRLM.literalValue, []))
                thr = props.get(CRLM.threshold, [None])[0]
                crit = Criterion(key, "leaf", feature=(props.get(CRLM.feature) or [None])[0],
                                 op=(props.get(CRLM.operator) or [None])[0], values=values, threshold=thr)
            built[key] = crit
            return crit

        for key in list(raw):
            build(key)
        return built

    def _tops(self, criteria: dict[str, Criterion], cls: str) -> dict[str, list[Criterion]]:
        out: dict[str, list[Criterion]] = {}
        for row in _q(self.store, f"SELECT ?s ?c WHERE {{ ?s a {cls} ; crlm:criterion ?c }}"):
            node = row["c"]
            key = ("_:" + node.value) if isinstance(node, ox.BlankNode) else node.value
            if key in criteria:
                out.setdefault(row["s"].value, []).append(criteria[key])
        return out

    def _compile_recommendations(self, criteria: dict[str, Criterion]) -> None:
        tops = self._tops(criteria, "crlm:Recommendation")
        rows = _q(self.store, """
            SELECT ?r ?sec ?strength ?dir ?grading ?level ?grade
                   (GROUP_CONCAT(DISTINCT STR(?setting); separator=" ") AS ?settings)
                   (GROUP_CONCAT(DISTINCT STR(?action); separator=" ") AS ?acts)
            WHERE { ?r a crlm:Recommendation .
                    OPTIONAL { ?r crlm:section ?sec } OPTIONAL { ?r crlm:strength ?strength . OPTIONAL { ?strength crlm:direction ?dir } }
                    OPTIONAL { ?r crlm:grading ?grading . OPTIONAL { ?grading crlm:evidenceLevel ?level } OPTIONAL { ?grading crlm:grade ?grade } }
                    OPTIONAL { ?r crlm:setting ?setting } OPTIONAL { ?r crlm:action ?action } }
            GROUP BY ?r ?sec ?strength ?dir ?grading ?level ?grade ORDER BY ?r""")
        sched: dict[str, list] = {}
        for row in _q(self.store, """SELECT ?r ?s ?min ?max ?from ?until WHERE { ?r crlm:schedule ?s .
                 OPTIONAL { ?s crlm:intervalMonthsMin ?min } OPTIONAL { ?s crlm:intervalMonthsMax ?max }
                 OPTIONAL { ?s crlm:fromMonth ?from } OPTIONAL { ?s crlm:untilMonth ?until } }"""):
            sched.setdefault(row["r"].value, []).append({k: _v(row[k]) for k in ("min", "max", "from", "until")})
        parts: dict[str, dict] = {}
        for row in _q(self.store, "SELECT ?r ?part ?a WHERE { ?r crlm:combinationPart ?part . ?part crlm:partMember ?a }"):
            parts.setdefault(row["r"].value, {}).setdefault(str(row["part"]), set()).add(row["a"].value)
        waived: dict[str, set] = {}
        for row in _q(self.store, "SELECT ?r ?q WHERE { ?r crlm:waivesRequirement ?q }"):
            waived.setdefault(row["r"].value, set()).add(row["q"].value)
        seen = set()
        for row in rows:
            iri = row["r"].value
            if iri in seen:       # a malformed record with two sections etc. keeps its first row; QC reports it
                continue
            seen.add(iri)
            self.recommendations.append(Recommendation(
                iri=iri, section=_v(row["sec"]) or "", strength=_v(row["strength"]) or "", direction=_v(row["dir"]) or "",
                settings=tuple(sorted(row["settings"].value.split())) if row["settings"] is not None else (),
                actions=tuple(sorted(row["acts"].value.split())) if row["acts"] is not None else (),
                criteria=tuple(sorted(tops.get(iri, []), key=_criterion_order)),
                grading=_v(row["grading"]), level=_v(row["level"]), grade=_v(row["grade"]),
                schedules=tuple(sorted(sched.get(iri, []), key=lambda s: (s["from"] or 0))),
                parts=tuple(tuple(sorted(m)) for m in sorted(parts.get(iri, {}).values(), key=sorted)),
                waived=frozenset(waived.get(iri, ()))))

    def _compile_requirements(self, criteria: dict[str, Criterion]) -> None:
        for cls, kind in (("crlm:ActionRequirement", "requirement"), ("crlm:ActionCaution", "caution")):
            tops = self._tops(criteria, cls)
            for row in _q(self.store, f"""SELECT ?q ?a (GROUP_CONCAT(DISTINCT STR(?s); separator=" ") AS ?settings)
                                          (GROUP_CONCAT(DISTINCT STR(?sec); separator=" ") AS ?secs) (SAMPLE(?po) AS ?planOnly)
                                          WHERE {{ ?q a {cls} ; crlm:restrictedAction ?a .
                                                   OPTIONAL {{ ?q crlm:appliesInSetting ?s }} OPTIONAL {{ ?q crlm:section ?sec }}
                                                   OPTIONAL {{ ?q crlm:planOnly ?po }} }}
                                          GROUP BY ?q ?a ORDER BY ?q"""):
                iri = row["q"].value
                settings = frozenset(row["settings"].value.split()) if row["settings"] is not None else frozenset()
                sections = tuple(sorted(row["secs"].value.split())) if row["secs"] is not None else ()
                plan_only = row["planOnly"] is not None and row["planOnly"].value == "true"
                self.requirements.append(Requirement(iri, kind, row["a"].value, tuple(tops.get(iri, [])), settings, sections, plan_only))

    # ------------------------------------------------------------------ lookups
    def label(self, iri: str, lang: str = "en") -> str:
        labels = self.labels.get(iri)
        if not labels:
            return iri.rsplit("/", 1)[-1]
        return labels.get(lang) or labels.get("en") or labels.get("") or next(iter(labels.values()))

    def text(self, iri: str, prop: str, lang: str) -> str | None:
        return self.texts.get(iri, {}).get(prop, {}).get(lang)

    def section_number(self, iri: str) -> str:
        return self.section_numbers.get(iri, "")

    def notation(self, iri: str | None) -> str | None:
        return None if iri is None else self.notations.get(iri)

    def types_of(self, iri: str) -> set[str]:
        return {q.object.value for q in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDF_TYPE), None,
                                                                     ox.NamedNode(GUIDELINE_GRAPH))}
