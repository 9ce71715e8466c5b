"""Safe access to a REFI-QDA project: a .qdpx zip read in memory, or a bare .qde beside its sources.

Nothing is ever extracted to disk. Zip members are checked against size and compression-ratio
limits before they are read, and reads are bounded so a lying header cannot exhaust memory.
Source paths are checked for traversal (``..``), absolute paths and drive letters.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kg.errors import Location, ReadError, UnsafeInputError


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 100_000
    max_member_bytes: int = 512 * 1024 * 1024  # one uncompressed member
    max_total_bytes: int = 4 * 1024 * 1024 * 1024  # all members together
    max_ratio: int = 200  # uncompressed / compressed, for members above ratio_floor
    ratio_floor: int = 1024 * 1024


LIMITS = ZipLimits()
SOURCE_DIRS = ("sources/", "Sources/")


def safe_relative(path: str, location: Location, shown: str | None = None) -> str:
    """``path`` as a relative POSIX path inside the project, or UnsafeInputError."""
    cleaned = path.replace("\\", "/")
    shown = shown or path
    expected = "a path inside the project's sources folder, e.g. internal://<guid>.txt"
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned) or cleaned.startswith("//"):
        raise UnsafeInputError("source path is absolute", location=location, value=shown, expected=expected)
    parts = PurePosixPath(cleaned).parts
    if any(part == ".." for part in parts):
        raise UnsafeInputError(
            "source path leaves the project (contains '..')",
            location=location,
            value=shown,
            expected=expected,
        )
    return "/".join(part for part in parts if part not in ("", "."))


class Archive:
    """The project XML and its sources, from a .qdpx zip or a bare .qde file."""

    def __init__(self, path: Path, limits: ZipLimits | None = None, *, guard: bool = True) -> None:
        """Open ``path``; ``guard=False`` skips the whole-archive checks for an archive already checked."""
        self.path = path
        self.limits = limits or LIMITS
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.other_qdes: list[str] = []
        if path.suffix.lower() == ".qde":
            self.qde_name = path.name
            return
        if not zipfile.is_zipfile(path):
            raise ReadError(
                "not a zip archive",
                location=Location(file=str(path)),
                expected="a REFI-QDA project exchange file (.qdpx: a zip with a .qde XML and sources/) "
                "or a bare .qde",
            )
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise ReadError(f"unreadable zip archive: {error}", location=Location(file=str(path))) from None
        if guard:
            self._guard(infos)
        self.members = {info.filename: info for info in infos if not info.is_dir()}
        qdes = sorted(name for name in self.members if name.lower().endswith(".qde"))
        if not qdes:
            raise ReadError(
                "the archive contains no .qde project XML",
                location=Location(file=str(path)),
                value=", ".join(sorted(self.members)[:10]),
                expected="a .qdpx with a project.qde (any name ending in .qde) and a sources/ folder",
            )
        preferred = [name for name in qdes if PurePosixPath(name).name.lower() == "project.qde"]
        self.qde_name = (preferred or qdes)[0]
        self.other_qdes = [name for name in qdes if name != self.qde_name]

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _guard(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        where = Location(file=str(self.path))
        if len(infos) > limits.max_members:
            raise UnsafeInputError(
                f"the archive has {len(infos)} members",
                location=where,
                expected=f"at most {limits.max_members}",
            )
        total = 0
        for info in infos:
            member = Location(file=f"{self.path}!{info.filename}")
            if info.file_size > limits.max_member_bytes:
                raise UnsafeInputError(
                    f"archive member would expand to {info.file_size} bytes (zip bomb guard)",
                    location=member,
                    expected=f"at most {limits.max_member_bytes} bytes per member",
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                raise UnsafeInputError(
                    f"archive member compresses {ratio:.0f}:1 (zip bomb guard)",
                    location=member,
                    expected=f"a compression ratio of at most {limits.max_ratio}:1",
                )
            total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeInputError(
                f"the archive would expand to {total} bytes (zip bomb guard)",
                location=where,
                expected=f"at most {limits.max_total_bytes} bytes in all",
            )

    def read_member(self, name: str) -> bytes:
        """A member's bytes, read in memory and bounded by its declared size and the limits."""
        assert self.zip is not None
        info = self.members[name]
        limit = min(info.file_size, self.limits.max_member_bytes)
        try:
            with self.zip.open(info) as handle:
                data = handle.read(limit + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise ReadError(
                f"cannot read archive member: {error}", location=Location(file=self.label(name))
            ) from None
        if len(data) > limit:
            raise UnsafeInputError(
                "archive member is larger than its header says (zip bomb guard)",
                location=Location(file=self.label(name)),
                expected=f"{info.file_size} bytes",
            )
        return data

    def _check_bare_size(self) -> None:
        """A bare .qde may be no bigger than an archive member may."""
        size = self.path.stat().st_size
        if size > self.limits.max_member_bytes:
            raise UnsafeInputError(
                f"project file is {size} bytes",
                location=Location(file=str(self.path)),
                expected=f"at most {self.limits.max_member_bytes} bytes",
            )

    def iter_qde(self, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The project XML in chunks, never more in memory at once; a bare .qde bounded like an
        archive member, a member by its declared size and the member limit."""
        if self.zip is None:
            self._check_bare_size()
            with self.path.open("rb") as handle:
                yield from iter(lambda: handle.read(chunk), b"")
            return
        name = self.qde_name
        info = self.members[name]
        limit = min(info.file_size, self.limits.max_member_bytes)
        read = 0
        try:
            with self.zip.open(info) as handle:
                while block := handle.read(min(chunk, limit + 1 - read)):
                    read += len(block)
                    if read > limit:
                        raise UnsafeInputError(
                            "archive member is larger than its header says (zip bomb guard)",
                            location=Location(file=self.label(name)),
                            expected=f"{info.file_size} bytes",
                        )
                    yield block
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise ReadError(
                f"cannot read archive member: {error}", location=Location(file=self.label(name))
            ) from None

    def label(self, name: str) -> str:
        """How messages name a member: ``project.qdpx!sources/x.txt``."""
        return f"{self.path}!{name}" if self.zip is not None else str(self.path.parent / name)

    def find_source(self, plain_text_path: str, location: Location) -> str:
        """The member name (or relative file path for a bare .qde) that ``plainTextPath`` refers to."""
        raw = plain_text_path.strip()
        internal = raw.lower().startswith("internal://")
        if internal:
            raw = raw[len("internal://") :]
        elif "://" in raw:
            raise ReadError(
                "source lies outside the project (external file reference)",
                location=location,
                value=plain_text_path,
                expected="sources embedded in the .qdpx (internal://...)",
            )
        relative = safe_relative(raw, location, plain_text_path)
        candidates = [relative] + [d + relative for d in SOURCE_DIRS]
        if self.zip is None:
            base = self.path.parent
            for candidate in candidates:
                if (base / candidate).is_file():
                    return candidate
        else:
            for candidate in candidates:
                if candidate in self.members:
                    return candidate
            lowered = {name.lower(): name for name in self.members}
            for candidate in candidates:
                if candidate.lower() in lowered:
                    return lowered[candidate.lower()]
        raise ReadError(
            "source file not found in the project",
            location=location,
            value=plain_text_path,
            expected="a file "
            + " or ".join(candidates[:3])
            + (" in the archive" if self.zip else " beside the .qde"),
        )

    def read_source(self, name: str) -> bytes:
        if self.zip is not None:
            return self.read_member(name)
        path = self.path.parent / name
        if path.stat().st_size > self.limits.max_member_bytes:
            raise UnsafeInputError("source file too large", location=Location(file=str(path)))
        return path.read_bytes()
