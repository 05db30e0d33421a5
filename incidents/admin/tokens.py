"""API tokens, for administrators: made for a station or a system (its secret shown once, on the
page that answers the creation, and never again), revoked, and each use listed for the audit."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from incidents import access
from incidents.admin.administrators import AdministratorsReadOnly
from incidents.choices import ApiScope
from incidents.models import ApiToken, ApiTokenUse
from incidents.services.tokens import (
    MAX_EXPIRY_DAYS,
    NAME_MAX_CHARS,
    api_token_create,
    api_token_revoke,
)

STATE_COLORS = {"usable": "success", "expired": "warning", "revoked": "danger"}


class ApiTokenCreateForm(forms.Form):
    """What a new token is for: its name, what it may do, how long it lasts, its language."""

    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_CHARS,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("The station or system that uses it, e.g. FCT-LINE-3. Shown in timelines."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=ApiScope.choices, widget=UnfoldAdminCheckboxSelectMultipleWidget
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires in (days)"),
        required=False,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text=_("Empty: it lasts until it is revoked."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The product's"))],
        widget=UnfoldAdminSelectWidget,
        help_text=_("The language of the API's answers to this token."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices += list(ApiToken._meta.get_field("language").choices)


def _state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "usable" if token.is_usable() else "expired"


@admin.register(ApiToken)
class ApiTokenAdmin(AdministratorsReadOnly, BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    """Tokens open the product's data to machines: administrators make and revoke them; a
    token is never changed."""

    list_display = ["name", "starts_with", "scope_list", "state", "expires_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    fields = [
        "name",
        "prefix",
        "scopes",
        "language",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "uses",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]
    list_select_related = ["created_by"]

    def has_add_permission(self, request) -> bool:
        return access.sees_everything(request.user)

    def has_revoke_permission(self, request, obj=None) -> bool:
        return access.sees_everything(request.user)

    @display(description=_("starts with"))
    def starts_with(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @display(description=_("scopes"))
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    @display(description=_("state"), label=STATE_COLORS)
    def state(self, token: ApiToken):
        state = _state(token)
        labels = {"usable": _("Usable"), "expired": _("Expired"), "revoked": _("Revoked")}
        return state, labels[state]

    def add_view(self, request, form_url="", extra_context=None):
        """Makes the token and answers with its secret, once (201, no redirect: the secret is
        stored nowhere, only its digest, and the page is not kept by the browser)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenCreateForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New API token"),
            "form": form,
            "list_url": reverse("admin:incidents_apitoken_changelist"),
            "docs_url": reverse("api-v1:openapi-view"),
        }
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                token, secret = api_token_create(
                    name=data["name"],
                    scopes=data["scopes"],
                    expires_in_days=data["expires_in_days"],
                    language=data["language"],
                    created_by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                context.update(title=_("API token %(name)s") % {"name": token.name})
                context.update(token=token, secret=secret)
                response = TemplateResponse(
                    request, "admin/incidents/apitoken/created.html", context, status=201
                )
                add_never_cache_headers(response)
                return response
        return TemplateResponse(request, "admin/incidents/apitoken/add.html", context)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = sum(api_token_revoke(token=token) for token in queryset)
        messages.success(request, _("%(count)d token(s) revoked.") % {"count": revoked})

    @display(description=_("uses"))
    def uses(self, token: ApiToken):
        url = reverse("admin:incidents_apitokenuse_changelist") + f"?token__id__exact={token.pk}"
        return format_html(
            '<a class="underline" href="{}">{}</a>', url, _("Every use, newest first")
        )


@admin.register(ApiTokenUse)
class ApiTokenUseAdmin(
    AdministratorsReadOnly, BoundedSearchMixin, SingleCountListMixin, ModelAdmin
):
    """Every request made with a token, newest first: read only, as the audit needs it."""

    list_display = ["at", "token_name", "method", "path", "client", "request_id"]
    list_filter = ["token"]
    list_select_related = ["token"]
    search_fields = ["token__name", "path", "request_id"]
    readonly_fields = ["token", "at", "method", "path", "client", "request_id"]

    @display(description=_("token"), ordering="token__name")
    def token_name(self, use: ApiTokenUse):
        url = reverse("admin:incidents_apitoken_change", args=[use.token_id])
        return format_html('<a class="underline" href="{}">{}</a>', url, use.token.name)
