from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConfigConfig(AppConfig):
    """The site as a whole: its operations commands (status, backup, restore, the worker)."""

    name = "config"
    verbose_name = "Site"


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with the product's site as the default one (`admin.site`)."""

    # Named in INSTALLED_APPS in place of "django.contrib.admin"; not the "config" app's config.
    default = False
    default_site = "config.admin_site.Site"
