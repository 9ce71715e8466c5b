"""Every build loads the findings graph, so SPARQL users can ask which query tests which claim."""

from __future__ import annotations

from pathlib import Path

from kg.build import build_study
from kg.queries import FINDINGS_GRAPH, catalogue
from kg.stores.oxigraph import OxigraphStore
from studybuilder import build_study as make_study


def test_build_loads_one_finding_per_canned_query_linked_to_its_query(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    try:
        build_study(make_study(), store)
        assert FINDINGS_GRAPH in store.graph_names()
        rows = store.select(
            """
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            SELECT ?finding ?query WHERE {
              GRAPH <https://w3id.org/hmp/graph/findings> { ?finding rdfs:seeAlso ?query }
            }"""
        )
        linked = {str(row["query"].value).rsplit("/", 1)[-1] for row in rows}
        assert linked == {q.name for q in catalogue()}
        # rebuilding replaces the graph rather than adding a second copy
        before = store.count(FINDINGS_GRAPH)
        build_study(make_study(), store)
        assert store.count(FINDINGS_GRAPH) == before
    finally:
        store.close()
