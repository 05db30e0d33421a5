from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from incidents.choices import BEYOND_RETEST, EventNote, Stage, Step, Verdict, WorkflowAction
from locations.visibility import ProjectRowsManager


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: who did what, when, from where to where, and why."""

    project_path = "incident__device__project"
    outlives_incident = "incident_id"

    # Kept when a superuser deletes the incident: the trail outlives it.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="events",
        verbose_name=_("incident"),
    )
    action = models.CharField(_("action"), max_length=16, choices=WorkflowAction.choices)
    actor = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incident_events",
        verbose_name=_("by"),
    )
    from_stage = models.CharField(_("from stage"), max_length=32, choices=Stage.choices)
    to_stage = models.CharField(_("to stage"), max_length=32, choices=Stage.choices)
    from_step = models.CharField(_("from step"), max_length=16, choices=Step.choices, blank=True)
    to_step = models.CharField(_("to step"), max_length=16, choices=Step.choices, blank=True)
    assignee = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    # People's words as they wrote them (a reason, findings); what the system says is a code,
    # shown in each reader's language: the verdict of a result, a note.
    comment = models.TextField(_("comment"), blank=True)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices, blank=True)
    note = models.CharField(_("note"), max_length=32, choices=EventNote.choices, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    # On an entry that took the incident into a stage (or opened it): when it left that stage,
    # the time of the next such entry; empty while it is there and on every other entry. Kept
    # by every writer of the timeline (incidents.services.visit_ends_write), so the time spent in
    # each stage is read, not worked out from the whole timeline on each view of the dashboard.
    left_at = models.DateTimeField(_("left the stage at"), null=True, blank=True, editable=False)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [
            # The dashboard's time in stages: the visits that ended, by the time they began.
            models.Index(
                fields=["created_at"],
                name="event_visit_ended",
                condition=models.Q(left_at__isnull=False),
                include=["to_stage", "left_at", "incident"],
            ),
            # Whether an incident went beyond FAE retest (no fault found when it did not), asked
            # of every returned incident by the dashboard's outcomes.
            models.Index(
                fields=["incident"],
                name="event_beyond_retest",
                condition=models.Q(to_stage__in=BEYOND_RETEST),
            ),
            # Whether an incident was ever in some stages (the department filter of the
            # dashboard and the incident list), answered from the index alone.
            models.Index(fields=["incident", "to_stage"], name="event_incident_stage"),
        ]

    def __str__(self) -> str:
        at = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT")
        return f"{self.get_action_display()} · {at}"

    @property
    def changed_stage(self) -> bool:
        return self.from_stage != self.to_stage


class Notification(models.Model):
    """Something a person should look at, shown unread in the admin and sent by e-mail.

    The text is put together when shown, so each reader gets it in their own language.
    """

    project_path = "incident__device__project"

    recipient = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("incident"),
    )
    # Mentions in a problem group's chat concern the group, not one incident.
    problem_group = models.ForeignKey(
        "incidents.ProblemGroup",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("problem group"),
    )
    # The chat message a mention points at.
    message_id = models.BigIntegerField(_("message"), null=True, blank=True)
    # The report a "report ready" notification leads to (its job page, with the download).
    report_job = models.ForeignKey(
        "incidents.ReportJob",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("report"),
    )
    action = models.CharField(_("action"), max_length=16, choices=WorkflowAction.choices)
    actor = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        context = {
            "id": self.incident_id,
            "stage": self.get_stage_display(),
            "actor": self.actor.get_full_name() if self.actor else _("someone"),
        }
        messages = {
            WorkflowAction.ASSIGN: _("%(actor)s assigned incident #%(id)s (%(stage)s) to you."),
            WorkflowAction.SUBMIT: _(
                "%(actor)s submitted incident #%(id)s (%(stage)s) for review."
            ),
            WorkflowAction.APPROVE: _("%(actor)s approved incident #%(id)s; it is now %(stage)s."),
            WorkflowAction.REJECT: _("%(actor)s sent incident #%(id)s (%(stage)s) back to you."),
            WorkflowAction.CANCEL: _("%(actor)s cancelled incident #%(id)s."),
            WorkflowAction.UNASSIGN: _(
                "%(actor)s put incident #%(id)s (%(stage)s) back in the queue: assign it again."
            ),
            WorkflowAction.OVERDUE: _("Incident #%(id)s is past its deadline in %(stage)s."),
            WorkflowAction.ESCALATE: _(
                "Incident #%(id)s is a working day past its deadline in %(stage)s."
            ),
        }
        if self.action == WorkflowAction.RESTRICT:
            # About a project, named in the comment: its incidents are no longer the reader's.
            return _(
                "%(actor)s restricted project %(project)s, which is no longer open to you: its "
                "incidents left your lists, and those assigned to you went back to their "
                "department's queue."
            ) % {**context, "project": self.comment}
        if self.action == WorkflowAction.REPORT:
            return _("Your report is ready to download: %(report)s.") % {"report": self.comment}
        if self.action == WorkflowAction.MENTION:
            if self.incident_id:
                text = _("%(actor)s mentioned you in the chat of incident #%(id)s:") % context
            else:
                text = _("%(actor)s mentioned you in the chat of problem group %(group)s:") % {
                    **context,
                    "group": self.problem_group.number if self.problem_group else "—",
                }
        else:
            text = messages.get(self.action, _("Incident #%(id)s changed.")) % context
        return f"{text} {self.comment}".strip() if self.comment else text

    @property
    def link(self) -> str:
        """Where the notification leads: the incident (or group) page, at the message."""
        if self.report_job_id:
            return reverse("admin:incidents_reportjob_change", args=[self.report_job_id])
        if self.incident_id:
            url = reverse("admin:incidents_incident_change", args=[self.incident_id])
        elif self.problem_group_id:
            url = reverse("admin:incidents_problemgroup_change", args=[self.problem_group_id])
        else:
            # About nothing the reader may open (a project restricted out of their sight).
            url = reverse("admin:incidents_notification_changelist")
        return f"{url}#message-{self.message_id}" if self.message_id else url
