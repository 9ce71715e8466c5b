# ruff: noqa: E501  (sentence material reads better unwrapped)
"""Hand-written sentence material for synthetic transcripts.

Every sentence here was written for this generator; none is taken from the published study, whose
quotes are confidential research data. Templates use ``{slot}`` fields filled by
:mod:`kg.synth.transcript`: ``setting`` (where it happened), ``year`` (calendar year), ``initiative``,
``actor``/``actor2`` (groups involved), ``role`` (post title), ``peers`` (own occupational group),
``work`` (own line of work), ``years`` (a span such as "ten years").
A pool's name says what its sentences are coded with (see ``transcript.EPISODE_CODES``).
"""

from __future__ import annotations

# -- talk furniture -----------------------------------------------------------------------------

OPENERS = (
    "I mean, ",
    "Honestly, ",
    "To be fair, ",
    "Well, ",
    "So ",
    "And ",
    "Looking back, ",
    "I suppose ",
    "If I'm honest, ",
    "You know, ",
    "Actually, ",
    "I think ",
    "In a way, ",
    "Funnily enough, ",
    "Thinking about it now, ",
    "The thing is, ",
    "Right, so ",
    "I'd say ",
    "Basically, ",
    "Oh, ",
    "Erm, ",
    "Um, so ",
    "Mm, ",
    "Yeah, ",
    "Yes, so ",
    "Put it this way, ",
)
TAGS = (
    ", you know",
    ", if that makes sense",
    ", I think",
    ", really",
    ", to be honest",
    ", I suppose",
    ", sort of thing",
    ", if I'm honest",
    ", as it were",
    ", I'd say",
    ", more or less",
)

