"""Query answers as tables for people: which columns to show and what a cell shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyoxigraph as ox

from kg import queries as canned


def columns_for_people(variables: Sequence[str]) -> list[str]:
    """Columns worth showing: drop IRI columns that have a ``<name>Label`` twin, and ``_params``."""
    twins = set(canned.label_twins(variables))
    return [name for name in variables if not name.startswith("_") and name not in twins]


def cell(term: Any) -> Any:
    """An IRI as ``{"iri": ...}`` (the template links it), a literal or blank node as its text."""
    if isinstance(term, ox.NamedNode):
        return {"iri": term.value}
    if isinstance(term, ox.Literal | ox.BlankNode):
        return term.value
    return "" if term is None else term
