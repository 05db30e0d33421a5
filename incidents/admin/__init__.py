"""The incidents app's admin, split by what people do: people and settings, incidents and their
workflow, notifications, the audit trail of configuration."""

from incidents.admin import (  # noqa: F401
    access,
    audit,
    incidents,
    legacy,
    notifications,
    people,
    report_jobs,
)
from incidents.admin.incidents import STAGE_COLORS

__all__ = ["STAGE_COLORS"]
