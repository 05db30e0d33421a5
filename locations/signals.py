"""What the devices app tells whoever listens, without knowing who that is.

`device_moved` is sent once the move has committed (never for a move that rolled back), with
`device_id`, `history_id` (the device's trail entry the move wrote) and `backdated` (True for an
old move told late, e.g. by an import: it is history, not news). The chat listens to tell the
device's incident and its open pages; the devices app imports none of that.

`device_move_written` is sent by a move inside its transaction, once its trail entry is written,
with `device` (as it now stands), `history_id` and `backdated`: a listener that keeps something
with the move (the webhooks' outbox) writes it in the same transaction, so it commits with the
move or not at all, and costs the move no commit of its own.

`device_project_changing` is sent by `device_update` before a device's project changes, with
`device`, `old`, `new` and `by`, inside the change's transaction: a listener that may not allow
it raises ValidationError with the reason, and nothing changes. The devices app knows no
confidential projects; the rules that do listen.

`device_serial_correcting` is sent by `device_serial_correct` before a device's serial number
is corrected, with `device`, `old`, `new`, `reason` and `by`, inside the correction's
transaction, in the same way: a listener that may not allow it raises ValidationError with the
reason (who may correct serial numbers is the workflow's rule), and one that keeps an audit
writes it in the same transaction.

`device_moving` is sent by `device_move` (and `device_move_check`, which asks the same question
before a screen commits anything) with `device` (as it stands, locked during a move),
`location` and `holder` (where it goes and who takes it, None for what stays), `by`, `reason`
and `at` (None for a move made now), before anything is written: a listener that may not
allow it raises ValidationError with the reason, its `code` saying whether a reason would let
it through ("move_reason_needed") or nothing would ("move_refused").
"""

from django.db import transaction
from django.dispatch import Signal

from locations.models import Device

device_moved = Signal()
device_move_written = Signal()
device_project_changing = Signal()
device_serial_correcting = Signal()
device_moving = Signal()

# Why a move is refused (its ValidationError's `code`): a reason would let it through, or nothing
# would.
MOVE_REASON_NEEDED = "move_reason_needed"
MOVE_REFUSED = "move_refused"


def device_moved_on_commit(*, device_id: int, history_id: int | None, backdated: bool) -> None:
    """Send `device_moved` after the current transaction commits; a listener that fails is
    logged by the signal, never undoes or fails the move."""

    def send() -> None:
        device_moved.send_robust(
            sender=Device,
            device_id=device_id,
            history_id=history_id,
            backdated=backdated,
        )

    transaction.on_commit(send, robust=True)
