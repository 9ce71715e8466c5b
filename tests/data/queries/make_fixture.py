"""Write ``fixture-study.trig``: a tiny hand-built study whose answer to every canned query is known.

Run ``python tests/data/queries/make_fixture.py`` after changing the tables below; the TriG file is
committed so the tests never depend on this script. The shape follows ontology/DATA-MODEL.md: one
study ``fixture`` with metadata, codings, fulltext and provenance graphs. Quotes are cut from the
transcript text at the recorded code-point offsets, so ``SUBSTR(text, start+1, end-start) = exact``.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, RDFS, XSD, Dataset, Literal, Namespace, URIRef

B = "https://w3id.org/hmp/"
S = "fixture"
HMP = Namespace("https://w3id.org/hmp/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
PROV = Namespace("http://www.w3.org/ns/prov#")
ORG = Namespace("http://www.w3.org/ns/org#")
DCT = Namespace("http://purl.org/dc/terms/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")

STUDY = URIRef(f"{B}id/{S}")


def iri(kind: str, local: str) -> URIRef:
    return URIRef(f"{B}id/{S}/{kind}/{local}")


# pid: occupation, setting, band (or None), careerYears (or None), roles [(role, start, end)], hybrid
PARTICIPANTS = {
    "D1": (
        "doctor",
        "general-hospital",
        "21-30",
        24,
        [("consultant", 6, None), ("medical-director", 18, None)],
        True,
    ),
    "D2": ("doctor", "primary-care", None, 15, [("general-practitioner", 4, None)], False),
    "N1": (
        "nurse",
        "general-hospital",
        "11-20",
        18,
        [("staff-nurse", 0, 8), ("quality-improvement-lead", 8, None)],
        True,
    ),
    "N2": ("nurse", "community-care", "under-10", None, [("staff-nurse", 0, None)], False),
    "N3": ("nurse", "primary-care", "under-10", 8, [("senior-staff-nurse", 2, None)], False),
    "M1": (
        "manager",
        "regional-planning",
        "over-30",
        32,
        [("service-manager", 2, 12), ("executive-director", 12, None)],
        False,
    ),
    "M2": ("manager", "general-hospital", None, None, [("trainee-manager", 0, None)], False),
}
CLINICAL = {"doctor", "nurse"}

# story id: (narrator, label, initiative, actor groups, [(coding id, body local name or code:slug)])
STORIES = {
    "D1-1": (
        "D1",
        "Reconfiguring the front door",
        "initiative-service-redesign",
        ["actor-surgeons", "actor-trust-executives"],
        [
            ("c01", "stage-awakening"),
            ("c02", "emotion-shock"),
            ("c03", "commitment-profession"),
            ("c04", "moral-own-community"),
        ],
    ),
    "D1-2": (
        "D1",
        "Surgical pathways",
        "initiative-care-pathway-reorganisation",
        ["actor-doctors", "actor-managers"],
        [
            ("c05", "stage-turning-point"),
            ("c06", "loyalty-changing-sides"),
            ("c07", "emotion-distress"),
            ("c08", "emotion-distress"),
            ("c09", "commitment-organisation"),
        ],
    ),
    "D1-3": (
        "D1",
        "A new surgical unit",
        "initiative-service-redesign",
        ["actor-trust-executives", "actor-surgeons"],
        [
            ("c10", "stage-strategic-mastery"),
            ("c11", "skill-building-the-case"),
            ("c12", "skill-negotiation"),
            ("c13", "emotion-pride"),
            ("c14", "moral-neutral-instrumental"),
        ],
    ),
    "D2-1": (
        "D2",
        "Guidelines in the practice",
        "initiative-evidence-based-medicine",
        ["actor-managers"],
        [
            ("c15", "stage-awakening"),
            ("c16", "commitment-profession"),
            ("c17", "emotion-frustration"),
            ("c18", "moral-own-community"),
        ],
    ),
    "D2-2": (
        "D2",
        "The savings round",
        "initiative-cost-control",
        ["actor-trust-executives"],
        [("c19", "stage-turning-point"), ("c20", "emotion-distress")],
    ),
    "N1-1": (
        "N1",
        "Improvement on intensive care",
        "initiative-quality-improvement",
        ["actor-frontline-staff", "actor-doctors"],
        [("c21", "stage-awakening"), ("c22", "emotion-frustration"), ("c23", "commitment-patients")],
    ),
    "N1-2": (
        "N1",
        "Torn limb from limb",
        "initiative-quality-improvement",
        ["actor-frontline-staff"],
        [("c24", "stage-turning-point"), ("c25", "loyalty-torn"), ("c26", "emotion-distress")],
    ),
    "N1-3": (
        "N1",
        "Joining up the services",
        "initiative-integrated-working",
        ["actor-board", "actor-consultants"],
        [
            ("c27", "stage-strategic-mastery"),
            ("c28", "moral-values-based"),
            ("c29", "skill-soft-power"),
            ("c30", "commitment-organisation"),
        ],
    ),
    "N2-1": (
        "N2",
        "Rotas on the ward",
        "initiative-workforce-change",
        ["actor-doctors"],
        [("c31", "stage-awakening"), ("c32", "moral-illegitimate"), ("c33", "emotion-shock")],
    ),
    "N3-1": (
        "N3",
        "Audit in the practice",
        "initiative-quality-improvement",
        ["actor-managers"],
        [("c34", "stage-awakening"), ("c35", "emotion-shock")],
    ),
    "M1-1": (
        "M1",
        "Theatre lists",
        "initiative-service-redesign",
        ["actor-surgeons", "actor-consultants"],
        [
            ("c36", "stage-awakening"),
            ("c37", "emotion-shock"),
            ("c38", "commitment-managing-process"),
            ("c39", "code:organisational-memory"),
        ],
    ),
    "M1-2": (
        "M1",
        "The workflow system",
        "initiative-technological-innovation",
        ["actor-frontline-staff", "actor-board"],
        [
            ("c40", "stage-strategic-mastery"),
            ("c41", "skill-diplomacy"),
            ("c42", "skill-soft-intelligence"),
            ("c43", "moral-neutral-instrumental"),
            ("c44", "commitment-career"),
        ],
    ),
    "M2-1": (
        "M2",
        "First placement",
        "initiative-workforce-change",
        ["actor-managers"],
        [("c45", "stage-early-impressions"), ("c46", "emotion-confusion"), ("c47", "moral-illegitimate")],
    ),
    "M2-2": (
        "M2",
        "The directorate",
        "initiative-cost-control",
        ["actor-senior-colleagues"],
        [("c48", "stage-awakening"), ("c49", "emotion-shock")],
    ),
}

# event id: (participant, stage, career year, career stage, trigger or None, evidencing coding)
EVENTS = {
    "D1-1": ("D1", "awakening", 8, "early", "permanent-post", "c01"),
    "D1-2": ("D1", "turning-point", 18, "mid", "leading-a-change", "c05"),
    "D1-3": ("D1", "strategic-mastery", 22, "senior", None, "c10"),
    "D2-1": ("D2", "turning-point", 5, "early", None, "c19"),
    "D2-2": ("D2", "awakening", 6, "early", "specialist-training", "c15"),
    "N1-1": ("N1", "awakening", 3, "early", "promotion-into-leadership", "c21"),
    "N1-2": ("N1", "turning-point", 10, "mid", None, "c24"),
    "N1-3": ("N1", "strategic-mastery", 15, "senior", None, "c27"),
    "N2-1": ("N2", "awakening", 2, "early", "appraisal", "c31"),
    "N3-1": ("N3", "awakening", 5, "early", "promotion-into-leadership", "c34"),
    "M1-1": ("M1", "awakening", 4, "early", "first-management-post", "c36"),
    "M1-2": ("M1", "strategic-mastery", 25, "senior", None, "c40"),
    "M2-1": ("M2", "early-impressions", 1, "training", None, "c45"),
    "M2-2": ("M2", "awakening", 4, "early", "first-management-post", "c48"),
}


def main() -> None:
    ds = Dataset()
    for prefix, ns in (
        ("hmp", HMP),
        ("oa", OA),
        ("prov", PROV),
        ("org", ORG),
        ("dcterms", DCT),
        ("skos", SKOS),
    ):
        ds.bind(prefix, ns)
    meta = ds.graph(URIRef(f"{B}graph/{S}/metadata"))
    cod = ds.graph(URIRef(f"{B}graph/{S}/codings"))
    full = ds.graph(URIRef(f"{B}graph/{S}/fulltext"))
    prov = ds.graph(URIRef(f"{B}graph/{S}/provenance"))

    meta.add((STUDY, RDF.type, HMP.Study))
    meta.add((STUDY, DCT.title, Literal("Fixture study for the canned queries")))
    meta.add((STUDY, HMP.accessTier, Literal("restricted")))
    meta.add((STUDY, HMP.synthetic, Literal(True)))

    for pid, (occ, setting, band, years, roles, hybrid) in PARTICIPANTS.items():
        p = iri("participant", pid)
        types = [HMP.Participant, HMP[f"{occ.capitalize()}Participant"]]
        if occ in CLINICAL:
            types.append(HMP.ClinicianParticipant)
        if hybrid:
            types.append(HMP.HybridProfessionalManager)
        for t in types:
            meta.add((p, RDF.type, t))
        meta.add((p, RDFS.label, Literal(pid)))
        meta.add((p, HMP.pseudonym, Literal(pid)))
        meta.add((p, HMP.inStudy, STUDY))
        meta.add((p, HMP.primaryOccupation, HMP[f"occupation-{occ}"]))
        meta.add((p, HMP.currentCareSetting, HMP[f"setting-{setting}"]))
        if band:
            meta.add((p, HMP.careerLengthBand, HMP[f"band-{band}"]))
        if years is not None:
            meta.add((p, HMP.careerYears, Literal(years)))
        for n, (role, start, end) in enumerate(roles, 1):
            rh = iri("role-holding", f"{pid}-{n}")
            meta.add((p, HMP.hasRoleHolding, rh))
            meta.add((rh, RDF.type, HMP.RoleHolding))
            if role in {
                "medical-director",
                "quality-improvement-lead",
                "service-manager",
                "executive-director",
                "trainee-manager",
            }:
                meta.add((rh, RDF.type, HMP.LeadershipRoleHolding))
            meta.add((rh, ORG.member, p))
            meta.add((rh, HMP.roleType, HMP[f"role-{role}"]))
            meta.add((rh, HMP.atCareSetting, HMP[f"setting-{setting}"]))
            meta.add((rh, HMP.startCareerYear, Literal(start)))
            if end is not None:
                meta.add((rh, HMP.endCareerYear, Literal(end)))
        interview, transcript = iri("interview", f"T{pid}"), iri("transcript", f"T{pid}")
        meta.add((interview, RDF.type, HMP.Interview))
        meta.add((interview, HMP.interviewee, p))
        meta.add((interview, PROV.startedAtTime, Literal("2019-03-02T00:00:00", datatype=XSD.dateTime)))
        meta.add((interview, HMP.inStudy, STUDY))
        meta.add((transcript, RDF.type, HMP.Transcript))
        meta.add((transcript, RDFS.label, Literal(f"Transcript T{pid}")))
        meta.add((transcript, HMP.transcriptOf, interview))
        meta.add((transcript, HMP.narrator, p))
        meta.add((transcript, HMP.inStudy, STUDY))

        # The transcript: one passage per coding of the participant's stories, in story order.
        text = "Interviewer: Tell me about your career.\n"
        spans: dict[str, tuple[int, int, str]] = {}
        for sid, (narrator, _label, _init, _actors, codings) in STORIES.items():
            if narrator != pid:
                continue
            for cid, body in codings:
                passage = f"{pid}: In story {sid} I recall moment {cid} about {body.split(':')[-1]}."
                text += "Interviewer: And then?\n"
                start = len(text)
                text += passage + "\n"
                spans[cid] = (start, start + len(passage), passage)
        full.add((transcript, HMP.fullText, Literal(text)))
        meta.add((transcript, HMP.textLength, Literal(len(text))))

        for sid, (narrator, label, initiative, actors, codings) in STORIES.items():
            if narrator != pid:
                continue
            story = iri("story", f"S{sid}")
            meta.add((story, RDF.type, HMP.Story))
            meta.add((story, RDFS.label, Literal(label)))
            meta.add((story, HMP.toldIn, transcript))
            meta.add((story, HMP.aboutInitiative, HMP[initiative]))
            meta.add((story, HMP.inStudy, STUDY))
            for actor in actors:
                meta.add((story, HMP.involvesActorGroup, HMP[actor]))
            for cid, body in codings:
                start, end, passage = spans[cid]
                c = iri("coding", cid)
                target = URIRef(f"{c}/target")
                pos, quote = URIRef(f"{target}/position"), URIRef(f"{target}/quote")
                if body.startswith("code:"):
                    slug = body.split(":", 1)[1]
                    body_iri = iri("code", slug)
                    meta.add((body_iri, RDF.type, SKOS.Concept))
                    meta.add((body_iri, SKOS.inScheme, iri("scheme", "codes")))
                    meta.add((body_iri, SKOS.prefLabel, Literal(slug.replace("-", " "))))
                    meta.add((iri("scheme", "codes"), RDF.type, SKOS.ConceptScheme))
                    meta.add((iri("scheme", "codes"), RDFS.label, Literal(f"codes of study {S}")))
                else:
                    body_iri = HMP[body]
                for t in (OA.Annotation, HMP.CodedExcerpt):
                    cod.add((c, RDF.type, t))
                cod.add((c, OA.motivatedBy, OA.classifying))
                cod.add((c, OA.hasBody, body_iri))
                cod.add((c, OA.hasTarget, target))
                cod.add((c, HMP.inTranscript, transcript))
                cod.add((c, HMP.narratedBy, p))
                cod.add((c, HMP.inStory, story))
                cod.add((c, HMP.inStudy, STUDY))
                cod.add((c, PROV.wasAttributedTo, iri("coder", "rw")))
                cod.add((c, DCT.creator, iri("coder", "rw")))
                cod.add((c, DCT.created, Literal("2019-05-01", datatype=XSD.date)))
                cod.add((target, RDF.type, OA.SpecificResource))
                cod.add((target, OA.hasSource, transcript))
                cod.add((target, OA.hasSelector, pos))
                cod.add((target, OA.hasSelector, quote))
                cod.add((pos, RDF.type, OA.TextPositionSelector))
                cod.add((pos, OA.start, Literal(start)))
                cod.add((pos, OA.end, Literal(end)))
                cod.add((quote, RDF.type, OA.TextQuoteSelector))
                cod.add((quote, OA.exact, Literal(passage)))
                cod.add((quote, OA.prefix, Literal(text[max(0, start - 32) : start])))
                cod.add((quote, OA.suffix, Literal(text[end : end + 32])))
    coder = iri("coder", "rw")
    cod.add((coder, RDF.type, HMP.Coder))
    cod.add((coder, RDF.type, PROV.Agent))
    cod.add((coder, RDFS.label, Literal("RW")))

    for eid, (pid, stage, year, career_stage, trigger, evidence) in EVENTS.items():
        e = iri("event", f"E{eid}")
        meta.add((e, RDF.type, HMP.ActivationEvent))
        meta.add((e, HMP.ofParticipant, iri("participant", pid)))
        meta.add((e, HMP.stage, HMP[f"stage-{stage}"]))
        meta.add((e, HMP.careerYear, Literal(year)))
        meta.add((e, HMP.careerStage, HMP[f"career-stage-{career_stage}"]))
        if trigger:
            meta.add((e, HMP.triggeredBy, HMP[f"trigger-{trigger}"]))
        meta.add((e, HMP.evidencedBy, iri("coding", evidence)))
        meta.add((e, HMP.inStudy, STUDY))

    lifting = URIRef(f"{B}id/{S}/lifting")
    prov.add((lifting, RDF.type, PROV.Activity))
    prov.add((lifting, PROV.endedAtTime, Literal("2024-01-01T00:00:00", datatype=XSD.dateTime)))
    for g in (meta, cod, full):
        prov.add((g.identifier, PROV.wasGeneratedBy, lifting))

    out = Path(__file__).with_name("fixture-study.trig")
    out.write_text(ds.serialize(format="trig"))


if __name__ == "__main__":
    main()
