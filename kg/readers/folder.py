"""Read a native study folder (study.yaml, participants.csv, transcripts/, codings.csv ...).

All CSV-level checks happen in :func:`read_folder`; texts are read one at a time by the study's
loader, which also checks the codings that need the text (offsets, quotes) and locates quotes.
The format is documented in ``kg/readers/README.md``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from kg.concepts import concept_index
from kg.errors import Location, ReadError
from kg.model import (
    ActivationEvent,
    Code,
    Coder,
    Coding,
    Finding,
    Participant,
    Story,
    Study,
    TranscriptData,
    TranscriptRef,
)
from kg.readers._common import (
    Row,
    check_id,
    check_known,
    check_unique,
    coding_id,
    decode_text,
    iter_occurrences,
    load_yaml,
    normalise_newlines,
    open_csv_rows,
    parse_date,
    parse_datetime,
    parse_event,
    parse_int,
    parse_participant,
    parse_study_info,
    read_csv_file,
    resolve,
    resolve_any,
    resolve_optional,
    sha256_hex,
    slug,
    some,
    split_list,
    take_rows,
)
from kg.readers._spill import Spill, SpilledList

FOLDER_CONTENTS = (
    "study.yaml, participants.csv, transcripts/<id>.txt and codings.csv "
    "(optional: interviews.csv, stories.csv, events.csv, codebook.csv)"
)
CODING_COLUMNS = ("transcript", "code")


@dataclass
class _PendingCoding:
    """A codings.csv row checked without the text; the loader resolves its offsets."""

    id: str | None  # None: generated once the offsets are known
    transcript: str
    start: int | None
    end: int | None
    quote: str
    code: str
    coder: str | None
    date: str  # as written (trimmed), checked to be an ISO date or date-time
    memo: str | None
    story: str | None
    row: int


# codings.csv rows that passed the checks, by transcript (its index in Study.transcripts) and row
_SCHEMA = """
CREATE TABLE codings (
    row INTEGER PRIMARY KEY, transcript INTEGER NOT NULL, id TEXT, start INTEGER, end INTEGER,
    quote TEXT NOT NULL, code TEXT NOT NULL, coder TEXT, date TEXT NOT NULL, memo TEXT, story TEXT
);
CREATE INDEX codings_by_transcript ON codings (transcript, row);
"""
_COLUMNS = "row, id, start, end, quote, code, coder, date, memo, story"
_BATCH = 500


def _require(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.exists():
        raise ReadError(
            f"the study folder has no {name}",
            location=Location(file=str(path)),
            expected="a study folder containing " + FOLDER_CONTENTS,
        )
    return path


def _optional_rows(folder: Path, name: str, required: tuple[str, ...]) -> list[Row]:
    path = folder / name
    return read_csv_file(path, required=required) if path.exists() else []


def read_folder(folder: Path) -> Study:
    """Read and check a study folder; texts are loaded lazily through ``Study.loader``.

    Participants, transcript references, stories and events go to the same temporary database
    as the codings as they are read (``SpilledList``): memory does not grow with the study.
    """
    if not folder.is_dir():
        raise ReadError("not a study folder", location=Location(file=str(folder)), expected=FOLDER_CONTENTS)
    spill = Spill(_SCHEMA)
    try:
        with spill.batch():  # one transaction for all the writes
            return _read_folder(folder, spill)
    except BaseException:
        spill.close()
        raise


def _read_folder(folder: Path, spill: Spill) -> Study:
    findings: list[Finding] = []

    yaml_path = _require(folder, "study.yaml")
    info = parse_study_info(
        load_yaml(decode_text(yaml_path.read_bytes(), str(yaml_path)), str(yaml_path)), str(yaml_path)
    )

    participants: SpilledList[Participant] = spill.list("participants")

    def participant(row: Row) -> None:
        p = parse_participant(row.values, row.location)
        participants.append(p, key=p.id)

    path = _require(folder, "participants.csv")
    take_rows(
        path, required=("id",), unique="id", what="participant", claim=spill.claim_key, take=participant
    )
    participant_ids = participants.keys()

    transcripts = _read_transcripts(folder, participant_ids, spill)
    transcript_ids = transcripts.keys()

    stories: SpilledList[Story] = spill.list("stories")

    def story(row: Row) -> None:
        tid = check_known(
            row.get("transcript"),
            transcript_ids,
            row.location,
            "story refers to an unknown transcript",
            "a transcript id (transcripts/<id>.txt)",
        )
        sid = check_id(row.get("id"), row.location, "story id")
        s = Story(
            id=sid,
            transcript_id=tid,
            title=row.get("title") or None,
            initiative=resolve_optional(
                "initiative", row.get("initiative"), row.location, "change initiative"
            ),
            actors=[resolve("actor", a, row.location, "actor group") for a in split_list(row.get("actors"))],
            location=row.location,
        )
        stories.append(s, key=sid, ref=tid)

    path = folder / "stories.csv"
    if path.exists():
        required = ("id", "transcript")
        take_rows(path, required=required, unique="id", what="story", claim=spill.claim_key, take=story)
    story_transcript = stories.refs()

    codes = _read_codebook(folder)
    code_names = {c.name for c in codes}

    codings_csv = _require(folder, "codings.csv")
    coders = _read_codings(codings_csv, transcripts, story_transcript, codes, code_names, spill)

    events: SpilledList[ActivationEvent] = spill.list("events")
    evidence_ids = spill.ids()

    def event(row: Row) -> None:
        e = parse_event(row, participant_ids, evidence_ids)
        events.append(e, key=e.id)

    path = folder / "events.csv"
    if path.exists():
        columns = ("id", "participant", "stage")
        take_rows(path, required=columns, unique="id", what="event", claim=spill.claim_key, take=event)
    for spilled in (participants, transcripts, stories, events):
        spilled.flush()

    study = Study(
        info=info,
        source_path=str(folder),
        reader="folder",
        participants=participants,
        transcripts=transcripts,
        stories=stories,
        events=events,
        codes=codes,
        coders=list(coders.values()),
        findings=findings,
    )
    study.loader = _Loader(codings_csv, transcripts, spill)
    return study


def _read_codings(
    path: Path,
    transcripts: SpilledList[TranscriptRef],
    story_transcript: Mapping[str, str],
    codes: list[Code],
    code_names: set[str],
    spill: Spill,
) -> dict[str, Coder]:
    """Check codings.csv row by row and spill the rows to ``spill``; returns the coders.

    Problems are reported in the order a whole-file reading reports them: any byte that is not
    UTF-8, then malformed CSV anywhere, then the first duplicate id, then the first row that is
    wrong in itself — so after a row problem the rest of the file is still read for the others.
    """
    transcript_ids = transcripts.keys()
    coders: dict[str, Coder] = {}
    duplicate: ReadError | None = None
    wrong: ReadError | None = None
    batch: list[tuple[object, ...]] = []
    generate = 0  # rows with offsets but no id: their ids are made once all explicit ids are known
    insert = "INSERT INTO codings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    with open_csv_rows(path, required=CODING_COLUMNS) as rows:
        for row in rows:
            explicit = row.get("id")
            if explicit and duplicate is None:
                first = spill.claim(explicit, explicit, row.location.row)
                if first is not None:
                    duplicate = ReadError(
                        f"duplicate coding id {explicit!r}: also in {Location(file=str(path), row=first)}",
                        location=row.location,
                        value=explicit,
                        expected="each coding id once",
                    )
            if duplicate is not None or wrong is not None:
                continue  # only whole-file problems can still come first
            try:
                p = _check_coding_row(row, transcript_ids, story_transcript, coders)
            except ReadError as error:
                wrong = error
                continue
            generate += p.id is None and p.start is not None
            if p.code not in code_names:
                code_names.add(p.code)
                # a code that maps to no concept is kept as a study concept; the shapes report it
                # (hmpsh:Concept-study-code), at this row, so the reader does not report it again
                codes.append(Code(name=p.code, concept=resolve_any(p.code), location=row.location))
            values = (p.id, p.start, p.end, p.quote, p.code, p.coder, p.date, p.memo, p.story)
            batch.append((p.row, transcripts.position(p.transcript), *values))
            if len(batch) >= _BATCH:
                spill.db.executemany(insert, batch)
                batch.clear()
    spill.db.executemany(insert, batch)
    if duplicate is not None:
        raise duplicate
    if wrong is not None:
        raise wrong
    if generate:
        found = spill.db.execute(
            "SELECT transcript, row, start, end, code FROM codings"
            " WHERE id IS NULL AND start IS NOT NULL ORDER BY row"
        ).fetchall()
        last: tuple[int, str] = (-1, "")
        for tindex, number, start, end, code in found:
            if tindex != last[0]:
                last = (tindex, transcripts[tindex].id)
            cid = spill.unique_id(coding_id(last[1], start, end, code))
            spill.db.execute("UPDATE codings SET id = ? WHERE row = ?", (cid, number))
    return coders


def _read_transcripts(
    folder: Path, participant_ids: Collection[str], spill: Spill
) -> SpilledList[TranscriptRef]:
    tdir = folder / "transcripts"
    if not tdir.is_dir():
        raise ReadError(
            "the study folder has no transcripts/ directory",
            location=Location(file=str(tdir)),
            expected="a study folder containing " + FOLDER_CONTENTS,
        )
    # what sorted(tdir.glob("*.txt")) gives, {stem: path}, as strings: a Path per transcript
    # would intern its name for good (pathlib), and the interned-string table only grows
    files = {
        (name[:-4] if name != ".txt" else name): f"{tdir}{os.sep}{name}"
        for name in sorted(os.listdir(tdir))
        if fnmatch.fnmatchcase(name, "*.txt")
    }
    refs: SpilledList[TranscriptRef] = spill.list("transcripts")

    def interview(row: Row) -> None:
        tid = check_id(row.get("transcript"), row.location, "transcript id")
        if tid not in files:
            raise ReadError(
                f"interview names transcript {tid!r} but there is no transcripts/{tid}.txt",
                location=row.location,
                value=tid,
                expected="one of " + some(files),
            )
        pid = check_known(
            row.get("participant"),
            participant_ids,
            row.location,
            "interview refers to an unknown participant",
            "a participant id of participants.csv",
        )
        ref = TranscriptRef(
            id=tid,
            participant_id=pid,
            interview_date=parse_date(row.get("date"), row.location, "date"),
            source_file=files[tid],
            location=row.location,
        )
        refs.append(ref, key=tid)

    path = folder / "interviews.csv"
    if path.exists():
        required = ("transcript", "participant")
        take_rows(
            path,
            required=required,
            unique="transcript",
            what="transcript",
            claim=spill.claim_key,
            take=interview,
        )
    listed = refs.keys()
    for tid, file in files.items():
        if tid in listed:
            continue
        location = Location(file=file)
        check_id(tid, location, "transcript file name")
        if tid not in participant_ids:
            raise ReadError(
                f"transcript {os.path.basename(file)} belongs to no participant",
                location=location,
                value=tid,
                expected="a participants.csv row with this id, or an interviews.csv row "
                "'transcript,participant,date' naming its participant",
            )
        refs.append(TranscriptRef(id=tid, participant_id=tid, source_file=file, location=location), key=tid)
    return refs


def _read_codebook(folder: Path) -> list[Code]:
    rows = _optional_rows(folder, "codebook.csv", ("code",))
    check_unique(rows, "code", "code")
    codes: list[Code] = []
    names = {row.get("code") for row in rows}
    for row in rows:
        name = row.get("code")
        if not name:
            raise ReadError("codebook row without a code name", location=row.location, expected="a code name")
        target = row.get("concept")
        concept = None
        if target:
            concept = resolve_any(target)
            if concept is None:
                index = concept_index()
                raise ReadError(
                    f"code {name!r} is mapped to an unknown concept",
                    location=row.location,
                    value=target,
                    expected="an ontology concept local name, label or IRI, e.g. "
                    + ", ".join(c.local for c in index.in_scheme("stage")[:3])
                    + " (see `hmp export-codebook` for all of them), or an empty concept for a study concept",
                )
        else:
            concept = resolve_any(name)
        parent = row.get("parent") or None
        if parent is not None and parent not in names:
            raise ReadError(
                "codebook parent is not a code of the codebook",
                location=row.location,
                value=parent,
                expected="a code name from the code column: " + some(n for n in names if n),
            )
        codes.append(
            Code(
                name=name,
                concept=concept,
                description=row.get("description") or None,
                parent=parent,
                location=row.location,
            )
        )
    return codes


def _check_coding_row(
    row: Row,
    transcript_ids: Collection[str],
    story_transcript: Mapping[str, str],
    coders: dict[str, Coder],
) -> _PendingCoding:
    loc = row.location
    explicit = row.get("id")
    if explicit:
        check_id(explicit, loc, "coding id")
    tid = check_known(
        row.get("transcript"),
        transcript_ids,
        loc,
        "coding refers to an unknown transcript",
        "a transcript id (transcripts/<id>.txt)",
    )
    code = row.get("code")
    if not code:
        raise ReadError("coding has no code", location=loc, expected="a code name in the code column")
    start = parse_int(row.get("start"), loc, "start")
    end = parse_int(row.get("end"), loc, "end")
    quote = normalise_newlines(row.raw.get("quote", "") or "")
    if (start is None) != (end is None):
        raise ReadError(
            "coding has only one of start and end",
            location=loc,
            expected="both start and end, or neither and a quote",
        )
    if start is None and not quote:
        raise ReadError(
            "coding has neither start/end nor a quote",
            location=loc,
            expected="start and end (code points, 0-based, end exclusive) or the exact quote",
        )
    if start is not None and end is not None and start >= end:
        raise ReadError(
            "coding start is not before its end", location=loc, value=f"{start}-{end}", expected="start < end"
        )
    story = row.get("story") or None
    if story is not None:
        message = "coding refers to an unknown story"
        check_known(story, story_transcript, loc, message, "a story id of stories.csv")
        if story_transcript[story] != tid:
            raise ReadError(
                f"coding is in transcript {tid!r} but its story is told in {story_transcript[story]!r}",
                location=loc,
                value=story,
                expected="a story of the same transcript",
            )
    coder_name = row.get("coder")
    coder_id = None
    if coder_name:
        coder_id = slug(coder_name.lower().replace(".", " "), "coder")
        coders.setdefault(coder_id, Coder(id=coder_id, name=coder_name))
    return _PendingCoding(
        id=explicit or None,
        transcript=tid,
        start=start,
        end=end,
        quote=quote,
        code=code,
        coder=coder_id,
        date=_checked_date(row.get("date"), loc),
        memo=row.raw.get("memo") or None,
        story=story,
        row=loc.row or 0,
    )


def _checked_date(value: str, location: Location) -> str:
    parse_datetime(value, location, "date")
    return value.strip()


class _Loader:
    """Reads one transcript and resolves its codings; holds no texts and no codings between calls."""

    def __init__(self, codings_csv: Path, transcripts: SpilledList[TranscriptRef], spill: Spill) -> None:
        self.file = str(codings_csv)
        self.transcripts = transcripts
        self.spill = spill

    def __call__(self, ref: TranscriptRef) -> TranscriptData:
        path = Path(ref.source_file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ReadError(
                f"cannot read transcript: {error.strerror}", location=Location(file=str(path))
            ) from None
        text = normalise_newlines(decode_text(data, str(path)))
        codings = [self._resolve(p, text, path) for p in self._pending(ref.id)]
        return TranscriptData(ref=ref, text=text, sha256=sha256_hex(data), codings=codings)

    def _pending(self, tid: str) -> list[_PendingCoding]:
        tindex = self.transcripts.position(tid)
        if tindex is None:
            return []
        found = self.spill.db.execute(
            f"SELECT {_COLUMNS} FROM codings WHERE transcript = ? ORDER BY row", (tindex,)
        ).fetchall()
        return [
            _PendingCoding(
                id=cid,
                transcript=tid,
                start=start,
                end=end,
                quote=quote,
                code=code,
                coder=coder,
                date=date,
                memo=memo,
                story=story,
                row=row,
            )
            for row, cid, start, end, quote, code, coder, date, memo, story in found
        ]

    def _resolve(self, p: _PendingCoding, text: str, path: Path) -> Coding:
        location = Location(file=self.file, row=p.row)
        if p.start is None or p.end is None:
            found = list(iter_occurrences(text, p.quote))
            if not found:
                raise ReadError(
                    f"quote not found in {path.name}",
                    location=location,
                    value=_short(p.quote),
                    expected="the exact text of the transcript (after line ends are normalised to LF), "
                    "or start and end",
                )
            if len(found) > 1:
                where = ", ".join(f"{i}-{i + len(p.quote)}" for i in found[:10])
                raise ReadError(
                    f"quote occurs {len(found)} times in {path.name} (at {where})",
                    location=location,
                    value=_short(p.quote),
                    expected="start and end to say which occurrence is meant",
                )
            start, end = found[0], found[0] + len(p.quote)
            if p.id is None:
                # made on first load and kept, so loading the transcript again gives the same id
                p.id = self.spill.unique_id(coding_id(p.transcript, start, end, p.code))
                self.spill.db.execute("UPDATE codings SET id = ? WHERE row = ?", (p.id, p.row))
        else:
            start, end = p.start, p.end
            if end > len(text):
                raise ReadError(
                    f"coding offsets {start}-{end} are outside the text of {path.name} "
                    f"({len(text)} characters)",
                    location=location,
                    value=f"{start}-{end}",
                    expected=f"0 <= start < end <= {len(text)} (code points, 0-based, end exclusive)",
                )
            if p.quote and text[start:end] != p.quote:
                raise ReadError(
                    f"quote does not match the text of {path.name} at {start}-{end}: "
                    f"the text there is {_short(text[start:end])!r}",
                    location=location,
                    value=_short(p.quote),
                    expected="the quote to equal the text at [start:end], or an empty quote",
                )
        assert p.id is not None
        return Coding(
            id=p.id,
            transcript_id=p.transcript,
            start=start,
            end=end,
            exact=text[start:end],
            code=p.code,
            coder=p.coder,
            created=parse_datetime(p.date, location, "date"),
            memo=p.memo,
            story_id=p.story,
            location=location,
        )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
