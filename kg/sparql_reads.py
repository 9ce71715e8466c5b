"""Which predicates a SPARQL query can read: the triples it can match, by predicate IRI.

The service withholds some graphs (verbatim transcripts) from the dataset a query runs on, and
pyoxigraph evaluates a query over an explicit list of graphs more slowly than over the union of
all graphs (turning-points at 1x: 5.2 against 3.9 ms). A query that can only match triples whose
predicate is not in any withheld graph gives the same answer on the union (``service.dataset``).

``predicates_read`` answers from the query's algebra (rdflib's parser): the IRIs in predicate
position of every triple pattern and property path, in the WHERE clause and sub-queries alike.
It answers None - "any triple" - for anything it cannot bound that way: a variable in predicate
position, a negated property set, a GRAPH or SERVICE pattern, a FROM / FROM NAMED clause, EXISTS
(rdflib leaves its pattern untranslated), DESCRIBE, or a query rdflib cannot parse. Meant for the
project's own canned queries, whose answers the tests compare on both datasets; a user's query
is never judged by it (a difference between rdflib's and pyoxigraph's parsers must not open a
withheld graph).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rdflib import URIRef
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue

from kg.sparql_parse import prepare_query

#: algebra nodes that can reach triples outside the default graph, or any triple at all
_OPEN_ENDED = frozenset({"Graph", "ServiceGraphPattern", "DescribeQuery"})
#: EXISTS: rdflib leaves its pattern as a parse tree until it evaluates it; not looked into
_EXISTS = frozenset({"Builtin_EXISTS", "Builtin_NOTEXISTS"})
#: algebra node names look like "BGP", "LeftJoin", "Aggregate_Count"; parse-tree pattern nodes
#: (a pattern left untranslated) end like these: not understood, so any triple
_PARSE_TREE_SUFFIXES = ("GraphPattern", "GraphPatternSub", "TriplesBlock", "SubSelect", "InlineData", "Path")


class _AnyTriple(Exception):
    """The query can read triples of any predicate."""


def _path_iris(path: Any) -> set[str]:
    if isinstance(path, URIRef):
        return {str(path)}
    if isinstance(path, SequencePath | AlternativePath):
        return set().union(*(_path_iris(p) for p in path.args))
    if isinstance(path, InvPath):
        return _path_iris(path.arg)
    if isinstance(path, MulPath):
        return _path_iris(path.path)
    raise _AnyTriple  # a variable, a negated set !(...) (every other predicate), or a path unknown here


def _walk(node: Any, found: set[str]) -> None:
    if isinstance(node, CompValue):
        # dict.get: CompValue.get answers a missing key with the key's own name
        if node.name in _OPEN_ENDED or dict.get(node, "datasetClause"):
            raise _AnyTriple
        if node.name in _EXISTS or node.name.endswith(_PARSE_TREE_SUFFIXES):
            raise _AnyTriple
        if node.name == "BGP":
            for _, predicate, _ in node.triples:
                found |= _path_iris(predicate)
        for key, value in node.items():
            if key != "_vars":
                _walk(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _walk(value, found)


@lru_cache(maxsize=256)
def predicates_read(sparql: str) -> frozenset[str] | None:
    """The predicate IRIs ``sparql`` can match, or None when it can match any triple."""
    try:
        query = prepare_query(sparql)
    except Exception:  # whatever rdflib cannot read is not bounded
        return None
    found: set[str] = set()
    try:
        _walk(query.algebra, found)
    except _AnyTriple:
        return None
    return frozenset(found)
