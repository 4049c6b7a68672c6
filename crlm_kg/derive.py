"""Derived patient facts: the SPARQL CONSTRUCT rules of queries/derive/, then the compiled OWL 2 RL rules.

Each rule's output goes into a named graph whose name is the rule IRI, so that every derived fact keeps its
provenance and explanations can cite the rule. Rules run over a whole batch of patients at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import paths
from .errors import InputError
from .namespaces import BASE, BATCH_GRAPH, PREFIXES, REASONED_GRAPH
from .reasoner import RLRules

RULE_BASE = BASE + "query/derive/"


@dataclass
class Rule:
    iri: str
    path: Path
    text: str
    header: dict
    requires: frozenset = frozenset()    # predicates of which one must be in the batch for the rule to fire


def _expand(names: str) -> frozenset:
    out = set()
    for token in names.split():
        if ":" in token and not token.startswith("("):
            prefix, local = token.split(":", 1)
            if prefix in PREFIXES:
                out.add(PREFIXES[prefix] + local)
    return frozenset(out)


def read_header(text: str) -> dict:
    header: dict = {}
    for line in text.splitlines():
        m = re.match(r"#\s*([A-Za-z-]+):\s*(.*)", line)
        if m:
            header.setdefault(m.group(1).lower(), m.group(2).strip())
        elif line.strip() and not line.startswith("#"):
            break
    return header


def load_rules(files: list[Path] | None = None) -> list[Rule]:
    rules = []
    for path in files if files is not None else paths.derive_rules():
        text = path.read_text(encoding="utf-8")
        header = read_header(text)
        name = header.get("rule") or re.sub(r"^\d+-", "", path.stem)
        rules.append(Rule(RULE_BASE + name, path, text, header, _expand(header.get("requires", "").split("(")[0])))
    return rules


class Deriver:
    """Runs the rules on a batch store: a fresh pyoxigraph store per batch holding the batch graph and the small
    support part of the guideline the rules and shapes read (see Engine.support)."""

    def __init__(self, store: ox.Store, rl: RLRules, rules: list[Rule] | None = None):
        self.store = store
        self.rl = rl
        self.rules = rules if rules is not None else load_rules()
        self.graphs = [ox.NamedNode(BATCH_GRAPH)] + [ox.NamedNode(r.iri) for r in self.rules] + [ox.NamedNode(REASONED_GRAPH)]
        for rule in self.rules:           # fail at load time, with the file, if a rule does not parse
            try:
                self.store.query(rule.text, default_graph=ox.NamedNode(BATCH_GRAPH))
            except SyntaxError as exc:
                raise InputError(str(rule.path), None, f"SPARQL syntax error: {exc}") from None

    def use(self, store: ox.Store) -> None:
        """Work on this (batch) store from now on."""
        self.store = store

    def run(self) -> None:
        """Apply every rule, in order, to the patients in the batch graph; then the RL rules. A rule whose
        `requires:` predicates are all absent from the batch (recorded or derived so far) cannot fire and is skipped."""
        present = {q.predicate.value for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(BATCH_GRAPH))}
        for rule in self.rules:
            if rule.requires and not rule.requires & present:
                continue
            g = ox.NamedNode(rule.iri)
            out = [ox.Quad(t.subject, t.predicate, t.object, g)
                   for t in self.store.query(rule.text, use_default_graph_as_union=True)]
            self.store.extend(out)
            present.update(q.predicate.value for q in out)
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for graph in self.graphs[:-1] for q in self.store.quads_for_pattern(None, None, None, graph)]
        rg = ox.NamedNode(REASONED_GRAPH)
        self.store.extend(ox.Quad(s, p, o, rg) for s, p, o in self.rl.infer(triples))

