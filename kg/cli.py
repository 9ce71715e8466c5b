"""The ``hmp`` command line: assembles the sub-commands defined per feature in ``kg.commands``."""

from __future__ import annotations

import sys

import typer

from kg import __version__
from kg.commands import build, ontology, query, serve, synth
from kg.errors import KgError

app = typer.Typer(
    name="hmp",
    help="Healthcare micro-politics knowledge graph: build, validate, query and serve coded studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Healthcare micro-politics knowledge graph."""


@app.command("version")
def version_command() -> None:
    """Print the installed version."""
    typer.echo(__version__)


for _module in (build, query, serve, synth, ontology):
    _module.register(app)


def main() -> None:
    """Console-script entry point: KgError becomes a one-line message and its exit code."""
    try:
        app()
    except KgError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
