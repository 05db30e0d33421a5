"""Restricting a confidential project (incidents.ProjectAccess) takes it out of the sight of
everyone it does not name. Before it does, the administrator is shown whose open work it takes
away (`project_access_impact`): the assignees and the stage owners (supervisors of the
department owning the stage) of the project's open incidents who would no longer see them.
Saving it (`project_access_save`) happens only once that was confirmed: each incident whose
assignee loses sight goes back to its department's queue through the workflow (on its
timeline; the department's supervisors who still see it are told), and everyone who lost sight
of work is told after commit."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from incidents import access, rules
from incidents.choices import OPEN_STAGES, EventNote, Step, WorkflowAction
from incidents.models import Department, Employee, Incident, ProjectAccess
from incidents.services.errors import WorkflowError
from incidents.services.notifications import notify, notify_restricted
from incidents.services.workflow import incident_hand_over
from locations.models import project_key

# What a person loses sight of an incident as.
ASSIGNEE, STAGE_OWNER = "assignee", "stage_owner"


@dataclass
class Loss:
    """One person's open work in the project that a restriction takes out of their sight."""

    person: Employee
    assigned: list[Incident] = field(default_factory=list)
    owned: list[Incident] = field(default_factory=list)


@dataclass
class RestrictionImpact:
    """What saving a restriction takes away: the project's open incidents, those whose assignee
    or stage owners would no longer see them, and who."""

    project: str
    open_count: int
    incidents: list[Incident]
    losses: list[Loss]

    def __bool__(self) -> bool:
        return bool(self.losses)

    @property
    def handed_back(self) -> list[Incident]:
        """The incidents that go back to their department's queue: their assignee loses sight."""
        return sorted((incident for loss in self.losses for incident in loss.assigned), key=_by_pk)

    @property
    def fingerprint(self) -> str:
        """The same for the same impact: what a confirmation was given for."""
        parts = sorted(
            f"{incident.pk}:{loss.person.pk}:{role}"
            for loss in self.losses
            for role, incidents in ((ASSIGNEE, loss.assigned), (STAGE_OWNER, loss.owned))
            for incident in incidents
        )
        text = "|".join([project_key(self.project), *parts])
        return hashlib.sha256(text.encode()).hexdigest()[:24]


class RestrictionUnconfirmed(WorkflowError):
    """Saving the restriction would take work away that was not (or no longer is) what the
    administrator confirmed; `impact` is what it would take now."""

    def __init__(self, message: str, impact: RestrictionImpact):
        super().__init__(message)
        self.impact = impact


def _by_pk(incident: Incident) -> int:
    return incident.pk


def _ids(things: Iterable) -> set[int]:
    return {thing if isinstance(thing, int) else thing.pk for thing in things}


def project_access_impact(
    *,
    project: str,
    departments: Iterable[Department | int],
    people: Iterable[Employee | int],
    incidents: Iterable[Incident] | None = None,
) -> RestrictionImpact:
    """Who would lose sight of which open incidents of `project` if it were restricted to
    `departments` and `people` (instead of what restricts it now, if anything): their assignees
    and the supervisors of the departments owning their stages, who see them now and would not
    then. `incidents` are the project's open incidents when already read."""
    now = ProjectAccess.objects.filter(project_key=project_key(project)).first()
    before = (_ids(now.departments.all()), _ids(now.people.all())) if now else (None, None)
    after = (_ids(departments), _ids(people))
    if incidents is None:
        incidents = Incident.objects.filter(
            device__project_key=project_key(project), stage__in=OPEN_STAGES
        ).select_related("device", "assignee")
    incidents = sorted(incidents, key=_by_pk)
    owners = rules.Facts(None).owners
    supervisors: dict[int, list[Employee]] = {}
    for person in Employee.objects.filter(
        supervised_departments__in={owner.pk for owner in owners.values()}
    ).prefetch_related("supervised_departments"):
        for department in person.supervised_departments.all():
            supervisors.setdefault(department.pk, []).append(person)

    losing: dict[int, bool] = {}

    def loses_sight(person: Employee) -> bool:
        if person.pk not in losing:
            losing[person.pk] = access.would_see(person, *before) and not access.would_see(
                person, *after
            )
        return losing[person.pk]

    losses: dict[int, Loss] = {}
    touched = []
    for incident in incidents:
        hit = False
        working = incident.assignee_id and incident.step in (Step.ASSIGNED, Step.SUBMITTED)
        if working and loses_sight(incident.assignee):
            losses.setdefault(incident.assignee_id, Loss(incident.assignee)).assigned.append(
                incident
            )
            hit = True
        owner = owners.get(incident.stage)
        for person in supervisors.get(owner.pk, []) if owner else []:
            if loses_sight(person):
                losses.setdefault(person.pk, Loss(person)).owned.append(incident)
                hit = True
        if hit:
            touched.append(incident)
    return RestrictionImpact(
        project=project,
        open_count=len(incidents),
        incidents=touched,
        losses=sorted(
            losses.values(), key=lambda loss: (loss.person.get_full_name(), loss.person.pk)
        ),
    )


@transaction.atomic
def project_access_save(
    *,
    restriction: ProjectAccess,
    departments: Iterable[Department],
    people: Iterable[Employee],
    by: Employee,
    confirmed: str | None = None,
) -> RestrictionImpact:
    """Save `restriction` (new or changed: project, note) naming `departments` and `people`.

    When it takes open work away from someone (see `project_access_impact`) it is saved only if
    `confirmed` is the fingerprint of exactly that impact; else nothing changes and
    RestrictionUnconfirmed carries the impact to show. Once saved, each incident whose assignee
    lost sight goes back to its department's queue, on its timeline, and the people who lost
    sight are told. The project's open incidents stay locked meanwhile, so nobody is assigned
    one under the old restriction while it changes."""
    permission = "change" if restriction.pk else "add"
    if not by.has_perm(f"incidents.{permission}_projectaccess"):
        raise WorkflowError(_("You may not restrict projects."))
    departments, people = list(departments), list(people)
    restriction.full_clean()
    if restriction.pk:
        ProjectAccess.objects.select_for_update().filter(pk=restriction.pk).exists()
    locked = (
        Incident.objects.select_for_update(of=("self",))
        .filter(device__project_key=project_key(restriction.project), stage__in=OPEN_STAGES)
        .select_related("device", "assignee")
        .order_by("pk")
    )
    impact = project_access_impact(
        project=restriction.project,
        departments=departments,
        people=people,
        incidents=list(locked),
    )
    if impact and impact.fingerprint != confirmed:
        if confirmed is None:
            message = _(
                "Restricting %(project)s takes open incidents out of the sight of the people "
                "working them: confirm it first."
            )
        else:
            message = _(
                "Who would lose sight of %(project)s's open incidents changed since you "
                "confirmed: look again and confirm what it does now."
            )
        raise RestrictionUnconfirmed(message % {"project": restriction.project}, impact)
    restriction.save()
    restriction.departments.set(departments)
    restriction.people.set(people)
    for incident in impact.handed_back:
        incident = incident_hand_over(
            incident=incident, to=None, by=by, note=EventNote.ASSIGNEE_LOST_ACCESS
        )
        owner = rules.stage_owner(incident.stage)
        notify(
            incident=incident,
            action=WorkflowAction.UNASSIGN,
            recipients=list(owner.supervisors.all()) if owner else [],
            actor=by,
        )
    notify_restricted(
        recipients=[loss.person for loss in impact.losses], actor=by, project=restriction.project
    )
    return impact
