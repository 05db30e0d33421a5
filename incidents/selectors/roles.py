"""Roles in words: their permissions by name, how much of each capability they hold, and whether
a person would still manage people with other roles."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Prefetch, Q, QuerySet

from incidents.capabilities import (
    CAPABILITIES,
    CapabilityCode,
    held,
    holdings,
    outside_capabilities,
    permission_labels,
)
from incidents.models import Employee


def permissions_named(names) -> list[Permission]:
    """The permissions named `app_label.codename`."""
    query = Q()
    for name in set(names):
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query)) if query else []


def _names(permissions) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def role_permission_names(role: Group) -> set[str]:
    """The role's permissions as `app_label.codename`."""
    return _names(role.permissions.select_related("content_type"))


def manages_people_with(person: Employee, roles: dict[int, set[str]]) -> bool:
    """Whether `person` would still manage people (the capability) if their roles were those of
    `roles` ({role id: its permissions}); a superuser always does."""
    if person.is_superuser:
        return True
    permissions = set().union(*roles.values()) | _names(
        person.user_permissions.select_related("content_type")
    )
    return CapabilityCode.MANAGE_PEOPLE in held(permissions)


def role_permissions_of(person: Employee) -> dict[int, set[str]]:
    """{role id: its permissions} of each of the person's roles."""
    return {role.pk: role_permission_names(role) for role in person.groups.all()}


def with_members(roles: QuerySet[Group]) -> QuerySet[Group]:
    """The roles with their number of active members (`member_count`) and their permissions."""
    return roles.annotate(
        member_count=Count("user", filter=Q(user__is_active=True), distinct=True)
    ).prefetch_related(
        Prefetch("permissions", queryset=Permission.objects.select_related("content_type"))
    )


def role_holdings(role: Group) -> list:
    """How much of each capability the role holds (its permissions prefetched by
    `with_members`)."""
    return holdings(_names(role.permissions.all()))


def role_matrix(roles) -> dict:
    """Roles by capabilities: per capability a row of how much each role holds (with the
    permissions a role holding it partly lacks, in words), and per role the permissions it
    holds that no capability carries."""
    roles = list(roles)
    names = {role.pk: _names(role.permissions.all()) for role in roles}
    per_role = [holdings(names[role.pk]) for role in roles]
    rows = [
        {
            "capability": capability,
            "cells": [
                {
                    "role": role,
                    "holding": held[index].holding,
                    "missing": permission_labels(held[index].missing),
                }
                for role, held in zip(roles, per_role, strict=True)
            ],
        }
        for index, capability in enumerate(CAPABILITIES)
    ]
    others = [permission_labels(outside_capabilities(names[role.pk])) for role in roles]
    return {"roles": roles, "rows": rows, "others": others}
