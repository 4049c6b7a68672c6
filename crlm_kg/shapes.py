"""The fast path for the SPARQL-based SHACL shapes of shapes/: each constraint's SELECT runs once over the whole batch.

SHACL-SPARQL pre-binds $this to each focus node. Here the target (sh:targetClass) is joined into the query instead,
so one query answers for every patient of a batch; for the shapes of this project (one focus class, $this used as a
plain variable) the results are the same, and tests/test_shacl.py checks them against pySHACL, the reference engine.
Messages ({?var} templates, zh and en), severities, flag kinds and sections are read from the shapes graph.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pyoxigraph as ox

from .guideline import Guideline
from .namespaces import SHAPES_GRAPH
from .namespaces import PREFIXES, RDF_TYPE, SH, sparql_prefixes
from .terms import display, to_python

SEVERITY = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass
class CompiledShape:
    shape: str
    constraint: str
    query: str
    kind: str
    severity: str
    section: str
    messages: dict
    trigger: str | None = None     # a predicate the focus must have for any result: skip the query when absent
    action: str | None = None      # plan shapes: the restricted action a planned agent must contain
    core: tuple | None = None      # core constraints: (component, path, value, members, target kind, target IRI)


def _plan_action(select: str) -> str | None:
    """Generated plan shapes: the action a planned agent must contain (`?value (…)* <action>`)."""
    m = re.search(r"crlm:plannedTreatment \?plan \. \?plan crlm:agent \?value \. \?value \(crlm:hasComponent\|crlm:memberOfDrugClass\)\* <([^>]+)>", select)
    return m.group(1) if m else None


def _trigger(select: str, prefixes: dict) -> str | None:
    """The predicate of the first triple pattern when the WHERE clause starts with `$this <p>` (a required pattern)."""
    m = re.search(r"\bWHERE\s*\{\s*\$this\s+(<[^>]+>|[A-Za-z][\w-]*:[\w-]+)\s", select, re.IGNORECASE)
    if not m:
        return None
    term = m.group(1)
    if term.startswith("<"):
        return term[1:-1]
    prefix, local = term.split(":", 1)
    return prefixes[prefix] + local if prefix in prefixes else None


def _inject_target(select: str, target_class: str) -> str:
    text = select.replace("$this", "?this")
    m = re.search(r"\bWHERE\s*\{", text, re.IGNORECASE)
    if not m:
        raise ValueError("SELECT without WHERE")
    return text[:m.end()] + f" ?this a <{target_class}> . " + text[m.end():]


_CORE = {"datatype", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive", "minCount", "maxCount", "in"}
_IGNORED = {"path", "message", "name", "description", "order", "group", "severity", "deactivated"}


def _sparql_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        return f'"{term.value}"^^<{term.datatype.value}>'
    raise ValueError(f"unsupported term in a shape: {term}")


def compile_core(component: str, prop: str, value, members: list | None = None) -> str:
    """One core constraint component on a simple path, as SPARQL over ?this (results: ?this ?value)."""
    p = f"<{prop}>"
    if component == "datatype":
        return f"?this {p} ?value . FILTER(!isLiteral(?value) || DATATYPE(?value) != {_sparql_term(value)})"
    ops = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}
    if component in ops:
        return f"?this {p} ?value . FILTER(COALESCE(?value {ops[component]} {_sparql_term(value)}, false) = false)"
    if component == "in":
        return f"?this {p} ?value . FILTER(?value NOT IN ({', '.join(_sparql_term(m) for m in members)}))"
    n = int(value.value)
    if component == "maxCount":
        return (f"{{ SELECT ?this (GROUP_CONCAT(STR(?v); separator=\", \") AS ?value) (COUNT(DISTINCT ?v) AS ?count) "
                f"WHERE {{ ?this {p} ?v }} GROUP BY ?this }} FILTER(?count > {n})")
    if component == "minCount":
        return (f"OPTIONAL {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?count) WHERE {{ ?this {p} ?v }} GROUP BY ?this }} "
                f"FILTER(COALESCE(?count, 0) < {n})")
    raise ValueError(component)


def _core_fails(comp: str, value, limit, members) -> bool:
    """Whether one value violates one core constraint component (incomparable values violate, as in SHACL)."""
    if comp == "datatype":
        return not isinstance(value, ox.Literal) or value.datatype != limit
    if comp == "in":
        return value not in members
    if not isinstance(value, ox.Literal):
        return True
    try:
        v, lim = to_python(value), to_python(limit)
        if isinstance(v, bool) or isinstance(lim, bool) or type(v) is str or type(lim) is str:
            return True
        return not {"minInclusive": v >= lim, "maxInclusive": v <= lim,
                    "minExclusive": v > lim, "maxExclusive": v < lim}[comp]
    except (TypeError, ValueError):
        return True


class FlagShapes:
    def __init__(self, g: Guideline):
        self.g = g
        self.shapes: list[CompiledShape] = []
        self._compile_core()
        q = lambda text: g.store.query(sparql_prefixes() + text, default_graph=ox.NamedNode(SHAPES_GRAPH))  # noqa: E731
        prefixes: dict = defaultdict(dict)
        for r in q("SELECT ?c ?p ?ns WHERE { ?c sh:prefixes/owl:imports*/sh:declare ?d . ?d sh:prefix ?p ; sh:namespace ?ns }"):
            prefixes[r["c"]][r["p"].value] = r["ns"].value
        rows = q("""SELECT ?shape ?c ?select ?cls ?kind ?sev ?sec WHERE {
                      ?shape sh:targetClass ?cls ; sh:sparql ?c . ?c sh:select ?select .
                      FILTER NOT EXISTS { ?c sh:deactivated true }
                      OPTIONAL { ?shape crlm:flagKind ?kind } OPTIONAL { ?shape sh:severity ?sev }
                      OPTIONAL { ?shape crlm:section ?sec } } ORDER BY ?shape ?c""")
        for r in rows:
            c = r["c"]
            msgs: dict = {}
            for m in g.store.quads_for_pattern(c, ox.NamedNode(SH.message), None, ox.NamedNode(SHAPES_GRAPH)):
                msgs[m.object.language or ""] = m.object.value
            if not msgs:
                for m in g.store.quads_for_pattern(r["shape"], ox.NamedNode(SH.message), None, ox.NamedNode(SHAPES_GRAPH)):
                    msgs[m.object.language or ""] = m.object.value
            pfx = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(prefixes.get(c, {}).items()))
            self.shapes.append(CompiledShape(
                shape=r["shape"].value, constraint=c.value if isinstance(c, ox.NamedNode) else r["shape"].value,
                query=pfx + _inject_target(r["select"].value, r["cls"].value),
                trigger=_trigger(r["select"].value, prefixes.get(c, {})),
                action=_plan_action(r["select"].value),
                kind=r["kind"].value if r["kind"] is not None else "data-contradiction",
                severity=SEVERITY.get(r["sev"].value if r["sev"] is not None else SH.Violation, "violation"),
                section=g.section_number(r["sec"].value) if r["sec"] is not None else "",
                messages=msgs))

    def _compile_core(self) -> None:
        """Property shapes with core constraint components, compiled to SPARQL (unsupported ones fail loudly)."""
        g, SG = self.g, ox.NamedNode(SHAPES_GRAPH)
        q = lambda text: g.store.query(sparql_prefixes() + text, default_graph=SG)  # noqa: E731
        # severity is the property shape's own (SHACL: default sh:Violation, not inherited from the node shape);
        # the flag kind and section are project annotations, read from the node shape
        rows = q("""SELECT ?node ?ps ?path ?target ?kind ?sev ?sec ?tc ?tof WHERE {
                      ?node sh:property ?ps . ?ps sh:path ?path .
                      OPTIONAL { ?node sh:targetClass ?tc } OPTIONAL { ?node sh:targetObjectsOf ?tof }
                      OPTIONAL { ?node crlm:flagKind ?kind } OPTIONAL { ?ps sh:severity ?sev } OPTIONAL { ?node crlm:section ?sec } }
                    ORDER BY ?ps""")
        for r in rows:
            ps = r["ps"]
            if not isinstance(r["path"], ox.NamedNode):
                raise ValueError(f"{ps}: only simple property paths are supported by the fast path")
            if r["tc"] is not None:
                target = f"?this a <{r['tc'].value}> . BIND(?this AS ?patient)"
            elif r["tof"] is not None:
                target = f"?patient <{r['tof'].value}> ?this ."
            else:
                raise ValueError(f"{r['node']}: the fast path needs sh:targetClass or sh:targetObjectsOf")
            msgs = {m.object.language or "": m.object.value for m in g.store.quads_for_pattern(ps, ox.NamedNode(SH.message), None, SG)}
            for quad in g.store.quads_for_pattern(ps, None, None, SG):
                pred = quad.predicate.value
                if not pred.startswith(PREFIXES["sh"]):
                    continue
                comp = pred[len(PREFIXES["sh"]):]
                if comp in _IGNORED:
                    continue
                if comp not in _CORE:
                    raise ValueError(f"{ps.value}: constraint sh:{comp} is not supported by the fast path")
                members = None
                if comp == "in":
                    members = [m["m"] for m in q(f"SELECT ?m WHERE {{ <{ps.value}> sh:in/rdf:rest*/rdf:first ?m }}")]
                body = compile_core(comp, r["path"].value, quad.object, members)
                self.shapes.append(CompiledShape(
                    shape=ps.value if isinstance(ps, ox.NamedNode) else str(ps), constraint=ps.value if isinstance(ps, ox.NamedNode) else str(ps),
                    query=f"SELECT ?this ?patient ?value (<{r['path'].value}> AS ?path) WHERE {{ {target} {body} }}",
                    kind=r["kind"].value if r["kind"] is not None else "data-contradiction",
                    severity=SEVERITY.get(r["sev"].value if r["sev"] is not None else SH.Violation, "violation"),
                    section=g.section_number(r["sec"].value) if r["sec"] is not None else "", messages=msgs,
                    trigger=None if comp == "minCount" else r["path"].value,
                    core=(comp, r["path"].value, quad.object, tuple(members or ()),
                          "class" if r["tc"] is not None else "objectsOf", (r["tc"] or r["tof"]).value)))

    def format(self, template: str, row, lang: str) -> str:
        def sub(m):
            term = row.get(m.group(1)) if isinstance(row, dict) else row[m.group(1)]
            if term is None:
                return m.group(0)
            if isinstance(term, str):
                return term
            if isinstance(term, ox.NamedNode):
                return self.g.label(term.value, lang)
            return display(to_python(term))
        return re.sub(r"\{[?$](\w+)\}", sub, template)

    @staticmethod
    def _core_view(index: dict) -> tuple:
        """Built once per batch for the core constraints: foci by target, and values by (subject, predicate)."""
        by_class: dict = defaultdict(list)
        by_objects_of: dict = defaultdict(list)
        values: dict = defaultdict(list)
        for subject, triples in index.items():
            for p, o, _ in triples:
                values[(subject, p)].append(o)
                if p == RDF_TYPE and isinstance(o, ox.NamedNode):
                    by_class[o.value].append((subject, subject))
                by_objects_of[p].append((subject, o))
        return by_class, by_objects_of, values

    def _core_results(self, s: CompiledShape, view: tuple):
        """Evaluate one core constraint component on the batch (see _core_view), with SHACL's semantics; yields
        (patient, focus, value term or text)."""
        comp, path, limit, members, kind, target = s.core
        by_class, by_objects_of, all_values = view
        foci = by_class.get(target, ()) if kind == "class" else by_objects_of.get(target, ())
        for patient, focus in dict.fromkeys(foci):
            values = list(dict.fromkeys(all_values.get((focus, path), ())))
            if comp == "maxCount":
                if len(values) > int(limit.value):
                    yield patient, focus, ", ".join(display(to_python(v)) if isinstance(v, ox.Literal) else v.value for v in values)
            elif comp == "minCount":
                if len(values) < int(limit.value):
                    yield patient, focus, None
            else:
                for v in values:
                    if _core_fails(comp, v, limit, members):
                        yield patient, focus, v

    def run(self, store: ox.Store, present: set | None = None, planned: set | None = None, index: dict | None = None) -> dict:
        """patient IRI → list of Flag, for every shape result over the current batch. `present`: the predicates
        that occur in the batch (with derived facts); shapes whose trigger predicate is absent cannot fire.
        `planned`: every action contained in a planned agent; plan shapes on other actions cannot fire."""
        from .recommend import Flag
        out: dict = defaultdict(list)
        view = None
        for s in self.shapes:
            if present is not None and s.trigger is not None and s.trigger not in present:
                continue
            if planned is not None and s.action is not None and s.action not in planned:
                continue
            if index is not None and s.core is not None:          # core constraints: no query needed
                if view is None:
                    view = self._core_view(index)
                for patient, focus, value in self._core_results(s, view):
                    row = {"value": value}
                    pkey = patient.value if isinstance(patient, ox.NamedNode) else str(patient)
                    out[pkey].append(Flag(s.kind, s.severity, s.shape, pkey, s.section,
                                          self.format(s.messages.get("en", s.messages.get("", "")), row, "en"),
                                          self.format(s.messages.get("zh", s.messages.get("", "")), row, "zh"),
                                          path=s.core[1]))
                continue
            for row in store.query(s.query, use_default_graph_as_union=True):
                owner = row["patient"] if "?patient" in s.query else None
                this = owner if owner is not None else row["this"]
                focus = this.value
                path = row["path"].value if row["path"] is not None else None
                value = row["value"]
                info = self.g.actions.get(value.value) if isinstance(value, ox.NamedNode) else None
                out[focus].append(Flag(s.kind, s.severity, s.shape, focus, s.section,
                                       self.format(s.messages.get("en", s.messages.get("", "")), row, "en"),
                                       self.format(s.messages.get("zh", s.messages.get("", "")), row, "zh"),
                                       path=path, action=info.key if info else None))
        return out

