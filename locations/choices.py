from django.db import models
from django.utils.translation import gettext_lazy as _


class LocationKind(models.TextChoices):
    BUILDING = "building", _("Building")
    AREA = "area", _("Area")
    SHELF = "shelf", _("Shelf")
    LAB = "lab", _("Lab")
    OTHER = "other", _("Other")
