"""What the workflow app tells whoever listens, without knowing who that is. Each signal is sent
once the change it tells of has committed (never for one that rolled back), with `send_robust`: a
listener that fails is logged, and never undoes or fails the change. This app imports none of
its listeners.

`incident_changed` is sent once a timeline entry that moves an incident has committed (it was
opened, assigned, put back in its queue, submitted, approved, sent back or cancelled), with
    `incident_id`, `event_id` (the IncidentEvent that tells it) and `action` (WorkflowAction).
`record_added` is sent once an operation record or an analysis result has committed, with
    `incident_id`, `event_id`, `action` (record or result) and `files` (the names of the
    record's attachments, as their uploader named them).
The dashboard listens to count its figures again; the chat to tell the change in the incident's
room and refresh its open pages and the dashboards.

`access_changed` is sent once a change that may take rights or sight away has committed, with
    `people`: ids of persons whose account (active or not, superuser or not, department), roles
              or own permissions changed, or whose role's capabilities changed;
    `projects`: projects whose restriction (incidents.ProjectAccess) was made, changed or lifted,
              or to which a device was moved while it is restricted.
The chat listens to close the sockets of people who may no longer see their room. Every path is
heard (a service, an admin form, an import, the shell): the announcements come from the models'
own signals, once the change has committed.
"""

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import Signal

from incidents.choices import WorkflowAction
from incidents.models import Employee, Incident, IncidentEvent, ProjectAccess
from incidents.models.people import roles_changed
from locations.models import Device, project_key

incident_changed = Signal()
record_added = Signal()
access_changed = Signal()

# What adds to the stage (record_added) rather than moves the incident (incident_changed).
RECORD_ACTIONS = frozenset({WorkflowAction.RECORD, WorkflowAction.RESULT})


def incident_event_on_commit(event: IncidentEvent, *, files: list[str] = ()) -> None:
    """Send `record_added` or `incident_changed` for a timeline entry once the current
    transaction commits."""
    action = WorkflowAction(event.action)
    told = {"incident_id": event.incident_id, "event_id": event.pk, "action": action}
    if action in RECORD_ACTIONS:
        signal, told["files"] = record_added, list(files)
    else:
        signal = incident_changed

    def send() -> None:
        signal.send_robust(sender=Incident, **told)

    transaction.on_commit(send, robust=True)


# The fields of a person whose change may take rights or sight away.
PERSON_FIELDS = frozenset({"is_active", "is_superuser", "department", "department_id"})


def access_changed_on_commit(*, people=(), projects=()) -> None:
    """Send `access_changed` after the current transaction commits; a listener that fails is
    logged by the signal, never undoes or fails the change."""
    people, projects = sorted(set(people)), sorted({p for p in projects if p})
    if not people and not projects:
        return

    def send() -> None:
        access_changed.send_robust(sender=Employee, people=people, projects=projects)

    transaction.on_commit(send, robust=True)


def _members(groups) -> list[int]:
    return list(Employee.objects.filter(groups__in=groups).values_list("pk", flat=True))


def _person_saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        return
    if update_fields is not None and not PERSON_FIELDS & set(update_fields):
        return  # a login, a language chosen: nothing about rights
    access_changed_on_commit(people=[instance.pk])


def _person_relation_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A person's roles or own permissions (from either side of the relation)."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        access_changed_on_commit(people=[instance.pk])
    elif action == "pre_clear":  # a role or permission taken from everyone holding it
        access_changed_on_commit(people=instance.user_set.values_list("pk", flat=True))
    else:
        access_changed_on_commit(people=pk_set or ())


def _roles_changed(sender, action, **kwargs):
    """Anyone's roles: the roles a person instance read are read again."""
    if action in ("post_add", "post_remove", "post_clear"):
        roles_changed()


def _role_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A role's capabilities: everyone holding it."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        access_changed_on_commit(people=_members([instance.pk]))
    elif action == "pre_clear":
        access_changed_on_commit(people=_members(instance.group_set.values("pk")))
    else:
        access_changed_on_commit(people=_members(list(pk_set or ())))


def _role_deleted(sender, instance, **kwargs):
    roles_changed()
    access_changed_on_commit(people=_members([instance.pk]))


def _restriction_saved(sender, instance, **kwargs):
    access_changed_on_commit(projects=[instance.project])


def _restriction_relation_changed(sender, instance, action, reverse, pk_set, model, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear", "post_clear"):
        return
    if not reverse:
        access_changed_on_commit(projects=[instance.project])
        return
    # From a person's or a department's side: the restrictions named.
    accesses = ProjectAccess.objects.filter(pk__in=pk_set or ())
    if action == "pre_clear":
        accesses = instance.project_accesses.all()
    access_changed_on_commit(projects=accesses.values_list("project", flat=True))


def _device_saved(sender, instance, created, update_fields=None, **kwargs):
    """A device put into a restricted project takes its incidents out of outsiders' sight."""
    if created or (update_fields is not None and "project" not in update_fields):
        return
    restricted = ProjectAccess.objects.filter(project_key=project_key(instance.project))
    if instance.project and restricted.exists():
        access_changed_on_commit(projects=[instance.project])


def connect() -> None:
    """Connected once, from the app's `ready()`."""
    post_save.connect(_person_saved, sender=Employee, dispatch_uid="access_changed-person")
    for through in (Employee.groups.through, Employee.user_permissions.through):
        m2m_changed.connect(
            _person_relation_changed,
            sender=through,
            dispatch_uid=f"access_changed-{through.__name__}",
        )
    m2m_changed.connect(
        _roles_changed, sender=Employee.groups.through, dispatch_uid="roles-generation"
    )
    m2m_changed.connect(
        _role_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="access_changed-role-permissions",
    )
    pre_delete.connect(_role_deleted, sender=Group, dispatch_uid="access_changed-role-deleted")
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(
            _restriction_saved, sender=ProjectAccess, dispatch_uid=f"access_changed-pa-{name}"
        )
    for through in (ProjectAccess.departments.through, ProjectAccess.people.through):
        m2m_changed.connect(
            _restriction_relation_changed,
            sender=through,
            dispatch_uid=f"access_changed-{through.__name__}",
        )
    post_save.connect(_device_saved, sender=Device, dispatch_uid="access_changed-device")
