"""Webhooks, for administrators: an address, a secret (typed once, never shown again: masked on
the page) and the events it hears, chosen as checkboxes; and every delivery, read only, with its
status, the receiver's answer, how long it took and how many attempts it made, which an
administrator may send again (the same delivery id, a fresh attempt)."""

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminPasswordWidget,
)

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from incidents import access
from incidents.admin.administrators import AdministratorsOnly, AdministratorsReadOnly
from incidents.choices import WebhookDeliveryStatus, WebhookEvent
from incidents.models import Webhook, WebhookDelivery
from incidents.services.webhooks import (
    webhook_check,
    webhook_create,
    webhook_delivery_send_again,
    webhook_update,
)

STATUS_COLORS = {
    WebhookDeliveryStatus.PENDING: "info",
    WebhookDeliveryStatus.DELIVERED: "success",
    WebhookDeliveryStatus.FAILED: "warning",
    WebhookDeliveryStatus.GAVE_UP: "danger",
}


class WebhookForm(forms.ModelForm):
    """The webhook's fields; its secret is typed (required for a new one, left empty to keep
    it) and never put back in the page."""

    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )
    new_secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        widget=UnfoldAdminPasswordWidget(render_value=False),
        help_text=_(
            "Shared with the receiver, which checks each delivery's X-ADT-Signature with it; "
            "at least 16 characters. Never shown again: left empty, the current one is kept."
        ),
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "is_active"]

    def clean(self):
        data = super().clean()
        secret = data.get("new_secret") or ""
        if not self.instance.pk and not secret:
            self.add_error("new_secret", _("Give the secret the receiver checks signatures with."))
            return data
        problems = webhook_check(
            url=data.get("url") or "",
            secret=secret or self.instance.secret,
            events=data.get("events") or [],
            name=data.get("name") or "",
        )
        for field, problem in problems.items():
            if field in self.errors:
                continue
            self.add_error("new_secret" if field == "secret" else field, problem)
        return data


@admin.register(Webhook)
class WebhookAdmin(AdministratorsOnly, BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "event_list", "is_active", "created_at", "deliveries"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    fields = [
        "name",
        "url",
        "events",
        "new_secret",
        "secret_shown",
        "is_active",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["secret_shown", "created_by", "created_at"]
    list_select_related = ["created_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return [name for name in self.fields if name not in self.readonly_fields]
        return self.fields

    @display(description=_("events"))
    def event_list(self, hook: Webhook) -> str:
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(event, event)) for event in hook.events)

    @display(description=_("current secret"))
    def secret_shown(self, hook: Webhook) -> str:
        return _("•••••••• (%(count)d characters, not shown)") % {"count": len(hook.secret)}

    @display(description=_("deliveries"))
    def deliveries(self, hook: Webhook):
        url = reverse("admin:incidents_webhookdelivery_changelist")
        url += f"?webhook__id__exact={hook.pk}"
        return format_html('<a class="underline" href="{}">{}</a>', url, _("Every delivery"))

    def save_model(self, request, obj, form, change):
        """Through the services, as every writer does."""
        data = form.cleaned_data
        try:
            if change:
                saved = webhook_update(
                    webhook=Webhook.objects.get(pk=obj.pk),
                    url=data["url"],
                    events=data["events"],
                    name=data["name"],
                    is_active=data["is_active"],
                    secret=data.get("new_secret") or None,
                )
            else:
                saved = webhook_create(
                    url=data["url"],
                    secret=data["new_secret"],
                    events=data["events"],
                    name=data["name"],
                    is_active=data["is_active"],
                    created_by=request.user,
                )
        except ValidationError as error:  # checked by the form already; raced otherwise
            raise PermissionDenied(" ".join(error.messages)) from error
        obj.pk, obj.secret, obj.created_at = saved.pk, saved.secret, saved.created_at


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(
    AdministratorsReadOnly, BoundedSearchMixin, SingleCountListMixin, ModelAdmin
):
    """Every delivery, newest first: read only; sent again by an administrator."""

    list_display = [
        "created_at",
        "webhook",
        "event",
        "status_label",
        "last_response_code",
        "duration_ms",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event", "webhook"]
    list_select_related = ["webhook"]
    search_fields = ["=id", "webhook__name"]
    fields = [
        "id",
        "webhook",
        "event",
        "status_label",
        "attempts",
        "last_response_code",
        "last_error",
        "duration_ms",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload_shown",
    ]
    readonly_fields = fields
    actions = ["send_again_selected"]
    change_form_outer_before_template = "admin/incidents/webhookdelivery/send_again.html"

    def has_send_again_permission(self, request, obj=None) -> bool:
        return access.sees_everything(request.user)

    @display(description=_("status"), ordering="status", label=STATUS_COLORS)
    def status_label(self, delivery: WebhookDelivery):
        return delivery.status, delivery.get_status_display()

    @display(description=_("payload as sent"))
    def payload_shown(self, delivery: WebhookDelivery):
        try:
            shown = json.dumps(json.loads(delivery.payload), indent=2, ensure_ascii=False)
        except ValueError:
            shown = delivery.payload
        return format_html('<pre class="whitespace-pre-wrap text-xs">{}</pre>', shown)

    @action(description=_("Send the selected deliveries again"), permissions=["send_again"])
    def send_again_selected(self, request, queryset):
        count = 0
        for delivery in queryset:
            webhook_delivery_send_again(delivery=delivery)
            count += 1
        messages.success(request, _("%(count)d deliveries queued again.") % {"count": count})

    def get_urls(self):
        return [
            path(
                "<str:delivery_id>/send-again/",
                self.admin_site.admin_view(self.send_again_view),
                name="incidents_webhookdelivery_send_again",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        if self.has_send_again_permission(request) and _is_uuid(object_id):
            extra["send_again_url"] = reverse(
                "admin:incidents_webhookdelivery_send_again", args=[object_id]
            )
        return super().change_view(request, object_id, form_url, extra)

    def send_again_view(self, request, delivery_id):
        """A POST queues a fresh attempt (same id); the delivery's page shows what came of it."""
        if not self.has_send_again_permission(request):
            raise PermissionDenied
        if not _is_uuid(delivery_id):
            raise Http404
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
        page = reverse("admin:incidents_webhookdelivery_change", args=[delivery.pk])
        if request.method == "POST":
            webhook_delivery_send_again(delivery=delivery)
            messages.success(request, _("The delivery is queued to be sent again."))
        return HttpResponseRedirect(page)
