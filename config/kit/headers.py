"""The page header's trail (the breadcrumb Unfold draws at the top of every admin page), which a
model admin may word itself.

Unfold names a page after its app and model (`Incidents > Incidents` on the add form,
`Authentication and Authorization > Groups` for the roles). A model admin with
`header_parts(context)` returning `[(title, link or None), …]` gives its own; None keeps
Unfold's, except on an add form, which says what it is for (Incidents > Add incident).
`templates/unfold/helpers/welcomemsg.html` calls `{% page_header_title %}`.
"""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import capfirst
from unfold.templatetags.unfold import header_title

register = template.Library()


def _model_admin(context):
    for name in ("adminform", "cl"):
        holder = context.get(name)
        if holder is not None and hasattr(holder, "model_admin"):
            return holder.model_admin
    return context.get("model_admin")


@register.simple_tag(takes_context=True)
def page_header_title(context) -> str:
    model_admin = _model_admin(context)
    wording = getattr(model_admin, "header_parts", None)
    parts = wording(context) if wording is not None else None
    opts = context.get("opts")
    if parts is None and context.get("add") and opts is not None and context.get("title"):
        changelist = f"admin:{opts.app_label}_{opts.model_name}_changelist"
        parts = [
            (capfirst(opts.verbose_name_plural), reverse(changelist)),
            (context["title"], None),
        ]
    if parts is None:
        return header_title(context)
    return render_to_string(
        "admin/page_header_title.html",
        {"parts": [{"title": title, "link": link} for title, link in parts]},
    )
