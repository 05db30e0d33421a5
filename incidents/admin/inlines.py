from unfold.admin import TabularInline


class ReadOnlyInline(TabularInline):
    """Related records listed on a page, each linking to its own page; never edited from here."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False
