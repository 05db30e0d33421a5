"""What a scanned code means. The labels this system prints carry a type prefix; a bare legacy
code (a serial number, an employee number, a location code) is looked up in all three kinds."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from locations.models import Device, Location
from locations.serials import alias_owner, serial_key


class CodeKind:
    DEVICE = "device"
    EMPLOYEE = "employee"
    LOCATION = "location"


# What a printed label encodes: PREFIX + the key. Scanners type exactly this.
PREFIXES = {CodeKind.DEVICE: "DEV:", CodeKind.EMPLOYEE: "EMP:", CodeKind.LOCATION: "LOC:"}
KIND_LABELS = {
    CodeKind.DEVICE: gettext_lazy("device"),
    CodeKind.EMPLOYEE: gettext_lazy("person"),
    CodeKind.LOCATION: gettext_lazy("location"),
}


class ScanError(Exception):
    """A code that cannot be used; the message says why in words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Printed command codes (the scan station's command sheet): a clerk holding a scanner commits,
# undoes or starts over without reaching for the keyboard.
COMMAND_PREFIX = "CMD:"


class Command:
    MOVE = "MOVE"
    UNDO = "UNDO"
    CLEAR = "CLEAR"


COMMAND_LABELS = {
    Command.MOVE: gettext_lazy("Move now"),
    Command.UNDO: gettext_lazy("Undo last move"),
    Command.CLEAR: gettext_lazy("Start over"),
}


def command_payload(command: str) -> str:
    """Exactly what the QR code of a printed command encodes."""
    return COMMAND_PREFIX + command


def command_of(code: str) -> str | None:
    """The command a scanned code stands for (any case, as scanners may change it), or None
    for a code that is not a command code; an unknown command is a ScanError."""
    code = (code or "").strip()
    if code[: len(COMMAND_PREFIX)].upper() != COMMAND_PREFIX:
        return None
    command = code[len(COMMAND_PREFIX) :].strip().upper()
    if command not in COMMAND_LABELS:
        raise ScanError(_("%(code)s is not a command this station knows.") % {"code": code})
    return command


@dataclass(frozen=True)
class Scanned:
    kind: str
    obj: Model

    @property
    def key(self) -> str:
        return label_key(self.obj)


def label_key(obj: Model) -> str:
    if isinstance(obj, Device):
        return obj.serial_number
    if isinstance(obj, get_user_model()):
        return obj.employee_number
    return obj.code


def label_payload(obj: Model) -> str:
    """Exactly what a label's QR code encodes for `obj`."""
    kind = (
        CodeKind.DEVICE
        if isinstance(obj, Device)
        else CodeKind.EMPLOYEE
        if isinstance(obj, get_user_model())
        else CodeKind.LOCATION
    )
    return PREFIXES[kind] + label_key(obj)


def lookup_fields() -> dict[str, tuple[type[Model], str]]:
    """Which model and key field a code of each kind names; people by their badge number."""
    return {
        CodeKind.DEVICE: (Device, "serial_number"),
        CodeKind.EMPLOYEE: (get_user_model(), "employee_number"),
        CodeKind.LOCATION: (Location, "code"),
    }


def _lookup(kind: str, key: str) -> Model | None:
    """The record whose key is exactly `key`; else the one record equal to it ignoring case
    (scanners and keyboards may change case), never a guess between two; else, for a device,
    the one whose serial number it was before a correction (an old label)."""
    model, field = lookup_fields()[kind]
    exact = model.objects.filter(**{field: key}).first()
    if exact is not None:
        return exact
    if model is Device:
        # Serials are compared by their stored key: one device per serial in any case.
        candidates = list(Device.objects.filter(serial_key=serial_key(key))[:2])
    else:
        candidates = list(model.objects.filter(**{f"{field}__iexact": key})[:2])
    if candidates:
        return candidates[0] if len(candidates) == 1 else None
    if model is Device:
        alias = alias_owner(key)
        return alias.device if alias is not None else None
    return None


# No key is longer than its column, so a longer code is refused before any query is made with it.
def max_key_length() -> int:
    return max(model._meta.get_field(field).max_length for model, field in lookup_fields().values())


def _check_length(key: str) -> None:
    if len(key) > max_key_length():
        raise ScanError(
            _(
                "The scanned code is %(length)d characters long; no device, person or location "
                "has a code longer than %(limit)d. Scan a label printed by this system."
            )
            % {"length": len(key), "limit": max_key_length()}
        )


def resolve(code: str) -> Scanned:
    """The device, person or location a scanned code stands for, or a ScanError."""
    code = (code or "").strip()
    if not code:
        raise ScanError(_("Nothing was scanned."))
    for kind, prefix in PREFIXES.items():
        if code[: len(prefix)].upper() == prefix:
            key = code[len(prefix) :].strip()
            _check_length(key)
            obj = _lookup(kind, key)
            if obj is None:
                raise ScanError(
                    _("No %(kind)s with code %(key)s is registered.")
                    % {"kind": KIND_LABELS[kind], "key": key}
                )
            return Scanned(kind, obj)
    _check_length(code)
    found = [Scanned(kind, obj) for kind in PREFIXES if (obj := _lookup(kind, code)) is not None]
    if not found:
        raise ScanError(_("%(code)s is not a known device, person or location.") % {"code": code})
    if len(found) > 1:
        kinds = ", ".join(str(KIND_LABELS[item.kind]) for item in found)
        raise ScanError(
            _("%(code)s matches more than one thing (%(kinds)s); scan its printed label instead.")
            % {"code": code, "kinds": kinds}
        )
    return found[0]
