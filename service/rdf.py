"""Build small RDF descriptions (service description, VoID) and answer them in the negotiated
RDF format."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from fastapi import Response

from service.errors import NotAcceptable
from service.protocol import GRAPH_TYPES, choose_media_type
from service.results import PREFIXES, RDF_FORMATS

NS = {
    **PREFIXES,
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "formats": "http://www.w3.org/ns/formats/",
    "hmps": "https://w3id.org/hmp/service#",
}
#: RDF formats for descriptions of one graph (quad formats make no sense there).
TRIPLE_TYPES = tuple(t for t in GRAPH_TYPES if t not in ("application/n-quads", "application/trig"))
XSD = "http://www.w3.org/2001/XMLSchema#"


def iri(curie_or_iri: str) -> ox.NamedNode:
    """``prefix:local`` (a prefix of ``NS``) or a full IRI."""
    prefix, sep, local = curie_or_iri.partition(":")
    if sep and prefix in NS and not local.startswith("//"):
        return ox.NamedNode(NS[prefix] + local)
    return ox.NamedNode(curie_or_iri)


def lit(value: object, lang: str | None = None) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(value, float):
        return ox.Literal(repr(value), datatype=ox.NamedNode(XSD + "decimal"))
    return ox.Literal(str(value), language=lang) if lang else ox.Literal(str(value))


class GraphBuilder:
    """Collects triples; ``add("s", "p", o)`` takes CURIEs/IRIs as strings, or terms."""

    def __init__(self) -> None:
        self.triples: list[ox.Triple] = []

    def add(self, s: str | ox.NamedNode | ox.BlankNode, p: str, o: object) -> None:
        subject = iri(s) if isinstance(s, str) else s
        obj = o if isinstance(o, ox.NamedNode | ox.BlankNode | ox.Literal) else lit(o)
        self.triples.append(ox.Triple(subject, iri(p), obj))


def negotiate_rdf(
    accept: str | None, format_param: str | list[str] | None, offered: tuple[str, ...] = TRIPLE_TYPES
) -> str:
    """The RDF media type for a description; raises NotAcceptable (406)."""
    media_type = choose_media_type("construct", accept, format_param)
    if media_type not in offered:
        raise NotAcceptable(
            "no acceptable RDF format", value=str(format_param or accept), expected=", ".join(offered)
        )
    return media_type


def serialize(triples: Iterable[ox.Triple], media_type: str) -> bytes:
    items: list[ox.Triple] | list[ox.Quad] = list(triples)
    if media_type in ("application/n-quads", "application/trig"):
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in items]  # type: ignore[union-attr]
    prefixes = NS if media_type in ("text/turtle", "application/rdf+xml", "application/trig") else None
    return ox.serialize(items, format=RDF_FORMATS[media_type], prefixes=prefixes) or b""


def rdf_response(graph: GraphBuilder | Iterable[ox.Triple], media_type: str) -> Response:
    triples = graph.triples if isinstance(graph, GraphBuilder) else graph
    charset = "; charset=utf-8" if media_type.startswith("text/") or media_type.endswith("json") else ""
    return Response(
        serialize(triples, media_type), media_type=media_type + charset, headers={"Vary": "Accept"}
    )
