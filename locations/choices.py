from django.db import models
from django.utils.translation import gettext_lazy as _

from locations import reasons


class LocationKind(models.TextChoices):
    BUILDING = "building", _("Building")
    AREA = "area", _("Area")
    SHELF = "shelf", _("Shelf")
    LAB = "lab", _("Lab")
    OTHER = "other", _("Other")


# The change reason of history rows written by an import (a code, see locations.reasons): how a
# later import tells what it wrote itself from changes made in the product since, which it must
# not override.
IMPORT_REASON = reasons.encode(reasons.LEGACY_IMPORT)
# … and of changes made through the import buttons of the lists.
SPREADSHEET_REASON = reasons.encode(reasons.SPREADSHEET_IMPORT)
