"""The failure-analysis workflow driven through the services: who may do what, where approval
sends an incident, what the timeline and the notifications say, and that a refusal changes
nothing."""

from dataclasses import dataclass

import pytest
from django.db import transaction

from incidents.choices import (
    DEFAULT_STAGE_OWNERS,
    NEXT_STAGE,
    STAGE_VERDICTS,
    TERMINAL_STAGES,
    DepartmentCode,
    Stage,
    Step,
    Verdict,
    WorkflowAction,
)
from incidents.models import (
    AnalysisResult,
    Department,
    Employee,
    Incident,
    IncidentEvent,
    Notification,
    OperationRecord,
    StageOwnership,
)
from incidents.services import (
    IncidentChanged,
    WorkflowError,
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_cancel,
    incident_open,
    incident_reject,
    incident_submit,
    operation_record_add,
)
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

DEPARTMENT_CODES = (
    DepartmentCode.PRODUCTION,
    DepartmentCode.FAE,
    DepartmentCode.XRAY,
    DepartmentCode.EE,
    DepartmentCode.ME,
)


# --- People and helpers (also used by test_records and test_concurrency) ------------------------
@dataclass
class Team:
    """One supervisor and one staff member per department, a second FAE staff member, an admin."""

    supervisors: dict[str, Employee]
    staff: dict[str, Employee]
    fae_colleague: Employee
    admin: Employee

    def supervisor(self, stage: Stage) -> Employee:
        return self.supervisors[DEFAULT_STAGE_OWNERS[stage]]

    def worker(self, stage: Stage) -> Employee:
        return self.staff[DEFAULT_STAGE_OWNERS[stage]]

    @property
    def reporter(self) -> Employee:
        return self.staff[DepartmentCode.PRODUCTION]


def build_team() -> Team:
    supervisors, staff = {}, {}
    for code in DEPARTMENT_CODES:
        department = Department.objects.get(code=code)
        supervisor = SupervisorFactory(department=department)
        department.supervisors.add(supervisor)
        supervisors[code] = supervisor
        staff[code] = StaffFactory(department=department)
    fae = Department.objects.get(code=DepartmentCode.FAE)
    return Team(supervisors, staff, StaffFactory(department=fae), AdminFactory())


def open_incident(team: Team, stage: Stage = Stage.REPORTED) -> Incident:
    return incident_open(
        device=DeviceFactory(),
        reporter=team.reporter,
        description="Fails BT_RSSI at station 3",
        stage=stage,
    )


def assigned(team: Team, stage: Stage = Stage.FAE_RETEST) -> Incident:
    """An incident in `stage`, given to the stage's staff member."""
    incident = open_incident(team, stage)
    return incident_assign(
        incident=incident, assignee=team.worker(stage), by=team.supervisor(stage)
    )


def submitted(
    team: Team, stage: Stage = Stage.FAE_RETEST, verdict: Verdict | None = Verdict.FAIL
) -> Incident:
    """An incident in `stage` waiting for review, with a record and (when given) a verdict."""
    incident = assigned(team, stage)
    worker = team.worker(stage)
    record = operation_record_add(incident=incident, by=worker, action="Retested on station 3")
    if verdict:
        analysis_result_add(
            incident=incident,
            by=worker,
            findings="Reproduced the failure",
            verdict=verdict,
            operation_record=record,
        )
    return incident_submit(incident=incident, by=worker)


def walk_stage(
    incident: Incident,
    team: Team,
    verdict: Verdict | None = None,
    *,
    reject_once: bool = False,
) -> Incident:
    """Assign → record → result (when the stage needs a verdict) → submit → approve.

    With `reject_once` the supervisor first sends the stage back and the assignee works a second
    round before it is approved."""
    stage = Stage(incident.stage)
    supervisor, worker = team.supervisor(stage), team.worker(stage)
    incident = incident_assign(
        incident=incident, assignee=worker, by=supervisor, comment=f"Please take {stage.label}"
    )
    record = operation_record_add(incident=incident, by=worker, action=f"Worked on {stage.label}")
    if stage in STAGE_VERDICTS:
        analysis_result_add(
            incident=incident,
            by=worker,
            findings=f"Findings of {stage.label}",
            verdict=verdict,
            operation_record=record,
        )
    incident = incident_submit(incident=incident, by=worker, comment="Done")
    if reject_once:
        incident = incident_reject(incident=incident, by=supervisor, reason="Attach the log")
        record = operation_record_add(
            incident=incident, by=worker, action="Attached the station log"
        )
        if stage in STAGE_VERDICTS:
            # The verdict of a sent-back round no longer decides: the new round gives its own.
            analysis_result_add(
                incident=incident,
                by=worker,
                findings="Same findings, with the log",
                verdict=verdict,
                operation_record=record,
            )
        incident = incident_submit(incident=incident, by=worker, comment="Log attached")
    incident = incident_approve(incident=incident, by=supervisor, comment="Looks right")
    incident.refresh_from_db()
    return incident


def snapshot(incident: Incident) -> dict:
    """Everything a workflow action could change, read fresh from the database."""
    fresh = Incident.objects.get(pk=incident.pk)
    return {
        "stage": fresh.stage,
        "step": fresh.step,
        "assignee": fresh.assignee_id,
        "round": fresh.stage_round,
        "closed_at": fresh.closed_at,
        "events": IncidentEvent.objects.filter(incident=fresh).count(),
        "records": OperationRecord.objects.filter(incident=fresh).count(),
        "results": AnalysisResult.objects.filter(incident=fresh).count(),
        "notifications": Notification.objects.filter(incident=fresh).count(),
    }


def recipients(incident: Incident, action: WorkflowAction) -> set[Employee]:
    return {
        n.recipient
        for n in Notification.objects.filter(incident=incident, action=action).select_related(
            "recipient"
        )
    }


