"""The workflow as admin actions: buttons on the incident page, row actions and bulk actions
on the changelist. Each is a thin call to a service; the rules decide what is shown, the
services refuse anything else whatever path it came by."""

import json

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action
from unfold.enums import ActionVariant

import incidents.admin.queues as queues
from config.kit.ids import pk_or_404
from config.kit.uploads import refused_uploads
from incidents import forms as workflow_forms
from incidents import rules, selectors, services
from incidents.choices import WorkflowAction
from incidents.models import Incident

# Each button: the workflow action it performs and its form.
DETAIL_ACTIONS = {
    "assign_action": (WorkflowAction.ASSIGN, workflow_forms.AssignForm),
    "record_action": (WorkflowAction.RECORD, workflow_forms.OperationRecordForm),
    "result_action": (WorkflowAction.RESULT, workflow_forms.AnalysisResultForm),
    "submit_action": (WorkflowAction.SUBMIT, workflow_forms.SubmitForm),
    "approve_action": (WorkflowAction.APPROVE, workflow_forms.ApproveForm),
    "reject_action": (WorkflowAction.REJECT, workflow_forms.RejectForm),
    "cancel_action": (WorkflowAction.CANCEL, workflow_forms.CancelForm),
}


# Actions that undo work or end the incident: they look destructive wherever they are offered.
DESTRUCTIVE_ACTIONS = (WorkflowAction.REJECT, WorkflowAction.CANCEL)


