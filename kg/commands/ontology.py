"""`hmp ontology` sub-commands: release the RDF/XML and vocabulary module, run the integrity checks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kg import release as _release
from kg._paths import ONTOLOGY_TTL, ROOT

ontology_app = typer.Typer(
    name="ontology",
    help="Release the ontology (RDF/XML, vocabulary module) and run its integrity checks.",
    no_args_is_help=True,
)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT.resolve()))
    except ValueError:
        return str(path)


def _short(cell: str) -> str:
    return "hmp:" + cell.removeprefix(_release.HMP_NS) if cell.startswith(_release.HMP_NS) else cell


@ontology_app.command("release")
def release_command() -> None:
    """Regenerate ontology/hmp.owl, ontology/catalog-v001.xml and kg/vocab.py from ontology/hmp.ttl."""
    result = _release.release()
    typer.echo(f"wrote {_shown(result.owl_path)} ({result.triples} triples)")
    typer.echo(f"wrote {_shown(result.catalog_path)}")
    typer.echo(f"wrote {_shown(result.vocab_path)} ({result.terms} terms)")


@ontology_app.command("check")
def check_command(
    source: Path = typer.Option(ONTOLOGY_TTL, "--source", help="Turtle file to check."),
) -> None:
    """Run queries/checks/ontology-*.rq over the ontology; exit 1 if any check returns rows."""
    results = _release.run_checks(_release.load_source(source))
    table = Table(title=f"Ontology checks on {_shown(source)}")
    table.add_column("check")
    table.add_column("summary")
    table.add_column("rows", justify="right")
    table.add_column("first offender")
    for result in results:
        first = " ".join(_short(cell) for cell in result.rows[0]) if result.rows else ""
        status = "[green]0[/green]" if result.passed else f"[red]{len(result.rows)}[/red]"
        table.add_row(result.name, result.summary, status, first)
    Console().print(table)
    failed = [result.name for result in results if not result.passed]
    if failed:
        typer.secho(f"{len(failed)} check(s) failed: {', '.join(failed)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1)
    typer.echo(f"all {len(results)} checks passed")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(ontology_app)
