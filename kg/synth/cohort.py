"""Assign the synthetic cohort: who each participant is, what posts they held, when things happened.

Procedure (seeded, documented; the study publishes only marginal counts)
------------------------------------------------------------------------
1. **Marginals.** Occupation (29/21/15), career band (5/5/28/19/8) and current care setting
   (27/5/14/3/8/8) are scaled to ``N`` with largest-remainder rounding (exact at ``N = 65``).
   Doctors are split into 9/21 leaders (hospital or regional leadership) and clinicians; nurses into
   6 quality-improvement leads, 4 departmental managers and 5 senior hospital leaders, again by
   largest remainder. These six *profiles* are the rows of two joint tables.
2. **Joint tables.** ``profile x setting`` and ``profile x band`` start from fixed plausibility
   weights (``SETTING_WEIGHTS``, ``BAND_WEIGHTS``: zeros forbid, e.g. a doctor without a leadership
   post cannot work in regional planning, a medical director cannot have under 10 years), are fitted
   to both margins by iterative proportional fitting, integerised row by row with largest remainder
   and repaired column by column (moving single people, preferring the manager row, which allows
   everything) so both margins hold exactly. The tables depend on ``N`` only, never on the seed.
3. **People.** Participants are drawn one at a time *without replacement* from the remaining counts
   (profile, then setting and band within the profile, then the number of stories from a 25/45/30
   per-cent split of 1/2/3 stories scaled to ``N``) with ``random.Random(seed)``. Nothing proportional
   to ``N`` is held in memory, so 65,000 participants stream.
4. **Careers.** Each participant then gets their own ``random.Random("hmp-synth:<seed>:<index>")``
   that draws the career length inside the band, the posts held (clinical ladder, then leadership),
   the interview date and the activation events, following the patterns the study reports
   (see ``data/example-study/README.md``). Matron posts are never assigned, so every nurse holds
   exactly one of the three published leadership posts and the 6/4/5 split is unambiguous
   (the ontology types matron as a leadership role; it would otherwise blur the partition).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from kg.synth import figures

PROFILES = ("doctor-clinical", "doctor-leader", "nurse-qi", "nurse-dept", "nurse-senior", "manager")
SETTING_NAMES = tuple(figures.SETTINGS)
BAND_NAMES = tuple(figures.BANDS)

#                 GH  SH  PC  CC  RP  NL
SETTING_WEIGHTS = {
    "doctor-clinical": (3, 1, 8, 0, 0, 0),
    "doctor-leader": (6, 1, 0, 0, 2, 0),
    "nurse-qi": (3, 1, 1, 1, 0, 0),
    "nurse-dept": (2, 1, 0, 1, 0, 0),
    "nurse-senior": (4, 1, 0, 0, 0, 0),
    "manager": (10, 1, 4, 1, 6, 8),
}
#                 <10 11-20 21-30 >30  n/s
BAND_WEIGHTS = {
    "doctor-clinical": (3, 2, 4, 2, 1),
    "doctor-leader": (0, 1, 4, 4, 1),
    "nurse-qi": (1, 1, 3, 1, 1),
    "nurse-dept": (0, 1, 3, 2, 1),
    "nurse-senior": (0, 0, 3, 3, 1),
    "manager": (1, 1, 4, 3, 1),
}
STORY_SPLIT = (25, 45, 30)  # per cent of participants telling 1, 2, 3 stories

SENIOR_ROLES = frozenset(
    {
        "medical-director",
        "clinical-director",
        "senior-hospital-leader",
        "executive-director",
        "regional-leader",
        "national-leader",
    }
)


@dataclass(frozen=True)
class Role:
    role: str
    setting: str
    start: int
    end: int | None  # None while still held


@dataclass(frozen=True)
class Event:
    stage: str  # activation stage local name without prefix
    year: int  # career year
    career_stage: str  # training | early | mid | senior
    triggers: tuple[str, ...] = ()


@dataclass
class Person:
    index: int  # 0-based position in the cohort
    pid: str
    tid: str
    profile: str
    occupation: str
    setting: str
    band: str
    career_years: int  # drawn for everyone; written only when the band is stated
    roles: list[Role] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    stories: int = 1
    interview: dt.date = dt.date(2018, 1, 1)
    coder: str = "coder-a"

    @property
    def hybrid(self) -> bool:
        return self.occupation != "manager" and any(r.role not in figures.CLINICAL_ROLES for r in self.roles)

    @property
    def stated_years(self) -> int | None:
        return None if self.band == "not-stated" else self.career_years

    def calendar_year(self, career_year: int) -> int:
        return self.interview.year - self.career_years + career_year

    def event(self, stage: str) -> Event | None:
        return next((e for e in self.events if e.stage == stage), None)


# -- step 1 and 2: the joint tables -------------------------------------------------------------


def profile_counts(n: int) -> dict[str, int]:
    occ = figures.scale(n, figures.OCCUPATIONS)
    leaders, clinicians = figures.largest_remainder(
        occ["doctor"], [figures.DOCTOR_LEADERS, figures.OCCUPATIONS["doctor"] - figures.DOCTOR_LEADERS]
    )
    qi, dept, senior = figures.largest_remainder(occ["nurse"], list(figures.NURSE_LEADERSHIP.values()))
    return {
        "doctor-clinical": clinicians,
        "doctor-leader": leaders,
        "nurse-qi": qi,
        "nurse-dept": dept,
        "nurse-senior": senior,
        "manager": occ["manager"],
    }


def joint_table(
    rows: Sequence[int], cols: Sequence[int], weights: Sequence[Sequence[float]]
) -> list[list[int]]:
    """Integer table with exactly the given row and column sums, shaped like ``weights``."""
    fit = [[float(w) for w in row] for row in weights]
    for _ in range(200):  # iterative proportional fitting
        for i, target in enumerate(rows):
            s = sum(fit[i])
            if s > 0:
                fit[i] = [v * target / s for v in fit[i]]
        for j, target in enumerate(cols):
            s = sum(fit[i][j] for i in range(len(rows)))
            if s > 0:
                for i in range(len(rows)):
                    fit[i][j] *= target / s
    table = [figures.largest_remainder(rows[i], fit[i]) for i in range(len(rows))]
    manager = len(rows) - 1
    while True:
        sums = [sum(table[i][j] for i in range(len(rows))) for j in range(len(cols))]
        over = [j for j in range(len(cols)) if sums[j] > cols[j]]
        under = [j for j in range(len(cols)) if sums[j] < cols[j]]
        if not over:
            return table
        j, k = over[0], under[0]
        candidates = [manager, *range(len(rows))]
        row = next((i for i in candidates if table[i][j] > 0 and weights[i][k] > 0), None)
        if row is None:  # tiny cohorts only: give up plausibility before exactness
            row = next(i for i in candidates if table[i][j] > 0)
        table[row][j] -= 1
        table[row][k] += 1


def tables(n: int) -> tuple[dict[str, int], dict[str, list[int]], dict[str, list[int]]]:
    """Profile counts and the profile x setting and profile x band tables for ``n`` people."""
    profiles = profile_counts(n)
    rows = [profiles[p] for p in PROFILES]
    settings = joint_table(
        rows, list(figures.scale(n, figures.SETTINGS).values()), [SETTING_WEIGHTS[p] for p in PROFILES]
    )
    bands = joint_table(
        rows, list(figures.scale(n, figures.BANDS).values()), [BAND_WEIGHTS[p] for p in PROFILES]
    )
    return profiles, dict(zip(PROFILES, settings, strict=True)), dict(zip(PROFILES, bands, strict=True))


def _draw(rng: random.Random, remaining: list[int]) -> int:
    """Index drawn with probability proportional to ``remaining``; decrements it."""
    pick = rng.randrange(sum(remaining))
    for i, count in enumerate(remaining):
        if pick < count:
            remaining[i] -= 1
            return i
        pick -= count
    raise AssertionError("unreachable")


# -- step 3: people, streamed ---------------------------------------------------------------------


def iter_cohort(n: int, seed: int) -> Iterator[Person]:
    """The ``n`` participants, one at a time, in id order."""
    profiles, settings, bands = tables(n)
    left_profiles = [profiles[p] for p in PROFILES]
    left_settings = {p: list(v) for p, v in settings.items()}
    left_bands = {p: list(v) for p, v in bands.items()}
    left_stories = figures.largest_remainder(n, STORY_SPLIT)
    rng = random.Random(seed)
    width = max(2, len(str(n)))
    for index in range(n):
        profile = PROFILES[_draw(rng, left_profiles)]
        setting = SETTING_NAMES[_draw(rng, left_settings[profile])]
        band = BAND_NAMES[_draw(rng, left_bands[profile])]
        stories = 1 + _draw(rng, left_stories)
        num = str(index + 1).zfill(width)
        person = Person(
            index=index,
            pid=f"P{num}",
            tid=f"T{num}",
            profile=profile,
            occupation=profile.split("-")[0],
            setting=setting,
            band=band,
            career_years=0,
            stories=stories,
        )
        _career(person, random.Random(f"hmp-synth:{seed}:{index}"))
        yield person


# -- step 4: careers and activation events -----------------------------------------------------


def _career_length(profile: str, band: str, rng: random.Random) -> int:
    low = {"doctor-leader": 14, "nurse-senior": 13, "nurse-dept": 11}.get(profile, 11)
    ranges = {
        "under-10": (6 if profile.startswith("nurse") else 3, 9),
        "11-20": (low, 20),
        "21-30": (21, 30),
        "over-30": (31, 38),
        "not-stated": (max(low, 14), 34),
    }
    a, b = ranges[band]
    return rng.randint(a, b)


def _roles(p: Person, rng: random.Random) -> tuple[list[Role], dict[str, int]]:
    """Posts held, plus the career years that anchor the activation events."""
    length, c = p.career_years, p.setting
    roles: list[tuple[str, str, int, int | None]] = []
    marks: dict[str, int] = {}
    if p.occupation == "doctor":
        regional = c == "regional-planning"
        gp = c == "primary-care" or (regional and rng.random() < 0.4)
        base = (
            "primary-care"
            if gp
            else (c if c in ("general-hospital", "specialist-hospital") else "general-hospital")
        )
        roles.append(
            (
                "junior-doctor",
                rng.choice(["general-hospital", "general-hospital", "specialist-hospital"]),
                1,
                2,
            )
        )
        permanent = rng.randint(6, 7) if gp else rng.randint(9, 12)
        roles.append(("specialist-trainee", base, 3, permanent - 1))
        roles.append(("general-practitioner" if gp else "consultant", base, permanent, None))
        marks.update(training_end=permanent - 1, permanent=permanent)
        if p.profile == "doctor-leader":
            if regional:
                top = length - rng.randint(1, 5)
                roles.append(("clinical-lead", base, permanent + rng.randint(2, 4), top - 1))
                roles.append(("regional-leader", "regional-planning", top, None))
                roles[2] = (roles[2][0], base, permanent, top - 1 if rng.random() < 0.6 else None)
            elif length >= 24:
                top = length - rng.randint(2, 6)
                roles.append(("clinical-director", base, permanent + rng.randint(3, 6), top - 1))
                roles.append(("medical-director", base, top, None))
                roles[2] = (roles[2][0], base, permanent, top - 1)
            elif length >= 18:
                top = length - rng.randint(1, 4)
                roles.append(("clinical-lead", base, permanent + rng.randint(2, 4), top - 1))
                roles.append(("clinical-director", base, top, None))
            else:
                roles.append(("clinical-lead", base, permanent + rng.randint(2, 4), None))
    elif p.occupation == "nurse":
        first = c if c in ("general-hospital", "specialist-hospital") else "general-hospital"
        senior_staff = rng.randint(3, 5)
        roles.append(("staff-nurse", first, 1, senior_staff - 1))
        if p.profile == "nurse-qi":
            lead, post = senior_staff + rng.randint(1, 4), "quality-improvement-lead"
        elif p.profile == "nurse-dept":
            lead, post = senior_staff + rng.randint(3, 6), "departmental-manager"
        else:
            lead, post = max(senior_staff + 5, length - rng.randint(3, 9)), "senior-hospital-leader"
        lead = min(lead, length)
        roles.append(("senior-staff-nurse", first, senior_staff, lead - 1))
        roles.append((post, c, lead, None))
        marks.update(training_end=1, promotion=senior_staff, lead=lead)
    else:
        first_post = min(rng.randint(3, 6), length)
        if rng.random() < 0.7:
            roles.append(("trainee-manager", "general-hospital", 1, min(2, first_post - 1)))
        earlier = rng.choice(
            ["general-hospital", "general-hospital", "specialist-hospital", "community-care", "primary-care"]
        )
        senior = first_post + rng.randint(3, 5)
        roles.append(("service-manager", earlier, first_post, senior - 1))
        marks.update(training_end=2, first_post=first_post, senior=senior)
        top_role = {
            "regional-planning": "regional-leader",
            "national-leadership": "national-leader",
            "primary-care": "service-manager",
            "community-care": "executive-director",
        }.get(c)
        if top_role is None:
            top_role = (
                "executive-director" if length >= 25 and rng.random() < 0.5 else "senior-hospital-leader"
            )
        top = max(senior + 2, length - rng.randint(2, 8))
        roles.append(("departmental-manager", earlier, senior, top - 1))
        roles.append((top_role, c, top, None))
    kept: list[Role] = []
    for role, setting, start, end in roles:
        if start > length:
            continue
        if end is not None and end < start:
            continue
        kept.append(Role(role, setting, start, None if end is None or end >= length else end))
    last = kept[-1]
    if last.end is not None:  # the latest post is the one held now, in the current setting
        kept[-1] = Role(
            last.role,
            c if last.role not in figures.CLINICAL_ROLES or p.occupation != "doctor" else last.setting,
            last.start,
            None,
        )
    return kept, marks


def _career_stage(p: Person, year: int, marks: dict[str, int]) -> str:
    if year <= marks.get("training_end", 2):
        return "training"
    senior_start = min((r.start for r in p.roles if r.role in SENIOR_ROLES), default=20)
    if year >= senior_start:
        return "senior"
    early_end = marks.get("permanent", 8) + 1 if p.occupation == "doctor" else 7
    return "early" if year <= early_end else "mid"


def _events(p: Person, rng: random.Random, marks: dict[str, int]) -> list[Event]:
    length = p.career_years
    plan: list[tuple[str, int, tuple[str, ...]]] = [("early-impressions", rng.randint(1, 2), ())]
    if p.occupation == "nurse":
        awake = marks["promotion"]
        triggers: tuple[str, ...] = ("promotion-into-leadership",)
        if rng.random() < 0.35:
            triggers += ("appraisal",)
    elif p.occupation == "manager":
        if rng.random() < 0.5 or marks["senior"] > length:
            awake, triggers = marks["first_post"], ("first-management-post",)
        else:
            awake, triggers = marks["senior"], ("entering-senior-management",)
    else:
        awake = rng.randint(8, 12)
        triggers = ("specialist-training",) if awake < marks["permanent"] else ("permanent-post",)
        if rng.random() < 0.5:
            triggers += ("senior-colleagues",)
    if awake <= length:
        plan.append(("awakening", awake, triggers))
        if length >= awake + 2 and rng.random() < 0.5:
            plan.append(("normalisation", rng.randint(awake + 1, min(length - 1, awake + 6)), ()))
        if length >= awake + 2 and rng.random() < 0.93:
            lead = min((r.start for r in p.roles if r.role not in figures.CLINICAL_ROLES), default=awake + 2)
            low = max(awake + 2, plan[-1][1] + 1)
            turn = min(length, max(low, lead + rng.randint(0, 3)))
            if turn >= low:
                plan.append(("turning-point", turn, ("leading-a-change",)))
                holds_senior = any(r.role in SENIOR_ROLES and r.end is None for r in p.roles)
                if (
                    length >= 18
                    and turn < length
                    and (holds_senior or p.hybrid or (p.occupation == "manager" and rng.random() < 0.5))
                ):
                    mastery = rng.randint(max(turn + 1, length - 6), length)
                    plan.append(("strategic-mastery", mastery, ("career-advancement",)))
    return [Event(stage, year, _career_stage(p, year, marks), trig) for stage, year, trig in plan]


def _career(p: Person, rng: random.Random) -> None:
    p.career_years = _career_length(p.profile, p.band, rng)
    year = rng.randint(*figures.PERIOD)
    p.interview = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
    p.coder = "coder-a" if rng.random() < 0.6 else "coder-b"
    p.roles, marks = _roles(p, rng)
    p.events = _events(p, rng, marks)