@pytest.fixture
def team() -> Team:
    return build_team()


# --- Acting in the FAE retest stage, by action and by person ---------------------------------
ACTORS = {
    "the stage's supervisor": lambda team: team.supervisor(Stage.FAE_RETEST),
    "the stage's staff member": lambda team: team.worker(Stage.FAE_RETEST),
    "another staff member of the stage's department": lambda team: team.fae_colleague,
    "staff of another department": lambda team: team.staff[DepartmentCode.XRAY],
    "supervisor of another department": lambda team: team.supervisors[DepartmentCode.XRAY],
    "an admin": lambda team: team.admin,
}


def prepare(action: str, team: Team) -> Incident:
    """A FAE retest incident in the step where `action` is the next thing to do."""
    if action == "assign":
        return open_incident(team, Stage.FAE_RETEST)
    if action in ("record", "result", "cancel"):
        return assigned(team)
    if action == "submit":
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)
        operation_record_add(incident=incident, by=worker, action="Retested on station 3")
        analysis_result_add(incident=incident, by=worker, findings="Fails", verdict=Verdict.FAIL)
        return incident
    return submitted(team, verdict=Verdict.FAIL)


def perform(action: str, incident: Incident, by: Employee, team: Team):
    if action == "assign":
        return incident_assign(incident=incident, assignee=team.worker(Stage.FAE_RETEST), by=by)
    if action == "record":
        return operation_record_add(incident=incident, by=by, action="Retested on station 5")
    if action == "result":
        return analysis_result_add(
            incident=incident, by=by, findings="Fails again", verdict=Verdict.FAIL
        )
    if action == "submit":
        return incident_submit(incident=incident, by=by)
    if action == "approve":
        return incident_approve(incident=incident, by=by)
    if action == "reject":
        return incident_reject(incident=incident, by=by, reason="The log is missing")
    if action == "cancel":
        return incident_cancel(incident=incident, by=by, reason="Device was lost")
    raise AssertionError(action)


ACTIONS = ("assign", "record", "result", "submit", "approve", "reject", "cancel")

# (action, who, stage and step afterwards)
ALLOWED = [
    ("assign", "the stage's supervisor", (Stage.FAE_RETEST, Step.ASSIGNED)),
    ("record", "the stage's staff member", (Stage.FAE_RETEST, Step.ASSIGNED)),
    ("result", "the stage's staff member", (Stage.FAE_RETEST, Step.ASSIGNED)),
    ("submit", "the stage's staff member", (Stage.FAE_RETEST, Step.SUBMITTED)),
    ("approve", "the stage's supervisor", (Stage.XRAY, Step.UNASSIGNED)),
    ("reject", "the stage's supervisor", (Stage.FAE_RETEST, Step.ASSIGNED)),
    # An administrator reviews when the department's supervisors cannot (see SelfApprovalTests).
    ("approve", "an admin", (Stage.XRAY, Step.UNASSIGNED)),
    ("reject", "an admin", (Stage.FAE_RETEST, Step.ASSIGNED)),
    ("cancel", "the stage's supervisor", (Stage.CANCELLED, Step.CLOSED)),
    ("cancel", "an admin", (Stage.CANCELLED, Step.CLOSED)),
]

REFUSALS = {
    "assign": "can assign it.",
    "record": "Only the assignee",
    "result": "Only the assignee",
    "submit": "Only the assignee",
    "approve": "or an administrator can review it.",
    "reject": "or an administrator can review it.",
    "cancel": "or an administrator can cancel it.",
}
REFUSED_ACTORS = {
    "assign": [
        "the stage's staff member",
        "staff of another department",
        "supervisor of another department",
        "an admin",
    ],
    **{
        action: [
            "the stage's supervisor",
            "another staff member of the stage's department",
            "staff of another department",
            "supervisor of another department",
            "an admin",
        ]
        for action in ("record", "result", "submit")
    },
    **{
        action: [
            "the stage's staff member",
            "staff of another department",
            "supervisor of another department",
        ]
        for action in ("approve", "reject")
    },
    "cancel": [
        "the stage's staff member",
        "another staff member of the stage's department",
        "staff of another department",
        "supervisor of another department",
    ],
}
REFUSED = [(action, who) for action, people in REFUSED_ACTORS.items() for who in people]


