"""The patient information sheet, the screening questions, the comprehension check and
the consent statements (version :data:`SHEET_VERSION`).

Written in plain language from ../shared/CLINICAL.md. Every string goes through
gettext; the clinic's own details are filled in when the sheet is rendered.

The *canonical text* is the sheet exactly as a patient saw it, as plain text in a tiny
line format (``## `` heading, ``> `` summary, ``- `` bullet, blank line between
blocks). It is stored with each consent and hashed with SHA-256, and the review screen
and the PDF copy are rendered from it, so what is stored is what was shown.

Each published version is in :data:`REVISIONS`, marked ``material`` (what a patient
agrees to changed: a new consent is needed) or ``minor`` (wording, typos: consents to the
version before stay valid). A patient asked to consent again first sees what changed
since the version they agreed to (:func:`changes`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from babel.lists import format_list
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

SHEET_VERSION = 2

#: every published version: "material" needs a new consent, "minor" does not
REVISIONS: dict[int, Literal["material", "minor"]] = {
    1: "material",  # the first sheet
    2: "material",  # risks and evidence stated fully, benefits hedged (issue 15)
}


def needs_new_consent(signed: int, current: int | None = None) -> bool:
    """True when a material revision was published after the version ``signed`` (up to
    ``current``, by default the sheet in use)."""
    current = SHEET_VERSION if current is None else current
    return any(REVISIONS.get(v) == "material" for v in range(signed + 1, current + 1))


@dataclass(frozen=True)
class Section:
    """One screen of the sheet: a title, a one-line summary and the full text."""

    key: str
    title: str
    summary: str
    blocks: list[str | list[str]] = field(default_factory=list)  # paragraph or bullet list


#: common drugs by their English name (lower case): the sheet names them in the page's
#: language; a drug not listed is shown as the clinic typed it
DRUG_NAMES = {
    "lidocaine": _l("lidocaine"),
    "mepivacaine": _l("mepivacaine"),
    "procaine": _l("procaine"),
    "ketorolac": _l("ketorolac"),
    "diclofenac": _l("diclofenac"),
    "piroxicam": _l("piroxicam"),
    "thiocolchicoside": _l("thiocolchicoside"),
    "dexamethasone": _l("dexamethasone"),
    "ozone": _l("ozone"),
}


def drug_name(typed: str, own: dict[str, dict[str, str]] | None = None) -> str:
    """A drug as the page names it: the clinic's own name for it in the page's language
    (``own``: drug as typed -> {locale: name}), else a known name (its first word, any case)
    translated with the rest (a strength such as "1%") kept, else the drug as typed."""
    mine = (own or {}).get(typed, {}).get(str(get_locale()))
    return mine.strip() if mine else (_standard_name(typed) or typed.strip())


def _standard_name(typed: str) -> str:
    first, _sep, rest = typed.strip().partition(" ")
    known = DRUG_NAMES.get(first.lower())
    return f"{known} {rest}".strip() if known else ""


def standard_drug_name(typed: str, locale: str) -> str:
    """The standard name of a known drug in ``locale`` ("" for a drug the list lacks): the
    default the clinic's own names replace."""
    with force_locale(locale):
        return _standard_name(typed)


def one_line(value: object) -> str:
    """A clinic's value as data in the canonical text: every run of white space (line
    breaks included) becomes one space, so a value can never start a line of its own and
    be read back as a heading, a summary or a ticked statement."""
    return " ".join(str(value or "").split())


def ltr(value: str) -> str:
    """A left-to-right run (phone number, needle size) isolated with Unicode's LRI ... PDI,
    so it reads as typed inside right-to-left text: on screen and in the PDF, which both
    render the canonical text."""
    value = one_line(value)
    return f"\u2066{value}\u2069" if value else ""


def isolated(value: str) -> str:
    """A name of any script (the clinic's, a drug's) isolated with FSI ... PDI: it keeps its
    own direction, and the line around it keeps its own."""
    value = one_line(value)
    return f"\u2068{value}\u2069" if value else ""


