"""The 8D report of a problem group, written by the group's owner or an administrator."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from config.kit.updates import apply_changes, changes_to
from incidents import rules
from incidents.models import EightD, Employee, ProblemGroup
from incidents.services.errors import WorkflowError


def eightd_refusal(*, group: ProblemGroup, user: Employee) -> str | None:
    """Why `user` may not write the group's 8D report, in words; None when they may."""
    if rules.can_fill_eightd(group, user):
        return None
    if group.owner_id is None:
        return _(
            "Problem group %(number)s has no owner yet: a supervisor names one on its page, "
            "then the owner or an administrator writes its 8D report."
        ) % {"number": group.number}
    if group.owner_id == user.pk:
        return _("You may not write 8D reports.")
    return _(
        "Only the owner of problem group %(number)s (%(owner)s) or an administrator writes "
        "its 8D report."
    ) % {"number": group.number, "owner": group.owner.get_full_name()}


@transaction.atomic
def eightd_update(*, group: ProblemGroup, by: Employee, **disciplines: str | date | None) -> EightD:
    """Write the disciplines given (`team`, `team_date`, … `closure_date`: EightD.FIELDS) into
    the group's 8D report, made the first time. The group is re-read under its lock, so the
    owner checked is the owner now; only what changed is written, with `by` in the history."""
    unknown = sorted(set(disciplines) - set(EightD.FIELDS))
    if unknown:
        raise TypeError(f"Not a field of the 8D report: {', '.join(unknown)}")
    group = (
        ProblemGroup.objects.select_for_update(of=("self",))
        .select_related("owner")
        .get(pk=group.pk)
    )
    refusal = eightd_refusal(group=group, user=by)
    if refusal:
        raise WorkflowError(refusal)
    eightd = EightD.objects.filter(group=group).first() or EightD(group=group)
    changes = changes_to(eightd, disciplines)
    if eightd.pk and not changes:
        return eightd
    apply_changes(eightd, changes)
    eightd.full_clean()
    eightd._history_user = by
    eightd.save()
    return eightd
