"""read → lift → validate → load, one study at a time, all or nothing.

1. Lift transcript by transcript; each transcript's quotes and offsets are checked in Python as
   it is lifted (``kg.validate.check_selectors``), and its triples are bulk-loaded into a
   *temporary* embedded store on disk (never the target store; memory stays bounded).
2. Run the SPARQL form of the shapes over that temporary store (``kg.validate.run_checks``).
3. Only when the study conforms is the target store touched: ONE transaction replaces the
   study's graphs with the validated quads (``OxigraphStore.replace_with``; a remote store gets
   ``replace_graphs``). A study too big for one transaction is, with ``atomic=False`` only,
   loaded in batches instead: the lifted quads were also written to an N-Quads spool file while
   lifting, and that file is ``bulk_load``-ed in slices (``replace_from_nquads``).

On a violation or an error before step 3 the target store was never written; an error inside
step 3 aborts its transaction. Either way nothing of the study enters the store and its
previous version stays intact. Re-loading a study replaces its graphs. Why this shape:
``bench/RESULTS.md`` (Pipeline).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.errors import ReadError, StoreError, ValidationFailed
from kg.lift import ONTOLOGY_GRAPH, Lifter, ontology_triples, study_graphs
from kg.model import Finding, Severity, Study
from kg.queries import FINDINGS_GRAPH, findings_graph
from kg.store import Store
from kg.stores.oxigraph import (
    BULK_BATCH_QUADS,
    NQUADS_LOAD_LINES,
    OxigraphStore,
    bulk_extend_batched,
)
from kg.validate import SELECTOR_CHECKS, ResultRow, ValidationReport, check_selectors, run_checks

#: Largest study (quads) committed in ONE transaction. pyoxigraph 0.5 buffers a transaction in
#: memory, ~1.5 kB per quad (bench/RESULTS.md), so this keeps a build under ~1.5 GB peak RSS.
TRANSACTION_QUADS = 500_000
#: Largest ``bulk_extend`` slice of the batched (non-atomic) load.
COMMIT_BATCH_MAX = 100_000

#: progress(stage, done, total): stage is "lift", "validate" or "load".
Progress = Callable[[str, int, int], None]


@dataclass
class BuildSummary:
    study_id: str
    source: str
    participants: int = 0
    transcripts: int = 0
    excerpts: int = 0
    stories: int = 0
    events: int = 0
    triples: int = 0
    seconds: float = 0.0
    loaded: bool = False
    reader_findings: list[Finding] = field(default_factory=list)
    report: ValidationReport | None = None

    @property
    def findings(self) -> list[Finding]:
        return self.reader_findings + (self.report.findings if self.report else [])

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    @property
    def notes(self) -> int:
        """Informational findings (e.g. excerpts outside any story): reported, never a problem."""
        return sum(1 for f in self.findings if f.severity is Severity.INFO)

    @property
    def violations(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.VIOLATION)


def read_source(source: str | Path, *, participants: str | Path | None = None) -> Study:
    """Read a study folder or REFI-QDA file with the readers (``kg.readers.read_study``)."""
    try:
        from kg.readers import read_study
    except ImportError as error:  # the readers are a separate piece of work
        raise ReadError(
            "no study readers are installed (kg.readers.read_study)", value=str(source)
        ) from error
    if participants is not None:
        return read_study(Path(source), participants_csv=Path(participants))
    return read_study(Path(source))


def build_study(
    study: Study,
    store: Store,
    *,
    progress: Progress | None = None,
    raise_on_violation: bool = True,
    atomic: bool | None = None,
    max_transaction_quads: int = TRANSACTION_QUADS,
) -> BuildSummary:
    """Lift, validate and load one study atomically; returns what was done.

    With ``raise_on_violation`` (default) violations raise ``ValidationFailed``; otherwise the
    summary comes back with ``loaded=False`` and the report. Either way nothing was loaded.

    The embedded store commits a study in one transaction, which pyoxigraph holds in memory; a
    study of more than ``max_transaction_quads`` quads is refused (``StoreError``, before
    anything is written) unless ``atomic=False`` (or ``HMP_ATOMIC_LOAD=0``): then it is loaded
    in bounded batches, still only after it validated, but without the all-or-nothing
    guarantee against a write error or crash during the load.
    """
    if atomic is None:
        atomic = os.environ.get("HMP_ATOMIC_LOAD", "1") != "0"
    started = time.perf_counter()
    summary = BuildSummary(study.info.id, study.source_path, reader_findings=list(study.findings))
    lifter = Lifter(study)
    targets = [*study_graphs(study), ONTOLOGY_GRAPH, FINDINGS_GRAPH]
    total = len(study.transcripts)
    selector_rows: list[ResultRow] = []

    # The batched path (atomic=False) writes the lifted quads to an N-Quads spool file while
    # lifting and bulk_loads that file into the scratch store and, once valid, into the target
    # (Store.bulk_load parses in Rust, ~2x faster than bulk_extend fed from Python). Quads with
    # blank nodes (bulk_load relabels them per call) and the small fixed graphs stay in ``kept``.
    spooled = not atomic and isinstance(store, OxigraphStore)
    kept: list[ox.Quad] = [
        *_in(ONTOLOGY_GRAPH, ontology_triples()),
        *_in(FINDINGS_GRAPH, findings_graph()),
    ]

    def lifted() -> Iterator[tuple[str, list[ox.Triple]]]:
        done = 0
        for chunk in lifter.chunks():
            selector_rows.extend(check_selectors(chunk))
            for graph, triples in chunk.graphs.items():
                summary.triples += len(triples)
                yield graph, triples
            if chunk.transcript_id is not None:
                done += 1
                if progress:
                    progress("lift", done, total)

    def quads() -> Iterator[ox.Quad]:
        yield from kept
        for graph, triples in lifted():
            yield from _in(graph, triples)

    def spool_into(path: Path, scratch: ox.Store, lines: int) -> None:
        """Write the spool file; each slice of ``lines`` lines is bulk-loaded into ``scratch`` by a
        worker thread (bulk_load releases the GIL) while the next slice is lifted. At most one
        slice waits and one loads, so memory stays bounded."""
        with open(path, "wb") as spool, ThreadPoolExecutor(1, thread_name_prefix="hmp-stage") as pool:
            loading: Future[None] | None = None
            parts: list[bytes] = []
            pending = 0

            def flush() -> Future[None]:
                data = b"".join(parts)
                parts.clear()
                spool.write(data)
                if loading is not None:
                    loading.result()
                return pool.submit(scratch.bulk_load, input=data, format=ox.RdfFormat.N_QUADS)

            for graph, triples in lifted():
                data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
                if b"_:" in data:  # maybe a blank node (or just text): keep those quads apart
                    kept.extend(_in(graph, [t for t in triples if _has_blank(t)]))
                    triples = [t for t in triples if not _has_blank(t)]
                    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
                # N-Triples → N-Quads: one triple per line, each ending " .\n" (newlines in
                # literals are escaped), so the graph goes in front of that ending
                parts.append(data.replace(b" .\n", f" <{graph}> .\n".encode()))
                pending += len(triples)
                # slices grow with what was lifted so far (20k quads first), up to ``lines``
                if pending >= min(lines, max(BULK_BATCH_QUADS, summary.triples // 10)):
                    loading, pending = flush(), 0
            if parts:
                loading = flush()
            if loading is not None:
                loading.result()

    workdir = Path(tempfile.mkdtemp(prefix="hmp-stage-"))
    spool_path = workdir / "study.nq"
    scratch = ox.Store(str(workdir / "scratch"))
    try:
        if spooled:
            spool_into(spool_path, scratch, NQUADS_LOAD_LINES // 2)
            bulk_extend_batched(scratch, kept)
            size = len(kept) + summary.triples
        else:
            size = bulk_extend_batched(scratch, quads())
        if progress:
            progress("validate", 0, 1)
        # The scratch store holds exactly the target graphs: check their union.
        report = run_checks(scratch, None, lifter.locations, skip=SELECTOR_CHECKS, extra=selector_rows)
        summary.report = report
        for key in ("participants", "transcripts", "excerpts", "stories", "events"):
            setattr(summary, key, lifter.counts[key])
        if not report.conforms:
            summary.seconds = time.perf_counter() - started
            if raise_on_violation:
                first = "; ".join(str(f) for f in report.violations[:3])
                count = len(report.violations)
                raise ValidationFailed(
                    f"study {study.info.id!r} has {count} violation(s); nothing was loaded. {first}"
                )
            return summary
        if progress:
            progress("load", 0, 1)
        if isinstance(store, OxigraphStore):
            if size <= max_transaction_quads:
                store.replace_with(_quads(scratch, targets), replace=targets)
            elif atomic:
                raise StoreError(
                    f"study {study.info.id!r} has {size:,} quads: too many to load in one transaction "
                    f"into the embedded store (about {size * 1.5 / 1e6:.1f} GB of memory); nothing was "
                    "loaded",
                    value=str(size),
                    expected=f"at most {max_transaction_quads:,} quads, or HMP_ATOMIC_LOAD=0 to load "
                    "in batches (validated first, but not all-or-nothing)",
                )
            else:
                # Bigger slices for bigger studies (fewer SST files to ingest), capped so the
                # bulk loader's buffer stays bounded: 20k quads up to 1M-quad studies, at most 100k.
                batch = min(COMMIT_BATCH_MAX, max(BULK_BATCH_QUADS, size // 50))
                store.replace_from_nquads(
                    spool_path, replace=targets, quads=kept, batch=batch, lines=_load_lines(size)
                )
        else:
            store.replace_graphs({g: _triples(scratch, g) for g in targets})
        summary.loaded = True
        if progress:
            progress("load", 1, 1)
    finally:
        del scratch
        shutil.rmtree(workdir, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _load_lines(size: int) -> int:
    """Lines per ``bulk_load`` slice of the spool file: grows with the study, capped."""
    return min(NQUADS_LOAD_LINES, max(BULK_BATCH_QUADS, size // 20))


def _has_blank(t: ox.Triple) -> bool:
    return isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)


def _in(graph: str, triples: Iterable[ox.Triple]) -> Iterator[ox.Quad]:
    g = ox.NamedNode(graph)
    for t in triples:
        yield ox.Quad(t.subject, t.predicate, t.object, g)


def _quads(store: ox.Store, graphs: Sequence[str]) -> Iterator[ox.Quad]:
    for graph in graphs:
        yield from store.quads_for_pattern(None, None, None, ox.NamedNode(graph))


def _triples(store: ox.Store, graph: str) -> Iterator[ox.Triple]:
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
        yield quad.triple


def build(
    sources: Sequence[str | Path | Study],
    store: Store,
    *,
    participants: str | Path | None = None,
    progress: Progress | None = None,
    raise_on_violation: bool = True,
) -> list[BuildSummary]:
    """Build each source (a path the readers understand, or a ``Study``) into ``store``."""
    summaries = []
    for source in sources:
        study = source if isinstance(source, Study) else read_source(source, participants=participants)
        summaries.append(build_study(study, store, progress=progress, raise_on_violation=raise_on_violation))
    return summaries