SETTING_PHRASES = {
    "general-hospital": (
        "a big district general hospital",
        "the acute trust",
        "a busy general hospital",
        "a teaching hospital in the city",
        "our local general hospital",
    ),
    "specialist-hospital": (
        "a specialist heart and lung hospital",
        "the children's hospital",
        "a specialist orthopaedic centre",
        "a cancer centre",
        "the eye hospital",
    ),
    "primary-care": (
        "a group practice",
        "a GP surgery on the edge of town",
        "the practice",
        "a primary care network",
        "a training practice",
    ),
    "community-care": (
        "the community trust",
        "community services",
        "the community nursing service",
        "a community health trust",
    ),
    "regional-planning": (
        "the regional team",
        "the clinical commissioning group",
        "the regional office",
        "a commissioning organisation",
        "the sustainability and transformation partnership",
    ),
    "national-leadership": (
        "a national body",
        "one of the arm's-length bodies",
        "the national team",
        "a national improvement agency",
        "the department's policy side",
    ),
}
ROLE_PHRASES = {
    "junior-doctor": "a junior doctor",
    "specialist-trainee": "a registrar",
    "consultant": "a consultant",
    "general-practitioner": "a GP",
    "staff-nurse": "a staff nurse",
    "senior-staff-nurse": "a senior staff nurse",
    "matron": "a matron",
    "quality-improvement-lead": "the quality improvement lead",
    "departmental-manager": "a departmental manager",
    "senior-hospital-leader": "part of the senior team",
    "clinical-lead": "the clinical lead",
    "clinical-director": "clinical director",
    "medical-director": "medical director",
    "director-of-nursing": "director of nursing",
    "regional-leader": "a regional director",
    "national-leader": "a national programme director",
    "trainee-manager": "a management trainee",
    "service-manager": "a service manager",
    "executive-director": "an executive director",
}
PEERS = {
    "doctor": ("other doctors", "my medical colleagues", "the medics"),
    "nurse": ("other nurses", "the nursing team", "my nursing colleagues"),
    "manager": ("other managers", "my management colleagues", "the managers I worked with"),
}
WORK = {
    "doctor": ("medicine", "the profession"),
    "nurse": ("nursing", "the profession"),
    "manager": ("management", "the job"),
}
INITIATIVE_PHRASES = {
    "quality-improvement": (
        "a quality improvement programme",
        "a push on pressure ulcers",
        "the falls reduction work",
        "a project to cut hospital infections",
    ),
    "care-pathway-reorganisation": (
        "reorganising the hip fracture pathway",
        "a new stroke pathway",
        "changing how surgical patients flowed through the hospital",
    ),
    "clinical-governance": (
        "a new clinical governance framework",
        "the mortality review process",
        "tightening up incident reporting",
    ),
    "commissioning-change": (
        "the re-tendering of community contracts",
        "a change in how services were commissioned",
        "moving outpatient work under a new contract",
    ),
    "cost-control": ("a cost improvement programme", "the savings plan", "cutting agency spend"),
    "evidence-based-medicine": (
        "bringing in the new national guidance",
        "standardising care around the evidence",
        "getting people to follow the protocols",
    ),
    "integrated-working": (
        "joining up health and social care",
        "an integrated discharge team",
        "getting the hospital and community teams to work as one",
    ),
    "quality-scandal-response": (
        "the action plan after a damning inspection",
        "the response to a serious incident",
        "the clean-up after a critical report",
    ),
    "service-redesign": (
        "redesigning the front door",
        "merging two wards",
        "moving clinics out into the community",
        "a reconfiguration of emergency services",
    ),
    "technological-innovation": (
        "the electronic patient record rollout",
        "a new workflow system",
        "e-rostering",
        "digital dictation",
    ),
    "workforce-change": (
        "introducing advanced practitioners",
        "changing the junior doctor rota",
        "a skill-mix review",
        "new nursing associate roles",
    ),
}
INITIATIVE_TITLES = {
    "quality-improvement": "Quality improvement",
    "care-pathway-reorganisation": "Pathway reorganisation",
    "clinical-governance": "Clinical governance",
    "commissioning-change": "Commissioning change",
    "cost-control": "Cost control",
    "evidence-based-medicine": "Evidence-based practice",
    "integrated-working": "Integrated working",
    "quality-scandal-response": "Response to a quality failure",
    "service-redesign": "Service redesign",
    "technological-innovation": "New technology",
    "workforce-change": "Workforce change",
}
ACTOR_PHRASES = {
    "surgeons": ("the surgeons", "the surgical consultants"),
    "consultants": ("the consultant body", "the consultants"),
    "trust-executives": ("the executive team", "the trust executives"),
    "board": ("the board", "the trust board"),
    "managers": ("the managers", "management"),
    "nurses": ("the nursing staff", "the ward sisters"),
    "doctors": ("the medics", "the doctors"),
    "frontline-staff": ("the frontline teams", "staff on the wards"),
    "commissioners": ("the commissioners", "the CCG"),
    "national-bodies": ("the regulator", "the national bodies"),
    "senior-colleagues": ("my seniors", "the senior people around me"),
}

# -- interviewer --------------------------------------------------------------------------------

