"""Why a device, a place or an incident changed, as its trail keeps it (`history_change_reason`).

A reason the system writes is stored as a code with parameters, never as words, so each reader
sees it in their own language: `encode(UNDO, reason=...)` gives the stored text, a JSON object
such as `{"code":"assigned","stage":"xray"}`, and `text(stored)` reads it in the active language.
A reason a person gave (at the scan station, in a move form, in a legacy workbook) is kept as
they typed it, and so is anything that is not a known code: it is shown as it was written.

The codes of this app are below; an app above it adds its own with `register` when it is ready
(the workflow's hand-over, `incidents.reasons`), so this app knows no workflow. The chat shows
the same codes with the same words (`labels()`, read by static/js/chat.js).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# The length of simple-history's `history_change_reason` column.
MAX_LENGTH = 100

LEGACY_IMPORT = "legacy_import"
SPREADSHEET_IMPORT = "spreadsheet_import"
DEACTIVATED = "deactivated"
# An undone move: {"code": "undo", "reason": <the reason of the move undone, a code or text>}.
UNDO = "undo"
# A corrected serial number: {"code": "serial_corrected", "old": <the serial before>,
# "reason": <the administrator's words, shortened to fit>}.
SERIAL_CORRECTED = "serial_corrected"


@dataclass(frozen=True)
class Wording:
    """How a code reads: its sentence, the sentence when it has no parameters (if it differs),
    and how each parameter is put in words (a parameter without one is shown as stored)."""

    template: str
    bare: str | None = None
    params: dict[str, Callable[[object], str]] = field(default_factory=dict)


_WORDINGS: dict[str, Wording] = {}


def register(code: str, template, *, bare=None, **params: Callable[[object], str]) -> None:
    """Make `code` known, with its (lazily translated) sentence, e.g.
    `register("assigned", _("Assigned for %(stage)s"), stage=lambda value: ...)`."""
    _WORDINGS[code] = Wording(template=template, bare=bare, params=params)


def known_codes() -> list[str]:
    return list(_WORDINGS)


def encode(code: str, **params) -> str:
    """The stored form of a reason the system writes."""
    if code not in _WORDINGS:
        raise ValueError(f"unknown trail reason code: {code}")
    stored = json.dumps(
        {"code": code, **{k: v for k, v in params.items() if v not in (None, "")}},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if len(stored) > MAX_LENGTH:
        raise ValueError(f"a trail reason is at most {MAX_LENGTH} characters: {stored}")
    return stored


def decode(stored: str | None) -> dict | None:
    """The code and parameters of a reason the system wrote; None for a person's words."""
    if not stored or not stored.startswith("{"):
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("code") in _WORDINGS:
        return data
    return None


def is_code(stored: str | None) -> bool:
    return decode(stored) is not None


def as_param(stored: str | None):
    """A reason as a system line of the chat carries it: its code and parameters, or the
    person's words (static/js/chat.js reads both)."""
    return decode(stored) or (stored or "")


def text(stored) -> str:
    """The reason in the active language: a code put in words, a person's words as written."""
    data = decode(stored) if isinstance(stored, str) else stored
    if not isinstance(data, dict) or data.get("code") not in _WORDINGS:
        return stored if isinstance(stored, str) else ""
    wording = _WORDINGS[data["code"]]
    params = {key: value for key, value in data.items() if key != "code"}
    if not params and wording.bare is not None:
        return str(wording.bare)
    words = {}
    for key, value in params.items():
        if key in wording.params:
            words[key] = wording.params[key](value)
        elif isinstance(value, dict):
            words[key] = text(value)
        else:
            words[key] = value
    try:
        return str(wording.template) % words
    except (KeyError, TypeError, ValueError):
        return str(wording.template)


def undo(reason: str | None) -> str:
    """The stored reason of undoing a move made for `reason` (a code or a person's words): the
    person's words are shortened to fit the column, a code that does not fit is left out."""
    inner = as_param(reason)
    while inner:
        try:
            return encode(UNDO, reason=inner)
        except ValueError:
            inner = inner[:-2] + "…" if isinstance(inner, str) and len(inner) > 2 else ""
    return encode(UNDO)


def serial_corrected(old: str, reason: str) -> str:
    """The stored reason of correcting a serial number from `old`, for `reason`: the words, and
    for the longest serial numbers the old serial too, are shortened to fit the column (the
    alias and the configuration audit keep both whole)."""
    words = " ".join((reason or "").split()) or "…"
    while True:
        try:
            return encode(SERIAL_CORRECTED, old=old, reason=words)
        except ValueError:
            if len(words) > 1:
                words = words[:-2] + "…" if len(words) > 2 else "…"
            else:
                old = old[:-2] + "…"


def labels() -> dict:
    """Every code's sentences in the active language, for the pages that put reasons in words
    themselves (the chat): {"text": {code: sentence}, "bare": {code: sentence}}."""
    return {
        "text": {code: str(wording.template) for code, wording in _WORDINGS.items()},
        "bare": {code: str(wording.bare) for code, wording in _WORDINGS.items() if wording.bare},
    }


# The reasons the scan station offers to pick, stored as codes so each reader of the trail sees
# them in their own language.
STANDARD = {
    "for_analysis": _("Sent for analysis"),
    "taken_by_fae": _("Taken by FAE"),
    "xray_check": _("X-ray inspection"),
    "back_to_line": _("Back to the line"),
    "to_storage": _("Into storage"),
    "to_scrap": _("To scrap"),
}


def standard_words() -> list[str]:
    """The standard reasons in the active language."""
    return [str(words) for words in STANDARD.values()]


def from_words(words: str) -> str:
    """What to store for a reason a person picked or typed: a standard reason's code when the
    words are one in any of the product's languages, else the words as they are."""
    words = " ".join((words or "").split())
    if not words:
        return ""
    folded = words.casefold()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for code, wording in STANDARD.items():
                if str(wording).casefold() == folded:
                    return encode(code)
    return words


register(LEGACY_IMPORT, _("Imported from the legacy workbook"))
register(SPREADSHEET_IMPORT, _("Imported from a spreadsheet"))
register(DEACTIVATED, _("Deactivated"))
register(UNDO, _("Undo: %(reason)s"), bare=_("Undo"))
register(SERIAL_CORRECTED, _("Serial number corrected from %(old)s: %(reason)s"))
for _code, _words in STANDARD.items():
    register(_code, _words)
