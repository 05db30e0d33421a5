"""History pages of the product's trails: the kit's read-only history pages, with the reasons
the trails keep (codes with their parameters) put in the reader's language."""

from config.kit.history_admin import ReadOnlyHistoryAdmin
from locations import reasons


class TrailHistoryAdmin(ReadOnlyHistoryAdmin):
    """A trail's past versions, read-only, each reason in words."""

    def history_reason(self, stored) -> str:
        return reasons.text(stored)
