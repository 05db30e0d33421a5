"""The role form in words: the capabilities (incidents/capabilities.py) as checkboxes with their
descriptions, and how much of each the role holds; the permission list stays for experts."""

from django import forms
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.widgets import CHECKBOX_CLASSES

from incidents.capabilities import (
    CAPABILITIES,
    CAPABILITY_BY_CODE,
    CapabilityCode,
    Holding,
    holdings,
    included_in,
    permission_labels,
    permissions_after,
    permissions_of,
)
from incidents.choices import Role
from incidents.selectors import (
    manages_people_with,
    role_matrix,
    role_permission_names,
    role_permissions_of,
)

# What the name of a built-in role means beyond its capabilities (incidents/rules.py and the
# department services read the name).
BUILT_IN_NOTES = {
    Role.ADMIN: _(
        "Built in. Whoever holds it is an administrator for the workflow whatever capabilities "
        "it holds: they review and cancel any incident, mark chat messages as evidence, write "
        "any problem group's 8D report (with Work on assigned incidents) and see the site's "
        "status."
    ),
    Role.SUPERVISOR: _(
        "Built in. Given and taken automatically with a department's supervisors (set on the "
        "department's page); who assigns and reviews a stage is its department's supervisors."
    ),
    Role.STAFF: _("Built in. Given to every person created or imported without another role."),
}


class CapabilitiesWidget(forms.CheckboxSelectMultiple):
    """Each capability a checkbox with its description, marked when the role holds it only
    partly (and what it lacks), or when another capability includes it."""

    template_name = "widgets/capabilities.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.details: dict[str, dict] = {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["checkbox_classes"] = " ".join(CHECKBOX_CLASSES)
        selected = {str(v) for v in value or ()}
        context["capabilities"] = [
            {
                "code": capability.code.value,
                "name": capability.name,
                "description": capability.description,
                "id": f"{context['widget']['attrs'].get('id', 'id_' + name)}_{index}",
                "checked": capability.code.value in selected,
                "included_in": [c.name for c in included_in(capability.code)],
                **self.details.get(capability.code.value, {}),
            }
            for index, capability in enumerate(CAPABILITIES)
        ]
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates folder, which the forms' own renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class RoleForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(
        label=_("What people with this role may do"),
        choices=CapabilityCode.choices,
        required=False,
        widget=CapabilitiesWidget,
    )

    class Meta:
        model = Group
        fields = ["name", "permissions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = role_permission_names(self.instance) if self.instance.pk else set()
        states = holdings(current)
        self.held_before = {s.capability.code.value for s in states if s.holding == Holding.ALL}
        self.fields["capabilities"].initial = sorted(self.held_before)
        self.fields["capabilities"].widget.details = {
            s.capability.code.value: {
                "partly": s.holding == Holding.PARTLY,
                "missing": permission_labels(s.missing),
            }
            for s in states
        }
        self.granted: set[str] = set()
        self.withdrawn: set[str] = set()

    def clean_capabilities(self) -> list[str]:
        selected = set(self.cleaned_data["capabilities"])
        kept = permissions_of(selected)
        for code in sorted(self.held_before - selected):
            wanted = CAPABILITY_BY_CODE[code].permissions
            if wanted <= kept:
                others = [c.name for c in included_in(code) if c.code in selected] or [
                    c.name for c in CAPABILITIES if c.code in selected and c.permissions & wanted
                ]
                raise forms.ValidationError(
                    gettext(
                        "%(capability)s comes with %(others)s, which stay ticked: untick them "
                        "too to take it away."
                    )
                    % {
                        "capability": CAPABILITY_BY_CODE[code].name,
                        "others": ", ".join(str(name) for name in others),
                    }
                )
        self.granted = selected - self.held_before
        self.withdrawn = self.held_before - selected
        return sorted(selected)

    def clean(self):
        data = super().clean()
        by = getattr(self, "by", None)
        if by is None or self.instance.pk is None or "capabilities" not in data:
            return data
        roles = role_permissions_of(by)
        if self.instance.pk not in roles or not manages_people_with(by, roles):
            return data
        # What the role will hold: the permission list as posted, then the capabilities
        # ticked and unticked on top of it (as RoleAdmin.save_related saves them).
        expert = data.get("permissions")
        posted = (
            {f"{p.content_type.app_label}.{p.codename}" for p in expert}
            if expert is not None
            else roles[self.instance.pk]
        )
        after = permissions_after(posted, self.granted, self.withdrawn)
        if not manages_people_with(by, {**roles, self.instance.pk: after}):
            raise forms.ValidationError(
                gettext(
                    "You hold this role: without %(capability)s it would stop you managing "
                    "people, this page included. Someone else who manages people makes this "
                    "change."
                )
                % {"capability": CAPABILITY_BY_CODE[CapabilityCode.MANAGE_PEOPLE].name}
            )
        return data


def role_label(role: Group) -> str:
    """A built-in role by its translated name, any other by the name it was given."""
    return str(dict(Role.choices).get(role.name, role.name))


def fieldsets(role: Group | None) -> tuple:
    """The capabilities first (with what a built-in role's name means), the permission list
    folded away for experts."""
    note = BUILT_IN_NOTES.get(role.name) if role is not None else None
    return (
        (None, {"fields": ["name", "capabilities"], **({"description": note} if note else {})}),
        (
            _("Permissions, for experts"),
            {
                "classes": ["collapse"],
                "fields": ["permissions"],
                "description": _(
                    "The permissions behind the capabilities, one by one. They are saved first; "
                    "ticking or unticking a capability above then adds or takes away its "
                    "permissions."
                ),
            },
        ),
    )


def capability_marks(states) -> str:
    """The capabilities a role holds, as marks (those held partly say what they lack)."""
    marks = [
        format_html('<span class="adt-mark is-held">{}</span>', state.capability.name)
        if state.holding == Holding.ALL
        else format_html(
            '<span class="adt-mark is-partly" title="{}">{}</span>',
            gettext("lacks %(missing)s") % {"missing": ", ".join(permission_labels(state.missing))},
            gettext("%(capability)s (partly)") % {"capability": state.capability.name},
        )
        for state in states
        if state.holding != Holding.NONE
    ]
    if not marks:
        return "—"
    return format_html('<div class="adt-marks">{}</div>', mark_safe("".join(marks)))


def matrix_response(model_admin, request: HttpRequest) -> HttpResponse:
    """The role matrix page: roles by capabilities, with their members. It only reads."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    built_in = list(Role.values)
    roles = sorted(
        model_admin.get_queryset(request),
        key=lambda role: (
            built_in.index(role.name) if role.name in built_in else len(built_in),
            role.name.casefold(),
        ),
    )
    for role in roles:
        role.label = role_label(role)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "model_admin": model_admin,
        "title": _("Role matrix"),
        **role_matrix(roles),
    }
    return TemplateResponse(request, "admin/auth/group/role_matrix.html", context)


def is_built_in(role: Group | None) -> bool:
    return role is not None and role.name in Role.values


def kept_roles(roles) -> list[str]:
    """Why a built-in role among `roles` is not deleted, for the delete page."""
    return [
        gettext("%(role)s is a built-in role: the rules and the departments rely on it.")
        % {"role": role_label(role)}
        for role in roles
        if is_built_in(role)
    ]


def members_link(role: Group) -> str:
    """The number of the role's active members, linked to them on the employee list."""
    query = urlencode({"groups__id__exact": role.pk, "is_active__exact": 1})
    url = f"{reverse('admin:incidents_employee_changelist')}?{query}"
    return format_html('<a href="{}">{}</a>', url, role.member_count)
