"""The daily digest: each supervisor gets, in their language, what happened in the stages their
departments own: incidents new since the last digest day, the ones past their stage's deadline
(incidents.selectors.deadlines), the ones overdue (in their stage longer than
DIGEST_OVERDUE_DAYS) and the ones waiting for review. `manage.py send_digest`
sends it (cron, the systemd timer or the compose scheduler run it each morning)."""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.kit.language import language_of
from incidents import access
from incidents.choices import Step
from incidents.models import Department, Employee, Incident, StageOwnership
from incidents.selectors.deadlines import Deadlines, deadlines_read

logger = logging.getLogger(__name__)
LISTED = 20


@dataclass
class DepartmentDigest:
    department: Department
    new: list[Incident] = field(default_factory=list)
    new_count: int = 0
    late: list[Incident] = field(default_factory=list)
    late_count: int = 0
    overdue: list[Incident] = field(default_factory=list)
    overdue_count: int = 0
    review: list[Incident] = field(default_factory=list)
    review_count: int = 0

    @property
    def empty(self) -> bool:
        return not (self.new_count or self.late_count or self.overdue_count or self.review_count)


def department_digest(
    department: Department,
    *,
    now: datetime.datetime,
    reader=None,
    deadlines: Deadlines | None = None,
) -> DepartmentDigest:
    """What happened in the department's stages, of the projects `reader` sees."""
    stages = list(
        StageOwnership.objects.filter(department=department).values_list("stage", flat=True)
    )
    in_stages = Incident.objects.filter(stage__in=stages).visible_to(reader)
    in_stages = in_stages.select_related("device", "assignee")
    since = now - datetime.timedelta(days=1)
    overdue_before = now - datetime.timedelta(days=settings.DIGEST_OVERDUE_DAYS)
    # Imported without the time they entered their stage: neither new nor overdue, unknown.
    aged = in_stages.filter(stage_entered_known=True)
    new = aged.filter(stage_entered_at__gte=since).order_by("-stage_entered_at")
    overdue = aged.filter(stage_entered_at__lt=overdue_before).order_by("stage_entered_at")
    review = in_stages.filter(step=Step.SUBMITTED).order_by("stage_entered_at")
    deadlines = deadlines or deadlines_read()
    late = in_stages.filter(deadlines.past(now)).order_by("stage_entered_at")
    late_listed = list(late[:LISTED])
    for incident in late_listed:
        incident.deadline_at = deadlines.deadline(incident)
    return DepartmentDigest(
        department=department,
        new=list(new[:LISTED]),
        new_count=new.count(),
        late=late_listed,
        late_count=late.count(),
        overdue=list(overdue[:LISTED]),
        overdue_count=overdue.count(),
        review=list(review[:LISTED]),
        review_count=review.count(),
    )


def digest_send(*, now: datetime.datetime | None = None) -> int:
    """E-mail every active supervisor with an address the digest of their departments; skip
    those with nothing to report. Returns how many e-mails were sent."""
    now = now or timezone.now()
    # Supervisors who see the same projects share their departments' digests.
    digests: dict[tuple[int, frozenset], DepartmentDigest] = {}
    deadlines = deadlines_read()

    def digest_of(department: Department, person: Employee) -> DepartmentDigest:
        key = (department.pk, access.hidden_projects(person))
        if key not in digests:
            digests[key] = department_digest(
                department, now=now, reader=person, deadlines=deadlines
            )
        return digests[key]

    sent = 0
    supervisors = (
        Employee.objects.filter(is_active=True, supervised_departments__isnull=False)
        .exclude(email="")
        .distinct()
        .prefetch_related("supervised_departments")
    )
    for person in supervisors:
        mine = [
            digest
            for digest in (digest_of(d, person) for d in person.supervised_departments.all())
            if not digest.empty
        ]
        if not mine:
            continue
        with translation.override(language_of(person) or settings.LANGUAGE_CODE):
            subject = _("[ADT] Daily digest: %(departments)s") % {
                "departments": ", ".join(d.department.localized_name for d in mine)
            }
            body = render_to_string(
                "incidents/digest_email.txt",
                {
                    "person": person,
                    "digests": mine,
                    "overdue_days": settings.DIGEST_OVERDUE_DAYS,
                    "site": settings.SITE_BASE_URL,
                    "change_path": reverse("admin:incidents_incident_changelist"),
                },
            )
        try:
            send_mail(subject=subject, message=body, from_email=None, recipient_list=[person.email])
        except OSError:
            logger.exception("Could not e-mail the digest to %s", person.pk)
            continue
        sent += 1
    return sent
