from incidents.models.incidents import Incident, ProblemGroup
from incidents.models.people import Department, Employee
from incidents.models.stages import StageOwnership

__all__ = ["Department", "Employee", "Incident", "ProblemGroup", "StageOwnership"]
