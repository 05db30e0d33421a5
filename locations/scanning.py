"""The scan station's state between scans: which device, person and location have been scanned
so far, and this session's moves. It lives in the user's session (the database), so any app
process can serve the next scan.

A move is recorded only on purpose: on the third scan (device, person and location), or, with
two scanned, when the person presses Enter or scans the printed MOVE code. Nothing is committed
by waiting: a clerk who scans a device and a location and then reaches for a badge must not find
a move already recorded without the holder they were about to scan (a countdown would do exactly
that to anyone slower than it). Before the move, the reply says what stays as it is.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from locations import reasons
from locations.codes import (
    COMMAND_LABELS,
    CodeKind,
    Command,
    ScanError,
    Scanned,
    command_of,
    resolve,
)
from locations.models import Device, Location
from locations.services import custody_check, device_move, device_move_check, device_move_undo
from locations.signals import MOVE_REASON_NEEDED

SESSION_KEY = "scan_station"
MAX_MOVES_KEPT = 20


def _model(kind: str):
    return {CodeKind.DEVICE: Device, CodeKind.LOCATION: Location}.get(kind) or get_user_model()


class ScanStation:
    """One person's scanning session. Every method returns the reply shown on the page."""

    def __init__(
        self,
        session,
        user,
        device_status: Callable[[Device], dict] | None = None,
        may_handle: Callable[[Device], bool] | None = None,
    ):
        """`device_status` adds what another part of the product knows of a device (the scan
        station's screen passes the workflow's open incident and stage gate); `may_handle` says
        whether the person may see and move a device at all (a confidential project's is only
        for those it is open to)."""
        self.session = session
        self.user = user
        self.device_status = device_status
        self.may_handle = may_handle or (lambda device: True)
        self.state = session.get(SESSION_KEY) or {"pending": {}, "moves": []}
        self._pending_objects: dict[str, object] | None = None

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.state
        self.session.modified = True
        self._pending_objects = None  # the state changed: read the scanned things again

    def _pending(self) -> dict[str, object]:
        """The scanned device, person and location, read once per state of the session."""
        if self._pending_objects is None:
            self._pending_objects = {}
            for kind, pk in self.state["pending"].items():
                obj = _model(kind).objects.filter(pk=pk).first()
                if obj is not None:
                    self._pending_objects[kind] = obj
        return self._pending_objects

    # --- the three things a person can do -------------------------------------------------------
    def scan(self, code: str, reason: str = "") -> dict:
        try:
            command = command_of(code)
        except ScanError as error:
            return self.reply("error", _message(error))
        if command == Command.MOVE:
            return self.commit(reason=reason)
        if command == Command.UNDO:
            return self.undo()
        if command == Command.CLEAR:
            return self.clear()
        try:
            scanned = resolve(code)
            self._accept(scanned)
        except (ScanError, ValidationError) as error:
            return self.reply("error", _message(error))
        pending = self._pending()
        if len(pending) == 3:
            return self.commit(reason=reason)
        if CodeKind.DEVICE in pending and len(pending) == 2:
            asked = self._ask_first(pending, reason)
            if asked is not None:
                return asked
            return self.reply("ready", self._ready_message(pending))
        return self.reply("info", _("%(what)s scanned.") % {"what": _describe(scanned.obj)})

    def commit(self, reason: str) -> dict:
        pending = self._pending()
        device = pending.get(CodeKind.DEVICE)
        if device is None or len(pending) < 2:
            return self.reply("error", _("Scan a device and where it goes or who takes it first."))
        if not self.may_handle(device):
            self.state["pending"] = {}
            self._save()
            return self.reply("error", _confidential(device))
        location = pending.get(CodeKind.LOCATION)
        holder = pending.get(CodeKind.EMPLOYEE)
        before = (device.location, device.holder)
        try:
            with transaction.atomic():
                device = device_move(
                    device=device,
                    moved_by=self.user,
                    location=location,
                    holder=holder,
                    reason=reasons.from_words(reason)[: reasons.MAX_LENGTH],
                )
                history_id = device.history.order_by("-history_date", "-history_id").first().pk
        except ValidationError as error:
            if _needs_reason(error):
                # Nothing was recorded: the scans stay, and a reason lets the move through.
                return self.reply("reason", _asking(error))
            self.state["pending"] = {}
            self._save()
            return self.reply("error", _message(error))
        move = {
            "history_id": history_id,
            "device_id": device.pk,
            "serial": device.serial_number,
            "from": _place(*before),
            "to": _place(device.location, device.holder),
            "at": date_format(localtime(), "H:i:s"),
        }
        self.state["moves"] = [move, *self.state["moves"]][:MAX_MOVES_KEPT]
        self.state["pending"] = {}
        self._save()
        message = _("Moved %(serial)s to %(to)s.") % {"serial": device.serial_number, **move}
        return self.reply("moved", message, device=device)

    def undo(self) -> dict:
        """Undo the newest move of the session; it stays in the list, marked undone."""
        if not self.state["moves"]:
            return self.reply("error", _("There is no move to undo in this session."))
        last = self.state["moves"][0]
        if last.get("undone"):
            return self.reply("error", _("The last move (%(serial)s) is undone already.") % last)
        device = Device.objects.filter(pk=last["device_id"]).first()
        try:
            if device is None:
                raise ValidationError(_("That device no longer exists."))
            device = device_move_undo(device=device, history_id=last["history_id"], by=self.user)
        except ValidationError as error:
            return self.reply("error", _message(error))
        self.state["moves"] = [{**last, "undone": True}, *self.state["moves"][1:]]
        self._save()
        return self.reply(
            "undone", _("Undone: %(serial)s is back at %(from)s.") % last, device=device
        )

    def clear(self) -> dict:
        self.state["pending"] = {}
        self._save()
        return self.reply("info", _("Cleared. Scan the next device."))

    def _ask_first(self, pending: dict[str, object], reason: str) -> dict | None:
        """With a device and one other thing scanned: the reply that says, before anything is
        recorded, that the move needs a reason or is refused (the rules of whoever listens to
        `device_moving`); None when it may go ahead."""
        try:
            device_move_check(
                device=pending[CodeKind.DEVICE],
                moved_by=self.user,
                location=pending.get(CodeKind.LOCATION),
                holder=pending.get(CodeKind.EMPLOYEE),
                reason=reasons.from_words(reason),
            )
        except ValidationError as error:
            if _needs_reason(error):
                return self.reply("reason", _asking(error))
            self.state["pending"] = {}
            self._save()
            return self.reply("error", _message(error))
        return None

    # --- rules ----------------------------------------------------------------------------------
    def _accept(self, scanned: Scanned) -> None:
        pending = self.state["pending"]
        if pending.get(scanned.kind) == scanned.obj.pk:
            raise ScanError(_("%(what)s was already scanned.") % {"what": _describe(scanned.obj)})
        if scanned.kind in pending:
            if scanned.kind == CodeKind.DEVICE:
                raise ScanError(
                    _(
                        "Finish moving the device scanned first (scan a person or a location), "
                        "or press Esc to start over."
                    )
                )
            raise ScanError(
                _("A %(kind)s was scanned already; press Esc to start over.")
                % {"kind": _("person") if scanned.kind == CodeKind.EMPLOYEE else _("location")}
            )
        if scanned.kind == CodeKind.DEVICE and not self.may_handle(scanned.obj):
            raise ScanError(_confidential(scanned.obj))
        if scanned.kind == CodeKind.LOCATION:
            custody_check(location=scanned.obj)
        elif scanned.kind == CodeKind.EMPLOYEE:
            custody_check(holder=scanned.obj)
        pending[scanned.kind] = scanned.obj.pk
        self._save()

    # --- what the page shows --------------------------------------------------------------------
    def _kept(self, pending: dict[str, object]) -> dict[str, str]:
        """With a device and one other thing scanned: what the move leaves as it is. device_move
        changes only what it is given, so an unscanned holder or location is kept."""
        device = pending.get(CodeKind.DEVICE)
        if device is None or len(pending) != 2:
            return {}
        if CodeKind.EMPLOYEE not in pending:
            holder = device.holder
            return {CodeKind.EMPLOYEE: holder.get_full_name() if holder else _("nobody")}
        return {CodeKind.LOCATION: str(device.location) if device.location else _("no location")}

    def _ready_message(self, pending: dict[str, object]) -> str:
        device = pending[CodeKind.DEVICE]
        kept = self._kept(pending)
        if CodeKind.EMPLOYEE in kept:
            if device.holder is None:
                what = _("%(serial)s goes to %(to)s; it stays held by nobody.")
            else:
                what = _("%(serial)s goes to %(to)s; %(kept)s keeps holding it.")
            to = pending[CodeKind.LOCATION]
        else:
            what = _("%(serial)s goes to %(to)s and stays at %(kept)s.")
            to = pending[CodeKind.EMPLOYEE].get_full_name()
        context = {"serial": device.serial_number, "to": to, "kept": next(iter(kept.values()))}
        return " ".join(
            [
                what % context,
                _("Press Enter or scan “%(move)s” to record it, or scan the other one too.")
                % {"move": COMMAND_LABELS[Command.MOVE]},
            ]
        )

    def reply(self, level: str, message: str, device: Device | None = None) -> dict:
        pending = self._pending()
        device = device or pending.get(CodeKind.DEVICE)
        reply = {
            "level": level,
            "message": str(message),
            # The slots are labelled already: the device's shows its serial number alone.
            "pending": {
                kind: obj.serial_number if isinstance(obj, Device) else _describe(obj)
                for kind, obj in pending.items()
            },
            "kept": self._kept(pending),
            "moves": self.state["moves"],
            "device": None,
        }
        if device is not None:
            reply["device"] = {
                "serial": device.serial_number,
                "where": _place(device.location, device.holder),
                "incident": "",
                "gate": "",
                **(self.device_status(device) if self.device_status else {}),
            }
        return reply


def _confidential(device: Device) -> str:
    return _(
        "This device belongs to a confidential project that is not open to you: someone it is "
        "open to moves it."
    )


def _needs_reason(error: ValidationError) -> bool:
    return any(part.code == MOVE_REASON_NEEDED for part in error.error_list)


def _asking(error: ValidationError) -> str:
    return " ".join(
        [_message(error), _("Type or pick a reason, then press Enter to move it, or Esc.")]
    )


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return getattr(error, "message", str(error))


def _describe(obj) -> str:
    if isinstance(obj, Device):
        return _("Device %(serial)s") % {"serial": obj.serial_number}
    return str(obj)


def _place(location: Location | None, holder) -> str:
    parts = [str(location) if location else _("no location")]
    if holder is not None:
        parts.append(_("held by %(holder)s") % {"holder": holder.get_full_name()})
    return ", ".join(parts)
