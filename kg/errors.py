"""One error hierarchy for the whole package.

Every error names where the problem is (file, line/column, CSV row or character position),
the offending value, and what would have been accepted. The CLI maps ``KgError`` subclasses
to exit code 2 (unusable input) except ``ValidationFailed`` (exit code 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a datum came from: a file plus, where known, line/column, CSV row or character offset."""

    file: str
    line: int | None = None
    column: int | None = None
    row: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.offset is not None:
            parts.append(f"character {self.offset}")
        return ", ".join(parts)


class KgError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.value = value
        self.expected = expected
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class ReadError(KgError):
    """An input file is missing, malformed, hostile or inconsistent."""


class UnsafeInputError(ReadError):
    """An input tried something hostile: external entities, path traversal, a zip bomb."""


class LiftError(KgError):
    """The study model cannot be expressed in RDF (for example an unknown concept)."""


class ValidationFailed(KgError):
    """SHACL found violations; nothing was loaded."""

    exit_code = 1


class StoreError(KgError):
    """The store could not be opened, queried or updated."""


class ConfigError(KgError):
    """A setting (an ``HMP_*`` environment variable) has a value that cannot be used."""


class QueryError(KgError):
    """A canned query is unknown, or a parameter value is not accepted."""