class NextStageTests:
    @pytest.mark.parametrize(
        ("stage", "verdict", "next_stage"),
        [(stage, verdict, next_stage) for (stage, verdict), next_stage in NEXT_STAGE.items()],
        ids=[f"{stage}-{verdict or 'no verdict'}" for stage, verdict in NEXT_STAGE],
    )
    def test_approval_moves_the_incident_along_the_graph(self, team, stage, verdict, next_stage):
        incident = open_incident(team, stage)

        incident = walk_stage(incident, team, verdict, reject_once=True)

        assert incident.stage == next_stage
        assert incident.assignee is None
        assert incident.stage_round == 1
        if next_stage in TERMINAL_STAGES:
            assert incident.step == Step.CLOSED
            assert incident.closed_at is not None
            assert incident.closed_at >= incident.opened_at
        else:
            assert incident.step == Step.UNASSIGNED
            assert incident.closed_at is None
        approval = incident.events.get(action=WorkflowAction.APPROVE)
        assert (approval.from_stage, approval.from_step) == (stage, Step.SUBMITTED)
        assert (approval.to_stage, approval.to_step) == (incident.stage, incident.step)
        assert incident.stage_entered_at <= approval.created_at

    def test_every_open_stage_but_reported_needs_a_verdict_in_the_graph(self):
        stages_with_verdicts = {stage for stage, verdict in NEXT_STAGE if verdict is not None}

        assert stages_with_verdicts == set(STAGE_VERDICTS)
        for stage, verdicts in STAGE_VERDICTS.items():
            assert {(stage, verdict) for verdict in verdicts} <= set(NEXT_STAGE)

    def test_the_longest_path_walks_through_every_analysis_stage(self, team):
        incident = open_incident(team)
        path = [
            (None, Stage.FAE_RETEST),
            (Verdict.FAIL, Stage.XRAY),
            (Verdict.FAIL, Stage.ME_ANALYSIS),
            (Verdict.RESOLVED, Stage.FINAL_RETEST),
            (Verdict.FAIL, Stage.SCRAPPED),
        ]

        for verdict, next_stage in path:
            incident = walk_stage(incident, team, verdict)
            assert incident.stage == next_stage

        approvals = incident.events.filter(action=WorkflowAction.APPROVE).order_by(
            "created_at", "id"
        )
        assert [(e.from_stage, e.to_stage) for e in approvals] == [
            (Stage.REPORTED, Stage.FAE_RETEST),
            (Stage.FAE_RETEST, Stage.XRAY),
            (Stage.XRAY, Stage.ME_ANALYSIS),
            (Stage.ME_ANALYSIS, Stage.FINAL_RETEST),
            (Stage.FINAL_RETEST, Stage.SCRAPPED),
        ]
        assert incident.step == Step.CLOSED

    def test_each_stage_visit_ends_when_the_next_stage_is_entered(self, team):
        incident = open_incident(team)
        for verdict in (None, Verdict.FAIL):
            incident = walk_stage(incident, team, verdict, reject_once=True)

        events = list(incident.events.order_by("created_at", "id"))
        entered = [e for e in events if e.action == WorkflowAction.OPEN or e.changed_stage]
        assert [e.to_stage for e in entered] == [Stage.REPORTED, Stage.FAE_RETEST, Stage.XRAY]
        assert [e.left_at for e in entered] == [
            entered[1].created_at,
            entered[2].created_at,
            None,
        ]
        assert all(e.left_at is None for e in events if e not in entered)


class PermissionTests:
    @pytest.mark.parametrize(("action", "who", "after"), ALLOWED)
    def test_the_right_person_may_act(self, team, action, who, after):
        incident = prepare(action, team)
        events_before = incident.events.count()
        actor = ACTORS[who](team)

        perform(action, incident, actor, team)

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == after
        assert incident.events.count() == events_before + 1
        event = incident.events.order_by("-created_at", "-id").first()
        assert event.action == action
        assert event.actor == actor

    @pytest.mark.parametrize(("action", "who"), REFUSED)
    def test_anyone_else_is_refused_with_a_reason_and_nothing_changes(self, team, action, who):
        incident = prepare(action, team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            perform(action, incident, ACTORS[who](team), team)

        assert REFUSALS[action] in refused.value.message
        assert snapshot(incident) == before

    def test_assign_refusal_names_the_department_and_the_stage(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)

        with pytest.raises(WorkflowError) as refused:
            incident_assign(incident=incident, assignee=team.fae_colleague, by=team.admin)

        assert refused.value.message == (
            "Only a supervisor of FAE, which owns FAE retest, can assign it."
        )

    def test_work_refusal_names_the_assignee(self, team):
        incident = assigned(team)

        with pytest.raises(WorkflowError) as refused:
            operation_record_add(incident=incident, by=team.fae_colleague, action="Retest")

        assert str(team.worker(Stage.FAE_RETEST)) in refused.value.message
        assert f"can work on incident #{incident.pk}" in refused.value.message

    def test_a_supervisor_by_role_who_does_not_supervise_the_department_is_refused(self, team):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        not_listed = SupervisorFactory(department=fae)
        incident = open_incident(team, Stage.FAE_RETEST)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="can assign it"):
            incident_assign(incident=incident, assignee=team.fae_colleague, by=not_listed)

        assert snapshot(incident) == before

    def test_an_inactive_supervisor_is_refused(self, team):
        incident = submitted(team)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        supervisor.is_active = False
        supervisor.save()
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="can review it"):
            incident_approve(incident=incident, by=supervisor)

        assert snapshot(incident) == before

    def test_any_supervisor_of_the_owning_department_may_review(self, team):
        second = SupervisorFactory(department=Department.objects.get(code=DepartmentCode.FAE))
        Department.objects.get(code=DepartmentCode.FAE).supervisors.add(second)
        incident = submitted(team)

        incident_approve(incident=incident, by=second)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_supervisor_of_the_new_stage_takes_over_after_approval(self, team):
        incident = submitted(team, verdict=Verdict.FAIL)
        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        with pytest.raises(WorkflowError, match="can assign it"):
            incident_assign(
                incident=incident,
                assignee=team.worker(Stage.XRAY),
                by=team.supervisor(Stage.FAE_RETEST),
            )
        incident_assign(
            incident=incident, assignee=team.worker(Stage.XRAY), by=team.supervisor(Stage.XRAY)
        )

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.XRAY, Step.ASSIGNED)
        assert incident.assignee == team.worker(Stage.XRAY)

    def test_a_supervisor_may_reassign_before_the_work_is_submitted(self, team):
        incident = assigned(team)

        incident_assign(
            incident=incident, assignee=team.fae_colleague, by=team.supervisor(Stage.FAE_RETEST)
        )

        incident.refresh_from_db()
        assert incident.assignee == team.fae_colleague
        assert incident.step == Step.ASSIGNED
        with pytest.raises(WorkflowError, match="Only the assignee"):
            operation_record_add(
                incident=incident, by=team.worker(Stage.FAE_RETEST), action="Retest"
            )


