"""The audit trail of configuration: every change of a role (a group) and its permissions, of
people's roles and superuser status, of departments and their supervisors and of stage ownership
is kept as an `incidents.ConfigChange` — who, when, what, before and after — whatever path made
it (a page, an import, the shell): signal receivers write it, connected once by `connect()` from
the app's `ready()`.

Who: the signed-in person of the request being answered (simple-history's
HistoryRequestMiddleware keeps the request), or the person `acting_as` names for work done
outside a request (a background import), else nobody. One request (or one `one_change` block)
makes one entry per object and kind: the two steps of replacing a many-to-many set (remove, then
add) are one change. Values are kept as names (permission codenames, role names, department and
location codes, people as "name (number)"), never as ids, so an entry reads the same once the
thing is gone; incidents.admin.audit shows them in the reader's language.
"""

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from simple_history.models import HistoricalRecords

from incidents import access
from incidents.choices import ConfigChangeAction, ConfigChangeKind
from incidents.models import ConfigChange, Department, Employee, ProjectAccess, StageOwnership
from locations.models import Location
from locations.signals import device_project_changing, device_serial_correcting

_acting: ContextVar = ContextVar("config_change_acting", default=None)
_scope: ContextVar = ContextVar("config_change_scope", default=None)


@contextmanager
def acting_as(person: Employee | None):
    """Changes made inside the block are recorded as made by `person` (work done outside a
    request on someone's behalf, e.g. a queued import)."""
    token = _acting.set(person)
    try:
        yield
    finally:
        _acting.reset(token)


@contextmanager
def one_change():
    """Everything changed inside the block is one change per object and kind (a service that
    replaces a set, then adds to it); a block inside another belongs to the outer one."""
    if _scope.get() is not None:
        yield
        return
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def _request():
    return getattr(HistoricalRecords.context, "request", None)


