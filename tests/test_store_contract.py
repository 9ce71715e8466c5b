"""ONE contract suite for every store backend: embedded pyoxigraph on disk, and a real Virtuoso."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.errors import StoreError
from kg.store import Store
from kg.stores.oxigraph import OxigraphStore
from kg.stores.remote import RemoteStore
from virtuoso import virtuoso_url  # noqa: F401  (the session fixture)

G1 = "https://example.org/graph/one"
G2 = "https://example.org/graph/two"
EX = "https://example.org/"


def _t(s: str, p: str, o: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(ox.NamedNode(EX + s), ox.NamedNode(EX + p), o)


DATA = {
    G1: [
        _t("alice", "name", ox.Literal("Alice")),
        _t("alice", "knows", ox.NamedNode(EX + "bob")),
        _t("alice", "quote", ox.Literal('she said "hi" }; DROP ALL')),
    ],
    G2: [
        _t("bob", "name", ox.Literal("Bob", language="en")),
        _t("bob", "age", ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))),
    ],
}


@pytest.fixture(params=["oxigraph", "virtuoso"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "oxigraph":
        backend: Store = OxigraphStore(tmp_path / "store")
    else:
        backend = RemoteStore(request.getfixturevalue("virtuoso_url"))
        backend.update(f"DROP SILENT GRAPH <{G1}> ; DROP SILENT GRAPH <{G2}>")
    backend.replace_graphs(DATA)
    yield backend
    backend.close()


def test_load_and_count(store: Store) -> None:
    assert store.count(G1) == 3 and store.count(G2) == 2
    assert {G1, G2} <= set(store.graph_names())


def test_select_with_substitutions_binds_terms_not_text(store: Store) -> None:
    query = f"SELECT ?name WHERE {{ ?person <{EX}name> ?name }}"
    rows = store.select(query, substitutions={"person": ox.NamedNode(EX + "bob")})
    assert rows == [{"name": ox.Literal("Bob", language="en")}]
    hostile = store.select(
        f"SELECT ?s WHERE {{ ?s <{EX}quote> ?q }}",
        substitutions={"q": ox.Literal('she said "hi" }; DROP ALL')},
    )
    assert hostile == [{"s": ox.NamedNode(EX + "alice")}]
    assert store.count(G1) == 3


def test_select_sees_the_union_of_graphs(store: Store) -> None:
    rows = store.select(f"SELECT ?s ?n WHERE {{ ?s <{EX}knows> ?o . ?o <{EX}name> ?n }}")
    assert rows == [{"s": ox.NamedNode(EX + "alice"), "n": ox.Literal("Bob", language="en")}]


def test_ask(store: Store) -> None:
    assert store.ask(f"ASK {{ <{EX}alice> <{EX}knows> ?x }}")
    assert not store.ask(f"ASK {{ ?x <{EX}knows> <{EX}alice> }}")


def test_construct(store: Store) -> None:
    triples = store.construct(f"CONSTRUCT {{ ?s <{EX}named> ?n }} WHERE {{ ?s <{EX}name> ?n }}")
    assert {(t.subject.value, str(t.object)) for t in triples} == {
        (EX + "alice", '"Alice"'),
        (EX + "bob", '"Bob"@en'),
    }


def test_query_raw_serialises(store: Store) -> None:
    raw = store.query_raw(
        f"SELECT ?age WHERE {{ ?s <{EX}age> ?age }}", media_type="application/sparql-results+json"
    )
    assert json.loads(raw.body)["results"]["bindings"][0]["age"]["value"] == "42"
    ttl = store.query_raw(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{G2}> {{ ?s ?p ?o }} }}", media_type="text/turtle"
    )
    assert len(list(ox.parse(ttl.body, format=ox.RdfFormat.TURTLE))) == 2


def test_replace_graphs_replaces(store: Store) -> None:
    store.replace_graphs({G1: [_t("carol", "name", ox.Literal("Carol"))]})
    assert store.count(G1) == 1 and store.count(G2) == 2


def test_failing_replace_leaves_previous_data(store: Store) -> None:
    def exploding() -> Iterator[ox.Triple]:
        yield _t("dave", "name", ox.Literal("Dave"))
        raise StoreError("source broke half way")

    with pytest.raises(StoreError, match="half way"):
        store.replace_graphs({G1: exploding(), G2: []})
    assert store.count(G1) == 3 and store.count(G2) == 2
    assert not [g for g in store.graph_names() if g.startswith("urn:hmp:staging:")]
    assert not store.ask(f"ASK {{ <{EX}dave> ?p ?o }}")


def test_dump_one_graph(store: Store, tmp_path: Path) -> None:
    data = store.dump(None, media_type="application/n-triples", graph=G2)
    assert data is not None and len(list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))) == 2
    out = tmp_path / "g1.nq"
    assert store.dump(out, media_type="application/n-quads", graph=G1) is None
    quads = list(ox.parse(out.read_bytes(), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == 3 and {q.graph_name.value for q in quads} == {G1}
