from django.core.exceptions import FieldDoesNotExist
from unfold.admin import TabularInline

from incidents import access


class ReadOnlyInline(TabularInline):
    """Related records listed on a page, each linking to its own page; never edited from here.
    A page of them at a time (Unfold's paginated inlines): a busy shelf holds tens of thousands
    of devices, and a page rendering every one took a minute."""

    per_page = 20
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        """With what the rows show and are named by (an incident's problem group, its device)
        read in the same query, not once a row; only those of projects the person sees."""
        rows = super().get_queryset(request).select_related(*self._named_records())
        return access.restrict(rows, request.user) if access.applies_to(self.model) else rows

    def _named_records(self) -> list[str]:
        shown = []
        for name in self.fields:
            try:
                shown.append(self.model._meta.get_field(name))
            except FieldDoesNotExist:
                continue
        # The page's own record too: a row links to itself by its name, which may name it.
        parent = [
            field
            for field in self.model._meta.fields
            if field.many_to_one and issubclass(self.parent_model, field.related_model)
        ]
        return list(dict.fromkeys(field.name for field in [*shown, *parent] if field.many_to_one))

    def has_add_permission(self, request, obj=None) -> bool:
        return False
