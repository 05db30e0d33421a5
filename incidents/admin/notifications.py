from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from config.kit.ids import pk_or_404
from config.kit.lists import SingleCountListMixin
from config.kit.search import IndexedSearchMixin
from incidents.choices import WorkflowAction
from incidents.models import Notification
from incidents.services.notifications import notifications_mark_read

# What a notification can be about, in the order the list offers them as filters.
NOTIFICATION_KINDS = (
    WorkflowAction.ASSIGN,
    WorkflowAction.SUBMIT,
    WorkflowAction.APPROVE,
    WorkflowAction.REJECT,
    WorkflowAction.CANCEL,
    WorkflowAction.UNASSIGN,
    WorkflowAction.RESTRICT,
    WorkflowAction.MENTION,
    WorkflowAction.REPORT,
)
KIND_COLORS = {
    WorkflowAction.ASSIGN: "info",
    WorkflowAction.SUBMIT: "warning",
    WorkflowAction.APPROVE: "success",
    WorkflowAction.REJECT: "warning",
    WorkflowAction.CANCEL: "danger",
    WorkflowAction.UNASSIGN: "warning",
    WorkflowAction.RESTRICT: "danger",
    WorkflowAction.MENTION: "primary",
    WorkflowAction.REPORT: "success",
}


class UnreadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "unread"

    def lookups(self, request, model_admin):
        return [("1", _("Unread")), ("0", _("Read"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(read_at__isnull=self.value() == "1")
        return queryset


class KindFilter(admin.SimpleListFilter):
    """What happened: only the kinds a notification can be about."""

    title = _("kind")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(kind.value, kind.label) for kind in NOTIFICATION_KINDS]

    def queryset(self, request, queryset):
        if self.value() in {kind.value for kind in NOTIFICATION_KINDS}:
            return queryset.filter(action=self.value())
        return queryset


@admin.register(Notification)
class NotificationAdmin(SingleCountListMixin, IndexedSearchMixin, ModelAdmin):
    """Each person sees only their own notifications. A row opens what it is about and counts
    as read from then on; unread rows stand out, read ones step back."""

    list_display = ["message", "kind", "created_at"]
    list_display_links = None
    list_filter = [UnreadFilter, KindFilter]
    # What a row says: the incident's number and device, who acted, and their comment.
    search_fields = [
        "=incident__id",
        "incident__device__serial_number",
        "actor__display_name",
        "comment",
    ]
    actions = ["mark_read"]
    list_before_template = "admin/incidents/notification/toolbar.html"

    def get_queryset(self, request):
        notifications = (
            super()
            .get_queryset(request)
            .filter(recipient=request.user)
            .select_related("actor", "incident__device", "problem_group")
        )
        return notifications.visible_to(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.has_perm("incidents.change_notification")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        own = [
            path(
                "<str:notification_id>/open/",
                self.admin_site.admin_view(self.open_view),
                name="incidents_notification_open",
            ),
            path(
                "mark-all-read/",
                self.admin_site.admin_view(require_POST(self.mark_all_read_view)),
                name="incidents_notification_mark_all_read",
            ),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        kinds = [
            {
                "value": kind.value,
                "label": kind.label,
                "active": request.GET.get(KindFilter.parameter_name) == kind.value,
            }
            for kind in NOTIFICATION_KINDS
        ]
        extra_context = {
            **(extra_context or {}),
            "notification_kinds": kinds,
            "unread_only": request.GET.get(UnreadFilter.parameter_name) == "1",
            "may_mark_read": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def open_view(self, request, notification_id):
        """Open what the notification is about; from now on it counts as read."""
        notification = get_object_or_404(
            Notification, pk=pk_or_404(notification_id), recipient=request.user
        )
        notifications_mark_read(recipient=request.user, notification_ids=[notification.pk])
        return HttpResponseRedirect(notification.link)

    def mark_all_read_view(self, request):
        if not self.has_change_permission(request):
            messages.error(request, _("You may not mark notifications as read."))
        else:
            count = notifications_mark_read(recipient=request.user)
            messages.success(request, _("%(count)d marked as read.") % {"count": count})
        return HttpResponseRedirect(reverse("admin:incidents_notification_changelist"))

    @display(description=_("notification"))
    def message(self, notification: Notification) -> str:
        unread = notification.read_at is None
        return format_html(
            '<a class="adt-note{}" href="{}" data-testid="notification" data-unread="{}">'
            '<span class="adt-note-dot" aria-hidden="true"></span>'
            '<span class="adt-sr-only">{}</span><span class="adt-note-text">{}</span></a>',
            " adt-note-unread" if unread else "",
            reverse("admin:incidents_notification_open", args=[notification.pk]),
            "1" if unread else "0",
            _("Unread:") if unread else "",
            notification.text,
        )

    @display(description=_("kind"), ordering="action", label=KIND_COLORS)
    def kind(self, notification: Notification):
        return notification.action, notification.get_action_display()

    @action(description=_("Mark as read"), permissions=["change"])
    def mark_read(self, request, queryset):
        count = notifications_mark_read(
            recipient=request.user, notification_ids=list(queryset.values_list("pk", flat=True))
        )
        messages.success(request, _("%(count)d marked as read.") % {"count": count})
