from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from incidents.models import Notification


class UnreadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "unread"

    def lookups(self, request, model_admin):
        return [("1", _("Unread")), ("0", _("Read"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(read_at__isnull=self.value() == "1")
        return queryset


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    """Each person sees only their own notifications; opening the incident is one click."""

    list_display = ["unread", "message", "incident", "created_at"]
    list_display_links = None
    list_filter = [UnreadFilter, "action"]
    search_fields = ["incident__device__serial_number", "comment"]
    actions = ["mark_read"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(recipient=request.user)
            .select_related("actor", "incident__device")
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.has_perm("incidents.change_notification")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @display(description=_("unread"), boolean=True)
    def unread(self, notification: Notification) -> bool:
        return notification.read_at is None

    @display(description=_("message"))
    def message(self, notification: Notification) -> str:
        return notification.text

    @action(description=_("Mark as read"), permissions=["change"])
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        messages.success(request, _("%(count)d marked as read.") % {"count": count})