class CancelTests:
    @pytest.mark.parametrize("step", [Step.UNASSIGNED, Step.ASSIGNED, Step.SUBMITTED])
    def test_the_owning_supervisor_cancels_in_any_step(self, team, step):
        incident = {
            Step.UNASSIGNED: lambda: open_incident(team, Stage.FAE_RETEST),
            Step.ASSIGNED: lambda: assigned(team),
            Step.SUBMITTED: lambda: submitted(team),
        }[step]()

        incident_cancel(
            incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Device was lost"
        )

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.CANCELLED, Step.CLOSED)
        assert incident.closed_at is not None
        assert incident.assignee is None
        event = incident.events.get(action=WorkflowAction.CANCEL)
        assert (event.from_stage, event.from_step) == (Stage.FAE_RETEST, step)
        assert event.comment == "Device was lost"

    def test_an_admin_cancels_a_stage_of_any_department(self, team):
        incident = assigned(team, Stage.EE_ANALYSIS)

        incident_cancel(incident=incident, by=team.admin, reason="Duplicate of #12")

        incident.refresh_from_db()
        assert incident.stage == Stage.CANCELLED
        assert incident.events.get(action=WorkflowAction.CANCEL).actor == team.admin

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_a_reason_is_required(self, team, reason):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_cancel(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason=reason)

        assert refused.value.message == "Please give a reason for cancelling."
        assert snapshot(incident) == before

    @pytest.mark.parametrize("stage", TERMINAL_STAGES)
    def test_a_closed_incident_cannot_be_cancelled(self, team, stage):
        incident = open_incident(team, stage)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_cancel(incident=incident, by=team.admin, reason="Once more")

        assert "is closed" in refused.value.message
        assert "cannot change any more" in refused.value.message
        assert snapshot(incident) == before

    def test_a_cancelled_incident_frees_the_device_for_a_new_one(self, team):
        incident = assigned(team)
        incident_cancel(incident=incident, by=team.admin, reason="Opened by mistake")

        again = incident_open(device=incident.device, reporter=team.reporter)

        assert again.stage == Stage.REPORTED


class BadInputTests:
    def test_submitting_without_a_verdict_is_refused(self, team):
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)
        operation_record_add(incident=incident, by=worker, action="Retest")
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_submit(incident=incident, by=worker)

        assert refused.value.message == (
            "FAE retest needs a verdict: add an analysis result with a verdict in this round "
            "before submitting."
        )
        assert snapshot(incident) == before

    def test_a_result_without_a_verdict_does_not_count_as_one(self, team):
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)
        operation_record_add(incident=incident, by=worker, action="Retest")
        analysis_result_add(incident=incident, by=worker, findings="Still looking")

        with pytest.raises(WorkflowError, match="needs a verdict"):
            incident_submit(incident=incident, by=worker)

    def test_a_verdict_of_a_sent_back_round_no_longer_decides(self, team):
        incident = submitted(team, verdict=Verdict.PASS)
        worker = team.worker(Stage.FAE_RETEST)
        incident_reject(
            incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Retest it cold"
        )
        operation_record_add(incident=incident, by=worker, action="Retested at -10 °C")

        incident.refresh_from_db()
        assert incident.latest_verdict() is None
        with pytest.raises(WorkflowError, match="needs a verdict"):
            incident_submit(incident=incident, by=worker)

        analysis_result_add(incident=incident, by=worker, findings="Fails", verdict=Verdict.FAIL)
        incident_submit(incident=incident, by=worker)
        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_newest_verdict_decides(self, team):
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)
        operation_record_add(incident=incident, by=worker, action="Retest")
        analysis_result_add(incident=incident, by=worker, findings="Fails", verdict=Verdict.FAIL)
        analysis_result_add(incident=incident, by=worker, findings="Passes", verdict=Verdict.PASS)
        incident_submit(incident=incident, by=worker)

        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        incident.refresh_from_db()
        assert incident.stage == Stage.RETURNED

    def test_reported_needs_no_verdict(self, team):
        incident = submitted(team, Stage.REPORTED, verdict=None)

        incident_approve(incident=incident, by=team.supervisor(Stage.REPORTED))

        incident.refresh_from_db()
        assert incident.stage == Stage.FAE_RETEST

    def test_submitting_without_an_operation_record_is_refused(self, team):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_submit(incident=incident, by=team.worker(Stage.FAE_RETEST))

        assert refused.value.message == (
            "Add at least one operation record before submitting for review."
        )
        assert snapshot(incident) == before

    def test_a_result_alone_is_not_enough_to_submit(self, team):
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)
        analysis_result_add(incident=incident, by=worker, findings="Passes", verdict=Verdict.PASS)

        with pytest.raises(WorkflowError, match="Add at least one operation record"):
            incident_submit(incident=incident, by=worker)

    @pytest.mark.parametrize(
        "outsider",
        ["staff of another department", "supervisor of another department", "an admin"],
    )
    def test_assigning_someone_outside_the_department_is_refused(self, team, outsider):
        incident = open_incident(team, Stage.FAE_RETEST)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_assign(
                incident=incident,
                assignee=ACTORS[outsider](team),
                by=team.supervisor(Stage.FAE_RETEST),
            )

        assert "is not an active member of FAE, which owns FAE retest" in refused.value.message
        assert snapshot(incident) == before

    def test_assigning_an_inactive_member_of_the_department_is_refused(self, team):
        team.fae_colleague.is_active = False
        team.fae_colleague.save()
        incident = open_incident(team, Stage.FAE_RETEST)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="is not an active member of FAE"):
            incident_assign(
                incident=incident,
                assignee=team.fae_colleague,
                by=team.supervisor(Stage.FAE_RETEST),
            )

        assert snapshot(incident) == before

    def test_assigning_a_submitted_incident_is_refused(self, team):
        incident = submitted(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="approve it or send it back before reassigning"):
            incident_assign(
                incident=incident,
                assignee=team.fae_colleague,
                by=team.supervisor(Stage.FAE_RETEST),
            )

        assert snapshot(incident) == before

    @pytest.mark.parametrize("action", ["record", "result", "submit"])
    def test_work_before_assignment_is_refused(self, team, action):
        incident = open_incident(team, Stage.FAE_RETEST)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match=r"is not in progress \(it is Waiting for"):
            perform(action, incident, team.worker(Stage.FAE_RETEST), team)

        assert snapshot(incident) == before

    @pytest.mark.parametrize("action", ["approve", "reject"])
    def test_review_before_submission_is_refused(self, team, action):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match=r"is not waiting for review \(it is In progress"):
            perform(action, incident, team.supervisor(Stage.FAE_RETEST), team)

        assert snapshot(incident) == before

    @pytest.mark.parametrize("action", ACTIONS)
    @pytest.mark.parametrize("who", ["an admin", "the stage's supervisor"])
    def test_nothing_can_be_done_to_a_closed_incident(self, team, action, who):
        incident = walk_stage(open_incident(team, Stage.FAE_RETEST), team, Verdict.PASS)
        assert incident.stage == Stage.RETURNED
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            perform(action, incident, ACTORS[who](team), team)

        assert refused.value.message == (
            f"Incident #{incident.pk} is closed (Returned to the line); it cannot change any more."
        )
        assert snapshot(incident) == before

    @pytest.mark.parametrize(
        ("stage", "verdict", "possible"),
        [
            (Stage.FAE_RETEST, Verdict.RESOLVED, "Pass, Fail"),
            (Stage.EE_ANALYSIS, Verdict.PASS, "Resolved, Not resolved"),
            (Stage.REPORTED, Verdict.FAIL, "none"),
        ],
    )
    def test_a_verdict_of_another_stage_is_refused(self, team, stage, verdict, possible):
        incident = assigned(team, stage)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            analysis_result_add(
                incident=incident, by=team.worker(stage), findings="Looks fine", verdict=verdict
            )

        assert refused.value.message == (
            f"{verdict} is not a verdict of {stage.label} (possible: {possible})."
        )
        assert snapshot(incident) == before

    def test_an_unknown_verdict_is_refused(self, team):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="is not a verdict of FAE retest"):
            analysis_result_add(
                incident=incident,
                by=team.worker(Stage.FAE_RETEST),
                findings="Looks fine",
                verdict="maybe",
            )

        assert snapshot(incident) == before

    @pytest.mark.parametrize("reason", ["", "  \n "])
    def test_reject_without_a_reason_is_refused(self, team, reason):
        incident = submitted(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_reject(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason=reason)

        assert refused.value.message == "Please give a reason for sending it back."
        assert snapshot(incident) == before

    def test_a_record_must_say_what_was_done(self, team):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="Say what was done"):
            operation_record_add(incident=incident, by=team.worker(Stage.FAE_RETEST), action=" ")

        assert snapshot(incident) == before

    def test_a_result_must_describe_the_findings(self, team):
        incident = assigned(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="Describe the findings"):
            analysis_result_add(
                incident=incident,
                by=team.worker(Stage.FAE_RETEST),
                findings="",
                verdict=Verdict.PASS,
            )

        assert snapshot(incident) == before

    def test_a_device_cannot_get_a_second_open_incident(self, team):
        incident = open_incident(team)

        with pytest.raises(WorkflowError, match="already has an open incident"):
            incident_open(device=incident.device, reporter=team.reporter)

        assert Incident.objects.filter(device=incident.device).count() == 1


