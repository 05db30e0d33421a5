"""Every place the product leans on Unfold beyond its public hooks, in one list, checked against
the installed Unfold by tests/config/test_overrides.py.

Unfold is 0.x and changes between releases, so it is pinned (requirements.txt, constraints.txt:
`UNFOLD_VERSION`) and each entry holds the SHA-256 of the Unfold file as it was when the
product's copy or mirror was made. An upgrade that changes one of those files fails the test:
compare the new file with the product's, carry the change over, then store the new hash.

Nothing here is patched at start-up: the site is a subclass (config/admin_site.py), the lists
render their own rows (config/kit/lists.py) and the panels hide themselves on a past version's
page (config/kit/history_admin.py).
"""

from dataclasses import dataclass

UNFOLD_VERSION = "0.91.0"


@dataclass(frozen=True)
class Override:
    ours: str  # the product's file, from the repository's root
    unfold: str  # the Unfold file it copies or follows, from the unfold package's folder
    sha256: str  # of that Unfold file, as it was when ours was made from it
    why: str


# Templates of the product that stand in for Unfold's of the same name (templates/ comes first
# in the template search). Unfold renders these through `{% include %}` or its template tags, with
# no block or hook to change them by.
TEMPLATE_OVERRIDES = (
    Override(
        "templates/unfold/helpers/app_list_badge.html",
        "templates/unfold/helpers/app_list_badge.html",
        "bc002ff5a001fd04a8384e750c9fa9815510f719c041043a4e89b44f2c868412",
        "A sidebar count of zero is grey whatever the badge's colour: an empty queue is not "
        "'something is wrong'. Unfold's badge has no variant for it (its value is drawn by "
        "templates/unfold/helpers/app_list_badge_value.html).",
    ),
    Override(
        "templates/unfold/helpers/userlinks.html",
        "templates/unfold/helpers/userlinks.html",
        "b493fa5ca3595d28c6858f789f303c1797c34107dc60b2857ab6ce8585fc3914",
        "The notification bell at the far end of every page's header; Unfold's header block is "
        "inside an included template, which no page can extend.",
    ),
    Override(
        "templates/unfold/helpers/pagination_default.html",
        "templates/unfold/helpers/pagination_default.html",
        "a6c793aea686e443a7fc8a42cb4197361b7789c912919609e2525aa1c65e23a0",
        "The gap in the page numbers is text (Unfold links it, to page 1), and a count that "
        "stopped at a cap says so (messaging's capped paginator), on every list.",
    ),
    Override(
        "templates/unfold/helpers/welcomemsg.html",
        "templates/unfold/helpers/welcomemsg.html",
        "e8eab02522ba2319b937086bbcb6bf2a2bbe1489d236ad90ff23edbe070a7d6b",
        "The header's trail as a model admin words it (config/kit/headers.py, `header_parts`): "
        "Unfold's `header_title` names a page after its app and model only (Incidents › "
        "Incidents on the add form, Authentication and Authorization › Groups for the roles).",
    ),
    Override(
        "templates/unfold/templatetags/preserve_changelist_filters.html",
        "templates/unfold/templatetags/preserve_changelist_filters.html",
        "b31da3521a20358e1e981858f0fab143a99789f6d741bfc8408f477746e8248d",
        "The filter panel keeps the list's search, order and rows per page but not its page: "
        "filters chosen anew start at their first page, which always exists.",
    ),
)

# The product's own code and templates that follow an Unfold file's markup or logic without
# copying it into Unfold's place: a change there changes what ours should say.
FOLLOWED = (
    Override(
        "config/kit/lists.py",
        "templatetags/unfold_list.py",
        "c8d4507736a4034860d23efdb5c84a1659f5b908567eba5b904a419d02d3cf36",
        "Lean rows: their cells are `items_for_result`'s (called with Unfold's display helpers "
        "and `result_headers`) without the utility classes, which static/css/lists.css writes "
        "once (ROW_CLASSES, CHECKBOX_CLASSES, LINK_CLASSES).",
    ),
    Override(
        "templates/admin/lean_result_list.html",
        "templates/admin/change_list_results.html",
        "1a2a072727ae72f9f6306a7f27c0df2dd73ea42408353a0eae462db377d83d76",
        "The frame of a lean list's table and its header row (Unfold's change_list_headers.html "
        "included), the rows from config/kit/lists.py and one row menu for the page.",
    ),
    Override(
        "templates/admin/lean_change_list.html",
        "templates/admin/change_list.html",
        "5885c39760f6085d55b2db8e740d4fdc340c402fc7cd43c0b5ef6ae7fb76f421",
        "A lean list fills Unfold's `result_list` block (its actions, then lean_result_list).",
    ),
    Override(
        "templates/admin/lean_page_links.html",
        "templates/admin/pagination.html",
        "a1d4f5881c9a2ed952106b6489b64a30cdf831321a9f0d6313c4652b270ffbe3",
        "The rows-per-page choice is the paginator's template, which Unfold's pagination "
        "includes in place of its page links (`cl.paginator.template_name`).",
    ),
    Override(
        "templates/admin/command_results.html",
        "templates/unfold/helpers/command_results.html",
        "5a2616efccaa8b4e02f2e2618bacace15ed4a5511e5f4dd5f8f4c6f2aaa03ec3",
        "Ctrl+K's answers (the site's `search` renders them): a search that finds nothing says "
        "so where the palette looks, in the results' note; Unfold's line for it is dropped by "
        "the palette, which keeps only the list and the note.",
    ),
    Override(
        "config/admin_site.py",
        "sites.py",
        "d2f3f4df85a7e1e99a53fbc9cbb0adef3e1872fe57eaca300e9fbc5f9664cb6f",
        "Ctrl+K's `search` is the site's own: Unfold's answers in Unfold's templates, without "
        "its per-person cache; it reads the COMMAND settings as Unfold does.",
    ),
)
