"""Reading a study holds no per-coding data in memory (issue 3 §7: stream per transcript).

The readers check every coding up front but keep them on disk (a temporary SQLite database)
until the transcript they belong to is loaded. So the Python memory still allocated after
``read_study`` must not grow with the number of codings: the same study with four times the
codings (the same participants, transcripts, stories and events) may not cost 1.5 times as
much. tracemalloc counts Python allocations only; SQLite's own page cache is capped
(``PRAGMA cache_size``) and is not counted here.
"""

from __future__ import annotations

import csv
import gc
import shutil
import tracemalloc
from pathlib import Path

import pytest

from kg.model import Study
from kg.readers import read_study, write_qdpx
from kg.synth import generate

COPIES = 4


def _more_codings(small: Path, large: Path) -> None:
    """``large`` = ``small`` with every coding of codings.csv there ``COPIES`` times (new ids)."""
    shutil.copytree(small, large)
    with (small / "codings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (large / "codings.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(COPIES):
            for row in rows:
                writer.writerow({**row, "id": row["id"] + (f"-copy{copy}" if copy else "")})


def _retained(path: Path) -> tuple[int, Study]:
    """Bytes of Python memory still allocated after reading ``path`` (the study kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        study = read_study(path)
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return retained, study


def _codings(study: Study) -> int:
    return sum(len(t.codings) for t in study.iter_transcripts())


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("memory")
    generate(40, 3, root / "small")
    _more_codings(root / "small", root / "large")
    return root / "small", root / "large"


def test_folder_reader_memory_does_not_grow_with_the_number_of_codings(studies: tuple[Path, Path]) -> None:
    small, large = studies
    read_study(small)  # caches (ontology, concept index) are filled before measuring
    small_bytes, small_study = _retained(small)
    large_bytes, large_study = _retained(large)
    assert _codings(large_study) == COPIES * _codings(small_study) > 1000
    assert [t.id for t in large_study.transcripts] == [t.id for t in small_study.transcripts]
    assert large_bytes < 1.5 * small_bytes, (small_bytes, large_bytes)


def test_refiqda_reader_memory_does_not_grow_with_the_number_of_codings(
    studies: tuple[Path, Path], tmp_path: Path
) -> None:
    """The same, for .qdpx projects written from the two studies (NVivo-like: UTF-16 positions, CRLF)."""
    small, large = tmp_path / "small.qdpx", tmp_path / "large.qdpx"
    for folder, out in zip(studies, (small, large), strict=True):
        write_qdpx(read_study(folder), out, position_unit="utf16", line_ends="crlf", bom=True)
    read_study(small)
    small_bytes, small_study = _retained(small)
    large_bytes, large_study = _retained(large)
    assert _codings(large_study) == COPIES * _codings(small_study) > 1000
    assert [t.id for t in large_study.transcripts] == [t.id for t in small_study.transcripts]
    assert large_bytes < 1.5 * small_bytes, (small_bytes, large_bytes)
