"""Per-coding data kept on disk between reading a study and loading its transcripts.

A reader checks every coding up front but must not hold them all in memory (issue 3: memory
bounded by the largest transcript). It writes them to a temporary SQLite database instead
(stdlib ``sqlite3``, in a private temporary directory) and the study's loader fetches one
transcript's codings at a time. The database also answers the questions that need the whole
study — is this coding id taken, which row had it first — so no per-coding Python object
stays alive. The directory is removed when the spill is closed or garbage-collected (with the
study's loader that owns it), or at interpreter exit.

The same database keeps the study's participants, transcript references, stories and events
(``SpilledList``: pickled, in order, looked up by id), so no list of them stays in memory
either: after reading, Python holds what does not grow with the study (its info, codebook,
coders) and the build holds one transcript at a time. The lifter and the checks keep their
per-excerpt data (where each resource came from, the findings) in spills of their own.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")
V = TypeVar("V")


class LookupMapping(Mapping[str, V]):
    """A read-only mapping answered by a database: subclasses give ``get`` (a query), ``__iter__``
    and ``__len__``; ``[key]`` and ``in`` follow from ``get``."""

    def get(self, key: str, default: V | None = None) -> V | None:  # type: ignore[override]
        raise NotImplementedError

    def __getitem__(self, key: str) -> V:
        found = self.get(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None


class ListLike:
    """For sequences kept on disk that stand in for lists: ``==`` with any sequence, item by
    item; unhashable, like a list; shown as the list of their items."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            mine = cast(Sequence[Any], self)
            return len(mine) == len(other) and all(a == b for a, b in zip(mine, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(cast(Iterable[Any], self)))


# The ids a coding is known by (its own id, and for REFI-QDA the GUIDs of its coding and
# selection) -> the coding id, with the first row or line that claimed it.
_IDS_SCHEMA = """
CREATE TABLE ids (key TEXT PRIMARY KEY, coding TEXT NOT NULL, at INTEGER) WITHOUT ROWID;
"""
# SpilledList items: the n-th item of a list (``kind``), pickled, with its id (``key``) and one
# more string it is looked up by (``ref``, e.g. a story's transcript); ``keys`` holds the ids a
# list has claimed (with the row that claimed them first), so duplicates are found on disk too.
_ITEMS_SCHEMA = """
CREATE TABLE items (
    kind TEXT NOT NULL, n INTEGER NOT NULL, key TEXT, ref TEXT, blob BLOB NOT NULL,
    PRIMARY KEY (kind, n)
) WITHOUT ROWID;
CREATE INDEX items_by_key ON items (kind, key, ref);
CREATE TABLE keys (kind TEXT NOT NULL, key TEXT NOT NULL, at INTEGER, PRIMARY KEY (kind, key))
    WITHOUT ROWID;
"""
#: Items read from the database at once when a SpilledList is iterated.
PAGE = 256
#: Answers of ``SpilledList.ref`` remembered (the oldest is forgotten first).
REFS_CACHED = 64


def _remove(db: sqlite3.Connection, directory: str) -> None:
    db.close()
    shutil.rmtree(directory, ignore_errors=True)


class Spill:
    """A temporary SQLite database with an ``ids`` table and the caller's tables."""

    def __init__(self, schema: str = "") -> None:
        self.directory = tempfile.mkdtemp(prefix="hmp-read-")
        # check_same_thread=False: the build may load transcripts from a worker thread; the
        # loader is never called from two threads at once
        self.db = sqlite3.connect(
            Path(self.directory) / "spill.sqlite", isolation_level=None, check_same_thread=False
        )
        self._finalizer = weakref.finalize(self, _remove, self.db, self.directory)
        # a scratch file: no journal, no fsync; a small page cache (the OS caches the file)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4096;"
            + _IDS_SCHEMA
            + _ITEMS_SCHEMA
            + schema
        )

    def close(self) -> None:
        self._finalizer()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes in one transaction (one per statement costs ~40 µs a row, even without
        a journal or fsync); inside a transaction already, just run them in it."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")

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

    def claim_key(self, kind: str, key: str, at: int | None) -> int | None:
        """Record the id ``key`` of a ``kind`` of item; if it was claimed already, return the row
        that claimed it (``-1`` if none was given), else None."""
        try:
            self.db.execute("INSERT INTO keys VALUES (?, ?, ?)", (kind, key, at))
        except sqlite3.IntegrityError:
            row = self.db.execute("SELECT at FROM keys WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            return int(row[0]) if row and row[0] is not None else -1
        return None

    def list(self, kind: str, items: Iterable[Any] = ()) -> SpilledList[Any]:
        """A new, empty ``SpilledList`` called ``kind`` in this database (then ``items`` appended)."""
        spilled: SpilledList[Any] = SpilledList(self, kind)
        for item in items:
            spilled.append(item)
        return spilled


class IdMap(LookupMapping[str]):
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

    def __iter__(self) -> Iterator[str]:
        for (key,) in self.spill.db.execute("SELECT key FROM ids ORDER BY key"):
            yield str(key)

    def __len__(self) -> int:
        return int(self.spill.db.execute("SELECT count(*) FROM ids").fetchone()[0])


class SpilledList(ListLike, Sequence[T], Generic[T]):
    """A list kept in a spill: items are pickled on ``append`` and unpickled when read, in order.

    Reading gives new objects each time (changing one changes nothing stored). Appends are
    buffered and written before anything is read. ``position``/``get``/``ref`` find an item by the
    ``key`` (id) it was appended with; ``keys()`` is the collection of those ids.
    """

    def __init__(self, spill: Spill, kind: str) -> None:
        self.spill = spill
        self.kind = kind
        self._pending: list[tuple[str, int, str | None, str | None, bytes]] = []
        self._last: tuple[str | None, int] = (None, 0)  # the last key found by ``position``
        self._refs: dict[str, str | None] = {}  # the last answers of ``ref``
        self._count = int(
            spill.db.execute("SELECT count(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0]
        )

    # ---- writing ----------------------------------------------------------------------

    def append(self, item: T, *, key: str | None = None, ref: str | None = None) -> None:
        blob = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending.append((self.kind, self._count, key, ref, blob))
        self._count += 1
        if len(self._pending) >= PAGE:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            with self.spill.batch():
                self.spill.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()

    # ---- reading ----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def __iter__(self) -> Iterator[T]:
        return self.iter_range(0, self._count)

    def iter_range(self, start: int, stop: int) -> Iterator[T]:
        """Items ``start`` to ``stop`` (exclusive), read a page at a time: no cursor stays open
        while the caller writes to the database."""
        self.flush()
        n, stop = start, min(stop, self._count)
        while n < stop:
            found = self.spill.db.execute(
                "SELECT blob FROM items WHERE kind = ? AND n >= ? AND n < ? ORDER BY n",
                (self.kind, n, min(n + PAGE, stop)),
            ).fetchall()
            for (blob,) in found:
                yield pickle.loads(blob)
            n += PAGE

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        self.flush()
        row = self.spill.db.execute(
            "SELECT blob FROM items WHERE kind = ? AND n = ?", (self.kind, index)
        ).fetchone()
        return pickle.loads(row[0])  # type: ignore[no-any-return]

    def position(self, key: str) -> int | None:
        """The index of the (first) item appended with ``key``, or None."""
        if self._last[0] == key:  # lookups come in runs (codings.csv is mostly in transcript order)
            return self._last[1]
        self.flush()
        row = self.spill.db.execute(
            "SELECT min(n) FROM items INDEXED BY items_by_key WHERE kind = ? AND key = ?", (self.kind, key)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        self._last = (key, int(row[0]))
        return self._last[1]

    def get(self, key: str) -> T | None:
        n = self.position(key)
        return None if n is None else self[n]

    def ref(self, key: str) -> str | None:
        """The ``ref`` the item with ``key`` was appended with (None if there is no such item)."""
        if key in self._refs:
            return self._refs[key]
        self.flush()
        # named: without statistics SQLite prefers walking the list by its primary key (kind, n)
        found = self.spill.db.execute(
            "SELECT n, ref FROM items INDEXED BY items_by_key WHERE kind = ? AND key = ?", (self.kind, key)
        ).fetchall()
        if not found:
            return None
        if len(self._refs) >= REFS_CACHED:  # a few recent answers (codings.csv comes in runs)
            del self._refs[next(iter(self._refs))]
        self._refs[key] = ref = min(found)[1]
        return ref  # type: ignore[no-any-return]

    def refs(self) -> SpilledRefs:
        """The items' ``ref`` by ``key``, as a read-only mapping answered by the database."""
        return SpilledRefs(self)

    def keys(self) -> SpilledKeys:
        return SpilledKeys(self)


class SpilledKeys(Collection[str]):
    """The ids of a ``SpilledList``'s items, as a collection answered by the database."""

    def __init__(self, items: SpilledList[Any]) -> None:
        self.items = items

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.items.position(key) is not None

    def __iter__(self) -> Iterator[str]:
        self.items.flush()
        db = self.items.spill.db
        found = db.execute(
            "SELECT key FROM items WHERE kind = ? AND key IS NOT NULL ORDER BY n", (self.items.kind,)
        ).fetchall()
        return (str(key) for (key,) in found)

    def __len__(self) -> int:
        self.items.flush()
        db = self.items.spill.db
        return int(
            db.execute(
                "SELECT count(*) FROM items WHERE kind = ? AND key IS NOT NULL", (self.items.kind,)
            ).fetchone()[0]
        )


class SpilledRefs(LookupMapping[str]):
    """key -> ref of a ``SpilledList``'s items (e.g. story id -> its transcript id)."""

    def __init__(self, items: SpilledList[Any]) -> None:
        self._list = items

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        found = self._list.ref(key)
        return default if found is None else found

    def __iter__(self) -> Iterator[str]:
        return iter(self._list.keys())

    def __len__(self) -> int:
        return len(self._list.keys())
