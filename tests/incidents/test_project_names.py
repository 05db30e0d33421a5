"""A restricted project is hidden under every spelling of its name — Cyrillic in any case,
German ß and SS, Chinese, full-width letters — on PostgreSQL and on SQLite alike (each once
leaked: SQLite's upper() folds only ASCII, PostgreSQL's never makes ß into SS), because names
are compared through one normalisation stored beside them (`project_key`)."""

import pytest
from django.core.exceptions import ValidationError

from incidents.models import ProjectAccess
from locations.models import Device, project_key
from tests.incidents.project_names import HIDDEN, VISIBLE, cases
from tests.processes import migrated_sqlite, run_json

pytestmark = pytest.mark.django_db


def check(result: dict) -> None:
    hidden = [s for _name, group in HIDDEN for s in group]
    assert result["outsider"] == VISIBLE
    assert result["outsider_in_python"] == VISIBLE
    assert result["insider"] == hidden + VISIBLE


def test_every_spelling_is_hidden_on_this_database():
    check(cases())


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory):
    path = migrated_sqlite(tmp_path_factory, "names")
    return run_json("tests.incidents.project_names", database_url=f"sqlite:///{path}")


def test_every_spelling_is_hidden_on_sqlite(on_sqlite):
    check(on_sqlite)


class ProjectKeyTests:
    @pytest.mark.parametrize(
        ("one", "other"),
        [("Сокол", "СОКОЛ"), ("Straße", "STRASSE"), ("Ｇ１８", "g18"), (" Falcon ", "falcon")],
    )
    def test_spellings_of_one_name_share_a_key(self, one, other):
        assert project_key(one) == project_key(other)

    def test_a_second_restriction_under_another_spelling_is_refused(self):
        ProjectAccess.objects.create(project="Straße")

        with pytest.raises(ValidationError, match="already restricted"):
            ProjectAccess(project="STRASSE").full_clean()

    def test_a_device_keeps_its_key_when_its_project_changes(self):
        device = Device.objects.create(serial_number="SN-K1", project="Сокол")
        device.project = "Straße"
        device.save(update_fields=["project"])

        device.refresh_from_db()
        assert device.project_key == "strasse"
