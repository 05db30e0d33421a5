"""The product's widgets.

The file input: a zone to click or drop files on, listing what was chosen (name, size, too large
or not) before anything is sent. Used by the operation record's attachments (several files), the
legacy workbook upload and the lists' import form (one file each).

The admin's search-as-you-type choice of a related record (`autocomplete_fields`), made safe for
keys the database cannot read (`AutocompleteKeysMixin`)."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe


class DropFileInput(forms.FileInput):
    """A file input people may also drop files on (js/file_drop.js). `multiple=True` takes
    several files; `max_bytes` lets the page flag a file over the limit as soon as it is
    picked (the server refuses it anyway)."""

    template_name = "widgets/drop_file_input.html"

    def __init__(self, attrs=None, *, multiple: bool = False, max_bytes: int | None = None):
        self.allow_multiple_selected = multiple
        self.max_bytes = max_bytes
        super().__init__(attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        # Classes given (import-export's "guess_format") join the input's own, in one attribute.
        extra = widget["attrs"].pop("class", "")
        widget.update(
            input_class=f"adt-drop-input {extra}".strip(),
            multiple=self.allow_multiple_selected,
            max_bytes=self.max_bytes,
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates folder, which the forms' own renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class KeyCheckingAutocompleteMixin:
    """Django's autocomplete widget draws the chosen records again by looking their keys up.
    A key the database cannot read (text where a number goes: "abc", a lone surrogate) made
    that lookup raise while the form was drawn again with its error, a 500 instead of the form
    saying "Select a valid choice". Such a key names no record, so it is left out of the lookup;
    the field's own error says what was wrong."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        options = remote.model._meta
        key = options.get_field(getattr(remote, "field_name", None) or options.pk.attname)
        readable = []
        for item in value:
            try:
                key.get_prep_value(item)
            except (ValueError, TypeError, ValidationError):
                continue
            readable.append(item)
        return super().optgroups(name, readable, attr)


class KeyCheckingAutocompleteSelect(KeyCheckingAutocompleteMixin, AutocompleteSelect):
    pass


class KeyCheckingAutocompleteSelectMultiple(
    KeyCheckingAutocompleteMixin, AutocompleteSelectMultiple
):
    pass


class AutocompleteKeysMixin:
    """For a ModelAdmin (or an inline) with `autocomplete_fields`: those fields use the widgets
    above, so a crafted key is a form error, never a server error. Put before ModelAdmin."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyCheckingAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyCheckingAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)
