"""A person's work queues (mine, waiting for my review, unassigned in my department) and their
unread notifications."""

from django.db.models import Q, QuerySet

from config.kit.kept import kept_figure
from incidents.choices import OPEN_STAGES, Step
from incidents.models import Employee, Incident, Notification, StageOwnership


def work_queue(user: Employee, queue: str) -> QuerySet[Incident]:
    """Incidents in one of a person's queues: `mine` (assigned to me, in progress), `review`
    (submitted in a stage I supervise, by someone else), `unassigned` (waiting in a stage my
    department owns); only those of projects the person sees."""
    incidents = Incident.objects.filter(stage__in=OPEN_STAGES).visible_to(user)
    if queue == "mine":
        return incidents.filter(assignee=user, step=Step.ASSIGNED)
    # The person's stages are read first, as a list: inside the incidents' query a subquery over
    # departments, supervisors and members made PostgreSQL scan every open incident.
    if queue == "review":
        stages = StageOwnership.objects.filter(department__supervisors=user)
        supervised = list(stages.values_list("stage", flat=True))
        # Not one's own work: nobody approves that themselves, so it would be a dead end here.
        return incidents.filter(step=Step.SUBMITTED, stage__in=supervised).exclude(assignee=user)
    if queue == "unassigned":
        stages = StageOwnership.objects.filter(
            Q(department__supervisors=user) | Q(department__employees=user)
        )
        owned = list(stages.values_list("stage", flat=True).distinct())
        return incidents.filter(step=Step.UNASSIGNED, stage__in=owned)
    return incidents.none()


def work_queue_counts(user: Employee) -> dict[str, int]:
    return {queue: work_queue(user, queue).count() for queue in WORK_QUEUES}


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


def unread_notification_count(user: Employee) -> int:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return unread.visible_to(user).count()


def unread_notifications_of(request) -> int:
    """The unread notifications of the person asking, counted once for the page: the sidebar's
    badge and the header's bell show the same number, kept between the person's pages while
    nothing was written (config.kit.kept)."""
    if "_unread_notifications" not in request.__dict__:
        request._unread_notifications = kept_figure(
            request, "unread notifications", lambda: unread_notification_count(request.user)
        )
    return request._unread_notifications
