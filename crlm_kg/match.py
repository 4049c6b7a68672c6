"""The generic criteria matcher: three-valued evaluation of criteria (data) against patient facts.

A criterion is met, not met or unknown (the fact is missing). Met criteria give the `because` facts, unknown ones
give missing-data flags, not-met ones say why not. Operators are defined in ontology/crlm.ttl; this module only
implements their documented semantics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .guideline import Criterion
from .namespaces import CRLM

MET, NOT_MET, UNKNOWN = "met", "not-met", "unknown"

# operator IRIs as plain constants (the matcher runs millions of times in a cohort)
ABSENT, INCLUDES, EXCLUDES = CRLM.absent, CRLM.includes, CRLM.excludes
EQ_OPS = frozenset({CRLM.equals, CRLM.oneOf})
NE_OPS = frozenset({CRLM.notEquals, CRLM.noneOf})
_LT, _LE, _GT, _GE = CRLM.lessThan, CRLM.lessOrEqual, CRLM.greaterThan, CRLM.greaterOrEqual


@dataclass
class Fact:
    feature: str
    value: object
    source: str          # graph the fact came from: the record, a derivation rule or the RL reasoner


@dataclass
class Outcome:
    status: str
    because: list = field(default_factory=list)      # Facts that satisfied the criterion
    missing: list = field(default_factory=list)      # features whose absence made it unknown
    failed: list = field(default_factory=list)       # (criterion, facts) that were not met


def _num(x):
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, Decimal)):
        return x
    if isinstance(x, float):
        return Decimal(str(x))
    return None


def compare_value(criterion: Criterion, thresholds: dict):
    if criterion.threshold is not None:
        return thresholds.get(criterion.threshold)
    return criterion.values[0] if criterion.values else None


def _leaf(c: Criterion, facts: dict, thresholds: dict) -> Outcome:
    present: list[Fact] = facts.get(c.feature, [])
    op = c.op
    if op == ABSENT:
        return Outcome(MET, because=[Fact(c.feature, None, "")]) if not present else Outcome(NOT_MET, failed=[(c, present)])
    if op == INCLUDES:
        hit = [f for f in present if f.value in c.values]
        return Outcome(MET, because=hit) if hit else Outcome(NOT_MET, failed=[(c, present)])
    if op == EXCLUDES:
        hit = [f for f in present if f.value in c.values]
        return Outcome(NOT_MET, failed=[(c, hit)]) if hit else Outcome(MET, because=[Fact(c.feature, None, "")])
    if not present:
        return Outcome(UNKNOWN, missing=[c.feature])
    if op in EQ_OPS:
        hit = [f for f in present if f.value in c.values]
        return Outcome(MET, because=hit) if hit else Outcome(NOT_MET, failed=[(c, present)])
    if op in NE_OPS:
        hit = [f for f in present if f.value in c.values]
        return Outcome(NOT_MET, failed=[(c, hit)]) if hit else Outcome(MET, because=present)
    limit = _num(compare_value(c, thresholds))
    values = [(f, _num(f.value)) for f in present]
    if limit is None or any(v is None for _, v in values):
        return Outcome(NOT_MET, failed=[(c, present)])
    if op == _LT:
        ok = [f for f, v in values if v < limit]
    elif op == _LE:
        ok = [f for f, v in values if v <= limit]
    elif op == _GT:
        ok = [f for f, v in values if v > limit]
    elif op == _GE:
        ok = [f for f, v in values if v >= limit]
    else:
        return Outcome(NOT_MET, failed=[(c, present)])
    return Outcome(MET, because=ok) if len(ok) == len(values) else Outcome(NOT_MET, failed=[(c, present)])


def evaluate(c: Criterion, facts: dict, thresholds: dict) -> Outcome:
    if c.kind == "leaf":
        return _leaf(c, facts, thresholds)
    outs = [evaluate(m, facts, thresholds) for m in c.members]
    return combine(outs, any_of=(c.kind == "any"))


def combine(outs: list[Outcome], any_of: bool = False) -> Outcome:
    met = [o for o in outs if o.status == MET]
    unknown = [o for o in outs if o.status == UNKNOWN]
    failed = [f for o in outs for f in o.failed]
    if any_of:
        if met:
            return Outcome(MET, because=[f for o in met for f in o.because])
        if unknown:
            return Outcome(UNKNOWN, missing=[m for o in unknown for m in o.missing], failed=failed)
        # explain by the branch that came closest (fewest failed criteria), e.g. the one matching the timing
        return Outcome(NOT_MET, failed=min((o.failed for o in outs), key=len) if outs else [])
    if any(o.status == NOT_MET for o in outs):
        return Outcome(NOT_MET, failed=failed)
    if unknown:
        return Outcome(UNKNOWN, missing=[m for o in unknown for m in o.missing],
                       because=[f for o in met for f in o.because])
    return Outcome(MET, because=[f for o in outs for f in o.because])


def evaluate_all(criteria, facts: dict, thresholds: dict) -> Outcome:
    return combine([evaluate(c, facts, thresholds) for c in criteria])


# ---------------------------------------------------------------------- fast status-only evaluation
# Most criteria of most recommendations fail for a given patient. status() decides met / not met / unknown without
# building explanations and stops at the first failing criterion; the full evaluate() runs only for what remains.

def _hit(present, values) -> bool:
    for f in present:
        if f.value in values:
            return True
    return False


def _leaf_status(c: Criterion, facts: dict, thresholds: dict) -> str:
    present = facts.get(c.feature)
    op = c.op
    if op == ABSENT:
        return NOT_MET if present else MET
    if op == INCLUDES or op == EXCLUDES:
        hit = present is not None and _hit(present, c.values)
        return MET if hit == (op == INCLUDES) else NOT_MET
    if not present:
        return UNKNOWN
    if op in EQ_OPS:
        return MET if _hit(present, c.values) else NOT_MET
    if op in NE_OPS:
        return NOT_MET if _hit(present, c.values) else MET
    return _leaf(c, facts, thresholds).status


def status(c: Criterion, facts: dict, thresholds: dict) -> str:
    if c.kind == "leaf":
        return _leaf_status(c, facts, thresholds)
    if c.kind == "any":
        unknown = False
        for m in c.members:
            s = status(m, facts, thresholds)
            if s == MET:
                return MET
            unknown = unknown or s == UNKNOWN
        return UNKNOWN if unknown else NOT_MET
    return status_all(c.members, facts, thresholds)


def status_all(criteria, facts: dict, thresholds: dict) -> str:
    """All of the criteria (an all-of group, or a recommendation's criteria): stops at the first that fails."""
    unknown = False
    for c in criteria:
        s = status(c, facts, thresholds)
        if s == NOT_MET:
            return NOT_MET
        unknown = unknown or s == UNKNOWN
    return UNKNOWN if unknown else MET
