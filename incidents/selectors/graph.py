"""The workflow picture on an incident's page: where each stage sits, the lines between them,
and the stage the incident is in and the path it took."""

from incidents.choices import NEXT_STAGE, Stage, Verdict, WorkflowAction
from incidents.models import Incident, IncidentEvent

# Where each stage sits in the workflow picture (x, y in a 760 by 250 drawing).
_GRAPH_POSITIONS = {
    Stage.REPORTED: (70, 40),
    Stage.FAE_RETEST: (230, 40),
    Stage.RETURNED: (690, 40),
    Stage.XRAY: (230, 130),
    Stage.EE_ANALYSIS: (400, 130),
    Stage.FINAL_RETEST: (560, 130),
    Stage.ME_ANALYSIS: (400, 215),
    Stage.SCRAPPED: (690, 215),
    Stage.CANCELLED: (70, 215),
}


_BOX_HALF_WIDTH, _BOX_HALF_HEIGHT = 62, 16


def _to_box_edge(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """Where the line from the centre of box 1 towards point 2 leaves box 1."""
    dx, dy = x2 - x1, y2 - y1
    scale = min(
        _BOX_HALF_WIDTH / abs(dx) if dx else float("inf"),
        _BOX_HALF_HEIGHT / abs(dy) if dy else float("inf"),
    )
    return round(x1 + dx * scale, 1), round(y1 + dy * scale, 1)


def workflow_graph(incident: Incident, timeline: list[IncidentEvent]) -> dict:
    """The stage graph of DESIGN.md with the current stage and the path taken marked."""
    moves = [
        (event.from_stage, event.to_stage)
        for event in timeline
        if event.action in (WorkflowAction.APPROVE, WorkflowAction.CANCEL)
    ]
    visited = {incident.stage} | {stage for move in moves for stage in move}
    taken = set(moves)
    nodes = [
        {
            "stage": stage,
            "label": stage.label,
            "x": x,
            "y": y,
            "state": "current"
            if stage == incident.stage
            else ("visited" if stage in visited else "other"),
        }
        for stage, (x, y) in _GRAPH_POSITIONS.items()
    ]
    edges = []
    for (source, verdict), target in NEXT_STAGE.items():
        (x1, y1), (x2, y2) = _GRAPH_POSITIONS[source], _GRAPH_POSITIONS[target]
        (sx, sy), (tx, ty) = _to_box_edge(x1, y1, x2, y2), _to_box_edge(x2, y2, x1, y1)
        edges.append(
            {
                "x1": sx,
                "y1": sy,
                "x2": tx,
                "y2": ty,
                "label": Verdict(verdict).label if verdict else "",
                "lx": (x1 + x2) / 2,
                "ly": (y1 + y2) / 2 - 6,
                "taken": (source, target) in taken,
            }
        )
    return {"nodes": nodes, "edges": edges}
