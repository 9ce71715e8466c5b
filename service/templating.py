"""Jinja2 templates with the filters the pages share (term display, local links)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from kg.charts import STYLE as CHART_STYLE
from service.describe import local_url
from service.results import PREFIXES

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def kind(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return "iri"
    if isinstance(term, ox.BlankNode):
        return "bnode"
    return "literal"


def datatype(term: object) -> str:
    if isinstance(term, ox.Literal):
        if term.language:
            return "@" + term.language
        if not term.datatype.value.endswith("#string"):
            return curie(term.datatype.value)
    return ""


def short_iri(iri: str) -> str:
    """An IRI as a table shows it: its CURIE, or else its last segment (``…/participant/P02`` ->
    ``P02``); the link and its title keep the whole IRI."""
    shown = curie(iri)
    if shown != iri:
        return shown
    tail = iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return tail or iri


TEMPLATES.env.filters.update(
    local_url=local_url, curie=curie, short_iri=short_iri, kind=kind, datatype=datatype
)
# how charts look, for every page that draws one (kg.charts)
TEMPLATES.env.globals["chart_style"] = Markup(CHART_STYLE)
