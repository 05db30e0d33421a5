"""Trail reasons the system writes are stored as codes and read in each reader's language; the
words people typed stay as they typed them."""

import json

import pytest
from django.utils import translation

from incidents import reasons as workflow_reasons
from incidents.choices import Stage
from locations import reasons
from locations.selectors import recent_reasons
from locations.services import device_move, device_move_undo
from tests.factories import DeviceFactory, LocationFactory, StaffFactory


def read(stored: str, language: str) -> str:
    with translation.override(language):
        return reasons.text(stored)


class ReasonCodeTests:
    def test_a_code_is_stored_without_words_and_read_in_each_language(self):
        stored = workflow_reasons.assigned(Stage.FAE_RETEST)

        assert json.loads(stored) == {"code": "assigned", "stage": "fae_retest"}
        assert read(stored, "en") == "Assigned for FAE retest"
        assert read(stored, "zh-hans") == "指派做FAE复测"

    @pytest.mark.parametrize(
        ("code", "english", "chinese"),
        [
            (reasons.LEGACY_IMPORT, "Imported from the legacy workbook", "从旧版工作簿导入"),
            (reasons.DEACTIVATED, "Deactivated", "已停用"),
            (reasons.UNDO, "Undo", "撤销"),
        ],
    )
    def test_codes_without_parameters_read_in_each_language(self, code, english, chinese):
        stored = reasons.encode(code)

        assert (read(stored, "en"), read(stored, "zh-hans")) == (english, chinese)

    def test_what_a_person_typed_is_shown_as_typed_in_every_language(self):
        for typed in ("送分析", "legacy import", '{"note": "not a code"}', "{broken"):
            assert not reasons.is_code(typed)
            assert read(typed, "en") == read(typed, "zh-hans") == typed

    def test_an_unknown_code_is_shown_as_it_was_written(self):
        stored = '{"code":"from_a_later_version"}'

        assert read(stored, "en") == stored

    def test_an_unknown_code_cannot_be_written(self):
        with pytest.raises(ValueError):
            reasons.encode("not_a_code")


class UndoReasonTests:
    def test_an_undo_names_the_reason_it_undid_in_the_readers_language(self):
        stored = reasons.undo(workflow_reasons.assigned(Stage.XRAY))

        assert read(stored, "en") == "Undo: Assigned for X-ray inspection"
        assert read(stored, "zh-hans") == "撤销：指派做X光检测"

    def test_an_undo_keeps_a_persons_words_as_they_typed_them(self):
        assert read(reasons.undo("送分析"), "en") == "Undo: 送分析"

    def test_an_undo_of_a_long_reason_still_fits_the_trail(self):
        stored = reasons.undo("原因" * 50)

        assert len(stored) <= reasons.MAX_LENGTH
        assert read(stored, "en").startswith("Undo: 原因原因")
        assert read(stored, "en").endswith("…")

    @pytest.mark.django_db
    def test_undoing_a_move_writes_the_undo_code_to_the_trail(self):
        device, person = DeviceFactory(), StaffFactory()
        device = device_move(
            device=device, moved_by=person, location=LocationFactory(), reason="送分析"
        )
        history_id = device.history.order_by("-history_id").first().history_id

        device_move_undo(device=device, history_id=history_id, by=person)

        stored = device.history.order_by("-history_id").first().history_change_reason
        assert json.loads(stored) == {"code": "undo", "reason": "送分析"}


@pytest.mark.django_db
class RecentReasonsTests:
    def test_the_scan_station_offers_the_standard_reasons_then_the_readers_own_words(self):
        device, person, other = DeviceFactory(), StaffFactory(), StaffFactory()
        device_move(device=device, moved_by=person, location=LocationFactory(), reason="送修理")
        device_move(device=device, moved_by=other, location=LocationFactory(), reason="someone's")
        device_move(
            device=device,
            moved_by=person,
            holder=StaffFactory(),
            reason=workflow_reasons.assigned(Stage.FAE_RETEST),
        )

        with translation.override("en"):
            offered = recent_reasons(person)
        assert offered[: len(reasons.STANDARD)] == [
            "Sent for analysis",
            "Taken by FAE",
            "X-ray inspection",
            "Back to the line",
            "Into storage",
            "To scrap",
        ]
        # The reader's own words (not another person's, nor what the system wrote).
        assert offered[len(reasons.STANDARD) :] == ["送修理"]
        assert recent_reasons(None) == reasons.standard_words()

    def test_a_standard_reason_picked_in_either_language_is_stored_as_its_code(self):
        device, person = DeviceFactory(), StaffFactory()
        with translation.override("en"):
            stored = reasons.from_words("  back to THE line ")
        device_move(device=device, moved_by=person, location=LocationFactory(), reason=stored)

        kept = device.history.order_by("-history_id").first().history_change_reason
        assert json.loads(kept) == {"code": "back_to_line"}
        assert read(kept, "en") == "Back to the line"
        assert reasons.from_words("To the bench") == "To the bench"
        assert reasons.from_words("   ") == ""
