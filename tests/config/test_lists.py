"""Long lists open fast: 50 rows a page unless the person chooses otherwise, and each row carries
its data, not Unfold's utility classes and a hidden copy of the row menu."""

import re

import factory
import pytest
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from unfold.templatetags import unfold_list

from config.kit import inputs, lists
from config.kit.lists import DEFAULT_PAGE_SIZE
from incidents.models import Incident
from locations.models import Device
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

INCIDENTS = reverse("admin:incidents_incident_changelist")
DEVICES = reverse("admin:locations_device_changelist")
LOCATIONS = reverse("admin:locations_location_changelist")


def rows(response) -> list[str]:
    """The list's rows as the page holds them."""
    return re.findall(r'<tr class="data-row">.*?</tr>', response.content.decode(), re.S)


def templates_rendered(client, url: str) -> tuple[object, list[str]]:
    """The page at `url`, and the names of the templates rendering it rendered, in order."""
    from django.test.signals import template_rendered

    rendered = []

    def count(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(count)
    try:
        return client.get(url), rendered
    finally:
        template_rendered.disconnect(count)


@pytest.fixture
def sixty_incidents(db):
    return IncidentFactory.create_batch(60)


class PageSizeTests:
    def test_a_list_shows_fifty_rows_a_page_by_default(self, admin_client, sixty_incidents):
        page = admin_client.get(INCIDENTS)

        assert DEFAULT_PAGE_SIZE == 50
        assert len(page.context["cl"].result_list) == 50
        assert page.context["cl"].result_count == 60

    def test_the_chosen_size_is_kept_for_that_list(self, admin_client, sixty_incidents):
        chosen = admin_client.get(INCIDENTS, {"per_page": "25"})
        later = admin_client.get(INCIDENTS)
        devices = admin_client.get(DEVICES)

        assert len(chosen.context["cl"].result_list) == 25
        assert len(later.context["cl"].result_list) == 25
        assert devices.context["cl"].list_per_page == 50

    def test_the_choices_are_offered_keeping_the_filters(self, admin_client, sixty_incidents):
        page = admin_client.get(INCIDENTS, {"stage__in": "reported", "p": "2"})

        choices = {c["size"]: c for c in page.context["cl"].page_sizes}
        assert list(choices) == [25, 50, 100, 200]
        assert choices[50]["current"]
        assert "stage__in=reported" in choices[100]["url"] and "p=" not in choices[100]["url"]
        assert 'data-testid="page-sizes"' in page.content.decode()

    def test_the_filter_panel_keeps_the_search_and_size_but_starts_at_the_first_page(
        self, admin_client, sixty_incidents
    ):
        page = admin_client.get(
            INCIDENTS, {"stage__exact": "reported", "q": "SN", "per_page": "25", "p": "2"}
        )

        form = page.content.decode().split('id="filter-form"')[1].split("</form>")[0]
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        # A page of the old filters may not exist among the new ones (Django's admin then
        # drops every filter and shows the whole list).
        assert hidden == {"q": "SN", "per_page": "25"}

    def test_the_gap_in_the_page_numbers_is_not_a_link(
        self, admin_client, sixty_incidents, monkeypatch
    ):
        monkeypatch.setattr(lists, "PAGE_SIZES", (2, 50))

        html = admin_client.get(INCIDENTS, {"per_page": "2", "p": "15"}).content.decode()

        assert '<span aria-hidden="true">…</span>' in html
        assert "p=…" not in html and "…</a>" not in html
        assert 'data-testid="result-count"' in html

    @pytest.mark.parametrize("asked", ["7", "100000", "all", ""])
    def test_a_size_not_offered_gives_the_default_not_an_error(
        self, admin_client, sixty_incidents, asked
    ):
        page = admin_client.get(INCIDENTS, {"per_page": asked})

        assert page.status_code == 200
        assert len(page.context["cl"].result_list) == 50

    def test_the_choice_is_not_taken_for_a_filter_by_the_export(self, admin_client):
        IncidentFactory()

        page = admin_client.get(reverse("admin:incidents_incident_export"), {"per_page": "25"})

        assert page.status_code == 200


class LeanRowTests:
    def test_an_incident_row_weighs_under_two_kilobytes(self, admin_client, sixty_incidents):
        page = admin_client.get(INCIDENTS)

        sizes = [len(row.encode()) for row in rows(page)]
        assert len(sizes) == 50
        assert max(sizes) < 2048, max(sizes)

    def test_a_device_row_weighs_under_two_kilobytes(self, admin_client):
        DeviceFactory.create_batch(5)

        sizes = [len(row.encode()) for row in rows(admin_client.get(DEVICES))]
        assert len(sizes) == 5
        assert max(sizes) < 2048, max(sizes)

    def test_the_row_menu_is_on_the_page_once_not_in_every_row(self, admin_client, sixty_incidents):
        page = admin_client.get(INCIDENTS)

        html = page.content.decode()
        assert html.count('id="adt-row-actions"') == 1
        assert html.count("data-row-actions=") == 50
        assert "x-teleport" not in "".join(rows(page))

    def test_cells_keep_their_field_class_label_and_links(self, admin_client):
        incident = IncidentFactory()

        row = rows(admin_client.get(INCIDENTS))[0]

        change = reverse("admin:incidents_incident_change", args=[incident.pk])
        assert f'<th class="field-number" data-label="incident"><a href="{change}"' in row
        assert 'class="action-select"' in row
        assert f'value="{incident.pk}"' in row
        assert "lg:table-cell" not in row


class SharedHeadersTests:
    def test_the_headers_are_built_once_a_page_not_once_a_row(
        self, admin_client, sixty_incidents, monkeypatch
    ):
        labels = []
        label_for_field = unfold_list.label_for_field
        monkeypatch.setattr(
            unfold_list,
            "label_for_field",
            lambda *args, **kwargs: labels.append(args[0]) or label_for_field(*args, **kwargs),
        )

        page = admin_client.get(INCIDENTS)

        columns = page.context["cl"].list_display
        assert len(rows(page)) == 50
        assert labels == list(columns)

    def test_each_row_still_labels_its_cells_with_their_own_header(self, admin_client):
        IncidentFactory.create_batch(2)

        for row in rows(admin_client.get(INCIDENTS)):
            assert 'class="field-number" data-label="incident"' in row
            assert 'class="field-assignee_name" data-label="assignee"' in row
            assert 'class="field-stage_label" data-label="stage"' in row


def _spaced_alike(html: str) -> str:
    """HTML with the indentation of the templates it was made of folded away."""
    return re.sub(r"\s+", " ", html).replace(" >", ">").replace("> <", "><")


class RenderedOnceTests:
    """Coloured labels and selection checkboxes are rendered once per value and language, and
    each row holds exactly the cells Unfold renders cell by cell, less the utility classes
    css/lists.css stands for."""

    @staticmethod
    def _unfold_cells_made_lean(cl, result) -> str:
        """Unfold's own cells of a row (`items_for_result`), keeping of the cells', links' and
        checkboxes' classes only what the lean rows keep: the column's class, nowrap and the
        checkbox's class."""

        def keep(match) -> str:
            tag, attributes, classes = match[1], match[2], match[3].split()
            if tag not in ("td", "th", "a", "input"):
                return match[0]
            kept = [
                name
                for name in classes
                if name.startswith("field-")
                or name in ("nowrap", "action-checkbox")
                or (tag == "input" and name == "action-select")
            ]
            return f"<{tag}{attributes}" + (f' class="{" ".join(kept)}"' if kept else "")

        html = "".join(unfold_list.items_for_result(cl, result, None))
        html = re.sub(r'<(\w+)((?:\s[^>]*?)?)\sclass="([^"]*)"', keep, html)
        return html

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_each_row_holds_unfolds_cells_without_their_utility_classes(
        self, admin_client, sixty_incidents, language
    ):
        DeviceFactory.create_batch(3)
        # A yes-no column, both ways.
        LocationFactory(is_active=False)

        for url in (INCIDENTS, DEVICES, LOCATIONS):
            page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            cl = page.context["cl"]
            ours = [
                re.sub(
                    r'^<tr class="data-row">|<td class="field-actions_holder".*?</td>|</tr>$',
                    "",
                    row,
                )
                for row in rows(page)
            ]
            with translation.override(language):
                unfolds = [self._unfold_cells_made_lean(cl, result) for result in cl.result_list]

            assert len(ours) == len(unfolds) > 0
            for our, unfolds_own in zip(ours, unfolds, strict=True):
                assert _spaced_alike(our) == _spaced_alike(unfolds_own)
            assert 'name="_selected_action"' in ours[0]

    def test_a_label_template_is_rendered_once_per_label_not_once_per_row(
        self, admin_client, sixty_incidents
    ):
        from config.kit.lists import _checkbox_html

        lists._labels.clear()
        _checkbox_html.cache_clear()
        page, rendered = templates_rendered(admin_client, INCIDENTS)

        labels = rendered.count("unfold/helpers/display_label.html")
        assert len(rows(page)) == 50
        # The stage and step columns of 60 incidents in one stage and step: two labels.
        assert 1 <= labels <= 2
        checkboxes = [name for name in rendered if name.endswith("/checkbox.html")]
        # The select-all box of the header and, once, the rows'.
        assert 1 <= len(checkboxes) <= 2, checkboxes

    def test_a_yes_no_icon_is_rendered_once_per_value_not_once_per_row(self, admin_client):
        LocationFactory.create_batch(30)
        LocationFactory.create_batch(5, is_active=False)
        lists._boolean_icons.cache_clear()

        page, rendered = templates_rendered(admin_client, LOCATIONS)

        assert len(rows(page)) >= 35
        # Yes and no: two icons for the whole page.
        assert rendered.count("unfold/helpers/boolean.html") == 2


class TypedFilterTests:
    def test_the_incident_list_does_not_list_every_problem_group_in_its_filter(self, admin_client):
        from tests.factories import ProblemGroupFactory

        groups = ProblemGroupFactory.create_batch(30)
        chosen = groups[0]
        IncidentFactory(problem_group=chosen)

        page = admin_client.get(INCIDENTS).content.decode()
        filtered = admin_client.get(f"{INCIDENTS}?problem_group__id__exact={chosen.pk}")

        assert not [group for group in groups if f">{group}<" in page]
        assert filtered.context["cl"].result_count == 1
        # The chosen group is shown in the filter, to be typed over.
        assert str(chosen) in filtered.content.decode()

    def test_every_list_with_a_form_filter_has_the_button_that_applies_it(self, rf):
        """Unfold's drop-down, typed, ticked and range filters are fields of a form the
        filter panel submits only when the list asks for its button: without it, choosing a
        value does nothing."""
        from django.contrib import admin

        from tests.factories import AdminFactory

        request = rf.get("/")
        request.user = AdminFactory()
        missing = []
        for model, model_admin in admin.site._registry.items():
            for entry in model_admin.get_list_filter(request):
                kind = entry[1] if isinstance(entry, tuple) else entry
                if hasattr(kind, "form_class") and not model_admin.list_filter_submit:
                    missing.append(model._meta.label)
        assert missing == []


class CraftedSelectionTests:
    """A bulk action on a selection holding something no row's key can be is refused in words
    and does nothing to the rows selected with it (the admin looked it up as it came: 500)."""

    @pytest.mark.parametrize("crafted", ["abc", "1.5", "\ufffd"])
    def test_a_selection_with_text_for_a_number_does_nothing_and_says_why(
        self, admin_client, crafted
    ):
        shelf = LocationFactory()
        url = reverse("admin:locations_location_changelist")

        response = admin_client.post(
            url,
            {"action": "deactivate_selected", "_selected_action": [str(shelf.pk), crafted]},
            follow=True,
        )

        assert response.status_code == 200
        assert "The selection holds something that is not a row of this list" in (
            response.content.decode()
        )
        shelf.refresh_from_db()
        assert shelf.is_active

    def test_a_selection_that_is_no_uuid_on_a_list_of_uuids_says_why(self, admin_client):
        url = reverse("admin:incidents_legacyimport_changelist")

        response = admin_client.post(
            url, {"action": "delete_selected", "_selected_action": [str(2**63)]}, follow=True
        )

        assert response.redirect_chain == [(url, 302)]
        assert "The selection holds something that is not a row of this list" in (
            response.content.decode()
        )

    def test_every_list_refuses_a_crafted_selection(self):
        assert [
            type(model_admin).__name__
            for model_admin in admin.site._registry.values()
            if not isinstance(model_admin, inputs.CheckedSelectionMixin)
        ] == []


class KeysFirstPageTests:
    """A page far into a list is read by its keys first, and holds the rows Django's paginator
    gives that page, in the same order, with their columns."""

    @pytest.fixture
    def devices(self, rf):
        """The device list's rows as an administrator sees them (with each device's last fail
        item, a column read by a subquery)."""
        for device in DeviceFactory.create_batch(7):
            IncidentFactory(device=device, fail_item=f"ITEM_{device.pk}")
        request = rf.get("/")
        request.user = AdminFactory()
        return admin.site.get_model_admin(Device).get_queryset(request)

    @pytest.mark.parametrize("ordering", [("serial_number", "-pk"), ("-last_fail_item", "pk")])
    def test_a_deep_page_holds_the_rows_django_gives_it(self, devices, ordering):
        rows = devices.order_by(*ordering)
        paginator = lists.KeysFirstPaginator(rows, 3)
        paginator.deep_from = 3
        django = Paginator(rows, 3)

        for number in (2, 3):
            page = paginator.page(number)
            assert isinstance(page.object_list, QuerySet)  # as a list's formset needs
            assert [(d.pk, d.last_fail_item) for d in page] == [
                (d.pk, d.last_fail_item) for d in django.page(number)
            ]
        assert len(paginator.page(3)) == 1

    def test_a_deep_page_computes_its_columns_for_its_own_rows_only(self, devices):
        rows = devices
        paginator = lists.KeysFirstPaginator(rows, 3)
        paginator.deep_from = 3
        assert paginator.count == 7  # counted apart, as the list does

        with CaptureQueriesContext(connection) as queries:
            list(paginator.page(2))

        keys, page = (query["sql"] for query in queries.captured_queries)
        assert "OFFSET 3" in keys and "last_fail_item" not in keys
        assert "OFFSET" not in page and "last_fail_item" in page


class SortedThroughJoinTests:
    """A list sorted by another table's column reads its page's keys first, from its first
    page; its rows, their order, ties and empty values are those Django's own paginator gives."""

    @pytest.fixture
    def incidents(self, rf):
        # Two people of the same name (a tie the key breaks), incidents with nobody assigned
        # and without a problem group (empty values), times in stage that tie.
        same = [StaffFactory(display_name="王伟"), StaffFactory(display_name="王伟")]
        other = StaffFactory(display_name="Ada")
        groups = [ProblemGroupFactory(number="BUG-2026-0002"), ProblemGroupFactory(number="BUG-1")]
        people = [*same, other, None]
        for number in range(9):
            IncidentFactory(
                assignee=people[number % 4],
                problem_group=groups[number % 3] if number % 3 < 2 else None,
            )
        request = rf.get("/")
        request.user = AdminFactory()
        return admin.site.get_model_admin(Incident).get_queryset(request)

    ORDERINGS = [
        ("assignee__display_name", "-pk"),
        ("-assignee__display_name", "-pk"),
        ("problem_group__number", "-pk"),
        ("-problem_group__number", "-pk"),
        ("device", "-pk"),
    ]

    @pytest.mark.parametrize("ordering", ORDERINGS)
    def test_each_page_holds_the_rows_django_gives_it_in_its_order(self, incidents, ordering):
        rows = incidents.order_by(*ordering)
        paginator, django = lists.KeysFirstPaginator(rows, 4), Paginator(rows, 4)

        pages = [[i.pk for i in paginator.page(n)] for n in (1, 2, 3)]

        assert pages == [[i.pk for i in django.page(n)] for n in (1, 2, 3)]
        assert isinstance(paginator.page(1).object_list, QuerySet)

    @pytest.mark.parametrize("ordering", ORDERINGS)
    def test_the_first_page_reads_its_keys_first(self, incidents, ordering):
        paginator = lists.KeysFirstPaginator(incidents.order_by(*ordering), 4)
        assert paginator.count == 9

        with CaptureQueriesContext(connection) as queries:
            list(paginator.page(1))

        keys, page = (query["sql"] for query in queries.captured_queries)
        assert "LIMIT 4" in keys and "description" not in keys
        assert "LIMIT" not in page

    @pytest.mark.parametrize("ordering", [("stage_entered_at", "-pk"), ("-opened_at", "-pk")])
    def test_a_list_sorted_by_its_own_columns_reads_its_first_page_at_once(
        self, incidents, ordering
    ):
        paginator = lists.KeysFirstPaginator(incidents.order_by(*ordering), 4)
        assert paginator.count == 9

        with CaptureQueriesContext(connection) as queries:
            list(paginator.page(1))

        assert len(queries) == 1

    @pytest.mark.parametrize("sort", ["5", "-5", "8", "-8", "6", "-6", "7"])
    def test_the_incident_list_sorted_lists_what_django_orders(self, admin_client, incidents, sort):
        changelist = admin_client.get(INCIDENTS, {"o": sort}).context["cl"]

        expected = list(changelist.queryset.values_list("pk", flat=True))

        assert [incident.pk for incident in changelist.result_list] == expected
        assert len(expected) == 9


class DeviceSortTests:
    @pytest.mark.parametrize("sort", ["3", "-3", "5", "-5", "6", "-6", "7", "-7"])
    def test_the_device_list_sorted_lists_what_django_orders(self, admin_client, sort):
        places = [LocationFactory(code="B-1"), LocationFactory(code="A-2")]
        holder = StaffFactory(display_name="Ada")
        for number in range(7):
            device = DeviceFactory(
                hardware_version=["EVT", "DVT", ""][number % 3],
                location=places[number % 2],
                holder=holder if number % 2 else None,
            )
            if number % 3:
                IncidentFactory(device=device)

        changelist = admin_client.get(DEVICES, {"o": sort}).context["cl"]
        expected = list(changelist.queryset.values_list("pk", flat=True))

        assert [device.pk for device in changelist.result_list] == expected
        assert len(expected) == 7


class AutocompleteTests:
    """The admin's autocomplete reads one row past its page instead of counting every match."""

    URL = reverse("admin:autocomplete")

    def ask(self, client, page: int):
        query = {
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "device",
            "term": "S",
            "page": page,
        }
        with CaptureQueriesContext(connection) as queries:
            response = client.get(self.URL, query)
        return response, queries

    def test_pages_and_more_are_those_django_gives_without_a_count(self, admin_client):
        devices = [DeviceFactory(serial_number=f"S{number:03}") for number in range(25)]

        first, queries = self.ask(admin_client, 1)
        second, _ = self.ask(admin_client, 2)
        beyond, _ = self.ask(admin_client, 3)

        assert [row["text"] for row in first.json()["results"]] == [
            d.serial_number for d in devices[:20]
        ]
        assert first.json()["pagination"] == {"more": True}
        assert [row["text"] for row in second.json()["results"]] == [
            d.serial_number for d in devices[20:]
        ]
        assert second.json()["pagination"] == {"more": False}
        assert beyond.status_code == 404  # as Django answers a page past the end
        assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)

    def test_a_full_last_page_says_no_more(self, admin_client):
        DeviceFactory.create_batch(20, serial_number=factory.Sequence(lambda n: f"S{n:03}"))

        response, _ = self.ask(admin_client, 1)

        assert len(response.json()["results"]) == 20
        assert response.json()["pagination"] == {"more": False}

    @pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "9" * 30])
    def test_a_page_that_is_no_page_is_not_found(self, admin_client, page):
        response, _ = self.ask(admin_client, page)

        assert response.status_code == 404

    def test_no_match_is_an_empty_first_page(self, admin_client):
        response, _ = self.ask(admin_client, 1)

        assert response.json() == {"results": [], "pagination": {"more": False}}
