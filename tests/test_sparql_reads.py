"""What a query can read (kg.sparql_reads), and the service's use of it: a canned query that
cannot match a withheld graph's triples runs on the union of the graphs, with the same answer.

The example study is built with the real CLI, its access tier set to "restricted" (the bundled one
is open): its transcripts' graph is then withheld, and every canned query is run both ways on it
and the answers compared.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import queries
from kg.sparql_reads import predicates_read
from kg.stores.oxigraph import OxigraphStore, query_substituted
from service.dataset import DatasetView, load_view

ROOT = Path(__file__).resolve().parents[1]
HMP = str(Path(sys.executable).with_name("hmp"))
FULL_TEXT = "https://w3id.org/hmp/ontology#fullText"
X = "http://x/"
ID = "https://w3id.org/hmp/id/example-study/"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * WHERE { ?s <http://x/a> ?o }", {"a"}),
        ("ASK { ?s <http://x/a> ?o }", {"a"}),
        ("SELECT * WHERE { ?s (<http://x/a>/^<http://x/b>)* ?o }", {"a", "b"}),
        ("SELECT * WHERE { { ?s <http://x/a> ?o } UNION { ?s <http://x/b> ?o } }", {"a", "b"}),
        ("SELECT * WHERE { ?s <http://x/a> ?o OPTIONAL { ?o <http://x/e> ?x } }", {"a", "e"}),
        ("SELECT * WHERE { { SELECT ?s WHERE { ?s <http://x/d> ?o } } }", {"d"}),
        ("SELECT * WHERE { VALUES ?x { 1 2 } ?s <http://x/a> ?x }", {"a"}),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s <http://x/a> ?o BIND (<http://x/q> AS ?p) }", {"a"}),
        ("SELECT ?s (COUNT(*) AS ?n) WHERE { ?s <http://x/a> ?o } GROUP BY ?s", {"a"}),
        ("SELECT * WHERE { ?s <http://x/a> ?o MINUS { ?s <http://x/b> ?x } }", {"a", "b"}),
        # anything that can match a triple of any predicate, or outside the default graph
        ("SELECT * WHERE { ?s ?p ?o }", None),
        ("SELECT * WHERE { VALUES ?p { <http://x/f> } ?s ?p ?o }", None),
        ("SELECT * WHERE { ?s !<http://x/p> ?o }", None),
        ("SELECT * WHERE { GRAPH ?g { ?s <http://x/p> ?o } }", None),
        ("SELECT * FROM <http://g> WHERE { ?s <http://x/p> ?o }", None),
        ("SELECT * FROM NAMED <http://g> WHERE { ?s <http://x/p> ?o }", None),
        ("SELECT * WHERE { SERVICE <http://e> { ?s <http://x/a> ?o } }", None),
        ("SELECT * WHERE { ?s <http://x/a> ?o MINUS { ?s ?p ?x } }", None),
        ("SELECT * WHERE { ?s <http://x/a> ?o FILTER NOT EXISTS { ?o ?q ?z } }", None),
        ("SELECT * WHERE { ?s <http://x/a> ?o FILTER EXISTS { ?o <http://x/c> ?z } }", None),
        ("SELECT * WHERE { ?s <http://x/a> ?o BIND (EXISTS { ?o ?q ?z } AS ?b) }", None),
        ("DESCRIBE <http://x/thing>", None),
        ("SELECT * WHERE {", None),
    ],
)
def test_predicates_read_bound_what_a_query_can_match(query: str, expected: set[str] | None) -> None:
    found = predicates_read(query)
    assert found == (None if expected is None else frozenset(X + e for e in expected))


VIEW = DatasetView(("g1", "g2", "text"), frozenset({"text"}), hidden_predicates=frozenset({FULL_TEXT}))


def test_a_query_that_cannot_meet_the_withheld_triples_runs_on_the_union() -> None:
    assert VIEW.for_reading(frozenset({X + "a"})) == (None, None)
    served = (("g1", "g2"), ("g1", "g2"))
    assert VIEW.for_reading(frozenset({X + "a", FULL_TEXT})) == served
    assert VIEW.for_reading(None) == served
    unknown = DatasetView(("g1", "text"), frozenset({"text"}), hidden_predicates=None)
    assert unknown.for_reading(frozenset({X + "a"})) == (("g1",), ("g1",))
    assert DatasetView(("g1",), frozenset()).for_reading(None) == (None, None)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> OxigraphStore:
    directory, study = tmp_path_factory.mktemp("example-store"), tmp_path_factory.mktemp("src") / "study"
    shutil.copytree(ROOT / "data" / "example-study", study)
    yaml = (study / "study.yaml").read_text(encoding="utf-8")
    assert "text_access_tier: open" in yaml
    (study / "study.yaml").write_text(yaml.replace("text_access_tier: open", "text_access_tier: restricted"))
    subprocess.run(
        [HMP, "build", str(study), "--store", str(directory)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return OxigraphStore(directory, read_only=True)


def _answer(store: ox.Store, query: queries.CannedQuery, **dataset: object) -> Counter[str]:
    if any(p.type == "participant" for p in query.params):
        substitutions: dict[str, queries.Term] = {"_participant": ox.NamedNode(ID + "participant/P01")}
    else:
        substitutions = queries.bind(query, None)  # the defaults
    result = query_substituted(store, query.text, substitutions, **dataset)
    if isinstance(result, ox.QueryTriples):
        return Counter(str(t) for t in result)
    if isinstance(result, ox.QueryBoolean):
        return Counter([str(bool(result))])
    names = [v.value for v in result.variables]
    return Counter(repr([(n, str(s[n]) if s[n] is not None else None) for n in names]) for s in result)


def test_canned_answers_on_the_union_are_the_served_answers(example: OxigraphStore) -> None:
    view = load_view(example, serve_fulltext=False)
    assert [g.rsplit("/", 1)[-1] for g in view.hidden] == ["fulltext"]
    assert view.hidden_predicates == frozenset({FULL_TEXT})
    raw = example.raw
    served = [ox.NamedNode(g) for g in view.served]
    on_union = []
    for query in queries.catalogue():
        reads = predicates_read(query.text)
        if view.for_reading(reads) != (None, None):
            assert reads is None or FULL_TEXT in reads, query.name
            continue
        on_union.append(query.name)
        union = _answer(raw, query, use_default_graph_as_union=True)
        assert union, query.name
        assert union == _answer(raw, query, default_graph=served, named_graphs=served), query.name
    assert len(on_union) >= len(queries.catalogue()) - 1  # all but participant-profile (?s ?p ?o)
