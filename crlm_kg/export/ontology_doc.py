"""HTML documentation of the ontology vocabulary (classes and properties) with pyLODE (OntPub profile).

pyLODE documents the TBox: every class and property of the full ontology gets an anchor named by its local name
(anchors(html) gives each IRI's id: pyLODE derives it from the label). The individuals (sections, recommendations, actions…) are documented by the
guideline browser (browser.py). pyLODE walks rdflib sets, whose order follows Python's string hashing, so it runs
in a child process with PYTHONHASHSEED=0: the same ontology then gives the same bytes.
pyLODE 3.4.1 cannot be imported from a wheel (it reads its own pyproject.toml): use pylode>=3.3,<3.4.1.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pyoxigraph as ox

from ..errors import InputError


def _render(nt: bytes) -> str:
    import logging

    import rdflib
    try:
        from pylode import OntPub
    except Exception as exc:                     # ImportError, or pyLODE 3.4.1's FileNotFoundError
        raise InputError("pylode", None, f"pyLODE is not usable ({type(exc).__name__}: {exc}); install pylode>=3.3,<3.4.1") from None
    logging.disable(logging.INFO)
    graph = rdflib.Graph()
    graph.parse(data=nt, format="nt")
    html = _fix_empty_ids(OntPub(ontology=graph).make_html())
    html = re.sub(r"[ \t]+\n", "\n", html)
    return html if html.endswith("\n") else html + "\n"


_ENTITY = re.compile(r'<div class="[^"]*\bentity\b[^"]*" id="([^"]+)">.*?<code>([^<]+)</code>', re.DOTALL)


def anchors(html: str) -> dict[str, str]:
    """IRI -> HTML id of every entity pyLODE documented (pyLODE derives ids from labels, not from local names)."""
    out: dict[str, str] = {}
    for m in _ENTITY.finditer(html):
        out.setdefault(m.group(2).strip(), m.group(1))
    return out


def _fix_empty_ids(html: str) -> str:
    """pyLODE gives an entity whose label has no ASCII letters in its first language an empty id (e.g. 患者 for
    crlm:forPatient): give it its local name (or IRI) instead, so that every documented IRI has an anchor."""
    used = set(re.findall(r'id="([^"]+)"', html))

    def fix(m):
        iri = m.group(2).strip()
        new = iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if not new or new in used:
            new = iri
        used.add(new)
        return m.group(0).replace('id=""', f'id="{new}"', 1)
    return re.sub(r'<div class="[^"]*\bentity\b[^"]*" id="()">.*?<code>([^<]+)</code>', fix, html, flags=re.DOTALL)


def ontology_html(triples: list[ox.Triple]) -> str:
    """pyLODE's HTML for the ontology triples, byte-identical for the same input."""
    nt = b"".join(f"{t.subject} {t.predicate} {t.object} .\n".encode("utf-8") for t in triples)
    if os.environ.get("PYTHONHASHSEED") == "0":
        return _render(nt)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, "-m", __name__], input=nt, capture_output=True, env=env)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError("pylode", None, lines[-1] if lines else f"pyLODE failed (exit {proc.returncode})")
    return proc.stdout.decode("utf-8")


if __name__ == "__main__":
    try:
        sys.stdout.buffer.write(_render(sys.stdin.buffer.read()).encode("utf-8"))
    except InputError as exc:
        print(f"crlm-kg: error: {exc}", file=sys.stderr)
        sys.exit(2)
