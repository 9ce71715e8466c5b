"""read → lift → validate → load, one study at a time, all or nothing.

The lifted study is bulk-loaded into *staging* graphs (in the target store when it is the
embedded one, else in a temporary embedded store on disk), checked there with the SPARQL form of
the shapes, and only then swapped into place in one transaction. On any violation or error the
staging graphs are dropped: nothing of the study enters the store and its previous version
stays intact. Re-loading a study replaces its graphs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.errors import ReadError, ValidationFailed
from kg.lift import ONTOLOGY_GRAPH, Lifter, ontology_triples, study_graphs
from kg.model import Finding, Severity, Study
from kg.queries import FINDINGS_GRAPH, findings_graph
from kg.store import Store
from kg.stores.oxigraph import OxigraphStore
from kg.validate import ValidationReport, run_checks

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
) -> BuildSummary:
    """Lift, validate and load one study atomically; returns what was done.

    With ``raise_on_violation`` (default) violations raise ``ValidationFailed``; otherwise the
    summary comes back with ``loaded=False`` and the report. Either way nothing was loaded.
    """
    started = time.perf_counter()
    summary = BuildSummary(study.info.id, study.source_path, reader_findings=list(study.findings))
    lifter = Lifter(study)
    targets = [*study_graphs(study), ONTOLOGY_GRAPH, FINDINGS_GRAPH]
    total = len(study.transcripts)

    def parts() -> Iterator[tuple[str, Iterable[ox.Triple]]]:
        yield ONTOLOGY_GRAPH, ontology_triples()
        yield FINDINGS_GRAPH, findings_graph()
        done = 0
        for chunk in lifter.chunks():
            for graph, triples in chunk.graphs.items():
                summary.triples += len(triples)
                yield graph, triples
            if chunk.transcript_id is not None:
                done += 1
                if progress:
                    progress("lift", done, total)

    local = store if isinstance(store, OxigraphStore) else None
    workdir: Path | None = None
    if local is None:
        workdir = Path(tempfile.mkdtemp(prefix="hmp-stage-"))
        local = OxigraphStore(workdir)
    staging: dict[str, str] = {}
    try:
        staging = local.stage(parts(), targets=targets)
        if progress:
            progress("validate", 0, 1)
        report = run_checks(local.raw, staging.values(), lifter.locations)
        summary.report = report
        for key in ("participants", "transcripts", "excerpts", "stories", "events"):
            setattr(summary, key, lifter.counts[key])
        if not report.conforms:
            local.discard_staged(staging)
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
        if local is store:
            local.commit_staged(staging)
        else:
            store.replace_graphs({g: _triples(local.raw, s) for g, s in staging.items()})
        summary.loaded = True
        if progress:
            progress("load", 1, 1)
    except BaseException:
        local.discard_staged(staging)
        raise
    finally:
        if workdir is not None:
            local.close()
            shutil.rmtree(workdir, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


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
