"""Kinds of rooms and messages, and the limits of the chat."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomKind(models.TextChoices):
    """What a room is about; the value is the word used in its WebSocket address."""

    INCIDENT = "incident", _("Incident")
    PROBLEM_GROUP = "problem-group", _("Problem group")


class MessageKind(models.TextChoices):
    TEXT = "text", _("Message")
    # A line the system writes when something happens to the room's incident (an approval, a
    # record, a move of the device): stored as a code with parameters, shown in each reader's
    # language.
    SYSTEM = "system", _("System line")


class RevisionKind(models.TextChoices):
    EDIT = "edit", _("Edited")
    DELETE = "delete", _("Deleted")
