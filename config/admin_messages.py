"""Django's own admin messages that its Chinese catalogue leaves in English, named here so that
`make messages` puts them in ours (LOCALE_PATHS comes first, so the admin then speaks Chinese
with them). Nothing imports this module: it is a source of the catalogue only."""

from django.utils.translation import gettext_noop

MISSING_FROM_DJANGO = [
    # After "Save and continue editing" on an add page.
    gettext_noop("The {name} “{obj}” was added successfully. You may edit it again below."),
]
