"""How the embedded store reads a SELECT answer: from pyoxigraph's TSV serialisation, each distinct
cell parsed once (``kg.stores.oxigraph.solution_rows``), and solution by solution where that
cannot be done. Both ways must give the same rows, term for term."""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.stores.oxigraph import OxigraphStore, QueryTimeout, _iterated_rows, solution_rows

XSD = "http://www.w3.org/2001/XMLSchema#"

ODD = f"""
SELECT ?a ?b ?c ?d ?e ?f ?g ?h ?i ?j ?k ?l WHERE {{ VALUES (?a ?b ?c ?d ?e ?f ?g ?h ?i ?j ?k ?l) {{
  ("tab\\there\\nnew line \\"quoted\\" back\\\\slash \\u00fcn\\u00efc\\u00f6de \\U0001F389" 1 -2.50 1.0E3
   "01"^^<{XSD}integer> true "x"@en-GB <http://example.org/a%20b?q=1#f> "NaN"^^<{XSD}double>
   "2020-01-01"^^<{XSD}date> "" "not a number"^^<{XSD}integer>)
  (UNDEF 2 UNDEF UNDEF UNDEF false "y"@fr UNDEF "INF"^^<{XSD}double> UNDEF "  spaced  " UNDEF)
  (UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF UNDEF)
}} }}"""


def both(store: ox.Store, sparql: str) -> tuple[list[dict[str, object]] | None, list[dict[str, object]]]:
    result = store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    again = store.query(sparql)
    assert isinstance(again, ox.QuerySolutions)
    return solution_rows(result), _iterated_rows(again, threading.Event())  # type: ignore[return-value]


def same_terms(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    """Equal rows, and each term of the same kind with the same text, datatype and language."""
    return a == b and all(
        type(x[k]) is type(y[k]) and repr(x[k]) == repr(y[k]) for x, y in zip(a, b, strict=True) for k in x
    )


def test_literals_of_every_kind_and_unbound_values_read_back_exactly() -> None:
    fast, slow = both(ox.Store(), ODD)
    assert fast is not None and same_terms(fast, slow)
    first, second, third = fast
    assert first["a"] == ox.Literal('tab\there\nnew line "quoted" back\\slash ünïcöde 🎉')
    assert first["e"] == ox.Literal("1", datatype=ox.NamedNode(XSD + "integer"))
    assert first["g"] == ox.Literal("x", language="en-gb")
    assert first["h"] == ox.NamedNode("http://example.org/a%20b?q=1#f")
    assert first["k"] == ox.Literal("")  # an empty string is a value, not an unbound variable
    assert first["l"] == ox.Literal("not a number", datatype=ox.NamedNode(XSD + "integer"))
    assert set(second) == {"b", "f", "g", "i", "k"}  # the UNDEFs are left out, as iterating does
    assert second["k"] == ox.Literal("  spaced  ")
    assert third == {}


def test_equal_cells_share_one_term_object() -> None:
    store = ox.Store()
    rows = solution_rows(store.query('SELECT ?x WHERE { VALUES ?x { "a" "a" "b" "a" } }'))  # type: ignore[arg-type]
    assert rows is not None and [r["x"].value for r in rows] == ["a", "a", "b", "a"]  # type: ignore[attr-defined]
    assert rows[0]["x"] is rows[1]["x"] is rows[3]["x"]


def test_blank_nodes_keep_their_labels() -> None:
    fast, slow = both(ox.Store(), 'SELECT ?x ?y WHERE { BIND(BNODE("k") AS ?y) BIND(<urn:x:a> AS ?x) }')
    assert fast == slow == [{"x": ox.NamedNode("urn:x:a"), "y": ox.BlankNode("k")}]


def test_a_quoted_triple_is_read_solution_by_solution(tmp_path: Path) -> None:
    sparql = "SELECT ?t WHERE { BIND(<<( <urn:x:s> <urn:x:p> <urn:x:o> )>> AS ?t) }"
    result = ox.Store().query(sparql)
    assert solution_rows(result) is None  # type: ignore[arg-type]
    store = OxigraphStore(tmp_path / "store")
    try:
        rows = store.select(sparql)
    finally:
        store.close()
    quoted = ox.Triple(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.NamedNode("urn:x:o"))
    assert rows == [{"t": quoted}]


def test_no_variables_gives_one_empty_row_per_solution() -> None:
    fast, slow = both(ox.Store(), "SELECT * WHERE { VALUES () { () () } }")
    assert fast == slow == [{}, {}]


def test_a_cancelled_read_stops_with_a_timeout() -> None:
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(QueryTimeout):
        solution_rows(ox.Store().query(ODD), cancelled)  # type: ignore[arg-type]