INTERVIEWER_OPEN = (
    "Thanks for making the time today. As we said in the information sheet, there are no right or wrong answers.",
    "Thank you for agreeing to talk to me. Is it still all right if I record this?",
    "Lovely, thanks for fitting this in. I'll just check the recorder is running.",
    "Thanks so much for seeing me. We've got about an hour, if that still works for you.",
    "Good to meet you, and thanks for agreeing to take part.",
    "Thanks for this. Before we start, are you happy with the consent form?",
)
PARTICIPANT_OPEN = (
    "Yes, that's fine, go ahead.",
    "No problem at all, happy to help.",
    "Of course. Fire away.",
    "That's fine. I'm not sure how interesting I'll be, mind.",
    "Yes, that works. I've blocked out the hour.",
    "Sure. I've been looking forward to it, actually.",
    "Yes, all signed. Where do you want to start?",
)
INTERVIEWER_CAREER = (
    "Could you start by telling me a bit about your career so far?",
    "Perhaps you could walk me through how you got to where you are now?",
    "Can we begin with your career? How did you end up in your current post?",
    "To set the scene, could you take me through the jobs you've done?",
    "Let's start with the big picture. What has your career looked like?",
)
INTERVIEWER_EARLY = (
    "When you think back to those first years, what did you make of the politics around you?",
    "How aware were you, early on, of disagreements about how the work was organised?",
    "What was your sense of organisational politics when you were starting out?",
    "Did the word politics mean anything to you in those early days?",
    "Going back to the beginning, how did you see conflict and disagreement at work?",
)
INTERVIEWER_STORY = (
    "Can you tell me about a change you were involved in that caused some disagreement?",
    "Is there a particular episode that stands out, where there was conflict over how things should be done?",
    "Could you take me through a change initiative that you remember well?",
    "I'd like to hear about a time when a change at work got contentious. Does anything come to mind?",
    "Was there another change that sticks in your memory?",
    "Tell me about a moment when the politics of a change became really obvious to you.",
    "Is there a story you often come back to when you think about conflict at work?",
)
PROBES = {
    "awakening": (
        "What changed for you at that point?",
        "How did that shift the way you saw things?",
        "Was that a moment when things clicked into place?",
        "What did you take away from that?",
    ),
    "normalisation": (
        "And after that, did this kind of thing become more routine for you?",
        "How did you handle it as it became part of the job?",
        "So how did you get on with it day to day?",
    ),
    "turning-point": (
        "Was there a point where things went badly for you?",
        "How did that period feel?",
        "What was the hardest part of that?",
        "Did that make you rethink anything?",
    ),
    "strategic-mastery": (
        "How do you approach this sort of thing now?",
        "What would you say you've learnt to do well?",
        "How do you see your part in all this today?",
        "What does that look like in your current role?",
    ),
    "early-impressions": ("What did you make of that at the time?", "How did that feel back then?"),
    "context": ("Who else was involved?", "And how did that play out?", "How did people react?"),
}
INTERVIEWER_FILLER = (
    "Can I pick up on something you said earlier?",
    "That's interesting. Could you say a bit more?",
    "How do you think others saw it?",
    "Does that still happen now?",
    "What about the wider organisation?",
    "Do you think your background made a difference there?",
    "How do you look after yourself in all that?",
    "What would you tell someone just starting out?",
    "Has the wider system changed how this works?",
    "Where do patients come into all this, for you?",
    "How much of that is about particular people?",
    "Is that something you talk about with colleagues?",
)
INTERVIEWER_CLOSE = (
    "We're nearly out of time. Is there anything you'd like to add?",
    "Is there anything I haven't asked that you think matters?",
    "Before we finish, is there anything else you want to say?",
)
INTERVIEWER_THANKS = (
    "Thank you, that's been really helpful.",
    "Brilliant, thank you so much for your time.",
    "That's great. I'll stop the recording there.",
    "Thanks again, this has been really rich.",
)

# -- career summary -----------------------------------------------------------------------------

CAREER_FIRST = (
    "I started out as {role} at {setting} in {year}.",
    "My first proper job was as {role} at {setting}, back in {year}.",
    "I began as {role}, at {setting}, around {year}.",
    "It all started in {year}, when I went to {setting} as {role}.",
)
CAREER_NEXT = (
    "Then in {year} I became {role}, at {setting}.",
    "After that I moved on to be {role} at {setting}, that was {year}.",
    "By {year} I was {role}, working at {setting}.",
    "In {year} I took a post as {role} at {setting}.",
    "Around {year} I went for {role}, at {setting}, and got it.",
    "Next was {role}, which I did at {setting} from {year}.",
)
CAREER_NOW = (
    "And now I'm {role}, at {setting}.",
    "So these days I'm {role}, based at {setting}.",
    "Which brings me to now: {role}, at {setting}.",
    "That's where I still am, {role} at {setting}.",
)
CAREER_ASIDE = (
    "It's not been a straight line, I'll admit.",
    "I never really planned any of it.",
    "There were a couple of sideways moves in between that don't really matter.",
    "People assume it was mapped out, but it wasn't.",
    "I've moved around more than most, I suppose.",
    "It sounds tidier than it was when I say it like that.",
)

