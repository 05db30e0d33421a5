"""Trails in the admin: what they record is never rewritten or deleted from a page.

- `ReadOnlyHistoryAdmin` takes the place of simple-history's `SimpleHistoryAdmin`: a historical
  version is shown read-only to people who may view the record, and nothing is ever saved from
  it (simple-history's `SIMPLE_HISTORY_REVERT_DISABLED` only hides the button: its page still
  saves what is posted to it).
- What changed between versions reads as a person says it (`readable_value`): empty as empty,
  stages and steps by their labels in the reader's language, times in the factory's zone.
- `KeptInTrailsAdminMixin` is for the people and places trails name: deleting one that a trail
  names is refused with the advice to deactivate it, and "Deactivate selected" does that.

Neither knows an app's models (only the models it is given), so every app can use them; an app
puts the reasons its trails keep in words by overriding `history_reason`.
"""

from datetime import date, datetime

from django.apps import apps
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject, HistoricalChanges
from simple_history.template_utils import HistoricalRecordContextHelper
from unfold.decorators import action

from config.kit.ids import pk_or_404

READ_METHODS = ("GET", "HEAD")


EMPTY = "—"
# What django-simple-history's DeletedObject says of a record deleted since, translated by this
# project's catalogue (simple-history ships no Chinese); named here so that `make messages`
# keeps it.
DELETED_RECORD = gettext_noop("Deleted %(type_name)s")


def readable_value(field, value):
    """A field's value as a history page says it to a person: empty as empty (a foreign key
    that was not set is not a "deleted" record), a choice by its label in the reader's
    language, a moment in the factory's time zone to the second, a date and a yes/no in
    words. Anything else (a record, a text, a number) as it is."""
    if value is None or value == "" or (isinstance(value, DeletedObject) and value.pk is None):
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        moment = (
            timezone.localtime(value, timezone.get_default_timezone())
            if timezone.is_aware(value)
            else value
        )
        return f"{date_format(moment, 'DATE_FORMAT')} {moment:%H:%M:%S}"
    if isinstance(value, date):
        return date_format(value, "DATE_FORMAT")
    if getattr(field, "flatchoices", None) and not isinstance(value, list | dict):
        return str(dict(field.flatchoices).get(value, value))
    return value


