"""A person's work queues (mine, waiting for my review, unassigned in my department) and their
unread notifications."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from config.kit.badges import counted_up_to, counts_up_to
from config.kit.kept import kept_figure
from incidents.choices import OPEN_STAGES, Step
from incidents.models import Department, Employee, Incident, Notification, StageOwnership


def work_queue(user: Employee, queue: str) -> QuerySet[Incident]:
    """Incidents in one of a person's queues: `mine` (assigned to me, in progress), `review`
    (submitted in a stage I supervise, by someone else), `unassigned` (waiting in a stage my
    department owns); only those of projects the person sees."""
    incidents = _open_incidents(user)
    if queue == "mine":
        return incidents.filter(_mine(user))
    if queue not in WORK_QUEUES:
        return incidents.none()
    return incidents.filter(_queue_conditions(user)[queue])


def work_queue_counts(user: Employee) -> dict[str, int]:
    """The size of each of the person's queues, counted in one pass over the open incidents
    the person sees (the dashboard's cards)."""
    conditions = _queue_conditions(user)
    incidents = _open_incidents(user)
    either = Q()
    for condition in conditions.values():
        either |= condition
    return incidents.filter(either).aggregate(
        **{queue: Count("pk", filter=condition) for queue, condition in conditions.items()}
    )


def work_queue_badges(user: Employee) -> dict[str, int]:
    """The size of each of the person's queues as the sidebar shows them on every page:
    counted no further than a badge's cap (config.kit.badges), in one query."""
    conditions = _queue_conditions(user)
    incidents = _open_incidents(user)
    return counts_up_to({queue: incidents.filter(c) for queue, c in conditions.items()})


def _open_incidents(user: Employee) -> QuerySet[Incident]:
    """The open incidents the person sees, which the queues are made of."""
    return Incident.objects.filter(stage__in=OPEN_STAGES).visible_to(user)


def _mine(user: Employee) -> Q:
    return Q(assignee=user, step=Step.ASSIGNED)


def _queue_conditions(user: Employee) -> dict[str, Q]:
    """What puts an open incident in each of the person's queues. The person's stages are read
    first, in one query, as lists: inside the incidents' query a subquery over departments,
    supervisors and members made PostgreSQL scan every open incident."""
    supervised, owned = set(), set()
    stages = StageOwnership.objects.filter(
        Q(department__supervisors=user) | Q(department__employees=user)
    ).annotate(
        supervises=Exists(
            Department.supervisors.through.objects.filter(
                department_id=OuterRef("department_id"), employee_id=user.pk
            )
        )
    )
    for stage, supervises in stages.values_list("stage", "supervises"):
        owned.add(stage)
        if supervises:
            supervised.add(stage)
    return {
        "mine": _mine(user),
        # Not one's own work: nobody approves that themselves, so it would be a dead end here.
        "review": Q(step=Step.SUBMITTED, stage__in=sorted(supervised)) & ~Q(assignee=user),
        "unassigned": Q(step=Step.UNASSIGNED, stage__in=sorted(owned)),
    }


WORK_QUEUES = ("mine", "review", "unassigned")


def work_queue_next(user: Employee, queue: str, current: Incident) -> Incident | None:
    """The incident to look at after `current` in one of a person's queues, in the list's
    order (newest opened first): the next one down, else the first (None when it is the only
    one, or the queue is empty)."""
    others = (
        work_queue(user, queue)
        .exclude(pk=current.pk)
        .select_related("device")
        .order_by("-opened_at", "-id")
    )
    below = Q(opened_at__lt=current.opened_at) | Q(opened_at=current.opened_at, id__lt=current.pk)
    return others.filter(below).first() or others.first()


def unread_notification_count(user: Employee, *, for_badge: bool = False) -> int:
    """The person's unread notifications; for a badge, counted no further than its cap."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True).visible_to(user)
    return counted_up_to(unread) if for_badge else unread.count()


def unread_notifications_of(request) -> int:
    """The unread notifications of the person asking, counted once for the page and no further
    than a badge's cap (config.kit.badges): the sidebar's badge and the header's bell show the
    same number, kept between the person's pages while nothing was written (config.kit.kept)."""
    if "_unread_notifications" not in request.__dict__:
        request._unread_notifications = kept_figure(
            request,
            "unread notifications",
            lambda: counted_up_to(
                Notification.objects.filter(
                    recipient=request.user, read_at__isnull=True
                ).visible_to(request.user)
            ),
        )
    return request._unread_notifications
