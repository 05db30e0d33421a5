class WorkflowError(Exception):
    """A refused action on an incident; the message tells the person why, in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IncidentChanged(WorkflowError):
    """Someone else acted on the incident between the moment it was shown and now."""
