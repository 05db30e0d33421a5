"""No library internal is patched at start-up, the admin site is the product's own subclass, and
every remaining override of Unfold is listed in config/overrides.py and still matches the Unfold
that is installed (an upgrade that changes one fails here until someone has looked)."""

import hashlib
import importlib.util
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest
import unfold
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import sites as admin_sites
from django.urls import reverse

from config.admin_site import Site
from config.overrides import FOLLOWED, TEMPLATE_OVERRIDES, UNFOLD_VERSION
from incidents.models import Incident
from tests.factories import DeviceFactory

ROOT = Path(settings.BASE_DIR)
UNFOLD = Path(unfold.__file__).parent
# The library modules the product used to change at start-up, and their neighbours.
LIBRARY_MODULES = (
    "unfold.sites",
    "unfold.templatetags.unfold_list",
    "unfold.utils",
    "unfold.admin",
    "unfold.widgets",
    "django.contrib.admin.templatetags.admin_list",
    "django.forms.models",
)


def replaced_attributes(module) -> list[str]:
    """The names of `module` whose value is no longer what the module's own code gives them,
    found by running that code again in a fresh module and comparing."""
    package, _dot, leaf = module.__name__.rpartition(".")
    spec = importlib.util.spec_from_file_location(f"{package}._fresh_{leaf}", module.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    replaced = []
    for name, original in vars(fresh).items():
        if name.startswith("__"):
            continue
        live = getattr(module, name, None)
        defined_here = getattr(original, "__module__", None) == fresh.__name__
        if inspect.isfunction(original) and defined_here:
            same = inspect.isfunction(live) and live.__code__ == original.__code__
        elif inspect.isclass(original) and defined_here:
            same = inspect.isclass(live) and (live.__module__, live.__qualname__) == (
                module.__name__,
                original.__qualname__,
            )
        elif inspect.isfunction(original) or inspect.isclass(original):
            same = live is original
        else:
            same = type(live) is type(original)
            if same and isinstance(original, list | tuple | str | int):
                same = live == original
        if not same:
            replaced.append(name)
    return replaced


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class NoPatchTests:
    @pytest.mark.parametrize("name", LIBRARY_MODULES)
    def test_no_library_module_has_an_attribute_replaced(self, name):
        module = importlib.import_module(name)

        assert replaced_attributes(module) == []

    def test_a_replaced_function_or_cache_would_be_found(self, monkeypatch):
        from django.core.cache.backends.dummy import DummyCache
        from unfold import sites
        from unfold.templatetags import unfold_list

        monkeypatch.setattr(unfold_list, "result_headers", lambda cl: iter(()))
        monkeypatch.setattr(unfold_list, "display_for_label", lambda *args: "")
        monkeypatch.setattr(sites, "cache", DummyCache("ctrl-k", {}))

        assert replaced_attributes(unfold_list) == ["display_for_label", "result_headers"]
        assert replaced_attributes(sites) == ["cache"]

    def test_the_lean_lists_leave_unfolds_row_checkbox_alone(self):
        from unfold.admin import ModelAdmin

        from config.kit.lists import LeanListMixin

        assert "action_checkbox" not in vars(LeanListMixin)
        incidents = admin.site.get_model_admin(Incident)
        assert incidents.action_checkbox.__func__ is ModelAdmin.action_checkbox


class AdminSiteTests:
    def test_the_default_admin_site_is_the_products_own(self):
        assert isinstance(admin.site, Site)
        # Django's own name for it, which Unfold's default app config would have replaced.
        assert admin_sites.site is admin.site
        assert "config.apps.AdminConfig" in settings.INSTALLED_APPS
        assert "django.contrib.admin" not in settings.INSTALLED_APPS

    @pytest.mark.django_db
    def test_ctrl_k_answers_afresh_each_time(self, staff_client):
        """Unfold kept a person's answers for a term five minutes: a device registered (or a
        project restricted) meanwhile was answered as before."""
        asked = {"s": "SN-AFRESH", "extended": 1}

        before = staff_client.get(reverse("admin:search"), asked).content.decode()
        device = DeviceFactory(serial_number="SN-AFRESH-1")
        after = staff_client.get(reverse("admin:search"), asked).content.decode()

        change = reverse("admin:locations_device_change", args=[device.pk])
        assert change not in before
        assert change in after

    @pytest.mark.django_db
    def test_a_page_builds_the_app_list_only_where_it_is_shown(self, staff_client, monkeypatch):
        """Every page's context carries the app list, the sidebar shows the settings'
        navigation instead: it is built on the pages that show it (an app's index), not on the
        others."""
        from django.contrib.admin import AdminSite

        built = []
        original = AdminSite._build_app_dict

        def counted(site, request, label=None):
            built.append(label)
            return original(site, request, label)

        monkeypatch.setattr(AdminSite, "_build_app_dict", counted)

        listed = staff_client.get(reverse("admin:incidents_incident_changelist"))
        assert listed.status_code == 200
        assert built == []

        index = staff_client.get(reverse("admin:app_list", args=["incidents"]))
        assert index.status_code == 200
        assert reverse("admin:incidents_incident_changelist") in index.content.decode()
        assert built == ["incidents"]
        # An app with no list the person may open is not found (the list read as empty).
        assert staff_client.get(reverse("admin:app_list", args=["auth"])).status_code == 404


class OverrideTests:
    def test_unfold_is_pinned_to_the_version_the_overrides_were_made_for(self):
        pin = f"django-unfold=={UNFOLD_VERSION}"

        assert version("django-unfold") == UNFOLD_VERSION
        assert pin in (ROOT / "requirements.txt").read_text().splitlines()
        assert pin in (ROOT / "constraints.txt").read_text().splitlines()

    @pytest.mark.parametrize(
        "override", TEMPLATE_OVERRIDES + FOLLOWED, ids=lambda override: override.ours
    )
    def test_each_override_was_made_from_the_installed_unfolds_file(self, override):
        assert (ROOT / override.ours).is_file()
        assert sha256(UNFOLD / override.unfold) == override.sha256, (
            f"Unfold's {override.unfold} changed: carry the change over to {override.ours} "
            f"({override.why}), then store its new hash in config/overrides.py."
        )

    def test_every_template_standing_in_for_one_of_unfolds_is_listed(self):
        listed = {override.ours for override in TEMPLATE_OVERRIDES}
        unfolds = [UNFOLD / "templates", *UNFOLD.glob("contrib/*/templates")]
        unlisted = []
        for path in sorted((ROOT / "templates").rglob("*.html")):
            name = path.relative_to(ROOT / "templates").as_posix()
            # A template that extends Unfold's of the same name changes it by its blocks.
            extends_it = f'{{% extends "{name}" %}}' in path.read_text()
            stands_in = any((root / name).is_file() for root in unfolds) and not extends_it
            if stands_in and path.relative_to(ROOT).as_posix() not in listed:
                unlisted.append(name)
        assert unlisted == []