# -- early impressions: emotion-confusion, moral-illegitimate ---------------------------------------

EARLY_CONFUSION = {
    "doctor": (
        "Moving round on rotations, I never stayed anywhere long enough to work out who was pulling which strings.",
        "Half the time I had no idea why decisions were made the way they were.",
        "I was so focused on learning the job that the arguments upstairs just went over my head.",
        "My consultants kept a lot of it away from us, so when it did surface I couldn't make sense of it.",
        "I remember sitting in a departmental meeting completely lost about what the row was actually about.",
    ),
    "nurse": (
        "On the ward you could see who had the power, but I couldn't have told you why things got decided the way they did.",
        "I knew there were tensions between the doctors and us, I just didn't understand where they came from.",
        "Decisions seemed to land on the ward from nowhere, and nobody explained them.",
        "I'd be told we were changing something on Monday and I had no idea who'd decided or why.",
    ),
    "manager": (
        "On the graduate scheme I was baffled most of the time by how anything actually got agreed.",
        "I thought there was a rulebook and people followed it, so the reality really threw me.",
        "I'd sit in meetings and the real conversation seemed to be happening somewhere else.",
        "I genuinely couldn't work out why a perfectly sensible plan would just stall.",
    ),
}
EARLY_ILLEGITIMATE = (
    "Politics felt like something grubby that good people kept out of.",
    "I saw it as game-playing, frankly, and I didn't want any part of it.",
    "To me it looked like people protecting their own patch rather than doing the right thing.",
    "I kept my head down because getting a reputation for stirring things seemed dangerous.",
    "It felt like personalities clashing, and I thought it got in the way of the real work.",
    "The people who played politics were the ones I didn't trust, to be blunt.",
    "I assumed anyone caught up in that stuff had lost sight of what we were there for.",
)
EARLY_NEUTRAL = {
    "doctor": (
        "You just wanted to get on with your seniors and get your competencies signed off.",
        "The team changed every few months, so you never really belonged anywhere.",
    ),
    "nurse": (
        "Everyone on a ward knows where they sit in the pecking order, that's drummed into you.",
        "If I talk to students now I call it culture rather than politics, because that's what it felt like.",
    ),
    "manager": (
        "It was all new, the jargon, the committees, the acronyms.",
        "I had a good mentor, but even she couldn't explain some of it.",
    ),
}

# -- story openings and context ---------------------------------------------------------------

STORY_INTRO = (
    "This was {year}, at {setting}, and we were in the middle of {initiative}.",
    "So in {year} {setting} started on {initiative}, and I was in the middle of it.",
    "The one I always think of is {initiative}, at {setting}, round about {year}.",
    "The big one for me was {initiative}, at {setting}, I think it was {year}.",
    "Back in {year} I got involved in {initiative}, when I was at {setting}.",
    "It would have been {year}, and the big thing at {setting} was {initiative}.",
)
STORY_CONTEXT = (
    "On paper it was a sensible idea and nobody really argued with the aims.",
    "The money was tight that year, which didn't help anyone's mood.",
    "It had been tried before and had fallen over, so there was a lot of history.",
    "There'd been a lot of change already, and people were tired of it.",
    "It came with a deadline that somebody else had set.",
    "Everyone agreed something had to change, they just disagreed about what.",
    "The plan had been written by people who'd never worked on the floor.",
    "It had the backing of the top of the organisation, at least on paper.",
)
ACTOR_LINES = (
    "{actor} were dead against it from the first meeting.",
    "{actor} saw it as a threat to how they'd always worked.",
    "You had {actor} on one side and {actor2} on the other.",
    "{actor} wanted it done yesterday, and nobody else did.",
    "I spent a lot of time with {actor}, trying to find some common ground.",
    "{actor} were polite to your face and then did their own thing.",
    "It really depended on getting {actor} on board.",
    "{actor} kept asking who had actually signed this off.",
)

