"""`hmp` sub-commands: synth."""

from __future__ import annotations

from pathlib import Path

import typer

from kg.errors import KgError


def synth_command(
    participants: int = typer.Option(65, "--participants", "-n", min=1, help="Cohort size (65 = the study)."),
    seed: int = typer.Option(2018, "--seed", help="Random seed; the same seed gives byte-identical output."),
    out: Path = typer.Option(
        ..., "--out", help="Study folder to write, or the .qdpx file with --format qdpx."
    ),
    fmt: str = typer.Option("folder", "--format", help="folder | qdpx"),
    words: int | None = typer.Option(
        None,
        "--words",
        min=100,
        help="Mean transcript length in words (default 1800; 8000 gives realistic 60-minute interviews).",
    ),
    study_id: str | None = typer.Option(
        None, "--study-id", help="Study id (default derived from N and seed)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate a synthetic study shaped on the published aggregates (not empirical data)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from kg.synth import generate

    if fmt not in ("folder", "qdpx"):
        raise KgError("unknown --format", value=fmt, expected="folder or qdpx")
    columns = (TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=quiet, transient=True) as bar:
        task = bar.add_task("participants", total=participants)
        summary = generate(
            participants,
            seed,
            out,
            fmt=fmt,
            words=words,
            study_id=study_id,
            progress=lambda k: bar.advance(task, k),
        )
    typer.echo(
        f"wrote {summary.out}: {summary.participants} participants, {summary.stories} stories, "
        f"{summary.codings} codings, {summary.events} events, {summary.words} words "
        "(synthetic; shaped on published aggregates; not empirical data)"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("synth")(synth_command)
