"""Tell the people concerned: an unread notification in the admin and an e-mail, both only
once the change that caused them has committed; and mark what they have read."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from config.kit.language import language_of
from incidents import access
from incidents.choices import WorkflowAction
from incidents.models import Employee, Incident, Notification

logger = logging.getLogger(__name__)


def notify(
    *,
    incident: Incident,
    action: WorkflowAction,
    recipients: list[Employee],
    actor: Employee | None,
    comment: str = "",
) -> list[Notification]:
    """Queue a notification for each recipient but the actor (and those who may not see the
    incident's project); e-mail them after commit."""
    seen, notifications = set(), []
    for person in recipients:
        if person is None or person.pk in seen or person == actor or not person.is_active:
            continue
        if not access.may_see_incident(incident, person):
            continue
        seen.add(person.pk)
        notifications.append(
            Notification(
                recipient=person,
                incident=incident,
                action=action,
                actor=actor,
                stage=incident.stage,
                comment=comment,
            )
        )
    Notification.objects.bulk_create(notifications)
    ids = [n.pk for n in notifications]
    if ids:
        transaction.on_commit(lambda: _send_emails(ids))
    return notifications


def notify_restricted(
    *, recipients: list[Employee], actor: Employee | None, project: str
) -> list[Notification]:
    """Tell the people a project was just restricted away from that it is no longer open to
    them. About no incident (they may not open its incidents any more): the project is named in
    the notification's comment. E-mailed after commit."""
    notifications = [
        Notification(recipient=person, action=WorkflowAction.RESTRICT, actor=actor, comment=project)
        for person in {p.pk: p for p in recipients}.values()
        if person != actor and person.is_active
    ]
    Notification.objects.bulk_create(notifications)
    ids = [n.pk for n in notifications]
    if ids:
        transaction.on_commit(lambda: _send_emails(ids))
    return notifications


def notify_mention(
    *,
    recipients: list[Employee],
    actor: Employee,
    message_id: int,
    excerpt: str,
    incident: Incident | None = None,
    problem_group=None,
) -> list[Notification]:
    """Tell the people called by @name in a chat message; e-mailed after commit."""
    notifications = [
        Notification(
            recipient=person,
            incident=incident,
            problem_group=problem_group,
            message_id=message_id,
            action=WorkflowAction.MENTION,
            actor=actor,
            stage=incident.stage if incident else "",
            comment=excerpt,
        )
        for person in {p.pk: p for p in recipients}.values()
        if person != actor
        and person.is_active
        and (incident is None or access.may_see_incident(incident, person))
    ]
    Notification.objects.bulk_create(notifications)
    ids = [n.pk for n in notifications]
    if ids:
        transaction.on_commit(lambda: _send_emails(ids))
    return notifications


def _send_emails(notification_ids: list[int]) -> None:
    notifications = Notification.objects.filter(pk__in=notification_ids).select_related(
        "recipient", "actor", "incident", "problem_group"
    )
    for notification in notifications:
        recipient = notification.recipient
        if not recipient.email:
            continue
        link = settings.SITE_BASE_URL + notification.link
        # Each in the language the recipient reads the product in.
        with translation.override(language_of(recipient) or settings.LANGUAGE_CODE):
            text = notification.text
        try:
            # A header is one line: reasons written over several lines are folded.
            subject = " ".join(f"[ADT] {text}".split())[:150]
            send_mail(
                subject=subject,
                message=f"{text}\n\n{link}\n",
                from_email=None,
                recipient_list=[recipient.email],
            )
        except OSError:
            logger.exception("Could not e-mail notification %s", notification.pk)


def notifications_mark_read(
    *, recipient: Employee, notification_ids: list[int] | None = None
) -> int:
    """Mark a person's unread notifications read: those named, or all of them. Someone else's
    notifications are left alone, and one already read keeps the time it was first read.
    Returns how many were marked."""
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


def notify_report_ready(*, job) -> Notification | None:
    """Tell the person who asked for a report (incidents.ReportJob) that it is ready, with a
    link to its page; e-mailed after commit."""
    person = job.created_by
    if not person.is_active:
        return None
    notification = Notification.objects.create(
        recipient=person, action=WorkflowAction.REPORT, report_job=job, comment=job.title
    )
    transaction.on_commit(lambda: _send_emails([notification.pk]))
    return notification
