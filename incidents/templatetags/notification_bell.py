"""`{% notification_bell %}`: the bell in the header, with the person's unread notifications."""

from django import template

from incidents import selectors

register = template.Library()


@register.inclusion_tag("incidents/notification_bell.html", takes_context=True)
def notification_bell(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("incidents.view_notification"):
        return {"shown": False}
    return {"shown": True, "unread": selectors.unread_notifications_of(request)}