class RejectTests:
    def test_reject_sends_the_stage_back_to_the_assignee_for_another_round(self, team):
        incident = submitted(team)

        incident_reject(
            incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Retest at 40 °C"
        )

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.FAE_RETEST, Step.ASSIGNED)
        assert incident.stage_round == 2
        assert incident.assignee == team.worker(Stage.FAE_RETEST)
        event = incident.events.get(action=WorkflowAction.REJECT)
        assert (event.from_step, event.to_step) == (Step.SUBMITTED, Step.ASSIGNED)
        assert event.comment == "Retest at 40 °C"

    def test_the_new_round_needs_its_own_operation_record(self, team):
        incident = submitted(team)
        worker = team.worker(Stage.FAE_RETEST)
        incident_reject(
            incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Retest at 40 °C"
        )

        with pytest.raises(WorkflowError, match="Add at least one operation record"):
            incident_submit(incident=incident, by=worker)

        record = operation_record_add(incident=incident, by=worker, action="Retested at 40 °C")
        analysis_result_add(incident=incident, by=worker, findings="Fails", verdict=Verdict.FAIL)
        incident_submit(incident=incident, by=worker)

        assert record.round == 2
        incident.refresh_from_db()
        assert incident.step == Step.SUBMITTED
        assert incident.stage_round == 2

    def test_each_rejection_adds_a_round(self, team):
        incident = submitted(team)
        worker, supervisor = team.worker(Stage.FAE_RETEST), team.supervisor(Stage.FAE_RETEST)

        for expected_round in (2, 3):
            incident_reject(incident=incident, by=supervisor, reason="Not yet")
            operation_record_add(incident=incident, by=worker, action="Again")
            analysis_result_add(incident=incident, by=worker, findings="Fails", verdict="fail")
            incident_submit(incident=incident, by=worker)
            incident.refresh_from_db()
            assert incident.stage_round == expected_round

        assert list(
            incident.operation_records.order_by("created_at", "id").values_list("round", flat=True)
        ) == [1, 2, 3]


