"""`{% chat_room subject %}`: the chat widget of an incident or a problem group, for the person
looking at the page. Everything the page shows in words comes from here, translated: the widget
never builds a sentence from English."""

from datetime import date

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from incidents import access, rules
from incidents.choices import Stage, Step, Verdict, WorkflowAction
from incidents.models import Department, Incident
from locations import reasons
from messaging import selectors
from messaging.choices import RoomKind

register = template.Library()


@register.inclusion_tag("messaging/chat.html", takes_context=True)
def chat_room(context, subject) -> dict:
    user = context["request"].user
    kind = RoomKind.INCIDENT if isinstance(subject, Incident) else RoomKind.PROBLEM_GROUP
    may_see = access.may_see_subject(subject, user)
    return {
        "may_see": may_see,
        "chat_config": widget_config(kind, subject, user) if may_see else None,
        "chat_texts": widget_texts() if may_see else None,
        "chat_labels": system_line_labels() if may_see else None,
    }


def _per_message(name: str) -> str:
    """A message address with a place for the id (the widget puts each message's id there)."""
    return reverse(name, args=[0]).replace("/0/", "/{id}/")


def widget_config(kind: str, subject, user) -> dict:
    """Where the widget talks to and what this person may do there (json_script, no words)."""
    args = [kind, subject.pk]
    is_incident = kind == RoomKind.INCIDENT
    return {
        "kind": kind,
        "subject": subject.pk,
        "socket": f"/ws/rooms/{kind}/{subject.pk}/",
        "language": get_language(),
        "dates": date_formats(),
        "me": {"id": user.pk, "name": user.get_full_name()},
        "urls": {
            "messages": reverse("chat:messages", args=args),
            "send": reverse("chat:send", args=args),
            "read": reverse("chat:read", args=args),
            "people": reverse("chat:people", args=args),
            "edit": _per_message("chat:edit"),
            "delete": _per_message("chat:delete"),
            "revisions": _per_message("chat:revisions"),
            "evidence": _per_message("chat:evidence"),
        },
        "can_mark_evidence": is_incident and rules.may_mark_evidence(subject, user),
        "evidence": [
            {"message": item.message_id, "attachment": str(item.attachment_id or "")}
            for item in (selectors.incident_evidence(subject.pk) if is_incident else [])
        ],
        "limits": selectors.chat_limits(),
    }


def date_formats() -> dict:
    """How the page writes dates and times (the language's Django formats, see config/formats),
    so the chat's times read like the timeline's and the lists'."""
    return {
        "datetime": get_format("SHORT_DATETIME_FORMAT"),
        "time": get_format("TIME_FORMAT"),
        "months": [date_format(date(2000, month, 1), "M") for month in range(1, 13)],
        "time_zone": timezone.get_current_timezone_name(),
    }


def widget_texts() -> dict:
    """The widget's own words."""
    return {
        "connecting": _("Connecting…"),
        "online": _("Online"),
        "offline": _("Offline: reconnecting in %(seconds)s s…"),
        "offline_now": _("Offline: reconnecting…"),
        "signed_out": _("You are signed out or may no longer see this room. Reload the page."),
        "loading": _("Loading…"),
        "load_older": _("Load older messages"),
        "no_messages": _("No messages yet. Write the first one."),
        "placeholder": _(
            "Write a message… (Enter sends, Shift+Enter for a new line, @ to mention someone)"
        ),
        "send": _("Send"),
        "attach": _("Attach files"),
        "drop_here": _("Drop files here to attach them"),
        "remove": _("Remove"),
        "sending": _("Sending…"),
        "queued": _("Waiting for the connection; it will be sent when it returns."),
        "not_sent": _("Not sent"),
        "retry": _("Retry"),
        "uploading": _("Uploading %(percent)s%%"),
        "reply": _("Reply"),
        "replying_to": _("Replying to %(name)s"),
        "cancel": _("Cancel"),
        "edit": _("Edit"),
        "save": _("Save"),
        "delete": _("Delete"),
        "confirm_delete": _("Delete this message? It will show as deleted, with its time."),
        "edited": _("edited"),
        "deleted": _("Deleted by %(name)s at %(time)s"),
        "earlier_versions": _("Earlier versions"),
        "version_edit": _("Before the edit by %(name)s at %(time)s"),
        "version_delete": _("Before the deletion by %(name)s at %(time)s"),
        "mark_evidence": _("Mark as evidence"),
        "original": _("Download the original (%(size)s)"),
        "evidence": _("Evidence"),
        "members": _("Members"),
        "online_member": _("online"),
        "no_members": _("Nobody has opened this room yet."),
        "no_people": _("Nobody found"),
        "file_too_large": _("%(name)s is larger than the limit of %(limit)s."),
        "too_long": _("A message may be at most %(limit)s characters."),
        "failed": _("Something went wrong; try again."),
        "jump": _("Show the quoted message"),
    }


def system_line_labels() -> dict:
    """What a system line's codes and parameters read as, in the page's language, and the
    departments' names in it (frames name an author's department by its id)."""
    return {
        "stages": {stage.value: str(stage.label) for stage in Stage},
        "steps": {step.value: str(step.label) for step in Step},
        "actions": {action.value: str(action.label) for action in WorkflowAction},
        "verdicts": {verdict.value: str(verdict.label) for verdict in Verdict},
        "reasons": reasons.labels(),
        "departments": {
            department.pk: department.localized_name for department in Department.objects.all()
        },
        "system": _("System"),
        "nobody": "—",
        "workflow": {
            WorkflowAction.ASSIGN: _("%(actor)s assigned %(stage)s to %(assignee)s."),
            WorkflowAction.UNASSIGN: _(
                "%(actor)s put %(stage)s back in the queue; %(assignee)s worked on it."
            ),
            WorkflowAction.SUBMIT: _("%(actor)s submitted %(stage)s for review."),
            WorkflowAction.APPROVE: _(
                "%(actor)s approved %(from_stage)s; the incident moves to %(to_stage)s."
            ),
            WorkflowAction.REJECT: _("%(actor)s sent %(stage)s back."),
            WorkflowAction.CANCEL: _("%(actor)s cancelled the incident in %(stage)s."),
            WorkflowAction.RECORD: _("%(actor)s added an operation record: %(comment)s"),
            WorkflowAction.RESULT: _("%(actor)s added an analysis result: %(comment)s"),
        },
        "workflow_other": _("%(actor)s: %(action)s"),
        "comment": _("Reason: %(comment)s"),
        "verdict_comment": _("%(verdict)s: %(comment)s"),
        "files": _("Files: %(files)s"),
        "moved": _("%(actor)s moved %(serial)s from %(from)s to %(to)s."),
        "handed_over": _("%(serial)s was handed over from %(from)s to %(to)s."),
        "move_reason": _("Reason: %(reason)s"),
    }
