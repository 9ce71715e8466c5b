"""``hmp build`` into a remote SPARQL store (a real Virtuoso): validated in the scratch store,
then handed over with ``replace_graphs``; a violation never reaches the remote store."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.build import build_study
from kg.errors import ValidationFailed
from kg.stores.oxigraph import OxigraphStore
from kg.stores.remote import RemoteStore
from studybuilder import break_quote
from studybuilder import build_study as make_study
from virtuoso import virtuoso_url  # noqa: F401  (the session fixture)

GRAPHS = [f"https://w3id.org/hmp/graph/demo/{part}" for part in ("metadata", "codings", "fulltext")]


def test_build_into_a_remote_store_matches_the_embedded_one(virtuoso_url: str, tmp_path: Path) -> None:  # noqa: F811
    remote = RemoteStore(virtuoso_url)
    remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))
    embedded = OxigraphStore(tmp_path / "store")
    assert build_study(make_study(), remote).loaded
    build_study(make_study(), embedded)
    assert [remote.count(g) for g in GRAPHS] == [embedded.count(g) for g in GRAPHS]
    with pytest.raises(ValidationFailed, match="nothing was loaded"):
        build_study(make_study(mutate=break_quote), remote)
    assert [remote.count(g) for g in GRAPHS] == [embedded.count(g) for g in GRAPHS]
    remote.close()
