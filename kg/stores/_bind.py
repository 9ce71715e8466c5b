"""Bind query parameters as a typed VALUES block built from RDF terms (never string splicing)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from kg.errors import StoreError
from kg.store import Term

_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def values_block(substitutions: Mapping[str, Term]) -> str:
    """A one-row ``VALUES`` block; each term is serialised by pyoxigraph (escaped, typed)."""
    names = " ".join(f"?{name.lstrip('?$')}" for name in substitutions)
    terms = " ".join(str(term) for term in substitutions.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def values_column(variable: str, terms: Iterable[Term]) -> str:
    """A ``VALUES ?variable { ... }`` block of one term per row, each serialised by pyoxigraph."""
    return f"VALUES ?{variable.lstrip('?$')} {{ {' '.join(str(term) for term in terms)} }}"


def bind(sparql: str, substitutions: Mapping[str, Term] | None) -> str:
    if not substitutions:
        return sparql
    for term in substitutions.values():
        if not isinstance(term, ox.NamedNode | ox.Literal):
            raise StoreError("only IRIs and literals can be substituted", value=str(term))
    match = _WHERE.search(sparql)
    if match is None:
        raise StoreError("cannot bind parameters: the query has no WHERE clause", expected="WHERE { ... }")
    return sparql[: match.end()] + " " + values_block(substitutions) + " " + sparql[match.end() :]
