"""Who sees a confidential project (incidents.ProjectAccess): the one place it is decided.

A project is restricted when an administrator names the departments and people who see it;
everyone else sees nothing of it: not its devices, incidents, records, results, attachments,
trails, notifications, chat or reports, not in a list, a count, a search, a suggestion, a label
or an export. Administrators see every project. Every read of those rows made for a person goes
through `restrict(queryset, user)` (lists, pages, autocompletes, exports, the dashboard…) or
the `may_see*` questions (one object in hand); the rest of the product never decides itself.

The answer is read once per person object (a request's `request.user`) and forgotten when any
restriction changes in this process; a person loaded by another request reads afresh.
"""

from collections.abc import Callable

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

from locations.models import project_key

_generation = 0


def forget() -> None:
    """A restriction changed: answers kept on person objects are out of date."""
    global _generation
    _generation += 1


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_everything(user) -> bool:
    return _active(user) and user.is_admin


def hidden_projects(user) -> frozenset[str]:
    """The keys (`locations.models.project_key`) of the restricted projects `user` may not
    see."""
    kept = getattr(user, "_hidden_projects", None) if user is not None else None
    if kept is not None and kept[0] == _generation:
        return kept[1]
    hidden = hidden_projects_in(user, user.department_id if _active(user) else None)
    if _active(user):
        user._hidden_projects = (_generation, hidden)
    return hidden


def hidden_projects_in(person, department_id: int | None) -> frozenset[str]:
    """The restricted projects `person` would not see as a member of department
    `department_id` (None: of no department)."""
    hidden = _hidden_from(person, department_id)
    return frozenset() if hidden and sees_everything(person) else hidden


def _hidden_from(user, department_id: int | None) -> frozenset[str]:
    from incidents.models import ProjectAccess

    restrictions = ProjectAccess.objects.all()
    if _active(user):
        allowed = Q(people=user.pk)
        if department_id is not None:
            allowed |= Q(departments=department_id)
        restrictions = restrictions.exclude(
            pk__in=ProjectAccess.objects.filter(allowed).values("pk")
        )
    return frozenset(restrictions.values_list("project_key", flat=True))


def would_see(person, departments: set[int] | None, people: set[int] | None) -> bool:
    """Whether `person` sees a project restricted to the departments and people (ids) named;
    with None for both, a project without a restriction. The rule `_hidden_from` applies, asked
    of a restriction that is not saved (yet): what saving one would change."""
    if departments is None and people is None:
        return True
    if not _active(person):
        return False
    return (
        person.pk in (people or ())
        or person.department_id in (departments or ())
        or sees_everything(person)
    )


def sees_project(user) -> Callable[[str], bool]:
    """Whether `user` may see a project, as a test to apply to many (what is hidden from them
    read once)."""
    hidden = hidden_projects(user)
    return lambda project: project_key(project) not in hidden


def may_see_project(project: str, user) -> bool:
    return sees_project(user)(project)


def may_see_device(device, user) -> bool:
    return device is None or may_see_project(device.project, user)


def may_see_incident(incident, user) -> bool:
    """Whether `user` may see the project of `incident` (its device is read only when some
    project is hidden from them)."""
    return not hidden_projects(user) or may_see_device(incident.device, user)


def sees_project_in(person, department_id: int | None) -> Callable[[str], bool]:
    """`sees_project` for `person` as a member of department `department_id` (None: of no
    department): what moving them there would leave them seeing."""
    hidden = hidden_projects_in(person, department_id)
    return lambda project: project_key(project) not in hidden


def may_view_incident(incident, user) -> bool:
    """Whether `user` may open `incident`: their roles show incidents and its project is open
    to them."""
    return (
        _active(user)
        and user.has_perm("incidents.view_incident")
        and may_see_incident(incident, user)
    )


def sees_incidents(user) -> bool:
    """Whether `user`'s roles show incidents at all (each one's project is asked apart)."""
    return _active(user) and user.has_perm("incidents.view_incident")


def sees_problem_groups(user) -> bool:
    """Whether `user`'s roles show problem groups."""
    return _active(user) and user.has_perm("incidents.view_problemgroup")


def may_see_subject(subject, user) -> bool:
    """Whether `user` may see `subject`, an incident or a problem group (None: gone), and so read
    and write its chat room."""
    from incidents.models import Incident

    if subject is None or not _active(user):
        return False
    if isinstance(subject, Incident):
        return may_view_incident(subject, user)
    return sees_problem_groups(user)


def may_read_taken_back(message, reader) -> bool:
    """Whether `reader` reads what a deleted chat message said before (its revisions): its
    author, who took it back from the room, and administrators (the audit trail). Everyone who
    reads the room sees that it was deleted, and when."""
    return message.deleted_at is None or reader.pk == message.author_id or sees_everything(reader)


def people_seeing(people: QuerySet, project: str) -> QuerySet:
    """`people` (a queryset of employees) without those who may not see `project`."""
    from incidents.choices import Role
    from incidents.models import ProjectAccess

    if not project:
        return people
    restriction = ProjectAccess.objects.filter(project_key=project_key(project)).first()
    if restriction is None:
        return people
    return people.filter(
        Q(is_superuser=True)
        | Q(groups__name=Role.ADMIN)
        | Q(project_accesses=restriction)
        | Q(department__project_accesses=restriction)
    ).distinct()


