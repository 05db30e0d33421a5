"""The chat in the admin: every message a person may read, searched across all their rooms."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Value
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin, bounded_search
from messaging.choices import MessageKind, RoomKind
from messaging.models import Message
from messaging.search import highlight, message_search
from messaging.selectors import readable_messages


def may_search_messages(request) -> bool:
    """Whoever may see incidents or problem groups reads (and searches) their rooms."""
    user = request.user
    return bool(
        user.is_active
        and (
            user.has_perm("incidents.view_incident") or user.has_perm("incidents.view_problemgroup")
        )
    )


class CappedCountPaginator(Paginator):
    """Counts no further than `cap` messages: an exact count of a million rows costs more than
    the page it numbers, and nobody pages that far (they search). The list then says "more
    than 1000 messages" (`capped`), not a number that looks exact. Twenty pages of the newest
    messages are a browse; past them people search, and the list costs the same at any size
    (counting to 10,000 made it half as slow again at 100,000 incidents as at 1,000)."""

    cap = 1_000

    @cached_property
    def _counted(self) -> int:
        # One row beyond the cap tells whether there are more.
        # Unordered: counting needs no sort of every message (155 against 12 ms for a sorted
        # list of 255,000).
        rows = self.object_list
        if not rows.query.is_sliced:
            rows = rows.order_by()
        return rows[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @cached_property
    def capped(self) -> bool:
        return self._counted > self.cap


@admin.register(Message)
class MessageAdmin(BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    """Read-only: messages are written, edited and deleted in their rooms only."""

    list_display = ["room_link", "author", "created_at", "excerpt"]
    list_display_links = None
    list_select_related = ["room__problem_group", "author"]
    list_per_page = 50
    ordering = ["-id"]
    paginator = CappedCountPaginator
    search_fields = ["text"]  # shows the search box; get_search_results does the searching
    search_help_text = _(
        "Finds messages containing every word and every Chinese phrase you type, in all the "
        "rooms you may see."
    )

    def get_urls(self):
        # The list is the page; a message is opened in its room.
        changelist = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [url for url in super().get_urls() if url.name == changelist]

    def get_queryset(self, request):
        messages = (
            super().get_queryset(request).filter(kind=MessageKind.TEXT, deleted_at__isnull=True)
        )
        return readable_messages(messages, request.user)

    def get_search_results(self, request, queryset, search_term):
        # The first words only (BoundedSearchMixin), each short enough for a tsquery.
        search_term, _cut = bounded_search(search_term)
        if not search_term.strip():
            return queryset, False
        # The query travels with each row, for its excerpt (an admin serves many requests).
        found = message_search(queryset, search_term).annotate(search_query=Value(search_term))
        return found, False

    def has_module_permission(self, request) -> bool:
        return may_search_messages(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_search_messages(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @display(description=_("room"))
    def room_link(self, message: Message) -> str:
        room = message.room
        if room.kind == RoomKind.INCIDENT:
            url = reverse("admin:incidents_incident_change", args=[room.incident_id])
            label = _("Incident #%(id)s") % {"id": room.incident_id}
        else:
            url = reverse("admin:incidents_problemgroup_change", args=[room.problem_group_id])
            group = room.problem_group
            label = group.number if group else _("Problem group #%(id)s") % {"id": room.subject_id}
        return format_html('<a href="{}#message-{}">{}</a>', url, message.pk, label)

    @display(description=_("message"))
    def excerpt(self, message: Message) -> str:
        return highlight(message.text, getattr(message, "search_query", ""))
