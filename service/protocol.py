"""SPARQL 1.1 Protocol helpers: the form of a request string and content negotiation.

The query form is read with a small lexer (strings, IRIs and comments blanked out, then the first
form keyword after the prologue), so negotiation can happen before the store parses the query;
the store still does the real parsing and reports syntax errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.store import GRAPH_FORMATS, SELECT_FORMATS

QUERY_FORMS = ("select", "ask", "construct", "describe")
UPDATE_FORMS = ("insert", "delete", "load", "clear", "create", "drop", "copy", "move", "add", "with")

_BLANK = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
    re.DOTALL,
)
_KEYWORD = re.compile(
    r"(?<![\w:?$-])(" + "|".join(QUERY_FORMS + UPDATE_FORMS) + r")(?![\w:-])",
    re.IGNORECASE,
)

#: Media types per query form, in server preference order (first = default for */*).
RESULT_TYPES = tuple(SELECT_FORMATS)  # json, xml, csv, tsv
GRAPH_TYPES = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-quads",
    "application/trig",
)
assert set(GRAPH_TYPES) == set(GRAPH_FORMATS)

# Other names clients use for the same formats (SPARQLWrapper's Accept headers among them).
_RESULT_ALIASES = {
    "application/json": "application/sparql-results+json",
    "text/javascript": "application/sparql-results+json",
    "application/javascript": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "text/tab-separated-values",
}
_GRAPH_ALIASES = {
    "application/x-turtle": "text/turtle",
    "text/n3": "text/turtle",
    "text/rdf+n3": "text/turtle",
    "application/turtle": "text/turtle",
    "text/plain": "application/n-triples",
    "application/json": "application/ld+json",
    "application/xml": "application/rdf+xml",
    "text/xml": "application/rdf+xml",
    "application/x-trig": "application/trig",
    "text/x-nquads": "application/n-quads",
}
# Values of the ``format=`` (or ``output=``) parameter, per form.
_RESULT_FORMAT_PARAM = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
_GRAPH_FORMAT_PARAM = {
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "n3": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "json": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "xml": "application/rdf+xml",
    "nq": "application/n-quads",
    "nquads": "application/n-quads",
    "trig": "application/trig",
}


@dataclass(frozen=True)
class Operation:
    """What a request string is: one of the query forms, an update, or unrecognisable."""

    form: str | None  # "select" | "ask" | "construct" | "describe" | "update" | None

    @property
    def is_update(self) -> bool:
        return self.form == "update"

    @property
    def returns_graph(self) -> bool:
        return self.form in ("construct", "describe")


def operation_of(text: str) -> Operation:
    """The form of ``text`` from its first keyword after the prologue (PREFIX/BASE)."""
    match = _KEYWORD.search(_BLANK.sub(" ", text))
    if match is None:
        return Operation(None)
    keyword = match.group(1).lower()
    return Operation(keyword if keyword in QUERY_FORMS else "update")


def _parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges with their q-values, most preferred first (stable for equal q)."""
    if not header:
        return [("*/*", 1.0)]
    ranges: list[tuple[str, float, int]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media, q, index))
    ranges.sort(key=lambda r: (-r[1], r[2]))
    return [(media, q) for media, q, _ in ranges]


def negotiate(
    accept: str | None, offered: tuple[str, ...], aliases: dict[str, str] | None = None
) -> str | None:
    """The offered media type the ``Accept`` header prefers most, or None (→ 406)."""
    aliases = aliases or {}
    for media, q in _parse_accept(accept):
        if q <= 0:
            continue
        if media in ("*/*", "*"):
            return offered[0]
        if media.endswith("/*"):
            major = media[:-1]
            for candidate in offered:
                if candidate.startswith(major):
                    return candidate
            continue
        media = aliases.get(media, media)
        if media in offered:
            return media
    return None


def choose_media_type(form: str, accept: str | None, format_param: str | Sequence[str] | None) -> str | None:
    """Media type for a result of ``form``: ``format=`` wins over ``Accept``; None means 406.

    ``format`` values are short names (json, csv, ttl, ...) or media types; clients such as
    SPARQLWrapper repeat the parameter (``format=json-ld&format=application/ld+json,...``), so
    the first usable value wins.
    """
    graph = form in ("construct", "describe")
    offered = GRAPH_TYPES if graph else RESULT_TYPES
    aliases = _GRAPH_ALIASES if graph else _RESULT_ALIASES
    values = [format_param] if isinstance(format_param, str) else list(format_param or ())
    if values:
        table = _GRAPH_FORMAT_PARAM if graph else _RESULT_FORMAT_PARAM
        for value in values:
            key = value.strip().lower()
            if key in table:
                return table[key]
            found = negotiate(key, offered, aliases) if "/" in key and key not in ("*/*",) else None
            if found is not None:
                return found
        return None
    return negotiate(accept, offered, aliases)


def offered_types(form: str) -> tuple[str, ...]:
    return GRAPH_TYPES if form in ("construct", "describe") else RESULT_TYPES


_TEXT_TYPES = ("text/", "application/sparql-results+json", "application/ld+json")


def content_type(media_type: str) -> str:
    """The Content-Type header for ``media_type`` (UTF-8 charset on textual formats)."""
    return f"{media_type}; charset=utf-8" if media_type.startswith(_TEXT_TYPES) else media_type


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip: named (or ``*``) with a q-value above 0;
    an explicit ``gzip;q=0`` wins over ``*``."""
    if not accept_encoding:
        return False
    weights = dict(_parse_accept(accept_encoding))
    return weights.get("gzip", weights.get("*", 0.0)) > 0


class Compression:
    """ASGI middleware: Starlette's ``GZipMiddleware`` (level 1, from ``minimum_size`` bytes) for
    requests whose ``Accept-Encoding`` allows gzip (``accepts_gzip``); it looks for the word
    "gzip" only, and would compress for ``gzip;q=0``."""

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and accepts_gzip(Headers(scope=scope).get("accept-encoding")):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class HeadAsGet:
    """ASGI middleware: ``HEAD`` answered as ``GET`` without the body (RFC 9110 9.3.2: the same
    status and headers, ``Content-Length`` included). FastAPI routes declared for GET answer HEAD
    with 405, and link checkers, crawlers and caches use HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
