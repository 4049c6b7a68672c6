"""The check model (queries/qc-guideline/*.ttl): what the consistency check knows beyond the guideline graph.

Everything here is data read from the model files: preferences the text states, conditions that make actions
unavailable, hedged strength pairs, the coverage state space, the witness encoding and the treatment pathways. The
model's criteria use the guideline's criterion vocabulary and are compiled by the same code (Guideline), in a store
of their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..guideline import GUIDELINE_GRAPH, Guideline
from ..namespaces import CRLM, PREFIXES, sparql_prefixes
from ..terms import to_python
from .. import paths


@dataclass
class Unavailability:
    iri: str
    actions: frozenset
    criteria: tuple
    sections: tuple


@dataclass
class Profile:
    node: str
    label_en: str
    label_zh: str
    facts: dict                     # feature -> list of values
    excluded_with: frozenset = frozenset()


@dataclass
class Dimension:
    iri: str
    label_en: str
    label_zh: str
    profiles: list


@dataclass
class CoverageQuestion:
    iri: str
    label_en: str
    label_zh: str
    settings: frozenset              # a for-recommendation in one of these settings answers the question
    criteria: tuple                  # the states the question is asked of (empty: all)


@dataclass
class StateSpace:
    iri: str
    base: Profile
    dimensions: list
    questions: list


@dataclass
class WitnessEncoding:
    line_feature: str | None = None
    progression_feature: str | None = None
    history_feature: str | None = None
    any_treatment_feature: str | None = None
    agent_classes: tuple = ()
    progression_settings: tuple = ()
    progression_response: str | None = None
    history_setting: str | None = None


@dataclass
class PathwayState:
    iri: str
    order: int
    settings: frozenset
    criteria: tuple
    sections: tuple
    entry: bool = False
    terminal: bool = False


@dataclass
class PathwayTransition:
    iri: str
    source: str
    target: str
    criteria: tuple
    loop: bool = False
    interval: tuple = ()            # threshold IRIs


@dataclass
class CheckModel:
    g: Guideline                                        # the model files, compiled (labels, criteria)
    preferences: dict = field(default_factory=dict)     # rec IRI -> [(action IRI, text zh)]
    unavailabilities: list = field(default_factory=list)
    hedges: set = field(default_factory=set)            # {(strength, strength)} both ways
    space: StateSpace | None = None
    witness: WitnessEncoding = field(default_factory=WitnessEncoding)
    states: list = field(default_factory=list)
    transitions: list = field(default_factory=list)

    def label(self, iri: str, lang: str = "en") -> str:
        return self.g.label(iri, lang)


def _rows(g: Guideline, query: str):
    return g.store.query(sparql_prefixes() + query, default_graph=ox.NamedNode(GUIDELINE_GRAPH))


def _key(term) -> str:
    return ("_:" + term.value) if isinstance(term, ox.BlankNode) else term.value


def _tops(g: Guideline, cls: str) -> dict:
    out: dict = {}
    for r in _rows(g, f"SELECT ?s ?c WHERE {{ ?s a {cls} ; crlm:criterion ?c }}"):
        crit = g.criteria_nodes.get(_key(r["c"]))
        if crit is not None:
            out.setdefault(_key(r["s"]), []).append(crit)
    return out


def _profile(g: Guideline, node: str, labels: dict) -> Profile:
    facts: dict = {}
    query = ("SELECT ?p ?f ?v ?l ?x WHERE { ?p crlm:fact ?n . ?n crlm:feature ?f . "
             "OPTIONAL { ?n crlm:value ?v } OPTIONAL { ?n crlm:literalValue ?l } OPTIONAL { ?p crlm:excludedWith ?x } }")
    excluded = set()
    for r in _rows(g, query):
        if _key(r["p"]) != node:
            continue
        val = r["v"] if r["v"] is not None else r["l"]
        if val is not None:
            vals = facts.setdefault(r["f"].value, [])
            v = to_python(val)
            if v not in vals:
                vals.append(v)
        if r["x"] is not None:
            excluded.add(_key(r["x"]))
    lab = labels.get(node, {})
    return Profile(node, lab.get("en", node), lab.get("zh", lab.get("en", node)), facts, frozenset(excluded))


def load_model(files: list[Path] | None = None) -> CheckModel:
    files = list(files) if files is not None else paths.check_model_files()
    g = Guideline.load(files=files, shapes=[])
    m = CheckModel(g)
    for r in _rows(g, "SELECT ?r ?a ?t WHERE { ?r crlm:preferredOver ?a OPTIONAL { ?r crlm:preferenceText ?t } }"):
        m.preferences.setdefault(r["r"].value, []).append((r["a"].value, r["t"].value if r["t"] is not None else ""))
    tops = _tops(g, "crlm:ActionUnavailability")
    acts: dict = {}
    secs: dict = {}
    for r in _rows(g, "SELECT ?u ?a ?s WHERE { ?u a crlm:ActionUnavailability ; crlm:unavailableAction ?a OPTIONAL { ?u crlm:section ?s } }"):
        acts.setdefault(_key(r["u"]), set()).add(r["a"].value)
        if r["s"] is not None:
            secs.setdefault(_key(r["u"]), set()).add(r["s"].value)
    for u, a in sorted(acts.items()):
        m.unavailabilities.append(Unavailability(u, frozenset(a), tuple(tops.get(u, ())), tuple(sorted(secs.get(u, ())))))
    for r in _rows(g, "SELECT ?a ?b WHERE { ?a crlm:hedgedBy ?b }"):
        m.hedges |= {(r["a"].value, r["b"].value), (r["b"].value, r["a"].value)}
    _load_space(g, m)
    _load_witness(g, m)
    _load_pathways(g, m)
    return m


def _labels(g: Guideline) -> dict:
    out: dict = {}
    for r in _rows(g, "SELECT ?s ?l WHERE { ?s rdfs:label ?l }"):
        out.setdefault(_key(r["s"]), {})[r["l"].language or "en"] = r["l"].value
    return out


def _load_space(g: Guideline, m: CheckModel) -> None:
    spaces = [r["s"].value for r in _rows(g, "SELECT ?s WHERE { ?s a crlm:StateSpace } ORDER BY ?s")]
    if not spaces:
        return
    iri = spaces[0]
    labels = _labels(g)
    base_nodes = [_key(r["b"]) for r in _rows(g, f"SELECT ?b WHERE {{ <{iri}> crlm:baseProfile ?b }}")]
    base = _profile(g, base_nodes[0], labels) if base_nodes else Profile("", "base", "base", {})
    tops = _tops(g, "crlm:CoverageQuestion")
    questions = []
    for r in _rows(g, f"""SELECT ?q (SAMPLE(?o) AS ?order) (GROUP_CONCAT(DISTINCT STR(?c); separator=" ") AS ?settings)
                          WHERE {{ <{iri}> crlm:question ?q OPTIONAL {{ ?q crlm:order ?o }} OPTIONAL {{ ?q crlm:countsSetting ?c }} }}
                          GROUP BY ?q"""):
        q = r["q"].value
        lab = labels.get(q, {})
        questions.append((int(r["order"].value) if r["order"] is not None else 99,
                          CoverageQuestion(q, lab.get("en", q), lab.get("zh", q),
                                           frozenset(r["settings"].value.split()) if r["settings"] is not None else frozenset(),
                                           tuple(tops.get(q, ())))))
    dims = []
    for r in _rows(g, f"SELECT ?d (SAMPLE(?o) AS ?order) WHERE {{ <{iri}> crlm:dimension ?d OPTIONAL {{ ?d crlm:order ?o }} }} GROUP BY ?d"):
        d = r["d"].value
        order = int(r["order"].value) if r["order"] is not None else 99
        profs = []
        for pr in _rows(g, f"SELECT ?p (SAMPLE(?o) AS ?order) WHERE {{ <{d}> crlm:profile ?p OPTIONAL {{ ?p crlm:order ?o }} }} GROUP BY ?p"):
            profs.append((int(pr["order"].value) if pr["order"] is not None else 0, _key(pr["p"])))
        profiles = [_profile(g, node, labels) for _, node in sorted(profs, key=lambda t: (t[0], labels.get(t[1], {}).get("en", "")))]
        lab = labels.get(d, {})
        dims.append((order, Dimension(d, lab.get("en", d), lab.get("zh", d), profiles)))
    m.space = StateSpace(iri, base, [d for _, d in sorted(dims, key=lambda t: t[0])],
                         [q for _, q in sorted(questions, key=lambda t: (t[0], t[1].iri))])


def _load_witness(g: Guideline, m: CheckModel) -> None:
    rows = list(_rows(g, "SELECT ?w WHERE { ?w a crlm:WitnessEncoding }"))
    if not rows:
        return
    w = rows[0]["w"].value

    def one(prop):
        vals = [r["o"].value for r in _rows(g, f"SELECT ?o WHERE {{ <{w}> {prop} ?o }}")]
        return vals[0] if vals else None

    m.witness = WitnessEncoding(
        line_feature=one("crlm:lineFeature"), progression_feature=one("crlm:progressionFeature"),
        history_feature=one("crlm:historyFeature"), any_treatment_feature=one("crlm:anyTreatmentFeature"),
        agent_classes=tuple(r["o"].value for r in _rows(g, f"SELECT ?o WHERE {{ <{w}> crlm:treatmentAgentClass ?o }}")),
        progression_settings=tuple(_list(g, w, CRLM.progressionSettings)),
        progression_response=one("crlm:progressionResponse"), history_setting=one("crlm:historySetting"))


def _list(g: Guideline, subject: str, prop: str) -> list:
    """The members of an RDF list, in order."""
    gg = ox.NamedNode(GUIDELINE_GRAPH)
    first, rest, nil = (ox.NamedNode(PREFIXES["rdf"] + n) for n in ("first", "rest", "nil"))
    heads = [q.object for q in g.store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(prop), None, gg)]
    out = []
    node = heads[0] if heads else None
    while node is not None and node != nil and len(out) < 100:
        out += [q.object.value for q in g.store.quads_for_pattern(node, first, None, gg)]
        nxt = [q.object for q in g.store.quads_for_pattern(node, rest, None, gg)]
        node = nxt[0] if nxt else None
    return out


def _load_pathways(g: Guideline, m: CheckModel) -> None:
    tops = _tops(g, "crlm:PathwayState")
    for r in _rows(g, """SELECT ?s (SAMPLE(?o) AS ?order) (SAMPLE(?e) AS ?entry) (SAMPLE(?t) AS ?terminal)
                         (GROUP_CONCAT(DISTINCT STR(?set); separator=" ") AS ?settings)
                         (GROUP_CONCAT(DISTINCT STR(?sec); separator=" ") AS ?secs)
                         WHERE { ?s a crlm:PathwayState OPTIONAL { ?s crlm:order ?o } OPTIONAL { ?s crlm:entryState ?e }
                                 OPTIONAL { ?s crlm:terminalState ?t } OPTIONAL { ?s crlm:pathwaySetting ?set }
                                 OPTIONAL { ?s crlm:section ?sec } } GROUP BY ?s"""):
        s = r["s"].value
        m.states.append(PathwayState(
            s, int(r["order"].value) if r["order"] is not None else 99,
            frozenset(r["settings"].value.split()) if r["settings"] is not None else frozenset(),
            tuple(tops.get(s, ())), tuple(r["secs"].value.split()) if r["secs"] is not None else (),
            entry=r["entry"] is not None and r["entry"].value == "true",
            terminal=r["terminal"] is not None and r["terminal"].value == "true"))
    m.states.sort(key=lambda st: (st.order, st.iri))
    ttops = _tops(g, "crlm:PathwayTransition")
    for r in _rows(g, """SELECT ?t ?a ?b (SAMPLE(?l) AS ?loop) (GROUP_CONCAT(DISTINCT STR(?i); separator=" ") AS ?interval)
                         WHERE { ?t a crlm:PathwayTransition ; crlm:fromState ?a ; crlm:toState ?b
                                 OPTIONAL { ?t crlm:reevaluationLoop ?l } OPTIONAL { ?t crlm:intervalThreshold ?i } }
                         GROUP BY ?t ?a ?b ORDER BY ?t"""):
        t = r["t"].value
        m.transitions.append(PathwayTransition(
            t, r["a"].value, r["b"].value, tuple(ttops.get(t, ())),
            loop=r["loop"] is not None and r["loop"].value == "true",
            interval=tuple(sorted(r["interval"].value.split())) if r["interval"] is not None else ()))
