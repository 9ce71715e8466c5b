"""Per-coding data kept on disk between reading a study and loading its transcripts.

A reader checks every coding up front but must not hold them all in memory (issue 3: memory
bounded by the largest transcript). It writes them to a temporary SQLite database instead
(stdlib ``sqlite3``, in a private temporary directory) and the study's loader fetches one
transcript's codings at a time. The database also answers the questions that need the whole
study — is this coding id taken, which row had it first — so no per-coding Python object
stays alive. The directory is removed when the spill is closed or garbage-collected (with the
study's loader that owns it), or at interpreter exit.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

# The ids a coding is known by (its own id, and for REFI-QDA the GUIDs of its coding and
# selection) -> the coding id, with the first row or line that claimed it.
_IDS_SCHEMA = """
CREATE TABLE ids (key TEXT PRIMARY KEY, coding TEXT NOT NULL, at INTEGER) WITHOUT ROWID;
"""


def _remove(db: sqlite3.Connection, directory: str) -> None:
    db.close()
    shutil.rmtree(directory, ignore_errors=True)


class Spill:
    """A temporary SQLite database with an ``ids`` table and the caller's tables."""

    def __init__(self, schema: str) -> None:
        self.directory = tempfile.mkdtemp(prefix="hmp-read-")
        # check_same_thread=False: the build may load transcripts from a worker thread; the
        # loader is never called from two threads at once
        self.db = sqlite3.connect(
            Path(self.directory) / "spill.sqlite", isolation_level=None, check_same_thread=False
        )
        self._finalizer = weakref.finalize(self, _remove, self.db, self.directory)
        # a scratch file: no journal, no fsync; a small page cache (the OS caches the file)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4096;" + _IDS_SCHEMA + schema
        )

    def close(self) -> None:
        self._finalizer()

    # ---- ids --------------------------------------------------------------------------

    def claim(self, key: str, coding: str, at: int | None) -> int | None:
        """Record ``key`` for ``coding``; if ``key`` was already claimed, return where (else None)."""
        try:
            self.db.execute("INSERT INTO ids VALUES (?, ?, ?)", (key, coding, at))
        except sqlite3.IntegrityError:
            row = self.db.execute("SELECT at FROM ids WHERE key = ?", (key,)).fetchone()
            return int(row[0]) if row and row[0] is not None else -1
        return None

    def claim_first(self, key: str, coding: str) -> None:
        """Record ``key`` for ``coding`` unless it is already claimed (the first claim wins)."""
        self.db.execute("INSERT OR IGNORE INTO ids VALUES (?, ?, NULL)", (key, coding))

    def taken(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM ids WHERE key = ?", (key,)).fetchone() is not None

    def unique_id(self, candidate: str) -> str:
        """``candidate``, or ``candidate-2``, ``-3`` ... if taken; the result is claimed."""
        result, n = candidate, 1
        while self.taken(result):
            n += 1
            result = f"{candidate}-{n}"
        self.claim_first(result, result)
        return result

    def ids(self) -> IdMap:
        return IdMap(self)


class IdMap(Mapping[str, str]):
    """Read-only mapping view of a spill's ids: key (coding id or GUID) -> coding id."""

    def __init__(self, spill: Spill) -> None:
        self.spill = spill
        self._last: tuple[str, str | None] = ("", None)  # `key in ids` is mostly followed by `ids[key]`

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if self._last[0] != key:
            row = self.spill.db.execute("SELECT coding FROM ids WHERE key = ?", (key,)).fetchone()
            self._last = (key, None if row is None else str(row[0]))
        found = self._last[1]
        return default if found is None else found

    def __getitem__(self, key: str) -> str:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        for (key,) in self.spill.db.execute("SELECT key FROM ids ORDER BY key"):
            yield str(key)

    def __len__(self) -> int:
        return int(self.spill.db.execute("SELECT count(*) FROM ids").fetchone()[0])