# -- awakening: stage-awakening, emotion-shock, triggers, commitments -----------------------------

AWAKENING_TRIGGER = {
    "specialist-training": (
        "It was when I got my training number and stayed in one department long enough to see how things worked.",
        "As a registrar you suddenly sit in the meetings, and that's when I saw it.",
        "Once I was in specialist training I could see which consultants ran the place.",
    ),
    "permanent-post": (
        "It really hit me when I took up my consultant post and had a stake in the department.",
        "Once I had a permanent job, the arguments were suddenly about my patients and my sessions.",
        "When I became a partner in the practice, I couldn't stand back from it any more.",
        "Getting a substantive post changed everything, because now it was my department too.",
    ),
    "promotion-into-leadership": (
        "It came when I got my first senior post and was running the unit on nights.",
        "When I was promoted and had a team of my own, the politics was suddenly my problem.",
        "Once I was in charge of the ward, I was in the room when things got decided.",
        "Stepping up to lead the team opened my eyes, because I had to argue for things.",
    ),
    "appraisal": (
        "My manager said in an appraisal that I was brilliant at the detail but didn't read the organisation, and I didn't know what she meant.",
        "It was actually an appraisal that did it, being told I needed to understand the bigger picture.",
    ),
    "first-management-post": (
        "My first management job was the real education, I'd say.",
        "As soon as I had a budget and a service of my own, I saw it.",
        "The first post where I was actually accountable for something, that was it.",
    ),
    "entering-senior-management": (
        "When I moved up into the directorate team, I could see all the directorates pulling against each other.",
        "Joining the senior management team was when the lines of conflict became obvious.",
        "Once I was sitting at the executive table, it was all suddenly visible.",
    ),
    "senior-colleagues": (
        "A couple of the senior consultants took me under their wing and explained who was who.",
        "My seniors made it very clear which side of the argument we were on.",
        "I watched how the senior people handled management, and I learnt from them.",
    ),
}
AWAKENING_GENERAL = (
    "I realised the disagreements weren't random, there were sides and they'd been there for years.",
    "All of a sudden I could see the lines of power that had been there all along.",
    "I understood that I was already part of it, just by being who I was.",
    "It dawned on me that decisions weren't made in the meetings at all.",
    "For the first time I saw whose interests were actually being protected.",
)
AWAKENING_SHOCK = (
    "It was a real jolt, honestly.",
    "I was genuinely shocked by how nakedly people fought their corner.",
    "I remember going home and thinking, is this really how it works?",
    "It took the wind out of me, seeing how far from the ideal it was.",
    "That came as quite a shock, because I'd been so naive about it.",
    "They just got up and walked out, and I sat there stunned.",
)
COMMITMENT = {
    "peers": (
        "You back your colleagues, that's just what you do as a consultant body.",
        "I felt I had to stand with the other doctors, even when I had doubts.",
        "We had to keep reminding management that we know the patients best.",
    ),
    "profession": (
        "It felt like I was defending what it means to be a {occupation}.",
        "Underneath it all there's a loyalty to {work}, and I felt that strongly.",
    ),
    "patients": (
        "For me it always came back to what happens to the patient in the bed.",
        "I told myself I was doing it for patients, and mostly I believe that.",
        "If it's not better for patients, then I'm not interested, full stop.",
    ),
    "organisation": (
        "My job was to make the organisation work, whoever got upset.",
        "I felt responsible for the trust as a whole, not just one department.",
    ),
    "managing-process": (
        "What I care about is that the process works and things get delivered.",
        "For me it's about managing the work well, whatever the service is.",
        "I'm not tied to one profession, so my loyalty is really to getting the management right.",
        "Give me a messy problem and a clear process and I'm happy.",
    ),
    "career": (
        "I won't pretend my own career didn't come into it.",
        "Delivering that was also what got me noticed, if I'm honest.",
    ),
}
OWN_COMMUNITY = (
    "When it was our side doing the lobbying, it didn't feel like politics, it felt like fighting for the right thing.",
    "I started to see it as legitimate when it was about protecting {peers}.",
    "It's funny, it felt fine when we did it, and underhand when they did.",
)

