"""List filters the admin's lists share.

Unfold's date-and-time range filter applies a bound only when both its date and its time are
typed, and it reads them with the server's input formats into a time without a zone: "opened
from 1 November" with no time filtered nothing while the list went on saying "100,090 results",
and a mistyped date was dropped without a word. `DateTimeRangeFilter` reads its bounds through
its own form: a date alone means the whole day (from its first moment, to its last), the bounds
are times in the factory's zone, and a bound that cannot be read (or names a day outside
FIRST_DAY to LAST_DAY, such as 0001-01-01, which answered 500) leaves the list unfiltered with
a message saying so (the panel shows the field's error).
"""

import datetime

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.contrib.filters.forms import RangeDateTimeForm

FROM, TO = "_from", "_to"
# The days a bound may name: every record of the factory, far either side.
FIRST_DAY, LAST_DAY = datetime.date(1900, 1, 1), datetime.date(2999, 12, 31)


class DateWithOptionalTimeField(forms.SplitDateTimeField):
    """A date and a time, where a date alone stands for the day's first moment, or its last
    (`end_of_day`) for the upper bound of a range."""

    def __init__(self, *, end_of_day: bool, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(require_all_fields=False, required=False, **kwargs)
        self.fields[1].required = False

    def compress(self, data_list):
        if data_list and data_list[0] is not None and not FIRST_DAY <= data_list[0] <= LAST_DAY:
            # The calendar's first and last days are moments no zone converts (0001-01-01 in
            # the factory's zone is before the year 1 in UTC): a server error, not a filter.
            raise forms.ValidationError(
                _("Dates run from %(first)s to %(last)s.")
                % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
                code="out_of_range",
            )
        if data_list and data_list[0] is not None and data_list[1] in self.empty_values:
            moment = datetime.time.max if self.end_of_day else datetime.time.min
            data_list = [data_list[0], moment]
        return super().compress(data_list)


class DateTimeRangeForm(RangeDateTimeForm):
    """Unfold's range form (its widgets and their calendar) with bounds a date alone may give."""

    def __init__(self, name: str, *args, **kwargs) -> None:
        super().__init__(name, *args, **kwargs)
        for suffix in (FROM, TO):
            widget = self.fields[name + suffix].widget
            self.fields[name + suffix] = DateWithOptionalTimeField(
                end_of_day=suffix == TO, label="", widget=widget
            )


class DateTimeRangeFilter(RangeDateTimeFilter):
    """A from-to filter on a date-and-time column (see the module's docstring)."""

    form_class = DateTimeRangeForm

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.used_parameters:
            return queryset
        name = self.parameter_name
        form = self.form_class(name=name, data=self.used_parameters)
        if not form.is_valid():
            errors = " ".join(error for field in form.errors.values() for error in field)
            messages.warning(
                request,
                _("Not filtered by %(field)s: %(errors)s")
                % {"field": capfirst(self.title), "errors": errors},
            )
            return queryset
        bounds = {}
        if (start := form.cleaned_data[name + FROM]) is not None:
            bounds[f"{self.field_path}__gte"] = start
        if (end := form.cleaned_data[name + TO]) is not None:
            bounds[f"{self.field_path}__lte"] = end
        return queryset.filter(**bounds)