class WorkflowAdminMixin:
    """Mixed into IncidentAdmin."""

    actions_detail = list(DETAIL_ACTIONS)
    actions_row = ["assign_action", "approve_action"]
    actions = ["bulk_assign", "bulk_approve", "bulk_reject", "bulk_cancel", "bulk_problem_group"]
    # The work queue's name above the list, when the list is one.
    list_before_template = "admin/incidents/incident/queue_heading.html"

    # --- the list as a work queue ---------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        queue = queues.queue_of(request)
        if queue is not None:
            extra_context = {
                **(extra_context or {}),
                "title": queues.QUEUE_TITLES[queue],
                "work_queue": {"name": queue, "title": queues.QUEUE_TITLES[queue]},
            }
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request):
        """The page of incidents, each row knowing which of its menu's actions cannot succeed
        there and why (`row_action_refusals`, read by the row menu)."""
        changelist = super().get_changelist_instance(request)
        offered = {
            self._workflow_action(unfold_action): unfold_action
            for unfold_action in self.get_actions_row(request)
        }
        page = list(changelist.result_list)
        refusals = selectors.row_action_refusals(page, request.user, list(offered))
        for incident in page:
            refused = refusals.get(incident.pk)
            incident.row_action_refusals = (
                json.dumps(
                    {
                        f"{self.admin_site.name}:{offered[workflow_action].action_name}": reason
                        for workflow_action, reason in refused.items()
                    }
                )
                if refused
                else ""
            )
        return changelist

    def render_change_form(self, request, context, *args, **kwargs):
        """The incident's workflow buttons keep the list it was opened from (its queue) in
        their address, so the decision comes back to it."""
        carried = self.get_preserved_filters(request)
        if carried:
            for item in context.get("actions_detail") or []:
                if item.get("path"):
                    item["path"] = f"{item['path']}?{carried}"
        return super().render_change_form(request, context, *args, **kwargs)

    # --- which buttons show ---------------------------------------------------------------------
    def get_actions_detail(self, request, object_id):
        incident = self._incident(request, object_id)
        facts = self._facts(request)
        return [
            unfold_action
            for unfold_action in super().get_actions_detail(request, object_id)
            if rules.refusal(incident, self._workflow_action(unfold_action), request.user, facts)
            is None
        ]

    def get_actions_row(self, request):
        allowed = super().get_actions_row(request)
        return allowed if rules.may_review_any(request.user, self._facts(request)) else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        user = request.user
        facts = self._facts(request)
        if not rules.is_supervisor(user, facts):
            actions.pop("bulk_assign", None)
        if not rules.may_review_any(user, facts):
            for name in ("bulk_approve", "bulk_reject", "bulk_cancel"):
                actions.pop(name, None)
        if not user.has_perm("incidents.change_incident"):
            actions.pop("bulk_problem_group", None)
        return actions

    def _workflow_action(self, unfold_action) -> WorkflowAction:
        return DETAIL_ACTIONS[unfold_action.method.original_function_name][0]

    def _facts(self, request) -> rules.Facts:
        """What the rules read about the person, read once for the page being put together
        (the buttons, the row menus, the bulk actions offered)."""
        if "_rule_facts" not in request.__dict__:
            request._rule_facts = rules.Facts(request.user)
        return request._rule_facts

    def _incident(self, request, object_id) -> Incident:
        cache = request.__dict__.setdefault("_incidents", {})
        if object_id not in cache:
            incidents = Incident.objects.all().visible_to(request.user)
            cache[object_id] = get_object_or_404(
                incidents.select_related("device", "assignee"), pk=pk_or_404(object_id)
            )
        return cache[object_id]

    # --- one incident: a small form page per action ---------------------------------------------
    def _workflow_view(self, request: HttpRequest, object_id, name: str):
        workflow_action, form_class = DETAIL_ACTIONS[name]
        incident = self._incident(request, object_id)
        # Back to the incident as it was reached: from a queue, the queue comes along.
        change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
        carried = self.get_preserved_filters(request)
        if carried:
            change_url = f"{change_url}?{carried}"
        reason = rules.refusal(incident, workflow_action, request.user)
        # The open form page refreshing itself (live_page.js) after the incident changed: it
        # stays, its button saying why it can no longer succeed.
        live_refusal = reason and request.method == "GET" and request.headers.get("X-Live-Refresh")
        if reason and not live_refusal:
            messages.error(request, reason)
            return HttpResponseRedirect(change_url)
        form = form_class(
            request.POST or None,
            request.FILES or None,
            incident=incident,
            refused_uploads=refused_uploads(request),
        )
        if request.method == "POST" and form.is_valid():
            try:
                form.perform(by=request.user)
            except services.IncidentChanged as error:
                messages.error(request, error.message)
                return HttpResponseRedirect(change_url)
            except services.WorkflowError as error:
                form.add_error(None, error.message)
            else:
                incident.refresh_from_db()
                messages.success(
                    request,
                    _("%(action)s: incident #%(id)s is now %(stage)s, %(step)s.")
                    % {
                        "action": workflow_action.label,
                        "id": incident.pk,
                        "stage": incident.get_stage_display(),
                        "step": incident.get_step_display(),
                    },
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": incident,
            "title": f"{form.submit_label} · {incident}",
            "form": form,
            "workflow_action": workflow_action,
            "change_url": change_url,
            "is_destructive": workflow_action in DESTRUCTIVE_ACTIONS,
            "refusal": reason if live_refusal else None,
        }
        return TemplateResponse(request, "admin/incidents/incident/workflow_form.html", context)

    @action(description=gettext_lazy("Assign"), url_path="assign", icon="person_add")
    def assign_action(self, request, object_id):
        return self._workflow_view(request, object_id, "assign_action")

    @action(description=gettext_lazy("Add operation record"), url_path="record", icon="build")
    def record_action(self, request, object_id):
        return self._workflow_view(request, object_id, "record_action")

    @action(description=gettext_lazy("Add analysis result"), url_path="result", icon="science")
    def result_action(self, request, object_id):
        return self._workflow_view(request, object_id, "result_action")

    @action(description=gettext_lazy("Submit for review"), url_path="submit", icon="send")
    def submit_action(self, request, object_id):
        return self._workflow_view(request, object_id, "submit_action")

    @action(
        description=gettext_lazy("Approve"),
        url_path="approve",
        icon="check_circle",
        variant=ActionVariant.PRIMARY,
    )
    def approve_action(self, request, object_id):
        return self._workflow_view(request, object_id, "approve_action")

    @action(
        description=gettext_lazy("Send back"),
        url_path="reject",
        icon="undo",
        variant=ActionVariant.DANGER,
    )
    def reject_action(self, request, object_id):
        return self._workflow_view(request, object_id, "reject_action")

    @action(
        description=gettext_lazy("Cancel incident"),
        url_path="cancel",
        icon="block",
        variant=ActionVariant.DANGER,
    )
    def cancel_action(self, request, object_id):
        return self._workflow_view(request, object_id, "cancel_action")

    # --- many incidents from the changelist -----------------------------------------------------
    def _bulk_action(
        self,
        request,
        queryset,
        *,
        name,
        title,
        done_label,
        refused_label,
        call,
        form_class=None,
        form_kwargs=None,
    ):
        """Ask for the action's input first when it needs any (the selection travels along),
        then run `call(incident, data)` on each incident and report what was done and refused."""
        data = {}
        if form_class is not None:
            form = form_class(
                request.POST if "apply" in request.POST else None, **(form_kwargs or {})
            )
            if not form.is_valid():
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": title,
                    "form": form,
                    "incidents": queryset.select_related("device"),
                    "action_name": name,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                }
                return TemplateResponse(request, "admin/incidents/incident/bulk_form.html", context)
            data = form.cleaned_data
        done, refused = [], []
        for incident in queryset.order_by("pk"):
            try:
                call(incident, data)
            except services.WorkflowError as error:
                refused.append(
                    _("%(what)s #%(id)s: %(why)s")
                    % {"what": refused_label, "id": incident.pk, "why": error.message}
                )
            else:
                done.append(f"#{incident.pk}")
        if done:
            messages.success(
                request,
                _("%(what)s %(count)d: %(ids)s")
                % {"what": done_label, "count": len(done), "ids": ", ".join(done)},
            )
        for line in refused:
            messages.warning(request, line)
        return None

    @action(description=gettext_lazy("Assign selected incidents to one person"))
    def bulk_assign(self, request, queryset):
        return self._bulk_action(
            request,
            queryset,
            name="bulk_assign",
            title=_("Assign incidents"),
            done_label=_("Assigned"),
            refused_label=_("Not assigned"),
            form_class=workflow_forms.BulkAssignForm,
            form_kwargs={"incidents": queryset},
            call=lambda incident, data: services.incident_assign(
                incident=incident,
                assignee=data["assignee"],
                by=request.user,
                comment=data["comment"],
            ),
        )

    @action(description=gettext_lazy("Approve selected incidents"))
    def bulk_approve(self, request, queryset):
        return self._bulk_action(
            request,
            queryset,
            name="bulk_approve",
            title=_("Approve incidents"),
            done_label=_("Approved"),
            refused_label=_("Not approved"),
            call=lambda incident, data: services.incident_approve(
                incident=incident, by=request.user
            ),
        )

    @action(description=gettext_lazy("Send selected incidents back"))
    def bulk_reject(self, request, queryset):
        return self._bulk_action(
            request,
            queryset,
            name="bulk_reject",
            title=_("Send incidents back"),
            done_label=_("Sent back"),
            refused_label=_("Not sent back"),
            form_class=workflow_forms.BulkReasonForm,
            call=lambda incident, data: services.incident_reject(
                incident=incident, by=request.user, reason=data["reason"]
            ),
        )

    @action(description=gettext_lazy("Cancel selected incidents"))
    def bulk_cancel(self, request, queryset):
        return self._bulk_action(
            request,
            queryset,
            name="bulk_cancel",
            title=_("Cancel incidents"),
            done_label=_("Cancelled"),
            refused_label=_("Not cancelled"),
            form_class=workflow_forms.BulkReasonForm,
            call=lambda incident, data: services.incident_cancel(
                incident=incident, by=request.user, reason=data["reason"]
            ),
        )

    @action(description=gettext_lazy("Put selected incidents in a problem group"))
    def bulk_problem_group(self, request, queryset):
        return self._bulk_action(
            request,
            queryset,
            name="bulk_problem_group",
            title=_("Problem group"),
            done_label=_("Updated"),
            refused_label=_("Not updated"),
            form_class=workflow_forms.BulkProblemGroupForm,
            call=lambda incident, data: services.incident_set_problem_group(
                incident=incident, problem_group=data["problem_group"], by=request.user
            ),
        )
