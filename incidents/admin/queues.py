"""The work queues as places: which queue a page belongs to, what it is called, and where to go
next in it.

A queue is the incident list filtered by `work` (MyWorkFilter). An incident opened from that list
carries the list's filters in Django's `_changelist_filters`, and the workflow pages pass them on,
so a decision taken on an incident still knows the queue it was taken in.
"""

from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from config.kit.kept import kept_figure
from incidents import selectors

WORK_PARAM = "work"
PRESERVED_FILTERS_PARAM = "_changelist_filters"

QUEUE_TITLES = {
    "mine": _("Assigned to me"),
    "review": _("Waiting for my review"),
    "unassigned": _("Unassigned in my department"),
}


def incident_pages(request: HttpRequest) -> bool:
    """Whether the request is for the incident list or one of its incidents' pages."""
    return request.path.startswith(reverse("admin:incidents_incident_changelist"))


def queue_of(request: HttpRequest) -> str | None:
    """The queue the person is working through: the list filtered to it, or an incident (or
    one of its workflow pages) reached from that list."""
    if not incident_pages(request):
        return None
    preserved = QueryDict(request.GET.get(PRESERVED_FILTERS_PARAM, ""))
    for value in (request.GET.get(WORK_PARAM), preserved.get(WORK_PARAM)):
        if value in selectors.WORK_QUEUES:
            return value
    return None


def in_queue_url(url: str, queue: str | None) -> str:
    """`url` (an incident's page) as reached from the list of `queue`."""
    if queue is None:
        return url
    filters = QueryDict(mutable=True)
    filters[WORK_PARAM] = queue
    carried = QueryDict(mutable=True)
    carried[PRESERVED_FILTERS_PARAM] = filters.urlencode()
    return f"{url}?{carried.urlencode()}"


def queue_counts(request: HttpRequest) -> dict[str, int]:
    """The size of each of the person's queues as every page shows them (the sidebar's
    badges, the incident list's filter), counted once for the page and no further than a
    badge's cap (config.kit.badges). They are kept between the person's pages while nothing
    was written (config.kit.kept)."""
    if "_queue_counts" not in request.__dict__:
        request._queue_counts = kept_figure(
            request, "queue counts", lambda: selectors.work_queue_badges(request.user)
        )
    return request._queue_counts


def queue_list_url(queue: str) -> str:
    return f"{reverse('admin:incidents_incident_changelist')}?{WORK_PARAM}={queue}"


def queue_context(request: HttpRequest, incident) -> dict | None:
    """What an incident page reached from a queue shows of it: its name, how many others are
    left in it (this one not counted: it is the one being worked on), a way back to it and the
    next incident to look at."""
    queue = queue_of(request)
    if queue is None:
        return None
    following = selectors.work_queue_next(request.user, queue, incident)
    return {
        "name": queue,
        "title": QUEUE_TITLES[queue],
        "left": selectors.work_queue(request.user, queue).exclude(pk=incident.pk).count(),
        "contains_this": selectors.work_queue(request.user, queue).filter(pk=incident.pk).exists(),
        "list_url": queue_list_url(queue),
        "next": following,
        "next_url": in_queue_url(
            reverse("admin:incidents_incident_change", args=[following.pk]), queue
        )
        if following
        else None,
    }
