"""Treatment pathways: the states and candidate transitions of queries/qc-guideline/pathways.ttl (hand-modelled,
as the guideline's Part 2 flowcharts are lost), filled and checked from the guideline graph, as a networkx graph.

- A state holds the recommendations with one of its settings whose population overlaps the state's criteria.
- A transition is realised when a recommendation of the target state applies to patients who are in the source
  state and meet the transition's criteria (population overlap, regions.py); only realised transitions count.
- Checks: every state reachable from the entry state; every non-terminal state has a way out; every cycle passes a
  re-evaluation loop transition (crlm:reevaluationLoop); every state holds recommendations; every transition is
  realised.
- Drawing: Mermaid text, Graphviz DOT, and SVG/PNG through Graphviz `dot` (a system tool).
"""
from __future__ import annotations

import shutil
import subprocess

import networkx as nx

from ..errors import InputError
from ..namespaces import compact
from ..terms import display
from .describe import criteria_text
from .findings import Finding, Source
from .regions import FeatureModel


class PathwayCheck:
    def __init__(self, g, model, fm: FeatureModel):
        self.g, self.model, self.fm = g, model, fm
        self.states = {s.iri: s for s in model.states}
        self._pop = {r.iri: fm.regions(r.criteria) for r in g.recommendations}
        self.members = {s.iri: self._members(s) for s in model.states}
        self.graph = self._build()

    def _members(self, state) -> list:
        """Recommendations with a setting of the state that address every feature the state is defined by, and
        whose population overlaps the state."""
        region = self.fm.regions(state.criteria)
        needed = _features(state.criteria)
        return [r for r in self.g.recommendations
                if set(r.settings) & state.settings and needed <= _features(r.criteria)
                and self.fm.overlap(self._pop[r.iri], region)]

    def _supporters(self, t) -> list:
        """Recommendations of the target state that apply to patients taking the transition: the source state's
        criteria (except on the features the transition changes), the transition's and the target's."""
        src, dst = self.states.get(t.source), self.states.get(t.target)
        if src is None or dst is None:
            return []
        changed = _features(t.criteria)
        kept = tuple(c for c in src.criteria if not (_features([c]) & changed))
        region = self.fm.regions(kept + tuple(t.criteria) + tuple(dst.criteria))
        return [r for r in self.members[dst.iri] if self.fm.overlap(self._pop[r.iri], region)]

    def interval_text(self, t) -> str:
        values = sorted((self.g.thresholds[x], self.g.threshold_units.get(x, "")) for x in t.interval if x in self.g.thresholds)
        if not values:
            return ""
        unit = values[-1][1]
        nums = "–".join(display(v) for v, _ in values) if len(values) > 1 else display(values[0][0])
        return f"every {nums} {unit}".strip()

    def _build(self) -> nx.DiGraph:
        G = nx.DiGraph()
        m = self.model
        for s in m.states:
            G.add_node(s.iri, label_en=m.label(s.iri, "en"), label_zh=m.label(s.iri, "zh"), entry=s.entry,
                       terminal=s.terminal, recommendations=[r.iri for r in self.members[s.iri]], order=s.order)
        for t in m.transitions:
            sup = self._supporters(t)
            G.add_edge(t.source, t.target, iri=t.iri, label_en=m.label(t.iri, "en"), label_zh=m.label(t.iri, "zh"),
                       loop=t.loop, realised=bool(sup), supporters=[r.iri for r in sup], interval=self.interval_text(t),
                       criteria=criteria_text(self.g, t.criteria))
        return G

    def realised_graph(self) -> nx.DiGraph:
        R = nx.DiGraph()
        R.add_nodes_from(self.graph.nodes(data=True))
        R.add_edges_from((u, v, d) for u, v, d in self.graph.edges(data=True) if d["realised"])
        return R

    # ------------------------------------------------------------------ checks
    def _src(self, iri: str) -> Source:
        s = self.states.get(iri)
        sec = ", ".join(self.g.section_number(x) for x in (s.sections if s else ()))
        return Source(iri=iri, section=sec, label_en=self.model.label(iri, "en"), label_zh=self.model.label(iri, "zh"))

    def run(self) -> tuple[list[Finding], dict]:
        G, R, out = self.graph, self.realised_graph(), []
        entries = [n for n, d in G.nodes(data=True) if d["entry"]]
        reach = set(entries)
        for e in entries:
            reach |= nx.descendants(R, e)
        for n, d in G.nodes(data=True):
            name = d["label_en"]
            if not d["recommendations"]:
                out.append(Finding("pathways", "pathway-empty-state", "warning",
                                   f"Pathway state “{name}” holds no recommendation (no recommendation with its settings overlaps its criteria)",
                                   [self._src(n)]))
            if n not in reach:
                out.append(Finding("pathways", "pathway-unreachable-state", "error",
                                   f"Pathway state “{name}” cannot be reached from the entry state through realised transitions",
                                   [self._src(n)], details={"incoming": [compact(G.edges[u, n]["iri"]) for u in G.predecessors(n)]}))
            if not d["terminal"] and R.out_degree(n) == 0:
                out.append(Finding("pathways", "pathway-dead-end", "error",
                                   f"Pathway state “{name}” is not terminal but has no realised way out", [self._src(n)],
                                   details={"outgoing": [compact(G.edges[n, v]["iri"]) for v in G.successors(n)]}))
        for u, v, d in G.edges(data=True):
            if not d["realised"]:
                out.append(Finding("pathways", "pathway-unrealised-transition", "warning",
                                   f"Transition “{G.nodes[u]['label_en']}” → “{G.nodes[v]['label_en']}” ({d['label_en']}) is not realised: "
                                   f"no recommendation of the target state applies to patients who take it ({d['criteria']})",
                                   [self._src(u), self._src(v)], details={"transition": compact(d["iri"])}))
        cycles = list(nx.simple_cycles(R))
        bad = []
        for cyc in cycles:
            edges = list(zip(cyc, cyc[1:] + cyc[:1]))
            if not any(R.edges[a, b]["loop"] for a, b in edges):
                bad.append(cyc)
                out.append(Finding("pathways", "pathway-unexpected-cycle", "error",
                                   "Cycle without a re-evaluation loop: " + " → ".join(G.nodes[n]["label_en"] for n in cyc + cyc[:1]),
                                   [self._src(n) for n in cyc], details={"cycle": [compact(n) for n in cyc]}))
        table = {
            "states": [{"state": compact(n), "label": d["label_en"], "label_zh": d["label_zh"], "entry": d["entry"],
                        "terminal": d["terminal"], "recommendations": len(d["recommendations"]), "reachable": n in reach}
                       for n, d in sorted(G.nodes(data=True), key=lambda kv: kv[1]["order"])],
            "transitions": [{"transition": compact(d["iri"]), "from": G.nodes[u]["label_en"], "to": G.nodes[v]["label_en"],
                             "label": d["label_en"], "loop": d["loop"], "interval": d["interval"], "realised": d["realised"],
                             "supporters": [compact(x) for x in d["supporters"][:6]] + (["…"] if len(d["supporters"]) > 6 else [])}
                            for u, v, d in G.edges(data=True)],
            "cycles": [{"cycle": [G.nodes[n]["label_en"] for n in c], "allowed": c not in bad} for c in cycles],
            "modelled_by_hand": "states (settings, criteria, entry/terminal) and candidate transitions (criteria, loop flag) "
                                "in queries/qc-guideline/pathways.ttl",
            "derived": "the recommendations of each state, whether each transition is realised, re-evaluation intervals",
        }
        return out, table

    # ------------------------------------------------------------------ drawing
    def _node_text(self, n, lang: str) -> str:
        d = self.graph.nodes[n]
        count = len(d["recommendations"])
        noun = "条推荐" if lang == "zh" else ("recommendation" if count == 1 else "recommendations")
        return f"{d['label_' + lang]}\n({count} {noun})"

    def _edge_text(self, d, lang: str) -> str:
        text = d["label_" + lang]
        if d["interval"]:
            text += f" ({d['interval']})" if lang == "en" else f"({d['interval'].replace('every', '每')})"
        return text

    def mermaid(self, lang: str = "en") -> str:
        ids = {n: _ident(n) for n in self.graph.nodes}
        lines = ["flowchart TD"]
        for n, d in sorted(self.graph.nodes(data=True), key=lambda kv: kv[1]["order"]):
            text = self._node_text(n, lang).replace('"', "'").replace("\n", "<br/>")
            shape = ('(["', '"])') if d["entry"] or d["terminal"] else ('["', '"]')
            lines.append(f"    {ids[n]}{shape[0]}{text}{shape[1]}")
        for u, v, d in self.graph.edges(data=True):
            arrow = "-.->" if d["loop"] else "-->"
            if not d["realised"]:
                arrow = "-. unrealised .->"
                lines.append(f"    {ids[u]} {arrow} {ids[v]}")
                continue
            label = self._edge_text(d, lang).replace('"', "'").replace("|", "/")
            lines.append(f"    {ids[u]} {arrow}|\"{label}\"| {ids[v]}")
        return "\n".join(lines) + "\n"

    def dot(self, lang: str = "en") -> str:
        ids = {n: _ident(n) for n in self.graph.nodes}
        lines = ["digraph pathways {", '  rankdir=TB; node [shape=box, style="rounded,filled", fillcolor="#f2f6fb", fontname="Helvetica"];',
                 '  edge [fontname="Helvetica", fontsize=10];']
        for n, d in sorted(self.graph.nodes(data=True), key=lambda kv: kv[1]["order"]):
            attrs = [f'label="{_dot_escape(self._node_text(n, lang))}"']
            if d["entry"]:
                attrs.append('fillcolor="#dbeafe"')
            if d["terminal"]:
                attrs.append("peripheries=2")
            if not d["recommendations"]:
                attrs.append('fillcolor="#fde2e2"')
            lines.append(f"  {ids[n]} [{', '.join(attrs)}];")
        for u, v, d in self.graph.edges(data=True):
            attrs = [f'label="{_dot_escape(self._edge_text(d, lang))}"']
            if d["loop"]:
                attrs.append("style=dashed")
            if not d["realised"]:
                attrs += ["style=dotted", 'color="#999999"', 'fontcolor="#999999"']
            lines.append(f"  {ids[u]} -> {ids[v]} [{', '.join(attrs)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def render(self, fmt: str, lang: str = "en") -> bytes:
        if fmt == "mermaid":
            return self.mermaid(lang).encode("utf-8")
        text = self.dot(lang)
        if fmt == "dot":
            return text.encode("utf-8")
        exe = shutil.which("dot")
        if exe is None:
            raise InputError("dot", None, "Graphviz `dot` is not installed (apt-get install graphviz); "
                                          "use --format mermaid or --format dot")
        proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise InputError("dot", None, proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or "failed")
        return proc.stdout


def _features(criteria) -> set:
    out = set()
    for c in criteria:
        if c.kind == "leaf":
            out.add(c.feature)
        else:
            out |= _features(c.members)
    return out


def _ident(iri: str) -> str:
    local = iri.rstrip("/").rsplit("/", 1)[-1]
    return "s_" + "".join(ch if ch.isalnum() else "_" for ch in local)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