# -- normalisation: stage-normalisation, skills ------------------------------------------------------

NORMALISATION = (
    "After a while you accept that people want different things and that's just the job.",
    "I stopped seeing every disagreement as a crisis.",
    "Dealing with competing agendas became part of the day job.",
    "You get used to it, the manoeuvring, and it stops bothering you so much.",
    "It became normal to me that everyone had a view on who should be in charge.",
    "I learnt that conflict isn't a sign something's gone wrong.",
)
SKILLS = {
    "negotiation": (
        "A lot of it was bargaining, you give a bit here to get a bit there.",
        "I got good at finding the thing the other side really needed.",
    ),
    "facilitation": (
        "I learnt to set meetings up properly, do the groundwork, so nobody was ambushed.",
        "Running a meeting well turned out to be half the battle.",
    ),
    "diplomacy": (
        "I've become a diplomat, really, I'm diplomatic every single day.",
        "You have to keep everyone talking to each other, and that takes tact.",
    ),
    "building-the-case": (
        "We built the case slowly, with data, until it was hard to argue with.",
        "I went out and got support from outside the hospital to strengthen our case.",
    ),
    "soft-power": (
        "I hardly ever pull rank, influence works far better.",
        "It's about relationships, and the credit you build up over years.",
    ),
    "soft-intelligence": (
        "You learn to read between the lines and pick up what isn't being said.",
        "A lot of it is soft intelligence, knowing who's unhappy before they say so.",
    ),
    "positional-authority": (
        "I thought my job title would be enough, and it really wasn't.",
        "I leant on my authority too much, and people resented it.",
    ),
}

# -- turning point: stage-turning-point, emotion-distress, loyalty ----------------------------------

TURNING_POINT = (
    "That was the point where I had to stop and rethink how I did things.",
    "It went badly wrong, and I had to face up to my part in it.",
    "I'd been naive, and a bit arrogant, thinking that doing a good job would be enough.",
    "It made me question whether I wanted to be involved in this at all.",
    "Something had to change in how I approached people, that was clear.",
    "It exposed how little I really understood about the politics.",
)
DISTRESS = (
    "I was really upset, I'd go home and not sleep.",
    "It felt like being pulled apart from every direction.",
    "There were times I sat in the car park and cried, honestly.",
    "It was genuinely distressing, the worst year of my working life.",
    "I felt completely on my own with it.",
    "It wore me down in a way I hadn't expected.",
)
LOYALTY = {
    "torn": (
        "I was caught between my own colleagues and what the organisation needed.",
        "My {peers} wanted one thing and the board wanted another, and I was in the middle.",
        "I still think of myself as a {occupation} first, and that made it harder.",
        "I was in the firing line from both sides.",
    ),
    "changing-sides": (
        "My colleagues thought I'd gone over to the dark side.",
        "People I'd trained with started treating me as one of management.",
        "I got accused of selling out, which stung.",
    ),
    "balancing": (
        "I tried to hold both views and find something everyone could live with.",
        "In the end I found a way to keep my colleagues with me and still deliver.",
        "It was a balancing act, and mostly I kept my footing.",
    ),
}

# -- strategic mastery: stage-strategic-mastery, emotion-pride, morality ----------------------------

