"""Compose one participant's interview transcript, its stories, codings and activation events.

A transcript is built as a list of turns (each a list of sentences with the codes they carry), then
rendered once to text so every coding's offsets are exact. Only one transcript is held at a time.

Coding scheme per episode (the synthetic ground truth, see ``data/example-study/README.md``):

* early impressions: ``stage-early-impressions`` on the passage, ``emotion-confusion`` and
  ``moral-illegitimate`` on sentences;
* awakening: ``stage-awakening``, a ``trigger-*`` sentence per trigger, ``emotion-shock``; doctors
  ``actor-senior-colleagues`` and ``commitment-peers``, nurses ``commitment-patients``, managers
  ``commitment-organisation`` or ``commitment-managing-process``;
* normalisation: ``stage-normalisation`` and ``skill-*``;
* turning point: ``stage-turning-point``, ``emotion-distress``; hybrids ``loyalty-*`` (mostly torn or
  changing sides); managers often ``skill-positional-authority`` (over-reliance on it);
* strategic mastery: ``stage-strategic-mastery``, ``emotion-pride``, ``skill-*``; nurses
  ``moral-values-based``, managers ``moral-neutral-instrumental`` and ``commitment-managing-process``,
  doctors ``moral-own-community``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kg.synth import phrases as ph
from kg.synth.cohort import Event, Person

DEFAULT_WORDS = 1800
INITIATIVES = tuple(ph.INITIATIVE_PHRASES)
INITIATIVE_BIAS = {
    "doctor": (
        "care-pathway-reorganisation",
        "service-redesign",
        "workforce-change",
        "clinical-governance",
        "evidence-based-medicine",
        "technological-innovation",
    ),
    "nurse": (
        "quality-improvement",
        "quality-improvement",
        "quality-scandal-response",
        "integrated-working",
        "workforce-change",
        "clinical-governance",
    ),
    "manager": (
        "cost-control",
        "service-redesign",
        "commissioning-change",
        "technological-innovation",
        "integrated-working",
        "care-pathway-reorganisation",
    ),
}
ACTOR_BIAS = {
    "doctor": ("trust-executives", "managers", "nurses", "consultants", "board", "commissioners"),
    "nurse": ("doctors", "consultants", "frontline-staff", "managers", "board", "nurses"),
    "manager": (
        "surgeons",
        "consultants",
        "doctors",
        "board",
        "commissioners",
        "national-bodies",
        "trust-executives",
        "frontline-staff",
    ),
}


@dataclass
class Sentence:
    text: str
    codes: tuple[str, ...] = ()


@dataclass
class Turn:
    speaker: str  # "Interviewer" or the participant id
    sentences: list[Sentence]
    passage: tuple[str, ...] = ()  # codes on the whole turn body
    story: str | None = None
    stage: str | None = None  # the activation stage the passage evidences


@dataclass(frozen=True)
class CodingRow:
    id: str
    start: int
    end: int
    quote: str
    code: str
    coder: str
    date: dt.date
    memo: str
    story: str


@dataclass(frozen=True)
class StoryRow:
    id: str
    initiative: str
    actors: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class EventRow:
    id: str
    event: Event
    evidence: tuple[str, ...]


@dataclass
class Interview:
    text: str
    codings: list[CodingRow] = field(default_factory=list)
    stories: list[StoryRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    words: int = 0


class _Voice:
    """Turns templates into spoken sentences, avoiding repeats within one interview."""

    def __init__(self, rng: random.Random, person: Person) -> None:
        self.rng = rng
        self.person = person
        self.used: set[str] = set()

    def slots(self, **extra: str) -> dict[str, str]:
        p, rng = self.person, self.rng
        base = {
            "peers": rng.choice(ph.PEERS[p.occupation]),
            "work": rng.choice(ph.WORK[p.occupation]),
            "occupation": p.occupation,
            "year": str(p.calendar_year(rng.randint(1, p.career_years))),
            "setting": rng.choice(ph.SETTING_PHRASES[p.setting]),
            "actor": "they",
            "actor2": "everyone else",
        }
        base.update(extra)
        return base

    def pick(self, pool: Sequence[str]) -> str:
        fresh = [t for t in pool if t not in self.used]
        choice = self.rng.choice(fresh or list(pool))
        self.used.add(choice)
        return choice

    def say(
        self,
        pool: Sequence[str],
        codes: tuple[str, ...] = (),
        *,
        plain: bool = False,
        fill: Mapping[str, str] | None = None,
        **slots: str,
    ) -> Sentence:
        text = self.pick(pool).format(**self.slots(**{**(fill or {}), **slots}))
        text = text[0].upper() + text[1:]
        if not plain:
            text = self._colour(text)
        return Sentence(text, codes)

    def _colour(self, text: str) -> str:
        rng = self.rng
        if rng.random() < 0.28:
            opener = rng.choice(ph.OPENERS)
            keep = text.startswith(("I ", "I'", "GP", "NHS", "CCG")) or text[1:2].isupper()
            text = opener + (text if keep else text[0].lower() + text[1:])
        tag = rng.choice(ph.TAGS)
        if rng.random() < 0.14 and text.endswith(".") and tag[2:] not in text:
            text = text[:-1] + tag + "."
        return text


def _actor_slots(voice: _Voice, actors: Sequence[str]) -> dict[str, str]:
    rng = voice.rng
    first = rng.choice(ph.ACTOR_PHRASES[actors[0]])
    others = [a for a in actors if a != actors[0]]
    second = rng.choice(ph.ACTOR_PHRASES[others[0]]) if others else "everyone else"
    return {"actor": first, "actor2": second}


def _episode(voice: _Voice, event: Event, p: Person) -> tuple[list[Sentence], list[Sentence]]:
    """Two participant turns for one activation episode: (first, after a probe)."""
    rng, say = voice.rng, voice.say
    first: list[Sentence] = []
    second: list[Sentence] = []
    stage = event.stage
    if stage == "awakening":
        for trig in event.triggers:
            pool = [
                t
                for t in ph.AWAKENING_TRIGGER[trig]
                if "partner" not in t
                or p.roles[-1].role == "general-practitioner"
                or any(r.role == "general-practitioner" for r in p.roles)
            ]
            codes: tuple[str, ...] = (f"trigger-{trig}",)
            if trig == "senior-colleagues":
                codes += ("actor-senior-colleagues",)
            first.append(say(pool, codes))
        first.append(say(ph.AWAKENING_GENERAL))
        first.append(say(ph.AWAKENING_SHOCK, ("emotion-shock",)))
        if p.occupation == "doctor":
            if "senior-colleagues" not in event.triggers:
                second.append(say(ph.AWAKENING_TRIGGER["senior-colleagues"], ("actor-senior-colleagues",)))
            second.append(say(ph.COMMITMENT["peers"], ("commitment-peers",)))
        elif p.occupation == "nurse":
            second.append(say(ph.COMMITMENT["patients"], ("commitment-patients",)))
        else:
            kind = "organisation" if rng.random() < 0.6 else "managing-process"
            second.append(say(ph.COMMITMENT[kind], (f"commitment-{kind}",)))
        if rng.random() < 0.4:
            second.append(say(ph.OWN_COMMUNITY, ("moral-own-community",)))
    elif stage == "normalisation":
        first.append(say(ph.NORMALISATION))
        for skill in rng.sample(["negotiation", "facilitation", "diplomacy", "building-the-case"], 2):
            (first if not second else second).append(say(ph.SKILLS[skill], (f"skill-{skill}",)))
        if p.occupation == "manager":
            second.append(say(ph.COMMITMENT["managing-process"], ("commitment-managing-process",)))
        else:
            second.append(say(ph.NORMALISATION))
    elif stage == "turning-point":
        first.append(say(ph.TURNING_POINT))
        if p.occupation == "manager" and rng.random() < 0.6:
            first.append(say(ph.SKILLS["positional-authority"], ("skill-positional-authority",)))
        first.append(say(ph.DISTRESS, ("emotion-distress",)))
        if p.hybrid:
            kind = rng.choices(["torn", "changing-sides", "balancing"], weights=(5, 3, 2))[0]
            second.append(say(ph.LOYALTY[kind], (f"loyalty-{kind}",)))
        second.append(say(ph.TURNING_POINT))
    elif stage == "strategic-mastery":
        first.append(say(ph.MASTERY))
        skill = rng.choice(
            ["diplomacy", "soft-power", "soft-intelligence", "building-the-case", "facilitation"]
        )
        first.append(say(ph.SKILLS[skill], (f"skill-{skill}",)))
        first.append(say(ph.PRIDE, ("emotion-pride",)))
        moral = {"nurse": "values-based", "manager": "neutral-instrumental", "doctor": "own-community"}[
            p.occupation
        ]
        second.append(say(ph.MORAL[moral], (f"moral-{moral}",)))
        if p.occupation == "manager":
            second.append(say(ph.COMMITMENT["managing-process"], ("commitment-managing-process",)))
        elif p.occupation == "nurse":
            second.append(say(ph.COMMITMENT["patients"], ("commitment-patients",)))
        else:
            second.append(say(ph.COMMITMENT["profession"], ("commitment-profession",)))
        if rng.random() < 0.3:
            second.append(say(ph.STUDY_CODES["political nous"], ("political nous",)))
    return first, second


def _career_turn(voice: _Voice, p: Person) -> list[Sentence]:
    out: list[Sentence] = []
    roles = p.roles
    for i, role in enumerate(roles):
        slots = {
            "role": ph.ROLE_PHRASES[role.role],
            "setting": voice.rng.choice(ph.SETTING_PHRASES[role.setting]),
            "year": str(p.calendar_year(role.start)),
        }
        if i == 0:
            pool: Sequence[str] = ph.CAREER_FIRST
        elif i == len(roles) - 1 and role.end is None:
            pool = ph.CAREER_NOW
        else:
            pool = ph.CAREER_NEXT
        out.append(voice.say(pool, plain=True, fill=slots))
        if i == len(roles) // 2 and voice.rng.random() < 0.5:
            out.append(voice.say(ph.CAREER_ASIDE))
    return out


def _filler_turn(voice: _Voice) -> list[Sentence]:
    rng = voice.rng
    out: list[Sentence] = []
    for _ in range(rng.randint(2, 5)):
        roll = rng.random()
        if roll < 0.5:
            out.append(voice.say(ph.FILLER))
        elif roll < 0.97:
            text = f"{rng.choice(ph.FRONT)}, {rng.choice(ph.BACK)}."
            out.append(voice.say([text]))
        else:
            out.append(voice.say(ph.STUDY_CODES["unrelenting change"], ("unrelenting change",)))
    return out


def _distribute(items: list[Event], buckets: int) -> list[list[Event]]:
    """Split ``items`` in order over ``buckets`` consecutive groups, earlier groups larger."""
    out: list[list[Event]] = []
    start = 0
    for b in range(buckets):
        size = len(items) // buckets + (1 if b < len(items) % buckets else 0)
        out.append(items[start : start + size])
        start += size
    return out


def compose(p: Person, seed: int, words: int | None = None) -> Interview:
    """The interview of one participant; deterministic in ``(seed, p.index)``."""
    rng = random.Random(f"hmp-synth-text:{seed}:{p.index}")
    voice = _Voice(rng, p)
    num = p.pid[1:]
    target = int((words or DEFAULT_WORDS) * rng.uniform(0.9, 1.2))
    turns: list[Turn] = []
    interviewer = "Interviewer"

    def ask(pool: Sequence[str]) -> None:
        turns.append(Turn(interviewer, [Sentence(rng.choice(pool))]))

    ask(ph.INTERVIEWER_OPEN)
    turns.append(Turn(p.pid, [Sentence(rng.choice(ph.PARTICIPANT_OPEN))]))
    ask(ph.INTERVIEWER_CAREER)
    turns.append(Turn(p.pid, _career_turn(voice, p)))

    ask(ph.INTERVIEWER_EARLY)
    body = [
        voice.say(ph.EARLY_CONFUSION[p.occupation], ("emotion-confusion",)),
        voice.say(ph.EARLY_NEUTRAL[p.occupation]),
        voice.say(ph.EARLY_ILLEGITIMATE, ("moral-illegitimate",)),
    ]
    rng.shuffle(body)
    turns.append(Turn(p.pid, body, ("stage-early-impressions",), stage="early-impressions"))
    ask(ph.PROBES["early-impressions"])
    more = [voice.say(ph.EARLY_ILLEGITIMATE, ("moral-illegitimate",))]
    if rng.random() < 0.5:
        more.append(voice.say(ph.EARLY_CONFUSION[p.occupation], ("emotion-confusion",)))
    turns.append(Turn(p.pid, more, ("stage-early-impressions",), stage="early-impressions"))
    anchors = [len(turns)]  # where reflective exchanges may go: before each story and the close

    episodes = _distribute(p.events[1:], p.stories)
    stories: list[StoryRow] = []
    for k, group in enumerate(episodes, start=1):
        sid = f"S{num}-{k}"
        initiative = rng.choice(INITIATIVE_BIAS[p.occupation] + INITIATIVES)
        actors = tuple(sorted(rng.sample(ACTOR_BIAS[p.occupation], rng.randint(1, 3))))
        when = group[0].year if group else rng.randint(1, p.career_years)
        held = [r for r in p.roles if r.start <= when and (r.end is None or r.end >= when)]
        setting = held[-1].setting if held else p.setting
        year = p.calendar_year(when)
        place = rng.choice(ph.SETTING_PHRASES[setting])
        title = f"{ph.INITIATIVE_TITLES[initiative]} at {ph.SETTING_PHRASES[setting][0]} ({year})"
        stories.append(StoryRow(sid, initiative, actors, title))
        acts = _actor_slots(voice, actors)
        if k > 1:
            anchors.append(len(turns))
        ask(ph.INTERVIEWER_STORY)
        intro = [
            voice.say(
                ph.STORY_INTRO,
                plain=True,
                year=str(year),
                setting=place,
                initiative=rng.choice(ph.INITIATIVE_PHRASES[initiative]),
            ),
            voice.say(ph.STORY_CONTEXT),
        ]
        for actor in actors[:2]:
            intro.append(
                voice.say(ph.ACTOR_LINES, (f"actor-{actor}",), fill=_actor_slots(voice, [actor, *actors]))
            )
        if rng.random() < 0.3:
            intro.append(
                voice.say(
                    ph.STUDY_CODES["organisational memory"],
                    ("organisational memory",),
                    year=str(max(year - rng.randint(3, 12), p.calendar_year(1))),
                )
            )
        turns.append(Turn(p.pid, intro, story=sid))
        if not group:
            ask(ph.PROBES["context"])
            kind = rng.choice(["frustration", "discomfort"])
            body = [voice.say(ph.EMOTION[kind], (f"emotion-{kind}",)), voice.say(ph.ACTOR_LINES, fill=acts)]
            if p.career_years < 10:
                body.append(voice.say(ph.EARLY_ILLEGITIMATE, ("moral-illegitimate",)))
            turns.append(Turn(p.pid, body, story=sid))
        for event in group:
            first, second = _episode(voice, event, p)
            ask(ph.PROBES[event.stage])
            turns.append(Turn(p.pid, first, (f"stage-{event.stage}",), story=sid, stage=event.stage))
            if second:
                ask(ph.PROBES[event.stage])
                turns.append(Turn(p.pid, second, (f"stage-{event.stage}",), story=sid, stage=event.stage))
    closing = [
        Turn(interviewer, [Sentence(rng.choice(ph.INTERVIEWER_CLOSE))]),
        Turn(p.pid, [Sentence(rng.choice(ph.CLOSING))]),
        Turn(interviewer, [Sentence(rng.choice(ph.INTERVIEWER_THANKS))]),
    ]

    # reach the target length with reflective exchanges placed between sections
    count = sum(len(s.text.split()) for t in turns + closing for s in t.sentences)
    anchors.append(len(turns))
    inserts: dict[int, list[Turn]] = {}
    while count < target:
        at = rng.choice(anchors)
        pair = [
            Turn(interviewer, [Sentence(rng.choice(ph.INTERVIEWER_FILLER))]),
            Turn(p.pid, _filler_turn(voice)),
        ]
        count += sum(len(s.text.split()) for t in pair for s in t.sentences)
        inserts.setdefault(at, []).extend(pair)
    ordered: list[Turn] = []
    for i, turn in enumerate(turns):
        ordered.extend(inserts.get(i, []))
        ordered.append(turn)
    ordered.extend(inserts.get(len(turns), []))
    ordered.extend(closing)
    interview = _render(p, ordered, stories, rng)
    interview.words = count
    return interview


def _render(p: Person, turns: list[Turn], stories: list[StoryRow], rng: random.Random) -> Interview:
    parts: list[str] = []
    pos = 0
    rows: list[CodingRow] = []
    evidence: dict[str, list[str]] = {}
    coded = p.interview + dt.timedelta(days=rng.randint(20, 150))

    def add(start: int, end: int, quote: str, code: str, story: str | None) -> str:
        cid = f"c-{p.tid}-{len(rows) + 1:04d}"
        memo = rng.choice(ph.MEMOS) if rng.random() < 0.06 else ""
        rows.append(CodingRow(cid, start, end, quote, code, p.coder, coded, memo, story or ""))
        return cid

    for turn in turns:
        label = f"{turn.speaker}: "
        parts.append(label)
        pos += len(label)
        body_start = pos
        spans: list[tuple[int, int, Sentence]] = []
        for i, sentence in enumerate(turn.sentences):
            if i:
                parts.append(" ")
                pos += 1
            parts.append(sentence.text)
            spans.append((pos, pos + len(sentence.text), sentence))
            pos += len(sentence.text)
        body = "".join(s.text if i == 0 else " " + s.text for i, s in enumerate(turn.sentences))
        for code in turn.passage:
            cid = add(body_start, pos, body, code, turn.story)
            if turn.stage:
                evidence.setdefault(turn.stage, []).append(cid)
        for start, end, sentence in spans:
            for code in sentence.codes:
                add(start, end, sentence.text, code, turn.story)
        parts.append("\n\n")
        pos += 2
    text = "".join(parts).rstrip("\n") + "\n"
    num = p.pid[1:]
    events = [
        EventRow(f"E{num}-{k}", e, tuple(evidence.get(e.stage, ()))) for k, e in enumerate(p.events, start=1)
    ]
    return Interview(text, rows, stories, events)
