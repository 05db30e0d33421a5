"""The legacy import's job page in the reader's words: progress over the whole workbook (not the
sheet at hand), each sheet named in the reader's language, and a workbook with problems showing
how many rows each sheet holds instead of zeros."""

import pytest
from django.utils import translation

from incidents.admin.legacy import progress_in_words, sheets_in_words
from incidents.legacy.columns import SheetKind
from incidents.legacy.importer import LegacyImporter
from incidents.services.legacy import _report_data
from tests.incidents.test_legacy_import import (
    EMPLOYEES,
    LOCATIONS,
    make_workbook,
    register_row,
)


class ProgressInWordsTests:
    def test_the_bar_is_the_whole_workbooks_progress(self):
        # The locations read in full is half way through the check, not 100%.
        assert (
            progress_in_words(
                {"phase": "check", "kind": SheetKind.LOCATIONS, "done": 22, "total": 22}
            )["percent"]
            == 50
        )
        assert (
            progress_in_words(
                {"phase": "import", "kind": SheetKind.REGISTER, "done": 5, "total": 10}
            )["percent"]
            == 62
        )
        assert (
            progress_in_words(
                {"phase": "import", "kind": SheetKind.TRAIL, "done": 80, "total": 80}
            )["percent"]
            == 100
        )

    def test_the_sheet_is_named_in_words_not_by_its_key(self):
        progress = {"phase": "import", "kind": SheetKind.LOCATIONS, "done": 22, "total": 22}
        with translation.override("en"):
            words = progress_in_words(progress)["text"]
        assert words == "Importing Locations: 22 of 22 rows"
        assert "locations:" not in words

    @pytest.mark.parametrize(
        "progress",
        [{}, {"kind": "nonsense", "done": 1, "total": 2}, {"kind": "trail", "total": 0}],
    )
    def test_no_progress_yet_gives_no_bar(self, progress):
        assert progress_in_words(progress) == {"percent": None, "text": ""}

    def test_a_count_beyond_the_total_stays_within_the_bar(self):
        words = progress_in_words({"kind": SheetKind.TRAIL, "done": 10**9, "total": 3})
        assert words["percent"] == 100


@pytest.mark.django_db
class BadWorkbookCountsTests:
    def test_a_workbook_with_problems_counts_the_rows_of_each_sheet(self, tmp_path):
        rows = [register_row(serial=f"SN-{n}") for n in range(3)]
        rows.append(register_row(serial=""))  # a row without a serial number is a problem
        path = make_workbook(tmp_path / "bad.xlsx", register=rows)

        report = LegacyImporter(path).run(dry_run=True)

        assert not report.ok
        sheets = {sheet["kind"]: sheet for sheet in sheets_in_words(_report_data(report))}
        assert sheets[SheetKind.REGISTER]["rows"] == 4
        assert sheets[SheetKind.REGISTER]["errors"] >= 1
        assert sheets[SheetKind.EMPLOYEES]["rows"] == len(EMPLOYEES) - 1
        assert sheets[SheetKind.LOCATIONS]["rows"] == len(LOCATIONS) - 1
        with translation.override("en"):
            labels = [sheet["label"] for sheet in sheets_in_words(_report_data(report))]
        assert "Incident register" in [str(label) for label in labels]