class ReadableChanges(HistoricalRecordContextHelper):
    """The "Changes" column of a history page, each value as `readable_value` says it."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        return readable_value(self.model._meta.get_field(change.field), value)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """History pages that only show: a past version is never put back, for anyone."""

    # What the model's name reads besides its own fields (an incident is named by its
    # device's serial number): read once for a page of past versions, not once a version.
    history_named_by: tuple[str, ...] = ()

    def history_reason(self, stored) -> str:
        """A version's reason as the reader reads it; an app whose reasons are codes puts
        them in words here."""
        return stored or ""

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def has_change_history_permission(self, request, obj=None) -> bool:
        return False

    def visible_history(self, request, records):
        """The past versions (a queryset of historical records) the person may see; a model
        admin whose rows are not all for everyone narrows them."""
        return records

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableChanges(self.model, historical_record)

    def get_history_queryset(self, request, history_manager, pk_name: str, object_id):
        records = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return self.visible_history(request, records)

    def _object_pk(self, object_id):
        """The record's key in a history address; "abc" or "%ED%A0%80" names no record (404),
        rather than a query that fails."""
        try:
            return self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404 from None

    def history_view(self, request, object_id, extra_context=None):
        self._object_pk(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The view simple-history ships saves whatever is posted to it.
        if request.method not in READ_METHODS:
            return HttpResponseNotAllowed(READ_METHODS)
        # Ids from the address: "abc" or a number no key holds is no such version, not an error.
        object_pk = self._object_pk(object_id)
        version_id = pk_or_404(version_id)
        history = getattr(self.model, self.model._meta.simple_history_manager_attribute)
        version = history.filter(
            **{self.model._meta.pk.attname: object_pk, "history_id": version_id}
        )
        if not self.visible_history(request, version).exists():
            raise Http404
        # `past_version`: the panels around the form (workflow, timeline, device trail) are
        # about the record as it is now, and leave a past version's page (each panel's template
        # says `{% if original and not past_version %}`).
        extra_context = {**(extra_context or {}), "change_history": False, "past_version": True}
        return super().history_form_view(request, object_id, version_id, extra_context)

    def render_history_view(self, request, template, context, **kwargs):
        page = context.get("page_obj")
        if page is not None:
            records = list(page.object_list)
            # Each version as the page names it, built once with what its name reads.
            versions = [record.history_object for record in records]
            prefetch_related_objects(versions, *self.history_named_by)
            for record, version in zip(records, versions, strict=True):
                record.history_object = version
                # Only shown, never saved: a reason the system wrote, in the reader's language.
                record.history_change_reason = self.history_reason(record.history_change_reason)
        adminform = context.get("adminform")
        if adminform is not None:
            # Every field shown as text, as on the page of someone who may only view.
            context["adminform"] = helpers.AdminForm(
                adminform.form,
                adminform.fieldsets,
                {},
                flatten_fieldsets(adminform.fieldsets),
                model_admin=self,
            )
        return super().render_history_view(request, template, context, **kwargs)


def _pointing_at(model, candidates) -> list:
    """(model, foreign key) of each foreign key among `candidates`' fields that points at
    `model`."""
    concrete = model._meta.concrete_model
    return [
        (candidate, field)
        for candidate in candidates
        for field in candidate._meta.fields
        if field.many_to_one and field.related_model._meta.concrete_model is concrete
    ]


def _trail_name(trail_model) -> str:
    if issubclass(trail_model, HistoricalChanges):
        return _("history of %(things)s") % {
            "things": trail_model.instance_type._meta.verbose_name_plural
        }
    return str(trail_model._meta.verbose_name_plural)


def trail_mentions(model, pks, trail_models=()) -> dict:
    """Which of the records `pks` of `model` a trail names, and where: {pk: [trail names]}.

    Trails are every model's history (device holders and places, who made each change…) and
    `trail_models` (e.g. the incident timeline), whatever their foreign keys do on delete."""
    historical = [m for m in apps.get_models() if issubclass(m, HistoricalChanges)]
    mentions: dict = {}
    for trail_model, field in _pointing_at(model, [*historical, *trail_models]):
        named = (
            trail_model._base_manager.filter(**{f"{field.attname}__in": pks})
            .values_list(field.attname, flat=True)
            .distinct()
        )
        for pk in named:
            names = mentions.setdefault(pk, [])
            if _trail_name(trail_model) not in names:
                names.append(_trail_name(trail_model))
    return mentions


class KeptInTrailsAdminMixin:
    """For a model with an `is_active` flag whose records trails name (people, places).

    Deleting a record that a trail names (single page and bulk action alike) is refused, each
    one listed with the advice to deactivate it; list `deactivate_selected` in `actions` and
    implement `deactivate(request, obj)` (returns why not, or None once done)."""

    # Trails besides the models' history, e.g. the incident timeline.
    trail_models: tuple = ()

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        objs = list(objs)
        mentions = trail_mentions(self.model, [obj.pk for obj in objs], self.trail_models)
        kept = [
            _("%(object)s is named in trails (%(trails)s): deactivate it instead of deleting it.")
            % {"object": obj, "trails": ", ".join(mentions[obj.pk])}
            for obj in objs
            if obj.pk in mentions
        ]
        return deleted, model_count, perms_needed, [*kept, *protected]

    def deactivate(self, request, obj) -> str | None:
        raise NotImplementedError

    @action(description=gettext_lazy("Deactivate selected"), permissions=["change"])
    def deactivate_selected(self, request, queryset):
        done, refused = [], []
        for obj in queryset.filter(is_active=True):
            reason = (
                self.deactivate(request, obj)
                if self.has_change_permission(request, obj)
                else _("You may not change %(object)s.") % {"object": obj}
            )
            if reason:
                refused.append(reason)
            else:
                done.append(str(obj))
        if done:
            messages.success(request, _("Deactivated: %(list)s") % {"list": ", ".join(done)})
        elif not refused:
            messages.info(request, _("The selected ones were inactive already."))
        for reason in refused:
            messages.warning(request, reason)
