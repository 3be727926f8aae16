"""The patient information sheet, the screening questions, the comprehension check and
the consent statements (version :data:`SHEET_VERSION`).

Written in plain language from ../shared/CLINICAL.md. Every string goes through
gettext; the clinic's own details are filled in when the sheet is rendered.

The *canonical text* is the sheet exactly as a patient saw it, as plain text in a tiny
line format (``## `` heading, ``> `` summary, ``- `` bullet, blank line between
blocks). It is stored with each consent and hashed with SHA-256, and the review screen
and the PDF copy are rendered from it, so what is stored is what was shown.

Bump :data:`SHEET_VERSION` for any change of substance: patients who consented to an
older version are asked to read and consent again.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

SHEET_VERSION = 1


@dataclass(frozen=True)
class Section:
    """One screen of the sheet: a title, a one-line summary and the full text."""

    key: str
    title: str
    summary: str
    blocks: list[str | list[str]] = field(default_factory=list)  # paragraph or bullet list


def _clinic_facts(clinic: dict[str, Any]) -> dict[str, Any]:
    drugs = clinic.get("drugs") or []
    return {
        "clinic": clinic["name"],
        "phone": clinic.get("phone") or "",
        "drugs": format_list(drugs, locale=get_locale()) if drugs else "",
        "days": int(clinic.get("session_interval_days") or 7),
    }


def _interval(days: int) -> str:
    if days == 7:
        return _("once a week")
    # Translators: how often sessions take place, e.g. "every 10 days"
    return ngettext("every %(num)d day", "every %(num)d days", days)


def sections(clinic: dict[str, Any]) -> list[Section]:
    """The sheet in the current locale, with the clinic's details filled in."""
    f = _clinic_facts(clinic)
    interval = _interval(f["days"])
    drugs_line = (
        _("At %(clinic)s we use these medicines: %(drugs)s.", clinic=f["clinic"], drugs=f["drugs"])
        if f["drugs"]
        else _("Your doctor will tell you which medicine they will use, and why.")
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
                    "The medicine stays in the skin for a while. From there it spreads "
                    "slowly to the tissue below. So it can work on the pain for longer, "
                    "and only where it is needed."
                ),
                _(
                    "It is used for pain in one place. For example, pain in the neck, the "
                    "low back, a shoulder, a knee or a tendon."
                ),
                drugs_line,
                _(
                    "Experts advise one medicine in each syringe, not a mix. Then, if you "
                    "react to a medicine, we know which one it was."
                ),
            ],
        ),
        Section(
            "session",
            _("How a session goes"),
            _("You get a row of tiny pricks in the skin. Then you can go home."),
            [
                _(
                    "The doctor cleans your skin. Then they give a row of tiny injections "
                    "with a very thin, short needle. It is about 4 mm long."
                ),
                _("Each prick puts in just a drop of medicine."),
                _("Some clinics use an ultrasound scan to guide the needle."),
                _("You stay awake. You can go home right after the session."),
                _(
                    "Sessions are usually %(interval)s. We go on until your pain is half of "
                    "what it was at the start, or until we see that it does not help. Most "
                    "people need between 1 and 9 sessions.",
                    interval=interval,
                ),
            ],
        ),
        Section(
            "benefits",
            _("What are the possible benefits?"),
            _("It may ease your pain, with less medicine than pills or a usual injection."),
            [
                _(
                    "The goal is to cut your pain by half. In one study of people with neck "
                    "pain, this took 3 or 4 weekly sessions on average."
                ),
                _(
                    "You get less medicine in total than with pills or a usual injection. "
                    "In one study, half the dose worked about as well."
                ),
                _(
                    "Less medicine reaches the rest of your body. So side effects in the "
                    "body, and clashes with your other medicines, are less likely."
                ),
                _(
                    "This can help if you cannot take painkillers for long. For example, if "
                    "you take many medicines, or if you have heart, kidney, stomach or lung "
                    "problems, high blood pressure or diabetes."
                ),
                _("You can have it together with other care, such as physiotherapy."),
            ],
        ),
        Section(
            "risks",
            _("What are the side effects and risks?"),
            _("Most side effects are mild and go away. The treatment may not work for you."),
            [
                _("These are common where the needle went in. They are mild and do not last:"),
                [
                    _("pain"),
                    _("a bruise"),
                    _("itching"),
                    _("small raised bumps"),
                    _("redness"),
                    _("swelling"),
                    _("changes in the skin"),
                ],
                _(
                    "An allergic reaction to the medicine is rare but can be serious. Get "
                    "help at once if you get hives, a swollen face or lips, or trouble "
                    "breathing."
                ),
                _(
                    "The skin can get infected if the skin and tools are not clean. We use "
                    "sterile tools. Only a doctor should give this treatment."
                ),
                _("It may not work for you. The number of sessions people need is very different."),
                _(
                    "The proof that it works is still limited. Most studies are small. More "
                    "research is needed."
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
                    _("you take a medicine that thins the blood"),
                    _("you have a wound, a rash or an infection on the skin we would treat"),
                    _("you are pregnant, or could be"),
                ],
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
                    "If you do, the diary stops. What you wrote before stays in your "
                    "record. It is not deleted."
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
                _("Call us if a side effect worries you."),
                _(
                    "If you have trouble breathing, or your face or lips swell, call your "
                    "local emergency number now."
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
    "blood_thinners": _l("Do you take a medicine that thins the blood?"),
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
            _("Mild effects where the needle went in are common. They go away by themselves."),
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


def agreement_texts(clinic: dict[str, Any]) -> dict[str, str]:
    """The statements a patient ticks, in the current locale."""
    return {
        "treatment": _(
            "I have read the information. I agree to have mesotherapy at %(clinic)s.",
            clinic=clinic["name"],
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
