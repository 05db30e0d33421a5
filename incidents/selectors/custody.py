"""Where the device is, for the workflow: its open incident, where its stage works, whether it
is there yet (an incident's page, the scan station), and where a person's reports most likely
are (the new-incident form)."""

from django.utils.translation import gettext as _

from incidents.choices import OPEN_STAGES
from incidents.models import Employee, Incident, StageOwnership
from locations.models import Device, Location


def device_open_incident(device: Device) -> Incident | None:
    return device.incidents.filter(stage__in=OPEN_STAGES).first()


def stage_work_location(incident: Incident) -> Location | None:
    """Where the incident's current stage does its work, if the stage declares it."""
    ownership = (
        StageOwnership.objects.select_related("work_location").filter(stage=incident.stage).first()
    )
    return ownership.work_location if ownership else None


def custody_warning(incident: Incident) -> str | None:
    """Why the device is not where its stage needs it, or None when all is well."""
    if not incident.is_open:
        return None
    needed = stage_work_location(incident)
    device = incident.device
    if needed is None or device.location_id == needed.pk:
        return None
    return _(
        "%(stage)s works at %(needed)s, but device %(serial)s is at %(where)s. "
        "Scan it into %(needed_code)s when it gets there."
    ) % {
        "stage": incident.get_stage_display(),
        "needed": needed,
        "needed_code": needed.code,
        "serial": device.serial_number,
        "where": device.location or _("an unknown place"),
    }


def scan_station_device_status(device: Device) -> dict[str, str]:
    """What the scan station shows of the device's workflow: its open incident, and whether the
    stage it waits for works right here."""
    incident = device_open_incident(device)
    if incident is None:
        return {"incident": "", "gate": ""}
    status = {"incident": f"#{incident.pk} · {incident.get_stage_display()}", "gate": ""}
    needed = stage_work_location(incident)
    if needed is None:
        return status
    context = {"stage": incident.get_stage_display(), "id": incident.pk, "code": needed.code}
    if device.location_id == needed.pk:
        status["gate"] = _("%(stage)s is waiting for this device here (incident #%(id)s).") % (
            context
        )
    else:
        status["gate"] = _("%(stage)s needs this device at %(code)s.") % context
    return status


def home_location(person: Employee) -> Location | None:
    """Where a device this person reports most likely is: the work location of the first stage
    (in workflow order) their department owns that declares one. People and departments have no
    location of their own, so a department owning no located stage gives none."""
    if person.department_id is None:
        return None
    located = {
        ownership.stage: ownership.work_location
        for ownership in StageOwnership.objects.select_related("work_location").filter(
            department_id=person.department_id,
            work_location__isnull=False,
            work_location__is_active=True,
        )
    }
    return next((located[stage] for stage in OPEN_STAGES if stage in located), None)
