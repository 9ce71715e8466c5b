"""Canned-query parameters travel to the query workers as RDF terms and are bound by pyoxigraph
(``substitutions``), not spliced into the text: the answer must equal the same query with the
same terms in a typed VALUES block, for SELECT and CONSTRUCT, in every format the routes offer."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg import queries
from kg.stores._bind import bind
from kg.stores.oxigraph import OxigraphStore
from serverfixture import build_store
from service.executor import QueryJob, decode_job, encode_job, evaluate


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> OxigraphStore:
    return OxigraphStore(build_store(tmp_path_factory.mktemp("bindings") / "store"), read_only=True)


@pytest.mark.parametrize(
    ("name", "params", "media_type"),
    [
        ("evidence", {"stage": "awakening", "occupation": "doctor"}, "application/sparql-results+json"),
        ("evidence", {"stage": "awakening", "occupation": "doctor"}, "text/csv"),
        ("evidence", {"occupation": "doctor"}, "application/sparql-results+json"),  # default stage
        ("participant-profile", {"participant": "P01"}, "text/turtle"),  # CONSTRUCT: VALUES fallback
    ],
)
def test_bound_terms_answer_like_a_values_block(
    store: OxigraphStore, name: str, params: dict[str, str], media_type: str
) -> None:
    query = queries.get(name)
    terms = queries.bind(query, params, store)
    data = store.snapshot().store
    bound = evaluate(data, QueryJob(query.text, media_type, bindings=QueryJob.encode_bindings(terms)))
    spliced = evaluate(data, QueryJob(bind(query.text, terms), media_type))
    assert bound.body == spliced.body
    assert len(bound.body) > 300  # a real answer, not an empty table or graph


def test_bindings_survive_the_wire_with_datatype_and_language() -> None:
    terms: dict[str, ox.NamedNode | ox.BlankNode | ox.Literal] = {
        "a": ox.NamedNode("https://example.org/x"),
        "b": ox.Literal("7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        "c": ox.Literal("Pflege", language="de"),
        "d": ox.Literal('say "}" ; DROP ALL'),
    }
    job = QueryJob("SELECT ?a ?b ?c ?d WHERE {}", "text/csv", bindings=QueryJob.encode_bindings(terms))
    again = decode_job(encode_job(job))
    assert again == job
    assert again.substitutions() == terms