def _clinic_facts(clinic: dict[str, Any]) -> dict[str, Any]:
    own = {one_line(k): v for k, v in (clinic.get("drug_names") or {}).items()}
    drugs = [isolated(drug_name(one_line(d), own)) for d in clinic.get("drugs") or []]
    return {
        "clinic": isolated(clinic["name"]),
        "phone": ltr(clinic.get("phone") or ""),
        "drugs": format_list(drugs, locale=get_locale()) if drugs else "",
        "needle": ltr(clinic.get("needle") or ""),
        "days": int(clinic.get("session_interval_days") or 7),
    }


def _interval(days: int) -> str:
    if days == 7:
        return _("once a week")
    # Translators: how often sessions take place, e.g. "every 10 days"
    return ngettext("every %(num)d day", "every %(num)d days", days)


def sections(clinic: dict[str, Any]) -> list[Section]:
    """The sheet (version 2) in the current locale, with the clinic's details filled in."""
    f = _clinic_facts(clinic)
    interval = _interval(f["days"])
    drugs_line = (
        _("At %(clinic)s we use these medicines: %(drugs)s.", clinic=f["clinic"], drugs=f["drugs"])
        if f["drugs"]
        else _("Your doctor will tell you which medicine they will use, and why.")
    )
    needle_line = (
        _(
            "The doctor cleans your skin. Then they give a row of tiny injections with a "
            "very thin, short needle (%(needle)s).",
            needle=f["needle"],
        )
        if f["needle"]
        else _(
            "The doctor cleans your skin. Then they give a row of tiny injections with a "
            "very thin, short needle."
        )
    )
    call_line = (
        _("Call %(clinic)s on %(phone)s.", clinic=f["clinic"], phone=f["phone"])
        if f["phone"]
        else _("Call %(clinic)s.", clinic=f["clinic"])
    )
    return [
        Section(
            "what",
            _("What is mesotherapy?"),
            _("Mesotherapy is a set of small injections into the skin over the painful area."),
            [
                _(
                    "Mesotherapy is also called local intradermal therapy. The doctor puts "
                    "a medicine into the top layer of your skin, just over the place that hurts."
                ),
                _(
                    "The medicine is thought to stay in the skin for a while and spread "
                    "slowly to the tissue below. So it may work on the pain for longer, "
                    "where it is needed."
                ),
                _(
                    "It is used for pain in one place. For example, pain in the neck, the "
                    "low back, a shoulder, a knee or a tendon."
                ),
                drugs_line,
                _(
                    "Your doctor will tell you which medicine is in each injection. Ask if "
                    "you want to know more."
                ),
            ],
        ),
        Section(
            "session",
            _("How a session goes"),
            _("You get a row of tiny pricks in the skin. Then you can go home."),
            [
                needle_line,
                _("Each prick puts in a very small amount of medicine: about 0.2 ml, a few drops."),
                _("Some clinics use an ultrasound scan to guide the needle."),
                _("You stay awake. You can go home right after the session."),
                _(
                    "Sessions are usually %(interval)s. We go on until your pain is half of "
                    "what it was at the start, or until we see that it does not help. In "
                    "one small study of neck pain, people needed between 1 and 9 sessions.",
                    interval=interval,
                ),
            ],
        ),
        Section(
            "benefits",
            _("What are the possible benefits?"),
            _("It may ease your pain, perhaps with less medicine than pills or a usual injection."),
            [
                _(
                    "The aim is to cut your pain by half. In one small study of neck pain, "
                    "this took 3 or 4 weekly sessions on average. It may take more or fewer "
                    "for you, or it may not work."
                ),
                _(
                    "In total, you may get less medicine than with pills or a usual "
                    "injection. In one small study, half the dose worked about as well."
                ),
                _(
                    "Less medicine is thought to reach the rest of your body. So side "
                    "effects in the body, and clashes with your other medicines, may be "
                    "less likely. This is not yet proven."
                ),
                _(
                    "This may help if you cannot take painkillers for long. For example, if "
                    "you take many medicines, or if you have heart, kidney, stomach or lung "
                    "problems, high blood pressure or diabetes."
                ),
                _("You can have it together with other care, such as physiotherapy."),
            ],
        ),
        Section(
            "risks",
            _("What are the side effects and risks?"),
            _(
                "Side effects where the needle went in are common. An allergic reaction can "
                "happen. The treatment may not work for you."
            ),
            [
                _(
                    "These are common where the needle went in. They are usually mild and "
                    "pass, but tell us if they do not:"
                ),
                [
                    _("pain"),
                    _("a bruise"),
                    _("a haematoma: blood that collects under the skin, as a swelling"),
                    _("itching"),
                    _("small raised bumps"),
                    _("redness"),
                    _("swelling"),
                    _("changes in the skin"),
                ],
                _(
                    "An allergic reaction to the medicine is one of the more common side "
                    "effects. It can be serious."
                ),
                _(
                    "If you have trouble breathing, your throat feels tight, or your face, "
                    "lips or tongue swell, call your local emergency number now. For hives "
                    "or a rash, call your clinic today."
                ),
                _(
                    "The skin can get infected if the skin and tools are not clean. We use "
                    "sterile tools. Only a doctor should give this treatment: harm has come "
                    "from injections given by people who are not doctors."
                ),
                _("It may not work for you. The number of sessions people need is very different."),
                _(
                    "The proof that it works is still limited. The studies are small. Many "
                    "did not compare it fairly with other care, and clinics do it in "
                    "different ways. More research is needed."
                ),
                _(
                    "Part of the effect may come from the needle itself, not only from the "
                    "medicine."
                ),
                _(
                    "You will need to come to the clinic often, usually %(interval)s.",
                    interval=interval,
                ),
            ],
        ),
        Section(
            "who",
            _("Who should not have it?"),
            _("Tell us about allergies, blood thinners, skin problems or pregnancy."),
            [
                _("This treatment may not be right for you if:"),
                [
                    _(
                        "you are allergic to a medicine we would use, such as an "
                        "anti-inflammatory painkiller or a numbing medicine"
                    ),
                    _(
                        "you take a medicine that thins the blood or stops clots, such as "
                        "warfarin, or aspirin"
                    ),
                    _("you have a wound, a rash or an infection on the skin we would treat"),
                ],
                _(
                    "We also ask if you are pregnant, or could be. This is our own safety "
                    "question: the studies do not cover pregnancy."
                ),
                _(
                    "Next, you will answer a few questions about this. Your doctor will "
                    "read your answers and decide with you."
                ),
            ],
        ),
        Section(
            "alternatives",
            _("What else could I do?"),
            _("You can choose another treatment, or no treatment."),
            [
                _("Other choices are:"),
                [
                    _("painkillers or anti-inflammatory medicines, as pills or a usual injection"),
                    _("physiotherapy and exercise"),
                    _("other kinds of injections"),
                    _("no treatment"),
                ],
                _(
                    "Your doctor can talk them through with you. If you say no to "
                    "mesotherapy, the rest of your care stays the same."
                ),
            ],
        ),
        Section(
            "diary",
            _("What the diary asks"),
            _("Once a day, rate your pain from 0 to 10. It takes less than a minute."),
            [
                _(
                    "Each day, you rate your pain in the last 24 hours: the average pain "
                    "and the worst pain. 0 means no pain. 10 means the worst pain you can "
                    "imagine."
                ),
                _(
                    "You can also note any effects where the needle went in, any "
                    "painkillers you took, and a short note."
                ),
                _(
                    "Please fill it in every day until your treatment ends. If you forget "
                    "a day, you can still fill in yesterday. Older days cannot be added."
                ),
                _(
                    "No one reads the diary in real time. If you feel unwell, call the "
                    "clinic. In an emergency, call your local emergency number."
                ),
            ],
        ),
        Section(
            "data",
            _("How we use and keep your data"),
            _("Your care team uses your diary to follow your pain. Your name is not in it."),
            [
                _(
                    "Your diary uses a code, not your name. Your answers are kept on the "
                    "clinic's secure server."
                ),
                _(
                    "Your doctor uses them to follow your pain and plan your care. A "
                    "summary goes into your medical record."
                ),
                _(
                    "If you agree, your answers may also be used without your name, to "
                    "check how well the service works. This is your choice. It does not "
                    "change your care."
                ),
                _(
                    "We keep your data for as long as the law asks us to keep medical "
                    "records. You can ask for a copy at any time."
                ),
                _(
                    "You can ask us to erase what you wrote in the diary. The record of "
                    "your consent and of your treatment is kept, as the law asks."
                ),
            ],
        ),
        Section(
            "withdraw",
            _("You can change your mind"),
            _("You can stop at any time. You do not have to say why."),
            [
                _(
                    "Taking part is your choice. You can take back your consent at any "
                    "time, here in the app or by telling the clinic."
                ),
                _(
                    "If you do, the diary stops. The record of your consent, and of the "
                    "treatment you had, stays in your medical record. You can still ask us "
                    "to erase your diary."
                ),
                _("Your care will not suffer. Your doctor will talk with you about other choices."),
            ],
        ),
        Section(
            "contact",
            _("Who to contact"),
            call_line,
            [
                _("Call us with any question about the treatment or the diary."),
                _("Call us if a side effect worries you, or does not go away."),
                _(
                    "If you have trouble breathing, your throat feels tight, or your face, "
                    "lips or tongue swell, call your local emergency number now."
                ),
            ],
        ),
    ]


