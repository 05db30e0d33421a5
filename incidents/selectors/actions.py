"""The workflow buttons a person cannot use, and why: disabled on an incident's page, left out or
disabled in the list's row menus."""

from django.utils.translation import gettext_lazy

from incidents import rules
from incidents.choices import Step, WorkflowAction
from incidents.models import Employee, Incident


def blocked_actions(incident: Incident, user: Employee, facts=None) -> list[dict]:
    """The workflow buttons a person expects on this incident now but cannot use, and why, so
    the page shows them disabled with the reason instead of simply showing no button: the
    assignee's Submit (no operation record or no verdict yet in this round), a reviewer's
    Approve and Send back (their own work, no verdict, a stage without owner…). `facts`: the
    page's `rules.Facts` for `user`."""
    if not incident.is_open:
        return []
    facts = facts or rules.Facts(user)
    if incident.step == Step.ASSIGNED and rules.is_assignee(incident, user):
        expected = (WorkflowAction.SUBMIT,)
    elif incident.step == Step.SUBMITTED and (
        rules.can_review(incident, user, facts) or rules.stage_owner(incident.stage, facts) is None
    ):
        expected = (WorkflowAction.APPROVE, WorkflowAction.REJECT)
    else:
        return []
    blocked = []
    for action in expected:
        reason = rules.refusal(incident, action, user, facts)
        if reason:
            blocked.append({"action": action, "label": _BUTTONS[action], "reason": reason})
    return blocked


# The buttons' words (the actions' own labels say what happened: "Approved", "Sent back").
_BUTTONS = {
    WorkflowAction.ASSIGN: gettext_lazy("Assign"),
    WorkflowAction.SUBMIT: gettext_lazy("Submit for review"),
    WorkflowAction.APPROVE: gettext_lazy("Approve"),
    WorkflowAction.REJECT: gettext_lazy("Send back"),
}
# The step in which each row action of the incident list means anything at all.
_ROW_ACTION_STEPS = {
    WorkflowAction.ASSIGN: (Step.UNASSIGNED, Step.ASSIGNED),
    WorkflowAction.APPROVE: (Step.SUBMITTED,),
}


def row_action_refusals(
    incidents: list[Incident], user: Employee, actions: list[WorkflowAction]
) -> dict[int, dict[WorkflowAction, str]]:
    """For the row menus of a page of incidents: the actions that cannot succeed on a row. An
    action that means nothing in the row's step (approving what nobody submitted) maps to ""
    and is left out of the menu; one the person cannot take there maps to the reason, so the
    menu shows it disabled with why. Rows where every action would work are not listed.

    What the rules read (who owns each stage, what the person supervises, the rows' verdicts)
    is read once for the page, not once a row."""
    facts = rules.Facts(user, incidents)
    refusals: dict[int, dict[WorkflowAction, str]] = {}
    for incident in incidents:
        for action in actions:
            if not incident.is_open or incident.step not in _ROW_ACTION_STEPS[action]:
                reason = ""
            else:
                reason = rules.refusal(incident, action, user, facts)
                if reason is None:
                    continue
            refusals.setdefault(incident.pk, {})[action] = reason
    return refusals
