"""The reports a person asked for of a problem group, beside its report buttons."""

from django import template

from incidents.models import ReportJob

register = template.Library()


@register.simple_tag
def group_report_jobs(group, user, limit: int = 3) -> list[ReportJob]:
    """`user`'s latest reports of `group`, newest first."""
    if group is None or not getattr(user, "is_authenticated", False):
        return []
    return list(ReportJob.objects.filter(problem_group=group, created_by=user)[:limit])
