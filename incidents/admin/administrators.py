"""Pages only administrators see: what opens the product to machines (API tokens, test stations,
webhooks) or lets it send changes out. Nobody deletes their rows from a list: a token is revoked,
a station or a webhook turned off, and what they did stays readable."""

from incidents import access


class AdministratorsOnly:
    """A ModelAdmin mixin: administrators see, add and change; nobody deletes."""

    def has_module_permission(self, request) -> bool:
        return access.sees_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return access.sees_everything(request.user)

    def has_add_permission(self, request) -> bool:
        return access.sees_everything(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return access.sees_everything(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AdministratorsReadOnly(AdministratorsOnly):
    """A record of what happened (token uses, webhook deliveries): administrators read it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