def current_person() -> Employee | None:
    """Who is changing the configuration now, if anyone is known."""
    person = _acting.get()
    if person is not None:
        return person
    user = getattr(_request(), "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def _entries_of_this_change() -> dict | None:
    """{(kind, object id): entry id} of the change being made now: the `one_change` block's, or
    the request's; None outside both."""
    scope = _scope.get()
    if scope is not None:
        return scope
    request = _request()
    if request is None:
        return None
    return request.__dict__.setdefault("_config_changes", {})


def _merged(entry: ConfigChange, before: dict, after: dict) -> None:
    """Fold a later change of the same object into `entry`: its first "before", the last
    "after"; an entry left changing nothing is removed."""
    entry.after = {**entry.after, **after}
    if entry.action == ConfigChangeAction.CHANGED:
        entry.before = {**before, **entry.before}
        same = [key for key in entry.after if entry.before.get(key) == entry.after[key]]
        for key in same:
            entry.before.pop(key, None)
            entry.after.pop(key)
        if not entry.after:
            entry.delete()
            return
    entry.save(update_fields=["before", "after"])


def record(
    *,
    kind: ConfigChangeKind,
    action: ConfigChangeAction,
    obj_id: int | None,
    label: str,
    before: dict,
    after: dict,
) -> None:
    """Keep one change (or fold it into the entry of the same object and kind made earlier in
    the same change)."""
    person = current_person()
    entries = _entries_of_this_change()
    key = (kind, obj_id)
    if entries is not None and key in entries and action == ConfigChangeAction.CHANGED:
        entry = ConfigChange.objects.filter(pk=entries[key]).first()
        if entry is not None and entry.action != ConfigChangeAction.DELETED:
            _merged(entry, before, after)
            return
    entry = ConfigChange.objects.create(
        by_id=person.pk if person is not None else None,
        kind=kind,
        action=action,
        object_id=obj_id,
        object_repr=label[:200],
        before=before,
        after=after,
    )
    if entries is not None:
        entries[key] = entry.pk


def _changed(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


# --- what is kept of each thing ----------------------------------------------------------------
def _department_label(department: Department) -> str:
    name = department.name or department.name_zh
    return name if name.upper() == department.code.upper() else f"{name} ({department.code})"


def _department_code(pk: int | None) -> str:
    if pk is None:
        return ""
    return Department.objects.filter(pk=pk).values_list("code", flat=True).first() or ""


def _location_code(pk: int | None) -> str:
    if pk is None:
        return ""
    return Location.objects.filter(pk=pk).values_list("code", flat=True).first() or ""


def _permission_names(permissions: Iterable[Permission]) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


def _role_permissions(group_id: int) -> list[str]:
    return _permission_names(
        Permission.objects.filter(group=group_id).select_related("content_type")
    )


def _person_roles(employee_id: int) -> list[str]:
    return sorted(Group.objects.filter(user=employee_id).values_list("name", flat=True))


def _supervisors(department_id: int) -> list[str]:
    return sorted(
        str(person) for person in Employee.objects.filter(supervised_departments=department_id)
    )


def _access_departments(access_id: int) -> list[str]:
    return sorted(
        Department.objects.filter(project_accesses=access_id).values_list("code", flat=True)
    )


def _access_people(access_id: int) -> list[str]:
    return sorted(str(person) for person in Employee.objects.filter(project_accesses=access_id))


@dataclass(frozen=True)
class Watched:
    """A model whose rows are configuration: which fields are kept, and how a row is named."""

    kind: ConfigChangeKind
    fields: tuple[str, ...]
    state: Callable[[object], dict]
    label: Callable[[object], str]
    # What else is kept of a row when it is deleted (its relations go with it, unsignalled).
    final: Callable[[object], dict] = lambda obj: {}


WATCHED: dict[type, Watched] = {
    Group: Watched(
        ConfigChangeKind.ROLE,
        ("name",),
        lambda group: {"name": group.name},
        lambda group: group.name,
        final=lambda group: {
            "permissions": _role_permissions(group.pk),
            "people": sorted(str(person) for person in Employee.objects.filter(groups=group.pk)),
        },
    ),
    Department: Watched(
        ConfigChangeKind.DEPARTMENT,
        ("code", "name", "name_zh", "description", "is_active"),
        lambda department: {
            "code": department.code,
            "name": department.name,
            "name_zh": department.name_zh,
            "description": department.description,
            "is_active": department.is_active,
        },
        _department_label,
        final=lambda department: {"supervisors": _supervisors(department.pk)},
    ),
    StageOwnership: Watched(
        ConfigChangeKind.STAGE_OWNERSHIP,
        ("stage", "department", "work_location", "target", "target_unit"),
        lambda ownership: {
            "stage": ownership.stage,
            "department": _department_code(ownership.department_id),
            "work_location": _location_code(ownership.work_location_id),
            # "2 days", "16 hours"; "" without a deadline.
            "target": f"{ownership.target} {ownership.target_unit}" if ownership.target else "",
        },
        lambda ownership: ownership.stage,
    ),
    ProjectAccess: Watched(
        ConfigChangeKind.PROJECT_ACCESS,
        ("project", "note"),
        lambda access: {"project": access.project, "note": access.note},
        lambda access: access.project,
        final=lambda access: {
            "departments": _access_departments(access.pk),
            "people": _access_people(access.pk),
        },
    ),
    # Only the superuser flag of a person is configuration; the rest of the account is not.
    Employee: Watched(
        ConfigChangeKind.SUPERUSER,
        ("is_superuser",),
        lambda employee: {"is_superuser": employee.is_superuser},
        str,
    ),
}


def _watches(watched: Watched, update_fields) -> bool:
    return update_fields is None or bool(set(update_fields) & set(watched.fields))


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    watched = WATCHED[sender]
    instance._config_before = None
    if instance.pk is None or not _watches(watched, update_fields):
        return
    stored = sender._base_manager.filter(pk=instance.pk).first()
    instance._config_before = watched.state(stored) if stored is not None else None


def _after_save(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    watched = WATCHED[sender]
    if not _watches(watched, update_fields):
        return
    after = watched.state(instance)
    before = getattr(instance, "_config_before", None)
    if created or before is None:
        if sender is Employee and not instance.is_superuser:
            return  # a new person, not a new superuser: not configuration
        action, before = ConfigChangeAction.CREATED, {}
    else:
        action = ConfigChangeAction.CHANGED
        before, after = _changed(before, after)
        if not after:
            return
    record(
        kind=watched.kind,
        action=action,
        obj_id=instance.pk,
        label=watched.label(instance),
        before=before,
        after=after,
    )


def _before_delete(sender, instance, **kwargs) -> None:
    watched = WATCHED[sender]
    instance._config_final = {**watched.state(instance), **watched.final(instance)}


def _after_delete(sender, instance, **kwargs) -> None:
    watched = WATCHED[sender]
    if sender is Employee:
        return  # a person removed is not a change of configuration
    record(
        kind=watched.kind,
        action=ConfigChangeAction.DELETED,
        obj_id=instance.pk,
        label=watched.label(instance),
        before=getattr(instance, "_config_final", watched.state(instance)),
        after={},
    )


# --- many-to-many relations --------------------------------------------------------------------
@dataclass(frozen=True)
class WatchedRelation:
    """A many-to-many relation that is configuration, kept on the side of its `owner`."""

    kind: ConfigChangeKind
    key: str
    owner: type
    names: Callable[[int], list[str]]
    label: Callable[[object], str]


RELATIONS: dict[type, WatchedRelation] = {
    Group.permissions.through: WatchedRelation(
        ConfigChangeKind.ROLE_PERMISSIONS, "permissions", Group, _role_permissions, str
    ),
    Employee.groups.through: WatchedRelation(
        ConfigChangeKind.PERSON_ROLES, "roles", Employee, _person_roles, str
    ),
    Department.supervisors.through: WatchedRelation(
        ConfigChangeKind.SUPERVISORS, "supervisors", Department, _supervisors, _department_label
    ),
    ProjectAccess.departments.through: WatchedRelation(
        ConfigChangeKind.PROJECT_ACCESS, "departments", ProjectAccess, _access_departments, str
    ),
    ProjectAccess.people.through: WatchedRelation(
        ConfigChangeKind.PROJECT_ACCESS, "people", ProjectAccess, _access_people, str
    ),
}


def _relation_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    relation = RELATIONS[sender]
    stage, _sep, what = action.partition("_")
    pending = instance.__dict__.setdefault("_config_relations", {})
    if stage == "pre":
        if not reverse:
            owners = [instance.pk]
        elif what == "clear":
            owners = list(
                sender._base_manager.filter(
                    **{_through_field(sender, type(instance)): instance.pk}
                ).values_list(_through_field(sender, relation.owner), flat=True)
            )
        else:
            owners = list(pk_set or ())
        pending[sender] = {owner: relation.names(owner) for owner in owners}
        return
    for owner_id, before in pending.pop(sender, {}).items():
        after = relation.names(owner_id)
        if after == before:
            continue
        owner = instance if not reverse else relation.owner._base_manager.get(pk=owner_id)
        record(
            kind=relation.kind,
            action=ConfigChangeAction.CHANGED,
            obj_id=owner_id,
            label=relation.label(owner),
            before={relation.key: before},
            after={relation.key: after},
        )


def _through_field(through, model) -> str:
    """The column of `through` that points at `model` (its name with _id)."""
    for field in through._meta.fields:
        if field.is_relation and field.related_model is model:
            return field.attname
    raise LookupError(f"{through} has no foreign key to {model}")


def record_roles_granted(grants: list[tuple[Employee, list[str], list[str]]]) -> None:
    """Keep the roles given in bulk (an import writes the memberships without signals):
    (person, roles before, roles after) each."""
    person = current_person()
    ConfigChange.objects.bulk_create(
        [
            ConfigChange(
                by_id=person.pk if person is not None else None,
                kind=ConfigChangeKind.PERSON_ROLES,
                action=ConfigChangeAction.CHANGED,
                object_id=employee.pk,
                object_repr=str(employee)[:200],
                before={"roles": before},
                after={"roles": after},
            )
            for employee, before, after in grants
            if before != after
        ]
    )


def record_created(objs: Iterable) -> None:
    """Keep rows of watched models created in bulk (without signals), e.g. an import's new
    departments."""
    person = current_person()
    entries = []
    for obj in objs:
        watched = WATCHED[type(obj)]
        entries.append(
            ConfigChange(
                by_id=person.pk if person is not None else None,
                kind=watched.kind,
                action=ConfigChangeAction.CREATED,
                object_id=obj.pk,
                object_repr=watched.label(obj)[:200],
                after=watched.state(obj),
            )
        )
    ConfigChange.objects.bulk_create(entries)


def _device_project_changing(sender, *, device, old, new, **kwargs) -> None:
    """A device moved into, out of or between confidential projects (an administrator's
    change: incidents.access refuses anyone else), in the change's own transaction."""
    if access.crosses_restriction(old, new):
        record(
            kind=ConfigChangeKind.DEVICE_PROJECT,
            action=ConfigChangeAction.CHANGED,
            obj_id=device.pk,
            label=device.serial_number,
            before={"project": old},
            after={"project": new},
        )


def _device_serial_correcting(sender, *, device, old, new, reason, by, **kwargs) -> None:
    """A device's serial number corrected (an administrator's change: incidents.rules refuses
    anyone else), from what to what and why, in the correction's own transaction."""
    with acting_as(by):
        record(
            kind=ConfigChangeKind.DEVICE_SERIAL,
            action=ConfigChangeAction.CHANGED,
            obj_id=device.pk,
            label=new,
            before={"serial_number": old},
            after={"serial_number": new, "reason": reason},
        )


def connect() -> None:
    device_serial_correcting.connect(
        _device_serial_correcting, weak=False, dispatch_uid="config-change-device-serial"
    )
    device_project_changing.connect(
        _device_project_changing, weak=False, dispatch_uid="config-change-device-project"
    )
    for model in WATCHED:
        uid = f"config-change-{model._meta.label_lower}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}-pre-save")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}-post-save")
        pre_delete.connect(_before_delete, sender=model, dispatch_uid=f"{uid}-pre-delete")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}-post-delete")
    for through in RELATIONS:
        m2m_changed.connect(
            _relation_changed,
            sender=through,
            dispatch_uid=f"config-change-{through._meta.label_lower}",
        )
