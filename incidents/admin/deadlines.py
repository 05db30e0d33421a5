"""Stage deadlines in the admin: the working calendar and its days off and extra working days,
for administrators; and, on the incident list (and so on every work queue, which is that list
filtered), each open incident's deadline, marked when it is past, with a filter of the overdue
ones. The target time of each stage is set on its Stage ownership."""

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from config.kit.lists import SingleCountListMixin
from incidents.admin.administrators import AdministratorsOnly
from incidents.models import CalendarDay, Incident, WorkCalendar
from incidents.selectors.deadlines import Deadlines, deadlines_read, work_calendar
from incidents.services.deadlines import (
    calendar_day_refusal,
    calendar_day_save,
    work_calendar_refusal,
    work_calendar_save,
)

OVERDUE_PARAM = "overdue"
WEEKDAYS = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]


def request_deadlines(request) -> Deadlines:
    """The calendar and targets, read once for the page."""
    if "_deadlines" not in request.__dict__:
        request._deadlines = deadlines_read()
    return request._deadlines


def overdue_list_url() -> str:
    return f"{reverse('admin:incidents_incident_changelist')}?{OVERDUE_PARAM}=1"


class DeadlineColumnMixin:
    """For the incident admin: the list's column of each open incident's deadline."""

    @display(description=_("deadline"), ordering="stage_entered_at")
    def deadline_mark(self, incident: Incident) -> str:
        deadline = getattr(incident, "deadline_at", None)
        if deadline is None:
            return ""
        when = date_format(timezone.localtime(deadline), "SHORT_DATETIME_FORMAT")
        if deadline <= timezone.now():
            return format_html(
                '<span class="adt-badge" data-deadline="late">{}</span>',
                _("Overdue since %(when)s") % {"when": when},
            )
        return when

    def get_changelist_instance(self, request):
        """The page of incidents, each with its deadline (the calendar and the targets read
        once for the page)."""
        changelist = super().get_changelist_instance(request)
        deadlines = request_deadlines(request)
        for incident in changelist.result_list:
            incident.deadline_at = deadlines.deadline(incident)
        return changelist


# --- the calendar, for administrators -------------------------------------------------------------
class WorkCalendarForm(forms.ModelForm):
    weekdays = forms.MultipleChoiceField(
        label=_("working weekdays"),
        choices=WEEKDAYS,
        # None chosen is refused with the reason (work_calendar_refusal), not "required".
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )

    class Meta:
        model = WorkCalendar
        fields = ["weekdays", "day_start", "day_end"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["weekdays"] = list(self.instance.weekdays)

    def clean_weekdays(self) -> str:
        return "".join(sorted(set(self.cleaned_data["weekdays"])))

    def clean(self):
        data = super().clean()
        refusals = work_calendar_refusal(
            weekdays=data.get("weekdays") or "",
            day_start=data.get("day_start"),
            day_end=data.get("day_end"),
        )
        for field, refusal in refusals.items():
            if field not in self.errors:
                self.add_error(field, refusal)
        return data


@admin.register(WorkCalendar)
class WorkCalendarAdmin(AdministratorsOnly, SingleCountListMixin, ModelAdmin):
    """The one working week: its list opens the page itself."""

    form = WorkCalendarForm
    fields = ["weekdays", "day_start", "day_end"]

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method != "GET" or not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        return HttpResponseRedirect(reverse("admin:incidents_workcalendar_change", args=[1]))

    def get_object(self, request, object_id, from_field=None):
        # Until an administrator saves it, the calendar is its defaults, shown to be saved.
        found = super().get_object(request, object_id, from_field)
        if found is None and str(object_id) == "1":
            return work_calendar()
        return found

    def save_model(self, request, obj, form, change) -> None:
        work_calendar_save(calendar=obj)


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["day", "working", "note"]

    def clean_day(self) -> datetime.date:
        day = self.cleaned_data.get("day")
        if refusal := calendar_day_refusal(day):
            raise ValidationError(refusal)
        return day

    def clean_note(self) -> str:
        note = self.cleaned_data.get("note") or ""
        if not note.isprintable():
            raise ValidationError(_("holds characters that are not text"))
        return note.strip()


@admin.register(CalendarDay)
class CalendarDayAdmin(AdministratorsOnly, SingleCountListMixin, ModelAdmin):
    form = CalendarDayForm
    list_display = ["day", "kind", "note"]
    list_filter = ["working"]
    date_hierarchy = "day"
    fields = ["day", "working", "note"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A holiday typed on the wrong day is removed; nothing else refers to it.
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        calendar_day_save(day=obj)

    @display(description=_("kind"), ordering="working", label={True: "success", False: "info"})
    def kind(self, day: CalendarDay):
        return day.working, _("extra working day") if day.working else _("holiday")
