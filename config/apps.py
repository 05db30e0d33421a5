from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The site as a whole: its operations commands (status, backup, restore, the worker)."""

    name = "config"
    verbose_name = "Site"