MASTERY = (
    "These days handling resistance is simply part of leading.",
    "I see the bigger picture now, so I don't get dragged into every skirmish.",
    "Knowing how to work the politics is a big part of who I am as a leader.",
    "Experience gives you a feel for it, you just know where the pressure points are.",
    "I'm much more deliberate about it now, I plan who I need to talk to and when.",
    "You need to know how to play the board and how to play the consultants.",
)
PRIDE = (
    "I'm proud of what we pulled off, I'll say that.",
    "When it came together, that was one of the best days of my career.",
    "I look at that service now and think, we did that.",
    "It's satisfying, being good at something that used to terrify me.",
    "I was chuffed, to be honest, because people had said it couldn't be done.",
)
MORAL = {
    "values-based": (
        "I'll only do what I believe is right, and I can look anyone in the eye about it.",
        "For me there's good politics and bad politics, and the difference is your values.",
        "Even when it doesn't work out, I want to know it was done with the best intentions.",
        "If I have to play politics, it has to be in the service of decent care.",
    ),
    "neutral-instrumental": (
        "Power and politics are just tools, it's what you use them for that matters.",
        "I don't lose sleep over the methods as long as we get the result.",
        "Politics is neither good nor bad, it's simply how organisations work.",
        "If you don't engage with it, you get nowhere, so I engage with it.",
    ),
    "own-community": (
        "Somebody has to stand up for the clinical view, and I'm comfortable doing that.",
        "I see it as protecting standards for my profession.",
    ),
    "illegitimate": (
        "I still find some of what goes on pretty distasteful.",
        "There's a side of it I've never made peace with.",
    ),
}

# -- other emotions, used in stories without a stage episode ---------------------------------------

EMOTION = {
    "frustration": (
        "It was so frustrating, we'd agree something and then nothing would happen.",
        "I used to get really fed up with the same arguments every month.",
    ),
    "discomfort": (
        "I never felt entirely comfortable with how it was handled.",
        "It left a bit of a bad taste, if I'm honest.",
    ),
}

# -- study-specific codes -----------------------------------------------------------------------------

STUDY_CODES = {
    "organisational memory": (
        "People remember the last time this was tried, and they hold it against you.",
        "There's a long memory in the NHS, grudges from ten years ago still shape things.",
        "Whatever you propose, someone will tell you it failed in {year}.",
    ),
    "unrelenting change": (
        "The change never stops, one restructure rolls straight into the next.",
        "Honestly the constant change is what causes most of the trouble.",
        "We'd barely bedded one thing in before the next initiative arrived.",
    ),
    "political nous": (
        "You pick up a kind of political nous over the years.",
        "Some people have a nose for it and some never will.",
    ),
}

# -- reflective filler exchanges, used to reach the target length --------------------------------