# --- screening questions and the comprehension check ------------------------------------

SCREENING = {
    "allergy": _l(
        "Are you allergic to any medicine? For example, to anti-inflammatory painkillers "
        "or to numbing medicines (local anaesthetics)."
    ),
    "blood_thinners": _l(
        "Do you take a medicine that thins the blood or stops clots? For example, "
        "warfarin, or aspirin."
    ),
    "skin": _l("Do you have a wound, a rash or a skin infection where you will be treated?"),
    "reaction": _l("Have you ever had a bad reaction to an injection?"),
    "pregnancy": _l("Are you pregnant, or could you be pregnant?"),
}
SCREENING_ANSWERS = {"yes": _l("Yes"), "no": _l("No"), "unsure": _l("I am not sure")}


@dataclass(frozen=True)
class QuizQuestion:
    """A comprehension question: options, the right one, and why (with its section)."""

    key: str
    text: str
    options: dict[str, str]
    correct: str
    why: str
    section: str  # key of the section that explains it


def quiz(clinic: dict[str, Any]) -> list[QuizQuestion]:
    """The comprehension check in the current locale."""
    interval = _interval(_clinic_facts(clinic)["days"])
    return [
        QuizQuestion(
            "works",
            _("Is mesotherapy sure to take your pain away?"),
            {
                "always": _("Yes, it always works"),
                "maybe": _("No, it may not work for me"),
                "pills": _("Only if I also take pills"),
            },
            "maybe",
            _("It does not work for everyone, and people need a different number of sessions."),
            "risks",
        ),
        QuizQuestion(
            "side_effects",
            _("Which side effects are common?"),
            {
                "local": _("A bruise, redness or itching where the needle went in"),
                "hair": _("Hair loss"),
                "none": _("There are no side effects"),
            },
            "local",
            _(
                "Mild effects where the needle went in are common. They usually pass; tell "
                "us if they do not."
            ),
            "risks",
        ),
        QuizQuestion(
            "sessions",
            _("How often are the sessions, usually?"),
            {
                "once": _("Only once"),
                "regular": _("Usually %(interval)s, for a few weeks", interval=interval),
                "yearly": _("Once a year"),
            },
            "regular",
            _(
                "Sessions are usually %(interval)s, until the pain is half of what it was.",
                interval=interval,
            ),
            "session",
        ),
        QuizQuestion(
            "withdraw",
            _("Can you stop taking part?"),
            {
                "never": _("No, not once I have started"),
                "any_time": _("Yes, at any time, without saying why"),
                "permission": _("Only if my doctor allows it"),
            },
            "any_time",
            _("You can take back your consent at any time. Your care will not suffer."),
            "withdraw",
        ),
    ]


