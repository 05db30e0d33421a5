"""Rows that belong to a device's project, and whom they are shown to.

A confidential project hides its devices and everything about them (incidents, timelines,
records, chat) from people outside it. Each model whose rows belong to a device's project says
once how its rows reach that project, as `project_path` (a lookup ending at `Device.project`),
and, when its rows outlive the incident they are about (a superuser deleted it),
`outlives_incident` (the lookup of that incident's id). Its manager's querysets answer
`visible_to(user)`.

Who sees which project is the workflow's rule (`incidents.access`), which registers it here at
start-up: this floor knows no workflow. With nothing registered every row is visible.
"""

from collections.abc import Callable

from django.db import models

_restrict: Callable[[models.QuerySet, object], models.QuerySet] | None = None


def register(restrict: Callable[[models.QuerySet, object], models.QuerySet]) -> None:
    """Called once, from the workflow app's ready(): `restrict(queryset, user)` leaves out the
    rows of the projects `user` may not see."""
    global _restrict
    _restrict = restrict


class ProjectRowsQuerySet(models.QuerySet):
    """The rows of a model that declares its `project_path`."""

    def visible_to(self, user) -> "ProjectRowsQuerySet":
        """These rows without those of the projects `user` may not see."""
        return self if _restrict is None else _restrict(self, user)


ProjectRowsManager = models.Manager.from_queryset(ProjectRowsQuerySet)
