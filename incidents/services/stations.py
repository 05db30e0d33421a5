"""The line's test stations as administrators configure them: a result names its station, and
only a known, active station's results are taken (or, when the factory lets the line register
its stations, an unknown name becomes a station on its first result). Each station may set its
own number of fails in a row that open an incident."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from incidents.models import Station
from incidents.models.results import MAX_FAILS_TO_OPEN

NAME_MAX_CHARS = Station._meta.get_field("name").max_length


def station_name_refusal(name: str) -> str:
    """Why `name` cannot name a station ("" when it can): what a station's result could never
    carry (the API refuses the same)."""
    if not name.strip():
        return _("A station needs a name.")
    if len(name) > NAME_MAX_CHARS:
        return _("“%(field)s” is longer than %(max)s characters.") % {
            "field": _("name"),
            "max": NAME_MAX_CHARS,
        }
    if not name.isprintable():
        return _("holds characters that are not text")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return _("holds characters that are not text")
    return ""


@transaction.atomic
def station_save(*, station: Station) -> Station:
    """Creates or changes a station, its name checked as a result would carry it and unique
    ignoring case."""
    station.name = station.name.strip()
    refusal = station_name_refusal(station.name)
    if refusal:
        raise ValidationError({"name": refusal})
    station.full_clean()
    station.save()
    return station


def fails_to_open(station: Station) -> int:
    """How many fails in a row of one device at `station` open an incident."""
    return station.fails_to_open or min(settings.RESULTS_FAILS_TO_OPEN, MAX_FAILS_TO_OPEN)


def stations_named(names: set[str], *, register: bool) -> dict[str, Station]:
    """The stations `names` name, by the name in capitals (a station is one ignoring case),
    inactive ones included; with `register`, the names no station has yet become stations."""
    found = {
        station.key: station
        for station in Station.objects.annotate(key=Upper("name")).filter(
            key__in={name.upper() for name in names}
        )
    }
    if not register:
        return found
    for name in sorted(names):
        if name.upper() in found:
            continue
        try:
            with transaction.atomic():
                station = station_save(station=Station(name=name))
        except (ValidationError, IntegrityError):
            # Registered meanwhile by another request, or a name no station may have.
            station = Station.objects.filter(name__iexact=name).first()
            if station is None:
                continue
        found[name.upper()] = station
    return found
