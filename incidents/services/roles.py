"""Roles in words: giving a role a capability (incidents/capabilities.py) or taking it away."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction

from incidents.capabilities import CAPABILITY_BY_CODE, permissions_after
from incidents.selectors import permissions_named, role_permission_names


@transaction.atomic
def role_change_capabilities(
    *, role: Group, granted: Iterable[str] = (), withdrawn: Iterable[str] = ()
) -> None:
    """Give the role every permission of the capabilities `granted`, and take away those of the
    capabilities `withdrawn` that no capability it keeps needs (most share the right to read
    something). Nothing else of the role changes."""
    granted, withdrawn = set(granted), set(withdrawn)
    unknown = (granted | withdrawn) - set(CAPABILITY_BY_CODE)
    if unknown or granted & withdrawn:
        raise ValueError(
            f"unknown capabilities {sorted(unknown)}, "
            f"both granted and withdrawn {sorted(granted & withdrawn)}"
        )
    current = role_permission_names(role)
    after = permissions_after(current, granted, withdrawn)
    role.permissions.add(*permissions_named(after - current))
    role.permissions.remove(*permissions_named(current - after))
