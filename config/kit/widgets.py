"""The product's file input: a zone to click or drop files on, listing what was chosen (name,
size, too large or not) before anything is sent. Used by the operation record's attachments
(several files), the legacy workbook upload and the lists' import form (one file each)."""

from django import forms
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
