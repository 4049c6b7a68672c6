"""What a consistency check reports: findings (kind, severity, sections, source sentences) and the whole report."""
from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass
class Source:
    """One guideline item a finding involves: its IRI, section number and source sentence (zh verbatim, en)."""
    iri: str
    section: str = ""
    label_en: str = ""
    label_zh: str = ""
    text_zh: str = ""
    text_en: str = ""


@dataclass
class Finding:
    check: str                     # structure, logic, conflicts, evidence, thresholds, coverage, pathways
    kind: str                      # e.g. conflicting-recommendations, grade-level-mismatch, owl-unsatisfiable-class
    severity: str                  # error, warning, info
    message: str                   # one line, English
    sources: list = field(default_factory=list)      # Source items (both recommendations of a conflict, …)
    verdict: str | None = None     # conflicts: true conflict, refinement, alternative
    details: dict = field(default_factory=dict)      # check-specific data (witness, table rows, counts…)

    @property
    def sections(self) -> list:
        return list(dict.fromkeys(s.section for s in self.sources if s.section))

    def to_json(self) -> dict:
        out = {"check": self.check, "kind": self.kind, "severity": self.severity, "message": self.message,
               "sections": self.sections,
               "sources": [{"iri": s.iri, "section": s.section, "label_en": s.label_en, "label_zh": s.label_zh,
                            "source_text_zh": s.text_zh, "source_text_en": s.text_en} for s in self.sources]}
        if self.verdict:
            out["verdict"] = self.verdict
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class CheckReport:
    files: list
    findings: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)      # seconds per check
    tables: dict = field(default_factory=dict)       # check name -> structured summary (thresholds, coverage, …)
    notes: list = field(default_factory=list)        # what was skipped and why

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def has_errors(self) -> bool:
        return self.count("error") > 0

    def by_check(self, check: str) -> list:
        return [f for f in self.findings if f.check == check]

    def kinds(self) -> set:
        return {f.kind for f in self.findings}

    def to_json(self) -> dict:
        return {"files": [str(f) for f in self.files],
                "summary": {s: self.count(s) for s in SEVERITIES},
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "notes": self.notes,
                "findings": [f.to_json() for f in self.findings],
                "tables": self.tables}
