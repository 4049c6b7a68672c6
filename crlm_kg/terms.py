"""Conversion between pyoxigraph terms and plain Python values used by the matcher."""
from __future__ import annotations

import datetime as _dt
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox

from .namespaces import XSD

_INTEGER_TYPES = {XSD[t] for t in ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger",
                                   "nonPositiveInteger", "negativeInteger", "unsignedInt", "unsignedLong")}
_DECIMAL_TYPES = {XSD.decimal, XSD.double, XSD.float}
NUMERIC_TYPES = _INTEGER_TYPES | _DECIMAL_TYPES


class IllTyped(ValueError):
    """A literal whose lexical form does not fit its datatype."""


def to_python(term):
    """IRI → str, blank node → '_:id', literal → bool/int/Decimal/date/str. Raises IllTyped on bad lexical forms."""
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Literal):
        dt, lex = term.datatype.value, term.value
        try:
            if dt == XSD.boolean:
                if lex in ("true", "1"):
                    return True
                if lex in ("false", "0"):
                    return False
                raise IllTyped(lex)
            if dt in _INTEGER_TYPES:
                return int(lex)
            if dt in _DECIMAL_TYPES:
                value = Decimal(lex)
                if not value.is_finite():
                    raise IllTyped(lex)
                return value
            if dt == XSD.date:
                return _dt.date.fromisoformat(lex[:10]) if len(lex) >= 10 else _dt.date.fromisoformat(lex)
            if dt == XSD.dateTime:
                return _dt.datetime.fromisoformat(lex.replace("Z", "+00:00")).date()
        except (ValueError, InvalidOperation) as exc:
            raise IllTyped(lex) from exc
        return lex
    return str(term)


def python_matches_datatype(value, datatype: str) -> bool:
    """Whether a converted literal value suits a declared xsd range."""
    if datatype == XSD.boolean:
        return isinstance(value, bool)
    if datatype in _INTEGER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if datatype in _DECIMAL_TYPES:
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if datatype == XSD.date:
        return isinstance(value, _dt.date)
    if datatype == XSD.string:
        return isinstance(value, str)
    return True


def display(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def to_rdflib(term):
    """A pyoxigraph term as an rdflib term (blank nodes keep their label)."""
    import rdflib
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def from_rdflib(term):
    """An rdflib term as a pyoxigraph term."""
    import rdflib
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype))) if term.datatype else ox.Literal(str(term))
