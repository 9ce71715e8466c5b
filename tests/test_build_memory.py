"""Memory of a build does not grow with the size of the study (issue 3 §7: stream per transcript).

Each build runs in a fresh process and reports its peak RSS (``ru_maxrss``: Rust/RocksDB
memory included, which tracemalloc would miss). Lifting, the Python quote checks, staging into
the scratch store (bulk loads of ``BULK_BATCH_QUADS``), the SPARQL checks and the batched load
must stay bounded: four times the participants may not cost 1.5 times the memory.

The one-transaction commit is the exception, by design: pyoxigraph buffers a transaction in
memory, so ``build_study`` uses it only up to ``TRANSACTION_QUADS``. Into a fresh store — the
case measured here, with the limit at 0 — the validated scratch store becomes the store's next
generation: the whole build, load included, streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from kg.synth import generate

_CHILD = textwrap.dedent(
    """
    import resource, sys, tempfile
    from pathlib import Path
    from kg.build import build_study, read_source
    from kg.stores.oxigraph import OxigraphStore

    with tempfile.TemporaryDirectory() as tmp:
        summary = build_study(read_source(sys.argv[1]), OxigraphStore(Path(tmp) / "s"),
                              max_transaction_quads=0)
    assert summary.loaded
    print(summary.triples, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _peak_kb(study: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(study)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    triples, peak = done.stdout.split()
    return int(triples), int(peak)


def test_peak_memory_does_not_grow_with_the_number_of_transcripts(tmp_path: Path) -> None:
    generate(40, 3, tmp_path / "small")
    generate(160, 3, tmp_path / "large")
    small_triples, small_peak = _peak_kb(tmp_path / "small")
    large_triples, large_peak = _peak_kb(tmp_path / "large")
    assert large_triples > 3 * small_triples  # the larger study really is about four times larger
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
