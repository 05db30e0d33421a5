"""The 8D report on a problem group's page: a tab with D1 … D8 and their dates, written by the
group's owner or an administrator (incidents.services.eightd_update), shown read-only to
everyone else who may see the group."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from unfold.admin import StackedInline
from unfold.overrides import FORMFIELD_OVERRIDES_INLINE
from unfold.widgets import UnfoldAdminTextareaWidget

from incidents import rules, services
from incidents.models import EightD, ProblemGroup

# What the group's own form edits; its owner may write the 8D without changing these.
GROUP_FIELDS = [
    field.name for field in ProblemGroup._meta.fields if field.editable and not field.primary_key
]


# The 8D tab's form prefix (the group's accessor of its report).
EIGHTD_PREFIX = EightD._meta.get_field("group").remote_field.get_accessor_name()


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").strip()


class EightDInline(StackedInline):
    """The 8D tab: each discipline's text beside its date, in the order D1 … D8."""

    model = EightD
    tab = True
    max_num = 1
    can_delete = False
    hide_title = True
    verbose_name = verbose_name_plural = EightD._meta.verbose_name
    formfield_overrides = {
        **FORMFIELD_OVERRIDES_INLINE,
        models.TextField: {"widget": UnfoldAdminTextareaWidget(attrs={"rows": 4})},
    }
    fields = [(name, f"{name}_date") for name in EightD.DISCIPLINES]
    template_before = "admin/incidents/problemgroup/eightd_owner.html"

    def get_extra(self, request, obj=None, **kwargs) -> int:
        # A one-to-one inline always allows one form: offered only to who may write it.
        return 1 if self.has_add_permission(request, obj) else 0

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is not None and rules.can_fill_eightd(obj, request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is not None and rules.can_fill_eightd(obj, request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EightDOwnerMixin:
    """A problem group's page as its owner may use it: the owner is picked by whoever may change
    the group; the group's owner (who may not change groups) saves the page for the 8D tab only,
    its other fields read-only; the 8D is written through the service, which refuses anyone
    else whatever they post."""

    autocomplete_fields = ["owner"]

    def get_inlines(self, request, obj):
        inlines = super().get_inlines(request, obj)
        # Not on the add page: a group gets its 8D once it exists and has an owner.
        return inlines if obj is not None else [i for i in inlines if i is not EightDInline]

    def _may_change_group(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_change_group(request, obj) or (
            obj is not None and rules.can_fill_eightd(obj, request.user)
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not self._may_change_group(request, obj):
            return [*readonly, *(name for name in GROUP_FIELDS if name not in readonly)]
        return readonly

    def _changes_eightd(self, request, group: ProblemGroup) -> bool:
        """Whether the POST changes the 8D report of `group` (sent by someone who may not write
        it: a page opened before the group changed owner, or a post made by hand)."""
        stored = EightD.objects.filter(group=group).first()
        for name in EightD.FIELDS:
            key = f"{EIGHTD_PREFIX}-0-{name}"
            if key not in request.POST:
                continue
            # Read as the form reads it: dates in the reader's format, text without the
            # browser's line endings.
            field = EightD._meta.get_field(name).formfield()
            try:
                posted = field.clean(request.POST[key])
            except ValidationError:
                return True
            value = getattr(stored, name, None)
            if isinstance(posted, str):
                posted, value = _text(posted), _text(value or "")
            if posted != value:
                return True
        return False

    def save_model(self, request, obj, form, change) -> None:
        if not change or self._may_change_group(request, obj):
            super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not EightD:
            return super().save_formset(request, form, formset, change)
        # What formset.save() would leave for the change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for item in formset.forms:
            if not item.has_changed():
                continue
            created = item.instance.pk is None
            eightd = services.eightd_update(
                group=form.instance,
                by=request.user,
                **{name: item.cleaned_data[name] for name in EightD.FIELDS},
            )
            if created:
                formset.new_objects.append(eightd)
            else:
                formset.changed_objects.append((eightd, item.changed_data))
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        group = self.get_object(request, object_id) if request.method == "POST" else None
        # Someone who may not change the page at all is refused by the admin (403).
        refusal = (
            group is not None
            and self.has_change_permission(request, group)
            and services.eightd_refusal(group=group, user=request.user)
        )
        if refusal and self._changes_eightd(request, group):
            # The admin would drop the read-only tab's data without a word: refuse it all.
            nothing_saved = _("Nothing on the page was saved.")
            messages.error(request, f"{refusal} {nothing_saved}")
            return HttpResponseRedirect(request.get_full_path())
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except services.WorkflowError as error:
            # Nothing of the page was saved (the admin saves it in one transaction).
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())