class TimelineTests:
    def test_a_full_walk_is_listed_action_by_action(self, team):
        prod_sup, prod_staff = team.supervisor(Stage.REPORTED), team.worker(Stage.REPORTED)
        fae_sup, fae_staff = team.supervisor(Stage.FAE_RETEST), team.worker(Stage.FAE_RETEST)
        incident = open_incident(team)

        incident = walk_stage(incident, team)
        incident = walk_stage(incident, team, Verdict.PASS, reject_once=True)

        R, F, T = Stage.REPORTED, Stage.FAE_RETEST, Stage.RETURNED
        U, A, S, C = Step.UNASSIGNED, Step.ASSIGNED, Step.SUBMITTED, Step.CLOSED
        timeline = [
            (e.action, e.actor, e.from_stage, e.from_step, e.to_stage, e.to_step, e.comment)
            + ((e.verdict,) if e.verdict else ())
            for e in incident.events.order_by("created_at", "id")
        ]
        assert timeline == [
            ("open", team.reporter, R, U, R, U, ""),
            ("assign", prod_sup, R, U, R, A, "Please take Reported by production"),
            ("record", prod_staff, R, A, R, A, "Worked on Reported by production"),
            ("submit", prod_staff, R, A, R, S, "Done"),
            ("approve", prod_sup, R, S, F, U, "Looks right"),
            ("assign", fae_sup, F, U, F, A, "Please take FAE retest"),
            ("record", fae_staff, F, A, F, A, "Worked on FAE retest"),
            ("result", fae_staff, F, A, F, A, "Findings of FAE retest", "pass"),
            ("submit", fae_staff, F, A, F, S, "Done"),
            ("reject", fae_sup, F, S, F, A, "Attach the log"),
            ("record", fae_staff, F, A, F, A, "Attached the station log"),
            ("result", fae_staff, F, A, F, A, "Same findings, with the log", "pass"),
            ("submit", fae_staff, F, A, F, S, "Log attached"),
            ("approve", fae_sup, F, S, T, C, "Looks right"),
        ]

    def test_assignments_and_reviews_name_the_person_who_worked_the_stage(self, team):
        incident = walk_stage(open_incident(team, Stage.FAE_RETEST), team, Verdict.FAIL)
        worker = team.worker(Stage.FAE_RETEST)

        for action in ("assign", "submit", "approve"):
            assert incident.events.get(action=action).assignee == worker

    def test_refusals_leave_no_trace_in_the_timeline(self, team):
        incident = assigned(team)
        before = list(incident.events.values_list("pk", flat=True))

        for outsider in ("staff of another department", "an admin"):
            with pytest.raises(WorkflowError):
                incident_submit(incident=incident, by=ACTORS[outsider](team))

        assert list(incident.events.values_list("pk", flat=True)) == before


class ExpectedStateTests:
    @pytest.mark.parametrize("action", ACTIONS)
    def test_acting_on_a_state_that_no_longer_holds_is_refused(self, team, action):
        incident = prepare(action, team)
        stale = (Stage.REPORTED, Step.UNASSIGNED)
        actor = {
            "assign": team.supervisor(Stage.FAE_RETEST),
            "approve": team.supervisor(Stage.FAE_RETEST),
            "reject": team.supervisor(Stage.FAE_RETEST),
            "cancel": team.supervisor(Stage.FAE_RETEST),
        }.get(action, team.worker(Stage.FAE_RETEST))
        before = snapshot(incident)
        call = {
            "assign": lambda: incident_assign(
                incident=incident, assignee=team.fae_colleague, by=actor, expected=stale
            ),
            "record": lambda: operation_record_add(
                incident=incident, by=actor, action="Retest", expected=stale
            ),
            "result": lambda: analysis_result_add(
                incident=incident, by=actor, findings="Fails", verdict="fail", expected=stale
            ),
            "submit": lambda: incident_submit(incident=incident, by=actor, expected=stale),
            "approve": lambda: incident_approve(incident=incident, by=actor, expected=stale),
            "reject": lambda: incident_reject(
                incident=incident, by=actor, reason="No", expected=stale
            ),
            "cancel": lambda: incident_cancel(
                incident=incident, by=actor, reason="No", expected=stale
            ),
        }[action]

        with pytest.raises(IncidentChanged) as changed:
            call()

        fresh = Incident.objects.get(pk=incident.pk)
        assert changed.value.message == (
            f"Incident #{incident.pk} changed while you were looking at it: it is now "
            f"{fresh.get_stage_display()}, {fresh.get_step_display()}. "
            "Nothing was done; reload and try again."
        )
        assert snapshot(incident) == before

    def test_a_second_approval_of_what_was_already_approved_is_refused(self, team):
        incident = submitted(team, verdict=Verdict.FAIL)
        shown = (incident.stage, incident.step)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        incident_approve(incident=incident, by=supervisor, expected=shown)
        before = snapshot(incident)

        with pytest.raises(IncidentChanged, match="it is now X-ray inspection, Waiting for"):
            incident_approve(incident=incident, by=supervisor, expected=shown)

        assert snapshot(incident) == before
        assert incident.events.filter(action=WorkflowAction.APPROVE).count() == 1

    def test_a_matching_expected_state_lets_the_action_through(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)

        incident_assign(
            incident=incident,
            assignee=team.worker(Stage.FAE_RETEST),
            by=team.supervisor(Stage.FAE_RETEST),
            expected=(Stage.FAE_RETEST, Step.UNASSIGNED),
        )

        incident.refresh_from_db()
        assert incident.step == Step.ASSIGNED

    def test_a_stale_object_in_hand_is_re_read_before_acting(self, team):
        incident = submitted(team)
        stale_copy = Incident.objects.get(pk=incident.pk)
        incident_reject(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Again")

        with pytest.raises(WorkflowError, match="is not waiting for review"):
            incident_approve(incident=stale_copy, by=team.supervisor(Stage.FAE_RETEST))

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.FAE_RETEST, Step.ASSIGNED)


