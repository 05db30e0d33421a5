"""The trail reasons the workflow writes into a device's trail (codes of locations.reasons, which
knows no workflow: they are registered when this app is ready)."""

from django.utils.translation import gettext_lazy as _

from incidents.choices import Stage
from locations import reasons

# The device handed to the person assigned a stage: {"code": "assigned", "stage": <Stage>}.
ASSIGNED = "assigned"


def _stage(value) -> str:
    return str(Stage(value).label) if value in Stage.values else str(value)


def register() -> None:
    reasons.register(ASSIGNED, _("Assigned for %(stage)s"), stage=_stage)


def assigned(stage: str) -> str:
    """The stored reason of handing the device over to the assignee of `stage`."""
    return reasons.encode(ASSIGNED, stage=stage)
