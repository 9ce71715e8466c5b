"""read → lift → validate → load, one study at a time, all or nothing, at any size.

1. Lift transcript by transcript; nearly all the shapes are checked in Python as each chunk is
   lifted (``kg.validate.PythonChecks``: quotes and offsets, excerpts, texts, the metadata; the
   references between chunks are resolved from a spill on disk once all is lifted), and the
   triples are bulk-loaded (N-Quads, ``Store.bulk_load`` in a worker thread) into a *scratch*
   embedded store on disk — never the target store; memory stays bounded.
2. Run the SPARQL form of the remaining shapes (concepts, the study: ``kg.validate.run_checks``
   without ``PYTHON_CHECKS``) over that scratch store.
3. Only when the study conforms is the target store touched, in one of three ways:

   - the embedded store on disk holds nothing but what this study replaces (a first build, or a
     re-build of the only study): the scratch store — created as the target's next generation
     directory — *becomes* the store (``OxigraphStore.replace_by_swap``: compacted, then the
     store's ``active`` symlink is switched to it in one ``os.replace``);
   - the study is bigger than ``TRANSACTION_QUADS``: the same switch, after every other graph
     of the store was copied into the scratch store (bounded memory, whatever the size);
   - otherwise ONE transaction replaces the study's graphs (``OxigraphStore.replace_with``; a
     remote store gets ``replace_graphs``), cheaper than copying the other studies.

   With ``atomic=False`` (``hmp build --no-atomic``) a study over the limit is instead loaded
   in place in batches from an N-Quads spool file written while lifting
   (``replace_from_nquads``): no copy of the other graphs, but not crash-safe. An in-memory
   store cannot switch generations: there a study over the limit is refused unless
   ``atomic=False``.

On a violation or an error before step 3 the target store was never written; an error or a
crash inside step 3 aborts its transaction, or happens before the switch. Either way nothing of
the study enters the store and its previous version stays intact. Re-loading a study replaces
its graphs. Why this shape: ``bench/RESULTS.md`` (Pipeline).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from kg.validate import PYTHON_CHECKS, PythonChecks, ValidationReport, run_checks

#: Largest study (quads) committed in ONE transaction. pyoxigraph 0.5 buffers a transaction in
#: memory, ~1.5 kB per quad (bench/RESULTS.md), so this keeps a build under ~1.5 GB peak RSS;
#: bigger studies go in by switching the store to a new generation.
TRANSACTION_QUADS = 500_000
#: A study within ``TRANSACTION_QUADS`` is swapped in too (not committed in one transaction)
#: when the store on disk is at most this many times the size of the study's scratch store.
SWAP_COPY_RATIO = 2.0
#: Largest ``bulk_extend`` slice of the batched (non-atomic) load.
COMMIT_BATCH_MAX = 100_000

#: Largest slice of the spool bulk-loaded into the scratch store at once: a constant, so the
#: memory of staging does not grow with the study (100x: 442 MB peak with 40k, 472 MB with 125k,
#: same time; bench/RESULTS.md, Pipeline).
SPOOL_SLICE_LINES = 40_000

#: progress(stage, done, total): stage is "lift", "validate" or "load"; a generation switch
#: reports "copy" (other graphs), "compact" and "switch" (done=0) inside "load".
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
    def findings(self) -> Sequence[Finding]:
        """The reader's findings, then the report's (kept on disk: read as they are used)."""
        return _Chain(self.reader_findings, self.report.findings if self.report else [])

    def _count(self, severity: Severity) -> int:
        found = sum(1 for f in self.reader_findings if f.severity is severity)
        return found + (self.report.count(severity) if self.report else 0)

    @property
    def warnings(self) -> int:
        return self._count(Severity.WARNING)

    @property
    def notes(self) -> int:
        """Informational findings (e.g. excerpts outside any story): reported, never a problem."""
        return self._count(Severity.INFO)

    @property
    def violations(self) -> int:
        return self._count(Severity.VIOLATION)

    def first_findings(self, limit: int) -> list[Finding]:
        """The first ``limit`` findings with the violations first, otherwise in order (as
        ``sorted(findings, key=not a violation)[:limit]``, without reading them all)."""
        reader, violation = self.reader_findings, Severity.VIOLATION
        report: Sequence[Finding] = self.report.findings if self.report else []
        ordered = itertools.chain(
            (f for f in reader if f.severity is violation),
            self.report.of(violation) if self.report else [],
            (f for f in reader if f.severity is not violation),
            (f for f in report if f.severity is not violation),
        )
        return list(itertools.islice(ordered, limit))


class _Chain(Sequence[Finding]):
    """Two sequences of findings one after the other, without copying them into one list."""

    def __init__(self, first: Sequence[Finding], second: Sequence[Finding]) -> None:
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __iter__(self) -> Iterator[Finding]:
        return itertools.chain(self.first, self.second)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        n = len(self.first)
        return self.first[index] if index < n else self.second[index - n]


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

    The embedded store on disk takes a study of more than ``max_transaction_quads`` quads, or
    a study alone in the store, by switching to a new generation of itself (module docstring),
    and smaller ones in one transaction — all or nothing either way, also against a crash.
    ``atomic=False`` (or ``HMP_ATOMIC_LOAD=0``) loads a big study in place in bounded batches
    instead, still only after it validated, but a crash during that load can leave it partly
    loaded. An in-memory store refuses a study over the limit (``StoreError``, before anything
    is written) unless ``atomic=False``.
    """
    if atomic is None:
        atomic = os.environ.get("HMP_ATOMIC_LOAD", "1") != "0"
    started = time.perf_counter()
    summary = BuildSummary(study.info.id, study.source_path, reader_findings=list(study.findings))
    lifter = Lifter(study)
    targets = [*study_graphs(study), ONTOLOGY_GRAPH, FINDINGS_GRAPH]
    total = len(study.transcripts)
    python = PythonChecks()  # its rows on disk: a big study has tens of thousands

    # The lifted quads are staged in the scratch store from N-Quads (``spool_into``). Quads with
    # blank nodes (bulk_load relabels them per call) and the small fixed graphs stay in ``kept``.
    kept: list[ox.Quad] = [
        *_in(ONTOLOGY_GRAPH, ontology_triples()),
        *_in(FINDINGS_GRAPH, findings_graph()),
    ]

    def lifted() -> Iterator[tuple[str, list[ox.Triple]]]:
        done = 0
        for chunk in lifter.chunks():
            python.check(chunk)
            for graph, triples in chunk.graphs.items():
                summary.triples += len(triples)
                yield graph, triples
            if chunk.transcript_id is not None:
                done += 1
                if progress:
                    progress("lift", done, total)

    def spool_into(path: Path | None, scratch: ox.Store, lines: int) -> None:
        """Stage the lifted quads in ``scratch`` as N-Quads (``bulk_load`` parses in Rust); each
        slice of ``lines`` lines is bulk-loaded by a worker thread (bulk_load releases the GIL)
        while the next slice is lifted. At most one slice waits and one loads, so memory stays
        bounded. With ``path``, the N-Quads are also written to that spool file."""
        with contextlib.ExitStack() as stack:
            spool = stack.enter_context(open(path, "wb")) if path is not None else None
            pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="hmp-stage"))
            loading: Future[None] | None = None
            parts: list[bytes] = []
            pending = 0

            def flush() -> Future[None]:
                data = b"".join(parts)
                parts.clear()
                if spool is not None:
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

    # Where the scratch store lives: on disk beside the target's generations when the target is
    # an embedded store on disk, so that it can become the target's next generation (``swap``).
    swap = isinstance(store, OxigraphStore) and store.swappable
    if swap:
        assert isinstance(store, OxigraphStore)
        workdir = store.workdir()
        scratch_dir = store.new_generation()
        # Nothing in the target but what this study replaces: the validated scratch store is
        # exactly the target's next version, and adopting it is the whole load.
        adopt = not store.other_graphs(targets)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="hmp-stage-"))
        scratch_dir = workdir / "scratch"
        adopt = False
    # The in-place batched load (atomic=False) reads the validated quads back from a spool file.
    spool_path = workdir / "study.nq" if not atomic and not adopt else None
    scratch: ox.Store | None = ox.Store(str(scratch_dir))
    adopted = False
    try:
        assert scratch is not None
        spool_into(spool_path, scratch, SPOOL_SLICE_LINES)
        bulk_extend_batched(scratch, kept)
        size = len(kept) + summary.triples
        if progress:
            progress("validate", 0, 1)
        # The scratch store holds exactly the target graphs: the checks not done in Python
        # (concepts, the study) run over their union, on read-only handles of the scratch
        # directory, a group of checks at a time: what RocksDB caches for one group is let go
        # before the next (bench/RESULTS.md, Pipeline). The writer is closed
        # meanwhile: its background compactions would delete files a reader is opening. It is
        # compacted first (the swap's own compaction then has nothing left to do; the other load
        # paths pay it, ~3-5 s at 100x): a reader opens every file of the store, and the bulk
        # loads left hundreds of small ones. With every check in SPARQL that paid (checks at 100x
        # 9.5 s, 21 s uncompacted); with only the concept and study checks left it no longer
        # does for the paths that do not swap (0.1 s compacted, 0.45 s not).
        scratch.optimize()
        scratch.flush()
        scratch = None
        rows = python.finish()  # the references between chunks, now that all is lifted
        report = run_checks(scratch_dir, None, lifter.locations, skip=PYTHON_CHECKS, extra=rows)
        scratch = ox.Store(str(scratch_dir))
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
            big = size > max_transaction_quads
            # Copying the other graphs costs less than one transaction of the study when they are
            # no bigger than it (~17 vs ~25 µs a quad, bench/RESULTS.md); judged by disk size.
            cheap = swap and _disk_bytes(store.directory) <= SWAP_COPY_RATIO * _disk_bytes(scratch_dir)
            if swap and (adopt or (atomic and big) or (not big and cheap)):
                # A new generation of the whole store, switched to atomically (bounded memory).
                _keep_only(scratch, targets)
                store.replace_by_swap(
                    scratch,
                    scratch_dir,
                    replace=targets,
                    progress=(lambda stage: progress(stage, 0, 1)) if progress else None,
                )
                adopted = True
            elif not big:
                store.replace_with(_quads(scratch, targets), replace=targets)
            elif atomic:
                raise StoreError(
                    f"study {study.info.id!r} has {size:,} quads: too many to load in one transaction "
                    f"into an in-memory store (about {size * 1.5 / 1e6:.1f} GB of memory); nothing was "
                    "loaded",
                    value=str(size),
                    expected=f"at most {max_transaction_quads:,} quads, a store on disk (which swaps "
                    "in a new version of itself instead), or HMP_ATOMIC_LOAD=0 to load in batches "
                    "(validated first, but not all-or-nothing)",
                )
            else:
                assert spool_path is not None
                # Bigger slices for bigger studies (fewer SST files to ingest), capped so the
                # bulk loader's buffer stays bounded: 20k quads up to 1M-quad studies, at most 100k.
                batch = min(COMMIT_BATCH_MAX, max(BULK_BATCH_QUADS, size // 50))
                store.replace_from_nquads(
                    spool_path, replace=targets, quads=kept, batch=batch, lines=_load_lines(size)
                )
        else:  # a remote store: staging graphs then one switch, or in place with atomic=False
            store.replace_graphs({g: _triples(scratch, g) for g in targets}, atomic=atomic)
        summary.loaded = True
        if progress:
            progress("load", 1, 1)
    finally:
        scratch = None  # closes it (the store now owns it if it was adopted)
        if not adopted:
            shutil.rmtree(scratch_dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _load_lines(size: int) -> int:
    """Lines per ``bulk_load`` slice of the spool file: grows with the study, capped."""
    return min(NQUADS_LOAD_LINES, max(BULK_BATCH_QUADS, size // 20))


def _disk_bytes(directory: Path | None) -> int:
    """The size of a RocksDB directory's files. RocksDB compacts in the background, so a file
    listed may be gone by the time it is measured: it no longer counts (it failed a CI run once)."""
    if directory is None:
        return 0
    total = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                if entry.is_file():
                    total += entry.stat().st_size
            except FileNotFoundError:
                continue
    return total


def _keep_only(store: ox.Store, graphs: Sequence[str]) -> None:
    """Remove from ``store`` anything outside ``graphs`` (the checks write nothing, so normally
    there is nothing to remove: this keeps a swapped-in scratch store exactly the study)."""
    wanted = set(graphs)
    for g in list(store.named_graphs()):
        if not (isinstance(g, ox.NamedNode) and g.value in wanted):
            store.remove_graph(g)
    if next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None:
        store.clear_graph(ox.DefaultGraph())


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
