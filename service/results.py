"""Serialise query results the service computed row by row (so it can stop at the row limit).

SELECT/ASK: SPARQL 1.1 Query Results JSON, XML, CSV and TSV. CONSTRUCT/DESCRIBE: pyoxigraph's RDF
serialisers, with our prefixes for the formats that use them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kg.store import Term, json_term

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

PREFIXES = {
    "hmp": "https://w3id.org/hmp/ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "oa": "http://www.w3.org/ns/oa#",
    "foaf": "http://xmlns.com/foaf/0.1/",
}

RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}
QUAD_TYPES = {"application/n-quads", "application/trig"}
_PREFIXED = {"text/turtle", "application/rdf+xml", "application/trig"}

Solution = Sequence[Term | None]


def _xml_term(term: Term | ox.Triple) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return (
        f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
        f"</predicate><object>{_xml_term(term.object)}</object></triple>"
    )


def _csv_value(term: Term | ox.Triple | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, ox.NamedNode | ox.Literal):
        text = term.value
    else:
        text = str(term)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def serialize_solutions(variables: Sequence[str], rows: Sequence[Solution], media_type: str) -> bytes:
    """A SELECT result (``rows`` aligned with ``variables``) as ``media_type``."""
    if media_type == "application/sparql-results+json":
        bindings = [
            {name: json_term(value) for name, value in zip(variables, row, strict=True) if value is not None}
            for row in rows
        ]
        doc = {"head": {"vars": list(variables)}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if media_type == "application/sparql-results+xml":
        parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        parts.extend(f"<variable name={quoteattr(name)}/>" for name in variables)
        parts.append("</head><results>")
        for row in rows:
            parts.append("<result>")
            for name, value in zip(variables, row, strict=True):
                if value is not None:
                    parts.append(f"<binding name={quoteattr(name)}>{_xml_term(value)}</binding>")
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "".join(parts).encode()
    if media_type == "text/csv":
        lines = [",".join(_csv_value(ox.Literal(name)) for name in variables)]
        lines.extend(",".join(_csv_value(value) for value in row) for row in rows)
        return ("\r\n".join(lines) + "\r\n").encode()
    if media_type == "text/tab-separated-values":
        lines = ["\t".join(f"?{name}" for name in variables)]
        lines.extend("\t".join("" if value is None else str(value) for value in row) for row in rows)
        return ("\n".join(lines) + "\n").encode()
    raise ValueError(f"not a query results format: {media_type}")


def serialize_boolean(value: bool, media_type: str) -> bytes:
    """An ASK result as ``media_type``."""
    text = "true" if value else "false"
    if media_type == "application/sparql-results+json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if media_type == "application/sparql-results+xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{text}</boolean></sparql>\n"
        ).encode()
    if media_type == "text/csv":
        return f"_askResult\r\n{text}\r\n".encode()
    if media_type == "text/tab-separated-values":
        return f"?_askResult\n{text}\n".encode()
    raise ValueError(f"not a query results format: {media_type}")


def serialize_triples(triples: Sequence[ox.Triple], media_type: str) -> bytes:
    """Triples as ``media_type`` (quad formats put them in the default graph)."""
    rdf_format = RDF_FORMATS[media_type]
    items: Sequence[ox.Triple] | list[ox.Quad] = triples
    if media_type in QUAD_TYPES:
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    prefixes = PREFIXES if media_type in _PREFIXED else None
    return ox.serialize(items, format=rdf_format, prefixes=prefixes) or b""


def results_of(results_json: bytes) -> tuple[list[str], list[dict[str, object]]]:
    """The variables and rows of a SPARQL results JSON document, each row ``{variable: term}``
    (unbound left out)."""
    parsed = ox.parse_query_results(results_json, format=ox.QueryResultsFormat.JSON)
    if not isinstance(parsed, ox.QuerySolutions):
        return [], []
    names = [v.value for v in parsed.variables]
    rows = [
        {
            name: term
            for name, term in zip(names, (row[i] for i in range(len(names))), strict=True)
            if term is not None
        }
        for row in parsed
    ]
    return names, rows
