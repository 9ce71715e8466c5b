"""Readers: study folders and REFI-QDA projects -> the plain study model (:mod:`kg.model`).

``read_study(path)`` dispatches on what ``path`` is: a folder (native study folder), a ``.qdpx``
(REFI-QDA project exchange zip) or a ``.qde`` (bare REFI-QDA project XML). Every problem with the
input raises a :class:`kg.errors.ReadError` (``UnsafeInputError`` for hostile input).
"""

from __future__ import annotations

from pathlib import Path

from kg.errors import Location, ReadError
from kg.model import Study
from kg.readers.folder import read_folder
from kg.readers.refiqda import read_refiqda
from kg.readers.refiqda_write import export_codebook, write_qdpx

__all__ = ["export_codebook", "read_study", "write_qdpx"]


def read_study(path: Path, *, participants_csv: Path | None = None) -> Study:
    """Read the study at ``path`` (folder, .qdpx or .qde).

    ``participants_csv`` (columns as participants.csv) supplies or overrides participant
    attributes of a REFI-QDA project; it is not used for folders (they have participants.csv).
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(
            "no such file or folder",
            location=Location(file=str(path)),
            expected="a study folder, a .qdpx or a .qde file",
        )
    if path.is_dir():
        if participants_csv is not None:
            raise ReadError(
                "--participants is for REFI-QDA projects; a study folder has its own participants.csv",
                location=Location(file=str(participants_csv)),
            )
        return read_folder(path)
    if path.suffix.lower() in (".qdpx", ".qde", ".zip"):
        return read_refiqda(path, participants_csv=participants_csv)
    raise ReadError(
        "unknown kind of study input",
        location=Location(file=str(path)),
        value=path.suffix,
        expected="a study folder, a .qdpx or a .qde file",
    )
