"""The admin's search-as-you-type choice of a related record draws a crafted key again as a form
error: Django's widget looked the key up as it came while drawing the form shown again, and text
where a number goes answered 500 (config/kit/widgets.py)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from config.kit.widgets import AutocompleteKeysMixin
from incidents.models import Department

pytestmark = pytest.mark.django_db


class AutocompleteKeyTests:
    @pytest.mark.parametrize("crafted", ["abc", "1.5", str(2**63)])
    def test_a_crafted_key_in_an_autocomplete_field_is_a_form_error(self, admin_client, crafted):
        response = admin_client.post(
            reverse("admin:incidents_department_add"),
            {"code": "NEW", "name": "New department", "supervisors": [crafted]},
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors["supervisors"]
        assert not Department.objects.filter(code="NEW").exists()

    def test_a_crafted_key_in_a_single_autocomplete_field_is_a_form_error(self, admin_client):
        response = admin_client.post(
            reverse("admin:incidents_stageownership_add"),
            {"stage": "me_analysis", "department": "abc", "work_location": "abc"},
        )

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["department"] and errors["work_location"]

    def test_every_list_with_autocomplete_fields_uses_the_key_checking_widgets(self, rf):
        request = rf.get("/")
        unchecked = [
            type(model_admin).__name__
            for model_admin in admin.site._registry.values()
            if model_admin.get_autocomplete_fields(request)
            and not isinstance(model_admin, AutocompleteKeysMixin)
        ]

        assert unchecked == []
