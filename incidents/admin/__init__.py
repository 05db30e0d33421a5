"""The incidents app's admin, split by what people do: people and settings, incidents and their
workflow, problem groups, devices and places as the workflow sees them, notifications, the audit
trail of configuration, the API's tokens."""

from incidents.admin import (  # noqa: F401
    access,
    audit,
    deadlines,
    devices,
    incidents,
    legacy,
    notifications,
    people,
    problem_groups,
    report_jobs,
    stations,
    tokens,
    webhooks,
)