# How each model reaches the project of the device it is about.
_PATHS = {
    "locations.device": "project",
    "locations.historicaldevice": "project",
    "incidents.incident": "device__project",
    "incidents.historicalincident": "device__project",
    "incidents.incidentevent": "incident__device__project",
    "incidents.operationrecord": "incident__device__project",
    "incidents.analysisresult": "incident__device__project",
    "incidents.attachment": "record__incident__device__project",
    "incidents.notification": "incident__device__project",
    "messaging.room": "incident__device__project",
    "messaging.message": "room__incident__device__project",
    "messaging.messageattachment": "message__room__incident__device__project",
    "messaging.evidence": "incident__device__project",
}


def hidden_q(user, path: str) -> Q | None:
    """A condition matching the rows (reached by `path`, ending at a project) `user` may not
    see; None when they may see every project. The projects' keys are compared, never their
    names (`locations.models.project_key`)."""
    hidden = hidden_projects(user)
    if not hidden:
        return None
    return Q(**{f"{path}_key__in": sorted(hidden)})


def project_of(obj) -> str:
    """The project `obj` (of a model rows of which belong to a project) belongs to."""
    value = obj
    for name in _PATHS[obj._meta.label_lower].split("__"):
        value = getattr(value, name, None)
        if value is None:
            return ""
    return value


def may_see(obj, user) -> bool:
    """Whether `user` may see `obj`, one row of a model whose rows belong to a project."""
    return may_see_project(project_of(obj), user)


def applies_to(model) -> bool:
    """Whether rows of `model` belong to a project."""
    return model._meta.label_lower in _PATHS


# The incident each model's rows are about, where they outlive it (a superuser deleted it; its
# timeline, records, results and chat stay): its project is then unknown, so those rows are
# hidden from whoever does not see every project.
_KEPT_AFTER_THE_INCIDENT = {
    "incidents.incidentevent": "incident_id",
    "incidents.operationrecord": "incident_id",
    "incidents.analysisresult": "incident_id",
    "incidents.attachment": "record__incident_id",
    "messaging.room": "incident_id",
    "messaging.message": "room__incident_id",
    "messaging.messageattachment": "message__room__incident_id",
    "messaging.evidence": "incident_id",
}

# A past version is hidden with the record as it is now, whatever project it named then.
_VERSIONS_OF = {
    "locations.historicaldevice": "locations.device",
    "incidents.historicalincident": "incidents.incident",
}


def restrict(queryset: QuerySet, user, path: str | None = None) -> QuerySet:
    """`queryset` without the rows of projects `user` may not see. `path` leads from the
    queryset's model to a project; the known models need none."""
    label = queryset.model._meta.label_lower
    condition = hidden_q(user, path or _PATHS[label])
    if condition is None:
        return queryset
    if path is None and label in _VERSIONS_OF:
        live = apps.get_model(_VERSIONS_OF[label])
        hidden_now = live._default_manager.filter(hidden_q(user, _PATHS[_VERSIONS_OF[label]]))
        condition |= Q(id__in=hidden_now.values("pk"))
    if path is None and label in _KEPT_AFTER_THE_INCIDENT:
        incident = _KEPT_AFTER_THE_INCIDENT[label]
        # Looked up row by row (an index lookup each), not as the set of every incident.
        kept = apps.get_model("incidents.Incident")._base_manager.filter(pk=OuterRef(incident))
        condition |= Q(**{f"{incident}__isnull": False}) & ~Q(Exists(kept))
    return queryset.exclude(condition)


def project_change_refusal(device, new: str, by) -> str | None:
    """Why `by` may not give `device` the project `new`, in words; None when they may. Moving
    a device into, out of or between confidential projects hides or shows its incidents to
    other people, so it is an administrator's change (incidents.audit keeps it)."""
    from django.utils.translation import gettext as _

    old = device.project or ""
    if by is None or sees_everything(by) or not crosses_restriction(old, new):
        return None
    return _(
        "Device %(serial)s would move from project “%(old)s” to “%(new)s”, across a project "
        "restriction: that changes who sees its incidents, so only an administrator can do it."
    ) % {"serial": device.serial_number, "old": old or "—", "new": new or "—"}


def _guard_project_change(sender, *, device, old, new, by, **kwargs) -> None:
    from django.core.exceptions import ValidationError

    reason = project_change_refusal(device, new, by)
    if reason:
        raise ValidationError(reason)


def crosses_restriction(old: str, new: str) -> bool:
    """Whether a device going from project `old` to `new` changes project at all and either of
    the two is restricted."""
    from incidents.models import ProjectAccess

    old, new = project_key(old), project_key(new)
    if old == new:
        return False
    return ProjectAccess.objects.filter(project_key__in=[old, new]).exists()


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from incidents.models import ProjectAccess
    from locations.signals import device_project_changing

    device_project_changing.connect(
        _guard_project_change, weak=False, dispatch_uid="access-device-project"
    )

    def changed(**kwargs):
        forget()

    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(changed, sender=ProjectAccess, weak=False, dispatch_uid=f"access-{name}")
    for through in (ProjectAccess.departments.through, ProjectAccess.people.through):
        m2m_changed.connect(
            changed, sender=through, weak=False, dispatch_uid=f"access-{through.__name__}"
        )
