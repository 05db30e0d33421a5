"""What the dashboard's charts are drawn from."""

import json

from incidents.choices import Step


def chart(labels: list, datasets: list[dict]) -> str:
    """The JSON Unfold's chart components read."""
    return json.dumps({"labels": [str(label) for label in labels], "datasets": datasets})


STEP_ORDER = (Step.UNASSIGNED, Step.ASSIGNED, Step.SUBMITTED)
