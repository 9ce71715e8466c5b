"""`hmp` sub-commands: build, validate, export, export-codebook."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kg.errors import KgError, ReadError, StoreError

EXPORT_FORMATS = {
    "nq": "application/n-quads",
    "trig": "application/trig",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}

StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Store directory (default: $HMP_STORE or .hmp-store).")
]
StoreUrlOpt = Annotated[
    str | None,
    typer.Option("--store-url", help="A remote SPARQL 1.1 endpoint instead of the embedded store."),
]


GraphStoreUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--graph-store-url",
        help="With --store-url: load through this SPARQL 1.1 Graph Store Protocol endpoint instead "
        "of SPARQL Update (Virtuoso: http://host:8890/sparql-graph-crud; ~20x faster).",
    ),
]


def _open(  # type: ignore[no-untyped-def]
    store: Path | None, store_url: str | None, *, read_only: bool = False, graph_store_url: str | None = None
):
    from kg.store import open_remote, open_store

    if graph_store_url is not None and store_url is None:
        raise StoreError(
            "--graph-store-url loads into a remote store: give its SPARQL endpoint too",
            value=graph_store_url,
            expected="--store-url URL with --graph-store-url",
        )
    if store_url is not None:
        return open_remote(store_url, graph_store_url=graph_store_url)
    return open_store(store, read_only=read_only)


def _summary_table(summaries: list, seconds: float) -> Table:  # type: ignore[type-arg]
    """One row per figure, one column per study: fits one screen at 80 columns."""
    table = Table(title=f"hmp build ({seconds:.2f} s)", box=box.SIMPLE, pad_edge=False)
    table.add_column("")
    for s in summaries:
        table.add_column(s.study_id, justify="right")
    for label, key in (
        ("participants", "participants"),
        ("transcripts", "transcripts"),
        ("excerpts", "excerpts"),
        ("stories", "stories"),
        ("activation events", "events"),
        ("triples", "triples"),
        ("warnings", "warnings"),
        ("notes", "notes"),
        ("violations", "violations"),
    ):
        table.add_row(label, *(str(getattr(s, key)) for s in summaries))
    table.add_row("time (s)", *(f"{s.seconds:.2f}" for s in summaries))
    table.add_row("loaded", *("yes" if s.loaded else "NO" for s in summaries))
    return table


def build_command(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help="Study folders or .qdpx/.qde files (default: the example study)."),
    ] = None,
    store: StoreOpt = None,
    store_url: StoreUrlOpt = None,
    graph_store_url: GraphStoreUrlOpt = None,
    participants: Annotated[
        Path | None, typer.Option("--participants", help="CSV of participant attributes for a .qdpx.")
    ] = None,
    show: Annotated[int, typer.Option("--show", help="How many findings to list.")] = 10,
    atomic: Annotated[
        bool | None,
        typer.Option(
            "--atomic/--no-atomic",
            help="All-or-nothing load at any size (default; $HMP_ATOMIC_LOAD=0 turns it off): one "
            "transaction, or for a big study a new version of the store switched to at once. "
            "--no-atomic loads a big validated study in place in bounded batches instead (skips "
            "copying the store's other studies; into a remote store, graph by graph, for a store "
            "that will not switch to a big study in one transaction); a crash mid-write can leave "
            "it partly loaded.",
        ),
    ] = None,
) -> None:
    """Read, lift, validate and load studies; each study is loaded all or nothing."""
    from kg._paths import EXAMPLE_STUDY
    from kg.build import build_study, read_source

    paths = list(sources or [EXAMPLE_STUDY])
    for path in paths:
        if not path.exists():
            raise ReadError("no such study folder or file", value=str(path), expected="an existing path")
    console = Console(stderr=True)
    started = time.perf_counter()
    summaries = []
    target = _open(store, store_url, graph_store_url=graph_store_url)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            for path in paths:
                task = bar.add_task(f"reading {path.name}", total=None)
                study = read_source(path, participants=participants)

                def progress(stage: str, done: int, total: int, task=task, name=path.name) -> None:  # type: ignore[no-untyped-def]
                    bar.update(task, description=f"{stage} {name}", completed=done, total=total or None)

                summaries.append(
                    build_study(study, target, progress=progress, raise_on_violation=False, atomic=atomic)
                )
                bar.remove_task(task)
    finally:
        target.close()
    seconds = time.perf_counter() - started
    for s in summaries:
        findings = s.findings  # read from disk as needed: a big study has tens of thousands
        if findings:
            console.print(Text(f"{s.study_id} ({s.source}): {len(findings)} finding(s)", style="bold"))
            for finding in s.first_findings(show):  # violations first
                colour = "red" if finding.severity.value == "Violation" else "yellow"
                console.print(Text(f"  {finding}", style=colour), highlight=False)
            if len(findings) > show:
                console.print(f"  ... and {len(findings) - show} more (hmp validate SOURCE lists them all)")
    Console().print(_summary_table(summaries, seconds))
    if any(not s.loaded for s in summaries):
        typer.secho(
            "Violations found: the studies marked NO were not loaded; the store is unchanged for them.",
            err=True,
        )
        raise typer.Exit(1)


def validate_command(
    source: Annotated[Path, typer.Argument(help="A study folder or .qdpx/.qde file.")],
    fmt: Annotated[str, typer.Option("--format", help="text | turtle | json")] = "text",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="build (what hmp build checks: every check but the concepts' and the study's in "
            "Python as the study is lifted; fastest) | sparql (every check as its SPARQL twin; "
            "minutes on big studies) | shacl (pyshacl per transcript; slowest)",
        ),
    ] = "build",
    participants: Annotated[Path | None, typer.Option("--participants")] = None,
) -> None:
    """Check a study against the SHACL shapes without loading it; exit 1 on violations."""
    from kg.build import read_source
    from kg.validate import validate

    if fmt not in ("text", "turtle", "json"):
        raise ReadError("unknown report format", value=fmt, expected="text, turtle or json")
    if engine not in ("build", "sparql", "shacl"):
        raise ReadError("unknown validation engine", value=engine, expected="build, sparql or shacl")
    if not source.exists():
        raise ReadError("no such study folder or file", value=str(source), expected="an existing path")
    study = read_source(source, participants=participants)
    report = validate(study, engine=engine)
    reader = "\n".join(str(f) for f in study.findings)
    if fmt == "text" and reader:
        typer.echo(reader)
    typer.echo(report.render(fmt))
    if not report.conforms:
        raise typer.Exit(1)


def export_command(
    fmt: Annotated[str, typer.Option("--format", help="nq | trig | ttl | nt | jsonld | rdfxml")] = "nq",
    graph: Annotated[str | None, typer.Option("--graph", help="Export only this named graph.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    store: StoreOpt = None,
    store_url: StoreUrlOpt = None,
) -> None:
    """Write the whole store, or one graph, in an RDF format."""
    media_type = EXPORT_FORMATS.get(fmt)
    if media_type is None:
        raise ReadError("unknown export format", value=fmt, expected=", ".join(EXPORT_FORMATS))
    if store_url is None and not (store or _default_store()).exists():
        raise StoreError(
            "there is no store to export yet; run `hmp build` first", value=str(store or _default_store())
        )
    source = _open(store, store_url, read_only=True)
    try:
        if graph is not None and graph not in source.graph_names():
            raise StoreError(
                "no such graph in the store", value=graph, expected=", ".join(source.graph_names())
            )
        data = source.dump(output, media_type=media_type, graph=graph)
    finally:
        source.close()
    if output is None and data is not None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _default_store() -> Path:
    from kg._paths import DEFAULT_STORE

    return DEFAULT_STORE


def export_codebook_command(out: Annotated[Path, typer.Argument(help="The .qdc file to write.")]) -> None:
    """Write the ontology's concept schemes as a REFI-QDA codebook (.qdc)."""
    try:
        from kg.readers import export_codebook  # type: ignore[attr-defined]
    except ImportError:
        try:
            from kg.readers.refiqda_write import export_codebook  # type: ignore[no-redef]
        except ImportError as error:
            raise KgError("codebook export is not available in this installation") from error
    export_codebook(out)
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("build")(build_command)
    app.command("validate")(validate_command)
    app.command("export")(export_command)
    app.command("export-codebook")(export_codebook_command)
