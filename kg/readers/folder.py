"""Read a native study folder (study.yaml, participants.csv, transcripts/, codings.csv ...).

All CSV-level checks happen in :func:`read_folder`; texts are read one at a time by the study's
loader, which also checks the codings that need the text (offsets, quotes) and locates quotes.
The format is documented in ``kg/readers/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kg.concepts import concept_index
from kg.errors import Location, ReadError
from kg.model import Code, Coder, Coding, Finding, Story, Study, TranscriptData, TranscriptRef
from kg.readers._common import (
    Row,
    check_id,
    check_unique,
    coding_id,
    decode_text,
    iter_occurrences,
    load_yaml,
    normalise_newlines,
    parse_date,
    parse_datetime,
    parse_events,
    parse_int,
    parse_study_info,
    read_csv_file,
    read_participants,
    resolve,
    resolve_any,
    resolve_optional,
    sha256_hex,
    slug,
    some,
    split_list,
    unique_id,
)

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
    created: object
    memo: str | None
    story: str | None
    location: Location


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
    """Read and check a study folder; texts are loaded lazily through ``Study.loader``."""
    if not folder.is_dir():
        raise ReadError("not a study folder", location=Location(file=str(folder)), expected=FOLDER_CONTENTS)
    findings: list[Finding] = []

    yaml_path = _require(folder, "study.yaml")
    info = parse_study_info(
        load_yaml(decode_text(yaml_path.read_bytes(), str(yaml_path)), str(yaml_path)), str(yaml_path)
    )

    participants = read_participants(read_csv_file(_require(folder, "participants.csv"), required=("id",)))
    participant_ids = {p.id for p in participants}

    transcripts = _read_transcripts(folder, participant_ids)
    transcript_ids = {t.id for t in transcripts}

    story_rows = _optional_rows(folder, "stories.csv", ("id", "transcript"))
    check_unique(story_rows, "id", "story")
    stories = []
    for row in story_rows:
        tid = row.get("transcript")
        if tid not in transcript_ids:
            raise ReadError(
                "story refers to an unknown transcript",
                location=row.location,
                value=tid,
                expected="a transcript id (transcripts/<id>.txt): " + some(transcript_ids),
            )
        stories.append(
            Story(
                id=check_id(row.get("id"), row.location, "story id"),
                transcript_id=tid,
                title=row.get("title") or None,
                initiative=resolve_optional(
                    "initiative", row.get("initiative"), row.location, "change initiative"
                ),
                actors=[
                    resolve("actor", a, row.location, "actor group") for a in split_list(row.get("actors"))
                ],
                location=row.location,
            )
        )
    story_transcript = {s.id: s.transcript_id for s in stories}

    codes = _read_codebook(folder)
    code_names = {c.name for c in codes}

    coding_rows = read_csv_file(_require(folder, "codings.csv"), required=CODING_COLUMNS)
    check_unique(coding_rows, "id", "coding")
    pending: dict[str, list[_PendingCoding]] = {t.id: [] for t in transcripts}
    used_ids: set[str] = {row.get("id") for row in coding_rows if row.get("id")}
    evidence_ids: dict[str, str] = {i: i for i in used_ids}
    coders: dict[str, Coder] = {}
    for row in coding_rows:
        pending_coding = _check_coding_row(row, transcript_ids, story_transcript, coders)
        if pending_coding.id is None and pending_coding.start is not None and pending_coding.end is not None:
            generated = coding_id(
                pending_coding.transcript, pending_coding.start, pending_coding.end, pending_coding.code
            )
            pending_coding.id = unique_id(generated, used_ids)
            evidence_ids[pending_coding.id] = pending_coding.id
        pending[pending_coding.transcript].append(pending_coding)
        if pending_coding.code not in code_names:
            code_names.add(pending_coding.code)
            concept = resolve_any(pending_coding.code)
            # a code that maps to no concept is kept as a study concept; the shapes report it
            # (hmpsh:Concept-study-code), at this row, so the reader does not report it again
            codes.append(Code(name=pending_coding.code, concept=concept, location=row.location))

    event_rows = _optional_rows(folder, "events.csv", ("id", "participant", "stage"))
    events = parse_events(event_rows, participant_ids, evidence_ids)

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
    study.loader = _Loader(folder, pending, used_ids)
    return study


def _read_transcripts(folder: Path, participant_ids: set[str]) -> list[TranscriptRef]:
    tdir = folder / "transcripts"
    if not tdir.is_dir():
        raise ReadError(
            "the study folder has no transcripts/ directory",
            location=Location(file=str(tdir)),
            expected="a study folder containing " + FOLDER_CONTENTS,
        )
    files = {p.stem: p for p in sorted(tdir.glob("*.txt"))}
    interview_rows = _optional_rows(folder, "interviews.csv", ("transcript", "participant"))
    check_unique(interview_rows, "transcript", "transcript")
    refs: list[TranscriptRef] = []
    listed: set[str] = set()
    for row in interview_rows:
        tid = check_id(row.get("transcript"), row.location, "transcript id")
        if tid not in files:
            raise ReadError(
                f"interview names transcript {tid!r} but there is no transcripts/{tid}.txt",
                location=row.location,
                value=tid,
                expected="one of " + some(files),
            )
        pid = row.get("participant")
        if pid not in participant_ids:
            raise ReadError(
                "interview refers to an unknown participant",
                location=row.location,
                value=pid,
                expected="a participant id of participants.csv: " + some(participant_ids),
            )
        listed.add(tid)
        refs.append(
            TranscriptRef(
                id=tid,
                participant_id=pid,
                interview_date=parse_date(row.get("date"), row.location, "date"),
                source_file=str(files[tid]),
                location=row.location,
            )
        )
    for tid, path in files.items():
        if tid in listed:
            continue
        location = Location(file=str(path))
        check_id(tid, location, "transcript file name")
        if tid not in participant_ids:
            raise ReadError(
                f"transcript {path.name} belongs to no participant",
                location=location,
                value=tid,
                expected="a participants.csv row with this id, or an interviews.csv row "
                "'transcript,participant,date' naming its participant",
            )
        refs.append(TranscriptRef(id=tid, participant_id=tid, source_file=str(path), location=location))
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
    row: Row, transcript_ids: set[str], story_transcript: dict[str, str], coders: dict[str, Coder]
) -> _PendingCoding:
    loc = row.location
    explicit = row.get("id")
    if explicit:
        check_id(explicit, loc, "coding id")
    tid = row.get("transcript")
    if tid not in transcript_ids:
        raise ReadError(
            "coding refers to an unknown transcript",
            location=loc,
            value=tid,
            expected="a transcript id (transcripts/<id>.txt): " + some(transcript_ids),
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
        if story not in story_transcript:
            raise ReadError(
                "coding refers to an unknown story",
                location=loc,
                value=story,
                expected="a story id of stories.csv: " + some(story_transcript),
            )
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
        created=parse_datetime(row.get("date"), loc, "date"),
        memo=row.raw.get("memo") or None,
        story=story,
        location=loc,
    )


class _Loader:
    """Reads one transcript and resolves its codings; holds no texts between calls."""

    def __init__(self, folder: Path, pending: dict[str, list[_PendingCoding]], used_ids: set[str]) -> None:
        self.folder = folder
        self.pending = pending
        self.used_ids = used_ids

    def __call__(self, ref: TranscriptRef) -> TranscriptData:
        path = Path(ref.source_file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ReadError(
                f"cannot read transcript: {error.strerror}", location=Location(file=str(path))
            ) from None
        text = normalise_newlines(decode_text(data, str(path)))
        codings = [self._resolve(p, text, path) for p in self.pending.get(ref.id, [])]
        return TranscriptData(ref=ref, text=text, sha256=sha256_hex(data), codings=codings)

    def _resolve(self, p: _PendingCoding, text: str, path: Path) -> Coding:
        if p.start is None or p.end is None:
            found = list(iter_occurrences(text, p.quote))
            if not found:
                raise ReadError(
                    f"quote not found in {path.name}",
                    location=p.location,
                    value=_short(p.quote),
                    expected="the exact text of the transcript (after line ends are normalised to LF), "
                    "or start and end",
                )
            if len(found) > 1:
                where = ", ".join(f"{i}-{i + len(p.quote)}" for i in found[:10])
                raise ReadError(
                    f"quote occurs {len(found)} times in {path.name} (at {where})",
                    location=p.location,
                    value=_short(p.quote),
                    expected="start and end to say which occurrence is meant",
                )
            start, end = found[0], found[0] + len(p.quote)
            if p.id is None:
                p.id = unique_id(coding_id(p.transcript, start, end, p.code), self.used_ids)
        else:
            start, end = p.start, p.end
            if end > len(text):
                raise ReadError(
                    f"coding offsets {start}-{end} are outside the text of {path.name} "
                    f"({len(text)} characters)",
                    location=p.location,
                    value=f"{start}-{end}",
                    expected=f"0 <= start < end <= {len(text)} (code points, 0-based, end exclusive)",
                )
            if p.quote and text[start:end] != p.quote:
                raise ReadError(
                    f"quote does not match the text of {path.name} at {start}-{end}: "
                    f"the text there is {_short(text[start:end])!r}",
                    location=p.location,
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
            created=p.created,  # type: ignore[arg-type]
            memo=p.memo,
            story_id=p.story,
            location=p.location,
        )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
