"""OWL DL consistency and unsatisfiable classes with HermiT (through owlready2, Java).

The guideline graph is handed to owlready2 as N-Triples. HermiT does not accept xsd:date (not in the OWL 2 datatype
map), so date literals are given to it as xsd:dateTime. The Java process runs in its own process group and is
killed on timeout.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..namespaces import XSD


@dataclass
class HermitReport:
    consistent: bool
    unsatisfiable: list
    message: str


_SCRIPT = r"""
import sys, owlready2
owlready2.JAVA_EXE = owlready2.JAVA_EXE or "java"
world = owlready2.World()
onto = world.get_ontology("file://" + sys.argv[1]).load()
try:
    with onto:
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
except owlready2.OwlReadyInconsistentOntologyError as exc:
    print("INCONSISTENT", str(exc).splitlines()[0] if str(exc) else "")
    sys.exit(0)
bad = [c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing]
print("CONSISTENT")
for iri in bad:
    print("UNSAT", iri)
"""


_NOT_IN_OWL2_MAP = {XSD.date, XSD.gYear, XSD.gYearMonth, XSD.time, XSD.duration}


def _hermit_triples(triples):
    """The triples as HermiT accepts them: dates become xsd:dateTime, other types outside the OWL 2 map strings."""
    date = ox.NamedNode(XSD.date)
    dt = ox.NamedNode(XSD.dateTime)
    for t in triples:
        o = t.object
        if isinstance(o, ox.Literal) and o.datatype.value in _NOT_IN_OWL2_MAP:
            o = ox.Literal(o.value[:10] + "T00:00:00Z", datatype=dt) if o.datatype == date else ox.Literal(o.value)
        elif o == date:
            o = dt
        elif isinstance(o, ox.NamedNode) and o.value in _NOT_IN_OWL2_MAP:
            o = ox.NamedNode(XSD.string)
        yield ox.Triple(t.subject, t.predicate, o)


def run_hermit(triples, timeout: int = 300) -> HermitReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "guideline.nt"
        ox.serialize(_hermit_triples(triples), output=str(path), format=ox.RdfFormat.N_TRIPLES)
        proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return HermitReport(False, [], f"HermiT timed out after {timeout} s")
    lines = out.splitlines()
    if "CONSISTENT" in lines:
        unsat = [line.split(" ", 1)[1] for line in lines if line.startswith("UNSAT ")]
        return HermitReport(True, unsat, "consistent" if not unsat else f"{len(unsat)} unsatisfiable class(es)")
    if lines and lines[0].startswith("INCONSISTENT"):
        return HermitReport(False, [], "inconsistent: " + lines[0][len("INCONSISTENT"):].strip())
    return HermitReport(False, [], "HermiT failed: " + (err.strip().splitlines() or ["no output"])[-1])