FILLER = (
    "I think the pressure on beds colours everything, every conversation ends up being about flow.",
    "There's always a new report or a new target, and you have to work out what it really means for you.",
    "Some weeks it's a joy, and some weeks you wonder why you bother.",
    "The teams I've worked with have mostly been brilliant, whatever the politics.",
    "Patients don't care about any of this, they just want to be looked after properly.",
    "I talk to my partner about work far more than I should.",
    "Winter is always the worst, that's when tempers fray.",
    "A lot depends on who's in post at the top, and that changes every couple of years.",
    "I've seen good people leave because they couldn't face the fighting.",
    "You have to pick your battles, you can't win them all.",
    "I don't think the training prepares anyone for this side of the job.",
    "Meetings, meetings, meetings, that's half my diary.",
    "The inspection regime changes behaviour more than any strategy ever does.",
    "I keep a notebook of things I'd do differently, it's quite long.",
    "Rotas are where the real politics happens, if you ask me.",
    "The best leaders I worked for listened more than they spoke.",
    "Money is always underneath it, even when nobody says so.",
    "I'm a great believer in a cup of tea and a proper conversation.",
    "Social care is the elephant in the room for most of what we do.",
    "Some of the worst rows I've seen were about car parking, believe it or not.",
    "People outside the NHS have no idea how complicated it is.",
    "I try to leave work at the door, though I'm not always good at it.",
    "Good data helps, but it never settles an argument on its own.",
    "I've got a lot of time for the people on the front line, they hold it all together.",
    "It's a small world, you'll work with the same people again, so you don't burn bridges.",
    "Trust takes years to build and about a week to lose.",
    "There's a lot of goodwill in the system, it just gets used up.",
    "I've had some very honest conversations in corridors that never happened in meetings.",
    "Every reorganisation changes the names on the doors and not much else.",
    "Coaching helped me a lot, I wish I'd had it earlier.",
    "Being visible matters, people need to see you on the wards.",
    "You learn more from the things that go wrong, unfortunately.",
    "Email is a terrible way to have a disagreement.",
    "I've learnt to ask what problem someone is actually trying to solve.",
    "Junior staff notice far more than we give them credit for.",
    "When the regulator is in, everybody behaves beautifully.",
    "It's easier to say no to a plan than to come up with a better one.",
    "I think there's a generational thing, the younger staff are much more willing to challenge.",
    "Most of the time people are trying to do their best with what they've got.",
    "The paperwork has grown and grown since I started.",
    "Getting GPs and hospital doctors in the same room is an achievement in itself.",
    "Nobody ever thanks you for the disaster that didn't happen.",
    "A good secretary is worth their weight in gold, they know everything.",
    "We all say we're patient-centred, but we organise things around ourselves.",
    "There's a lot of talk about culture, and not much agreement about what it means.",
    "I've had mentors from outside health, and they see it very differently.",
    "The pandemic planning taught us who we could rely on.",
    "Sometimes the quiet person in the corner is the one who decides it.",
    "I've changed my mind about a lot of things over the years.",
    "It's the informal networks that really run the place.",
)
FRONT = (
    "Every time the money got tight",
    "Whenever a new chief executive arrived",
    "When the targets changed",
    "If a ward was short-staffed",
    "As soon as the regulator was due",
    "Once the winter pressures started",
    "When a consultant retired",
    "Every time there was a restructure",
    "If you went over someone's head",
    "When the data didn't look good",
    "Whenever two services had to share a budget",
    "When a complaint came in",
    "If the board got nervous",
    "When the commissioners wanted savings",
    "Once a plan had a name and a logo",
    "Whenever a national programme landed on us",
    "If a change came from the top",
    "When people felt they hadn't been asked",
    "Each time a merger was on the cards",
    "When someone senior had a pet project",
)
BACK = (
    "everybody went back to their corners",
    "the old arguments came straight back",
    "you found out who your friends were",
    "the corridor conversations got louder",
    "people dug in and waited for it to pass",
    "the quiet ones suddenly had opinions",
    "the meetings got longer and nothing got decided",
    "someone always went to the press or the MP",
    "the unions got involved pretty quickly",
    "there was a scramble to be seen to be helping",
    "the same three people ended up doing all the work",
    "trust went out of the window",
    "the rumour mill went into overdrive",
    "you had to start building relationships again from scratch",
    "the clinicians closed ranks",
    "managers got the blame, fairly or not",
    "the frontline paid the price",
    "good ideas got lost in the noise",
    "it brought out the best in some people and the worst in others",
    "everyone wanted it in writing",
)
MEMOS = (
    "Borderline with normalisation; kept as coded after discussion.",
    "Strong example of the pattern; flag for the team meeting.",
    "Second coder agreed.",
    "Participant returns to this later in the interview.",
    "Check the year against the career timeline.",
    "Emotion is implied rather than stated here.",
)
CLOSING = (
    "Only that I think people underestimate how much of this is learnt on the job.",
    "Just that I wish someone had talked to me about this twenty years ago.",
    "No, I think we've covered it. It's been good to reflect, actually.",
    "I'd just say it's not all doom and gloom, there's a lot of good in the system.",
    "Only that it's been strange saying some of this out loud.",
    "I don't think so. I'll probably think of something in the car.",
)
