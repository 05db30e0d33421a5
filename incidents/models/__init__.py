from incidents.models.access import ProjectAccess
from incidents.models.audit import ConfigChange
from incidents.models.dashboard import DashboardDay
from incidents.models.deadlines import CalendarDay, DeadlineCrossing, WorkCalendar
from incidents.models.eightd import Discipline, EightD
from incidents.models.events import IncidentEvent, Notification
from incidents.models.imports import LegacyImport, LegacyImportStatus
from incidents.models.incidents import FAILURE_FIELDS, Incident, ProblemGroup
from incidents.models.people import Department, Employee
from incidents.models.records import AnalysisResult, Attachment, OperationRecord
from incidents.models.reports import ReportJob, ReportJobKind, ReportJobStatus
from incidents.models.results import Station, StationResult
from incidents.models.stages import StageOwnership
from incidents.models.tokens import ApiToken, ApiTokenUse
from incidents.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "FAILURE_FIELDS",
    "AnalysisResult",
    "ApiToken",
    "ApiTokenUse",
    "Attachment",
    "CalendarDay",
    "ConfigChange",
    "DashboardDay",
    "DeadlineCrossing",
    "Department",
    "Discipline",
    "EightD",
    "Employee",
    "Incident",
    "IncidentEvent",
    "LegacyImport",
    "LegacyImportStatus",
    "Notification",
    "OperationRecord",
    "ProblemGroup",
    "ProjectAccess",
    "ReportJob",
    "ReportJobKind",
    "ReportJobStatus",
    "StageOwnership",
    "Station",
    "StationResult",
    "Webhook",
    "WebhookDelivery",
    "WorkCalendar",
]