class NotificationTests:
    def test_assign_notifies_the_assignee(self, team):
        incident = assigned(team)

        assert recipients(incident, WorkflowAction.ASSIGN) == {team.worker(Stage.FAE_RETEST)}
        notification = Notification.objects.get(incident=incident, action=WorkflowAction.ASSIGN)
        assert notification.actor == team.supervisor(Stage.FAE_RETEST)
        assert notification.read_at is None
        assert f"assigned incident #{incident.pk} (FAE retest) to you" in notification.text

    def test_submit_notifies_every_supervisor_of_the_stage(self, team):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        second = SupervisorFactory(department=fae)
        fae.supervisors.add(second)

        incident = submitted(team)

        assert recipients(incident, WorkflowAction.SUBMIT) == {
            team.supervisor(Stage.FAE_RETEST),
            second,
        }

    def test_reject_notifies_the_assignee_with_the_reason(self, team):
        incident = submitted(team)

        incident_reject(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Blurry")

        notification = Notification.objects.get(incident=incident, action=WorkflowAction.REJECT)
        assert notification.recipient == team.worker(Stage.FAE_RETEST)
        assert notification.comment == "Blurry"
        assert notification.text.endswith("back to you. Blurry")

    def test_approve_notifies_the_assignee_and_the_next_stages_supervisors(self, team):
        incident = submitted(team, verdict=Verdict.FAIL)

        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        assert recipients(incident, WorkflowAction.APPROVE) == {
            team.worker(Stage.FAE_RETEST),
            team.supervisor(Stage.XRAY),
        }
        notification = Notification.objects.filter(
            incident=incident, action=WorkflowAction.APPROVE
        ).first()
        assert notification.stage == Stage.XRAY

    def test_approving_into_a_closed_stage_notifies_the_assignee_and_the_reporter(self, team):
        incident = submitted(team, verdict=Verdict.PASS)

        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        assert recipients(incident, WorkflowAction.APPROVE) == {
            team.worker(Stage.FAE_RETEST),
            team.reporter,
        }

    def test_cancel_notifies_the_assignee_the_reporter_and_the_supervisors(self, team):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        second = SupervisorFactory(department=fae)
        fae.supervisors.add(second)
        incident = assigned(team)

        incident_cancel(incident=incident, by=team.admin, reason="Device was lost")

        assert recipients(incident, WorkflowAction.CANCEL) == {
            team.worker(Stage.FAE_RETEST),
            team.reporter,
            team.supervisor(Stage.FAE_RETEST),
            second,
        }

    def test_the_actor_is_never_notified(self, team):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        xray = Department.objects.get(code=DepartmentCode.XRAY)
        both = SupervisorFactory(department=fae)
        fae.supervisors.add(both)
        xray.supervisors.add(both)
        incident = open_incident(team, Stage.FAE_RETEST)

        # Assigning oneself, approving into a stage one also supervises, cancelling as one of the
        # supervisors who would be told.
        incident_assign(incident=incident, assignee=both, by=both)
        operation_record_add(incident=incident, by=both, action="Retest")
        analysis_result_add(incident=incident, by=both, findings="Fails", verdict=Verdict.FAIL)
        incident_submit(incident=incident, by=both)
        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))
        incident_cancel(incident=incident, by=both, reason="Device was lost")

        # Approving one's own work is for another supervisor: the only action `both` is told of.
        told = Notification.objects.filter(incident=incident, recipient=both)
        assert list(told.values_list("action", flat=True)) == [WorkflowAction.APPROVE]
        assert recipients(incident, WorkflowAction.SUBMIT) == {team.supervisor(Stage.FAE_RETEST)}
        assert recipients(incident, WorkflowAction.APPROVE) == {both, team.supervisor(Stage.XRAY)}
        assert recipients(incident, WorkflowAction.CANCEL) == {
            team.reporter,
            team.supervisor(Stage.XRAY),
        }

    def test_records_and_results_notify_nobody(self, team):
        incident = assigned(team)
        before = Notification.objects.count()
        worker = team.worker(Stage.FAE_RETEST)

        operation_record_add(incident=incident, by=worker, action="Retest")
        analysis_result_add(incident=incident, by=worker, findings="Fails", verdict=Verdict.FAIL)

        assert Notification.objects.count() == before

    def test_inactive_people_are_not_notified(self, team):
        incident = submitted(team, verdict=Verdict.FAIL)
        xray_supervisor = team.supervisor(Stage.XRAY)
        xray_supervisor.is_active = False
        xray_supervisor.save()

        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        assert recipients(incident, WorkflowAction.APPROVE) == {team.worker(Stage.FAE_RETEST)}


