"""Who sees a confidential project (incidents.ProjectAccess): the one place it is decided.

A project is restricted when an administrator names the departments and people who see it;
everyone else sees nothing of it: not its devices, incidents, records, results, attachments,
trails, notifications, chat or reports, not in a list, a count, a search, a suggestion, a label
or an export. Administrators see every project. Every read of those rows made for a person goes
through `queryset.visible_to(user)` (which asks `restrict`: lists, pages, autocompletes, exports,
the dashboard…), `incident_for(user, pk)` (one incident asked for by its id) or the `may_see*`
questions (one object in hand); the rest of the product never decides itself. Each model says
how its rows reach their project (`project_path`, locations.visibility).

The answer is read once per person object (a request's `request.user`) and forgotten when any
restriction changes in this process; a person loaded by another request reads afresh.
"""

from collections.abc import Callable

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

from incidents.choices import Role
from incidents.models.access import ProjectAccess
from locations import visibility
from locations.models import project_key
from locations.signals import device_project_changing

_generation = 0


def _incidents():
    """The incident model, looked up by name: its module asks the rules, which ask this one."""
    return apps.get_model("incidents", "Incident")


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


def incident_for(user, pk, queryset: QuerySet | None = None):
    """The incident `pk` (a number from a request: `config.kit.ids.pk_or_404` first) as `user`
    may open it, fetched and checked together: Http404 when there is none or its project is
    hidden from them (a hidden incident does not exist for them), PermissionDenied when their
    roles show no incidents. `queryset` (default: every incident) may add what the page reads."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    if not sees_incidents(user):
        raise PermissionDenied
    rows = _incidents().objects.all() if queryset is None else queryset
    incident = rows.visible_to(user).filter(pk=pk).first()
    if incident is None:
        raise Http404
    return incident


def sees_incidents(user) -> bool:
    """Whether `user`'s roles show incidents at all (each one's project is asked apart)."""
    return _active(user) and user.has_perm("incidents.view_incident")


def sees_problem_groups(user) -> bool:
    """Whether `user`'s roles show problem groups."""
    return _active(user) and user.has_perm("incidents.view_problemgroup")


def may_see_subject(subject, user) -> bool:
    """Whether `user` may see `subject`, an incident or a problem group (None: gone), and so read
    and write its chat room."""
    if subject is None or not _active(user):
        return False
    if isinstance(subject, _incidents()):
        return may_view_incident(subject, user)
    return sees_problem_groups(user)


def people_seeing_subject(people: QuerySet, subject) -> QuerySet:
    """`people` (a queryset of employees) without those who may not see `subject`, an incident or
    a problem group (None: gone): `may_see_subject` asked of many people in one query."""
    if subject is None:
        return people.none()
    permission = (
        "incidents.view_incident"
        if isinstance(subject, _incidents())
        else "incidents.view_problemgroup"
    )
    allowed = people.model.objects.with_perm(permission, is_active=True)
    seeing = people.filter(is_active=True, pk__in=allowed.values("pk"))
    if isinstance(subject, _incidents()):
        return people_seeing(seeing, subject.device.project if subject.device_id else "")
    return seeing


def may_read_taken_back(message, reader) -> bool:
    """Whether `reader` reads what a deleted chat message said before (its revisions): its
    author, who took it back from the room, and administrators (the audit trail). Everyone who
    reads the room sees that it was deleted, and when."""
    return message.deleted_at is None or reader.pk == message.author_id or sees_everything(reader)


def people_seeing(people: QuerySet, project: str) -> QuerySet:
    """`people` (a queryset of employees) without those who may not see `project`."""
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


def project_path(model) -> str | None:
    """How rows of `model` reach their project (`locations.visibility`): the model's own
    `project_path`, or for a past version (django-simple-history) its record's; None for a
    model whose rows belong to no project."""
    return getattr(getattr(model, "instance_type", None) or model, "project_path", None)


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
    for name in project_path(type(obj)).split("__"):
        value = getattr(value, name, None)
        if value is None:
            return ""
    return value


def may_see(obj, user) -> bool:
    """Whether `user` may see `obj`, one row of a model whose rows belong to a project."""
    return may_see_project(project_of(obj), user)


def applies_to(model) -> bool:
    """Whether rows of `model` belong to a project."""
    return project_path(model) is not None


def restrict(queryset: QuerySet, user, path: str | None = None) -> QuerySet:
    """`queryset` without the rows of projects `user` may not see (what the querysets' own
    `visible_to(user)` asks). `path` leads from the queryset's model to a project; the models
    that declare theirs need none. A past version is hidden with its record as it is now,
    whatever project it named then; rows that outlive their incident (a superuser deleted it)
    have an unknown project, and are hidden from whoever does not see every project."""
    model = queryset.model
    condition = hidden_q(user, path or project_path(model))
    if condition is None:
        return queryset
    live = getattr(model, "instance_type", None)
    if path is None and live is not None:
        hidden_now = live._default_manager.filter(hidden_q(user, live.project_path))
        condition |= Q(id__in=hidden_now.values("pk"))
    incident = getattr(model, "outlives_incident", None)
    if path is None and incident is not None:
        # Looked up row by row (an index lookup each), not as the set of every incident.
        kept = _incidents()._base_manager.filter(pk=OuterRef(incident))
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
    old, new = project_key(old), project_key(new)
    if old == new:
        return False
    return ProjectAccess.objects.filter(project_key__in=[old, new]).exists()


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    # Every model's `visible_to(user)` asks this module.
    visibility.register(restrict)

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