# --- consent statements --------------------------------------------------------------

AGREEMENTS = ("treatment", "data", "evaluation")

#: what a clinician countersigns (stored as shown, in the clinician's language)
COUNTERSIGN_STATEMENT = _l("I discussed this with the patient and answered their questions.")


def agreement_texts(clinic: dict[str, Any]) -> dict[str, str]:
    """The statements a patient ticks, in the current locale."""
    return {
        "treatment": _(
            "I have read the information. I agree to have mesotherapy at %(clinic)s.",
            clinic=_clinic_facts(clinic)["clinic"],
        ),
        "data": _("I agree that my diary answers are kept and used by my care team, as described."),
        "evaluation": _(
            "I also agree that my answers may be used without my name, to check how well "
            "the service works. (You can say no to this.)"
        ),
    }


# --- canonical text ------------------------------------------------------------------


def canonical_text(clinic: dict[str, Any]) -> str:
    """The sheet and the consent statements, as shown, in the line format described above."""
    lines: list[str] = []
    for section in sections(clinic):
        lines += [f"## {section.title}", f"> {section.summary}", ""]
        for block in section.blocks:
            if isinstance(block, list):
                lines += [f"- {item}" for item in block]
            else:
                lines.append(block)
            lines.append("")
    heading = _("Consent statements")
    lines += [f"## {heading}", ""]
    lines += [f"- {text}" for text in agreement_texts(clinic).values()]
    return normalize("\n".join(lines))


