"""`{% notification_bell %}`: the bell in the header, with the person's unread notifications."""

from django import template

from config.kit.badges import badge_text, most_shown, past_cap
from incidents import selectors

register = template.Library()


@register.inclusion_tag("incidents/notification_bell.html", takes_context=True)
def notification_bell(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("incidents.view_notification"):
        return {"shown": False}
    unread = selectors.unread_notifications_of(request)
    return {
        "shown": True,
        "unread": unread,
        # Counted no further than a badge's cap: past it the bell says "99+", and more than 99.
        "unread_text": badge_text(unread),
        "past_cap": past_cap(unread),
        "below_cap": most_shown(),
    }