class EmailTests:
    def test_the_e_mail_goes_out_once_the_change_commits(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=team.supervisor(incident.stage))
            assert mailoutbox == []

        assert len(mailoutbox) == 1
        mail = mailoutbox[0]
        assert mail.to == [worker.email]
        assert mail.subject.startswith("[ADT] ")
        assert f"assigned incident #{incident.pk} (FAE retest) to you" in mail.subject
        assert f"/incidents/incident/{incident.pk}/change/" in mail.body

    def test_one_e_mail_per_recipient(self, team, mailoutbox, django_capture_on_commit_callbacks):
        incident = submitted(team, verdict=Verdict.FAIL)

        with django_capture_on_commit_callbacks(execute=True):
            incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        assert sorted(address for mail in mailoutbox for address in mail.to) == sorted(
            [team.worker(Stage.FAE_RETEST).email, team.supervisor(Stage.XRAY).email]
        )

    def test_people_without_an_address_get_only_the_notification(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        worker = team.worker(Stage.FAE_RETEST)
        worker.email = ""
        worker.save()
        incident = open_incident(team, Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=team.supervisor(incident.stage))

        assert recipients(incident, WorkflowAction.ASSIGN) == {worker}
        assert mailoutbox == []

    def test_a_reason_written_over_several_lines_is_e_mailed(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        incident = submitted(team)
        reason = "Retest at 40 °C.\nAttach the station log."

        with django_capture_on_commit_callbacks(execute=True):
            incident_reject(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason=reason)

        assert [mail.to for mail in mailoutbox] == [[team.worker(Stage.FAE_RETEST).email]]
        assert "Attach the station log." in mailoutbox[0].body
        assert "\n" not in mailoutbox[0].subject

    def test_a_rolled_back_change_leaves_no_notification_and_sends_no_e_mail(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        before = snapshot(incident)

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            incident_assign(
                incident=incident,
                assignee=team.worker(Stage.FAE_RETEST),
                by=team.supervisor(Stage.FAE_RETEST),
            )
            assert Notification.objects.filter(incident=incident).count() == 1
            raise RuntimeError("something later in the same request failed")

        assert callbacks == []
        assert not Notification.objects.filter(incident=incident).exists()
        assert mailoutbox == []
        assert snapshot(incident) == before

    def test_a_refused_action_sends_nothing(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        incident = submitted(team)

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(WorkflowError),
        ):
            incident_approve(incident=incident, by=team.fae_colleague)

        assert callbacks == []
        assert mailoutbox == []


class ProtectedFieldTests:
    def test_stage_cannot_be_assigned_directly_after_the_services_ran(self, team):
        incident = walk_stage(open_incident(team, Stage.FAE_RETEST), team, Verdict.FAIL)

        with pytest.raises(AttributeError, match="Direct stage modification is not allowed"):
            incident.stage = Stage.RETURNED

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_step_cannot_be_assigned_directly(self, team):
        incident = assigned(team)

        with pytest.raises(AttributeError, match="Direct step modification is not allowed"):
            incident.step = Step.SUBMITTED

    def test_the_incident_returned_by_a_service_is_protected_too(self, team):
        incident = incident_assign(
            incident=open_incident(team, Stage.FAE_RETEST),
            assignee=team.worker(Stage.FAE_RETEST),
            by=team.supervisor(Stage.FAE_RETEST),
        )

        with pytest.raises(AttributeError, match="Direct stage modification is not allowed"):
            incident.stage = Stage.CANCELLED


class SelfApprovalTests:
    def supervisor_who_worked(self, team) -> tuple[Employee, Incident]:
        """A FAE supervisor who took the stage and submitted it."""
        both = team.supervisor(Stage.FAE_RETEST)
        incident = open_incident(team, Stage.FAE_RETEST)
        incident_assign(incident=incident, assignee=both, by=both)
        operation_record_add(incident=incident, by=both, action="Retest")
        analysis_result_add(incident=incident, by=both, findings="Fails", verdict=Verdict.FAIL)
        incident_submit(incident=incident, by=both)
        return both, incident

    def test_a_supervisor_cannot_approve_their_own_work(self, team):
        both, incident = self.supervisor_who_worked(team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            incident_approve(incident=incident, by=both)

        assert refused.value.message == (
            "You did the work of this stage, so you cannot approve it yourself: another "
            "supervisor of FAE or an administrator approves it."
        )
        assert snapshot(incident) == before

    def test_another_supervisor_of_the_department_approves_it(self, team):
        _both, incident = self.supervisor_who_worked(team)
        fae = Department.objects.get(code=DepartmentCode.FAE)
        second = SupervisorFactory(department=fae)
        fae.supervisors.add(second)

        incident_approve(incident=incident, by=second)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_an_administrator_approves_it(self, team):
        _both, incident = self.supervisor_who_worked(team)

        incident_approve(incident=incident, by=team.admin)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_the_worker_may_still_send_it_back_to_themselves(self, team):
        both, incident = self.supervisor_who_worked(team)

        incident_reject(incident=incident, by=both, reason="Forgot the log")

        incident.refresh_from_db()
        assert (incident.step, incident.stage_round) == (Step.ASSIGNED, 2)


class OwnerlessStageTests:
    """A stage no department owns: every action is refused with a message naming the setting."""

    @pytest.fixture
    def ownerless(self, team):
        def make(action: str) -> Incident:
            incident = prepare(action, team)
            StageOwnership.objects.filter(stage=Stage.FAE_RETEST).delete()
            return incident

        return make

    @pytest.mark.parametrize(
        "action", ["assign", "record", "result", "submit", "approve", "reject"]
    )
    def test_each_action_names_stage_ownership(self, team, ownerless, action):
        incident = ownerless(action)
        actor = ACTORS[
            "the stage's staff member"
            if action in ("record", "result", "submit")
            else "the stage's supervisor"
        ](team)
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            perform(action, incident, actor, team)

        assert "Settings → Stage ownership" in refused.value.message
        assert "No department owns FAE retest" in refused.value.message
        assert snapshot(incident) == before

    def test_an_administrator_can_still_cancel_it(self, team, ownerless):
        incident = ownerless("cancel")

        incident_cancel(incident=incident, by=team.admin, reason="Stage was removed")

        incident.refresh_from_db()
        assert incident.stage == Stage.CANCELLED

    def test_the_incident_page_and_its_buttons_answer_without_an_error(self, team, ownerless):
        from django.test import Client
        from django.urls import reverse

        incident = ownerless("submit")
        client = Client()
        client.force_login(team.worker(Stage.FAE_RETEST))

        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        submit = client.post(
            reverse("admin:incidents_incident_submit_action", args=[incident.pk]),
            {"expected_stage": incident.stage, "expected_step": incident.step},
            follow=True,
        )

        assert page.status_code == 200
        assert submit.status_code == 200
        assert "Settings → Stage ownership" in submit.content.decode()
