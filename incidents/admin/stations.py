"""The line's test stations, for administrators: the names results may carry, whether a station
is active, and how many fails in a row of one device open an incident there."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from incidents.admin.administrators import AdministratorsOnly
from incidents.models import Station
from incidents.services.stations import fails_to_open, station_name_refusal, station_save


class StationForm(forms.ModelForm):
    class Meta:
        model = Station
        fields = ["name", "description", "fails_to_open", "active"]

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        refusal = station_name_refusal(name)
        if refusal:
            raise ValidationError(refusal)
        return name


@admin.register(Station)
class StationAdmin(AdministratorsOnly, BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    form = StationForm
    list_display = ["name", "fails_needed", "active", "description"]
    list_filter = ["active"]
    search_fields = ["name"]
    fields = ["name", "description", "fails_to_open", "active", "created_at"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change) -> None:
        station_save(station=obj)

    @display(description=_("fails in a row to open an incident"), ordering="fails_to_open")
    def fails_needed(self, station: Station) -> str:
        if station.fails_to_open:
            return str(station.fails_to_open)
        return _("%(count)s (the product's setting)") % {"count": fails_to_open(station)}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "fails_to_open" and field is not None:
            field.widget.attrs["placeholder"] = str(settings.RESULTS_FAILS_TO_OPEN)
        return field