def normalize(text: str) -> str:
    """NFC, ``\\n`` line ends, no trailing blanks: the form that is hashed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def text_hash(text: str) -> str:
    """SHA-256 hex digest of the normalized text."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def parse(text: str) -> list[Section]:
    """Read canonical text back into sections (for the review screen and the PDF)."""
    result: list[Section] = []
    title = summary = ""
    blocks: list[str | list[str]] = []

    def flush() -> None:
        if title:
            result.append(Section(f"s{len(result) + 1}", title, summary, list(blocks)))

    for line in text.split("\n"):
        if line.startswith("## "):
            flush()
            title, summary, blocks = line[3:], "", []
        elif line.startswith("> "):
            summary = line[2:]
        elif line.startswith("- "):
            if blocks and isinstance(blocks[-1], list):
                blocks[-1].append(line[2:])
            else:
                blocks.append([line[2:]])
        elif line:
            blocks.append(line)
    flush()
    return result


def split_statements(parsed: list[Section]) -> tuple[list[Section], list[tuple[str, str]]]:
    """Separate parsed canonical text into the sheet and the (key, text) consent statements."""
    if not parsed:
        return [], []
    *body, last = parsed
    items = last.blocks[0] if last.blocks and isinstance(last.blocks[0], list) else []
    return body, list(zip(AGREEMENTS, items, strict=False))


@dataclass(frozen=True)
class Change:
    """One changed passage between two canonical texts, under its section's title."""

    section: str
    before: list[str]
    after: list[str]


_ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))


def _lines(text: str) -> list[tuple[str, str]]:
    """(section title, line without its marker) for each non-blank line of a text."""
    out: list[tuple[str, str]] = []
    title = ""
    for line in normalize(text).split("\n"):
        if line.startswith("## "):
            title = line[3:]
        if line:
            out.append((title, line[3:] if line.startswith("## ") else line.lstrip("-> ")))
    return out


def changes(agreed: str, current: str) -> list[Change]:
    """What changed from the text a patient agreed to (``agreed``) to ``current``: each
    removed, added or reworded passage, with the section it stands in now."""
    old, new = _lines(agreed), _lines(current)
    # compared as read: the isolates around clinic values are not a change of wording
    matcher = SequenceMatcher(
        a=[t.translate(_ISOLATES) for _s, t in old],
        b=[t.translate(_ISOLATES) for _s, t in new],
        autojunk=False,
    )
    found = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        section = new[j1][0] if j1 < len(new) else (old[i1][0] if i1 < len(old) else "")
        found.append(Change(section, [t for _s, t in old[i1:i2]], [t for _s, t in new[j1:j2]]))
    return found
