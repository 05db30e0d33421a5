"""What the factory has seen before of an incident's failure ("Seen before" on its page and
`GET /api/v1/incidents/<id>/similar/`), and the problem groups its failure probably belongs to.

Past incidents are found by their failure, then by their words:
- the same fail item at the same station, then the same fail item at another station, each
  first among devices of the same project and hardware version, then among all; then devices
  of the same project and hardware version whatever failed;
- on PostgreSQL, the incidents whose description reads closest to this incident's
  description, or whose analyses' findings of a cause read closest to its description and
  findings (trigram similarity, Chinese and English alike, read nearest first from the GiST
  trigram indexes of migration 0041: the same trigrams the lists' searches use,
  `config.kit.search`). SQLite (the embedded demo) finds by failure only.

Each way asks for its few most recent (or nearest) rows and no more, so the panel costs the
same bounded queries at 1,000 or 100,000 incidents. Every read goes through
`visible_to(person)`: an incident of a project hidden from the reader is never a candidate.
The score adds up what a candidate shares (`SCORES`); ties go to the most recent.
"""

from dataclasses import dataclass, field

from django.contrib.postgres.search import TrigramDistance
from django.db import connections
from django.db.models import BooleanField, Count, Exists, Func, OuterRef, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from incidents import access, contributions
from incidents.choices import BEYOND_RETEST, OPEN_GROUP_STATUSES, OPEN_STAGES, Stage, Verdict
from incidents.models import AnalysisResult, Incident, IncidentEvent

# The incidents the panel and the API list, at most.
SIMILAR_LIMIT = 10
# What each way of being alike adds to a candidate's score.
SCORES = {
    "same_failure": 3.0,  # the same fail item at the same station
    "same_item": 2.0,  # the same fail item at another station
    "same_kind": 0.5,  # a device of the same project and hardware version
    # Text: the trigram similarity (0 to 1) of the closest description or findings, times this.
    "close_text": 1.0,
}
REASONS = {
    "same_failure": _("same fail item and station"),
    "same_item": _("same fail item"),
    "same_kind": _("same project and hardware version"),
    "close_text": _("similar words"),
}
# The devices of the same kind are looked for among the most recent incidents of each way, so
# many at most.
KIND_WINDOW = 100
# Text closer than this (trigram similarity) counts; below it most words differ.
MIN_TEXT_SIMILARITY = 0.4
# The words of an incident compared: its description and findings, cut here (a long log pasted
# into a description would cost every reader of the page).
MAX_TEXT = 600
# Findings are read nearest first until this many, several of one incident counting once.
FINDINGS_READ = SIMILAR_LIMIT * 3
# The findings compared are those of the analyses that found the cause or gave up on it (EE,
# ME): what resolved an incident. A retest's "passes" or "fails again" says nothing of a cause,
# and is written in the same words thousands of times.
ROOT_CAUSE_VERDICTS = (Verdict.RESOLVED, Verdict.NOT_RESOLVED)
# Problem groups suggested on an incident's page, and ungrouped failures on the dashboard.
MAX_SUGGESTED = 3


class Outcome:
    """How a past incident ended, as the panel and the API name it."""

    RETURNED = "returned"
    SCRAPPED = "scrapped"
    NO_FAULT_FOUND = "no_fault_found"
    CANCELLED = "cancelled"
    OPEN = "open"

    LABELS = {
        RETURNED: _("Returned to the line"),
        SCRAPPED: _("Scrapped"),
        NO_FAULT_FOUND: _("No fault found"),
        CANCELLED: _("Cancelled"),
        OPEN: _("Still open"),
    }


@dataclass
class SimilarIncident:
    """A past incident like the one asked about, with how it ended and what resolved it."""

    incident: Incident
    score: float
    reasons: list[str]
    outcome: str = Outcome.OPEN
    # The verdict of the latest analysis result (the one that decided where it went last).
    verdict: str = ""
    # The findings of the stage that resolved it: the latest result that resolved the fault,
    # else the deciding one; with the stage they were written in.
    resolution: str = ""
    resolution_stage: str = ""
    evidence: list = field(default_factory=list)

    @property
    def outcome_label(self) -> str:
        return Outcome.LABELS[self.outcome]

    @property
    def verdict_label(self) -> str:
        return Verdict(self.verdict).label if self.verdict else ""

    @property
    def resolution_stage_label(self) -> str:
        return Stage(self.resolution_stage).label if self.resolution_stage else ""

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[reason]) for reason in self.reasons]


def _failure_candidates(incident: Incident, rows: QuerySet, opened: dict) -> dict[int, set[str]]:
    """{id: what it shares} of the most recent incidents sharing the failure or the device's
    kind, a few of each way: one query on PostgreSQL (the ways' UNION ALL), one per way on
    SQLite, which cannot limit the parts of a UNION. What a row shares is read from the row.

    Each way (the same failure, the same item at another station, and for the kind any
    incident) is read most recent first, as far as KIND_WINDOW when the device has a kind: its
    SIMILAR_LIMIT first rows are candidates, and so are the SIMILAR_LIMIT first of the same
    kind among those read (a rare kind is not looked for through the whole history). One read
    of each way answers both, the kind told by the row's own device. `opened` gets each
    candidate's opening time (ties go to the most recent)."""
    device = incident.device
    kind = (
        (device.project, device.hardware_version)
        if device.project and device.hardware_version
        else None
    )
    ways = []  # (the way, whether its most recent are candidates whatever their kind)
    if incident.fail_item:
        same_failure = rows.filter(fail_item=incident.fail_item, fail_station=incident.fail_station)
        same_item = rows.filter(fail_item=incident.fail_item).exclude(
            fail_station=incident.fail_station
        )
        ways += [(same_failure, True), (same_item, True)]
    if kind:
        ways.append((rows, False))
    if not ways:
        return {}
    depth = KIND_WINDOW if kind else SIMILAR_LIMIT
    parts = [
        way.order_by("-opened_at", "-id")
        .annotate(way=Value(number))
        .values_list(
            "way",
            "pk",
            "opened_at",
            "fail_station",
            "fail_item",
            "device__project",
            "device__hardware_version",
        )[:depth]
        for number, (way, _any_kind) in enumerate(ways)
    ]
    if len(parts) > 1 and connections[rows.db].features.supports_slicing_ordering_in_compound:
        parts = [parts[0].union(*parts[1:], all=True)]
    read: list[list[tuple]] = [[] for _way in ways]
    for part in parts:
        for number, *row in part:
            read[number].append(row)
    found: dict[int, set[str]] = {}
    for (_way, any_kind), way_rows in zip(ways, read, strict=True):
        way_rows.sort(key=lambda row: (row[1], row[0]), reverse=True)
        of_kind = [row for row in way_rows if kind and (row[4], row[5]) == kind]
        picked = (way_rows if any_kind else [])[:SIMILAR_LIMIT] + of_kind[:SIMILAR_LIMIT]
        for pk, opened_at, station, item, project, hardware_version in picked:
            opened[pk] = opened_at
            shared = found.setdefault(pk, set())
            if incident.fail_item and item == incident.fail_item:
                same_station = station == incident.fail_station
                shared.add("same_failure" if same_station else "same_item")
            if kind and (project, hardware_version) == kind:
                shared.add("same_kind")
    return found


class _Close(Func):
    """`column % words`: a trigram similarity of at least pg_trgm's `similarity_threshold`,
    which the product's connections set to MIN_TEXT_SIMILARITY (`config.settings`; pg_trgm's
    own 0.3 would only read more rows, which the panel drops). The trigram index answers it
    with the distance order, and it stops the read where no row of a branch of the index can be
    that close: without it, words close to nothing had the nearest-first read go through most
    of the index."""

    arg_joiner = " %% "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _words(incident: Incident) -> str:
    """The incident's description and its newest findings, as far as they are compared."""
    findings = incident.analysis_results.order_by("-created_at", "-id").values_list(
        "findings", flat=True
    )[:3]
    return " ".join([incident.description, *findings]).strip()[:MAX_TEXT]


def _text_candidates(incident: Incident, rows: QuerySet, user, opened: dict) -> dict[int, float]:
    """{id: similarity} of the incidents whose description reads closest to this incident's
    description (its words when it has none), or whose findings read closest to its words
    (PostgreSQL only: read nearest first from the trigram indexes). Descriptions are compared
    with a description: the trigram index bounds a branch by the share of the words' trigrams
    it holds, so words much longer than the descriptions they are compared with (a description
    with its findings) bound nothing, and the nearest ten were found only after reading the
    whole index. `opened` gets each candidate's opening time; findings of results outliving a
    deleted incident name no incident, and are left out."""
    if connections[rows.db].vendor != "postgresql":
        return {}
    words = _words(incident)
    if not words:
        return {}
    description = incident.description.strip()[:MAX_TEXT] or words
    near: dict[int, float] = {}
    described = (
        rows.exclude(description="")
        .filter(_Close("description", Value(description)))
        .annotate(distance=TrigramDistance("description", description))
        .order_by("distance")
        .values_list("pk", "distance", "opened_at")[:SIMILAR_LIMIT]
    )
    findings = (
        AnalysisResult.objects.visible_to(user)
        .filter(_Close("findings", Value(words)), verdict__in=ROOT_CAUSE_VERDICTS)
        .exclude(incident_id=incident.pk)
        .annotate(distance=TrigramDistance("findings", words))
        .order_by("distance")
        .values_list("incident_id", "distance", "incident__opened_at")[:FINDINGS_READ]
    )
    for pk, distance, opened_at in described.union(findings, all=True):
        similarity = 1.0 - distance
        if similarity >= MIN_TEXT_SIMILARITY:
            near[pk] = max(near.get(pk, 0.0), similarity)
            opened[pk] = opened_at
    return near


def _outcomes(found: list[SimilarIncident]) -> None:
    """Each incident's outcome; a return to the line straight from FAE retest (the rows are
    read with `went_beyond_retest`) is no fault found."""
    for row in found:
        stage = row.incident.stage
        if stage in OPEN_STAGES:
            row.outcome = Outcome.OPEN
        elif stage == Stage.RETURNED:
            beyond = row.incident.went_beyond_retest
            row.outcome = Outcome.RETURNED if beyond else Outcome.NO_FAULT_FOUND
        elif stage == Stage.SCRAPPED:
            row.outcome = Outcome.SCRAPPED
        else:
            row.outcome = Outcome.CANCELLED


def _resolutions(found: list[SimilarIncident]) -> None:
    """Each incident's deciding verdict and the findings that resolved it (one query)."""
    by_id = {row.incident.pk: row for row in found}
    results = (
        AnalysisResult.objects.filter(incident_id__in=by_id)
        .exclude(verdict="")
        .order_by("incident_id", "-created_at", "-id")
        .values_list("incident_id", "stage", "verdict", "findings")
    )
    resolved: set[int] = set()
    for incident_id, stage, verdict, findings in results:
        row = by_id[incident_id]
        if not row.verdict:
            row.verdict = verdict
            row.resolution, row.resolution_stage = findings, stage
        if verdict == Verdict.RESOLVED and incident_id not in resolved:
            resolved.add(incident_id)
            row.resolution, row.resolution_stage = findings, stage


def similar_incidents(
    incident: Incident, user, limit: int = SIMILAR_LIMIT
) -> list[SimilarIncident]:
    """The past incidents most like `incident` that `user` (a person, or None for a token: no
    restricted project) may see, best first, each with how it ended, its deciding verdict, the
    findings that resolved it and what the chat marked as evidence. Bounded queries (see the
    module's docstring) whatever the number of incidents."""
    rows = Incident.objects.visible_to(user).exclude(pk=incident.pk)
    opened: dict = {}
    shared = _failure_candidates(incident, rows, opened)
    text = _text_candidates(incident, rows, user, opened)
    scores: dict[int, tuple[float, list[str]]] = {}
    for pk in {*shared, *text}:
        reasons = [reason for reason in SCORES if reason in shared.get(pk, ())]
        score = sum(SCORES[reason] for reason in reasons)
        if pk in text:
            reasons.append("close_text")
            score += SCORES["close_text"] * text[pk]
        scores[pk] = (round(score, 3), reasons)
    if not scores:
        return []
    ranked = sorted(scores, key=lambda pk: (scores[pk][0], opened[pk], pk), reverse=True)
    # Only the best are read whole (one gone since the candidates were read is left out).
    best = ranked[:limit]
    loaded = {
        row.pk: row
        for row in rows.filter(pk__in=best)
        .select_related("device", "problem_group")
        .annotate(
            went_beyond_retest=Exists(
                IncidentEvent.objects.filter(incident=OuterRef("pk"), to_stage__in=BEYOND_RETEST)
            )
        )
    }
    found = [
        SimilarIncident(incident=loaded[pk], score=scores[pk][0], reasons=scores[pk][1])
        for pk in best
        if pk in loaded
    ]
    _outcomes(found)
    _resolutions(found)
    evidence = contributions.evidence_by_incident([row.incident.pk for row in found])
    for row in found:
        row.evidence = list(evidence.get(row.incident.pk, ()))
    return found


@dataclass
class GroupSuggestion:
    """An open problem group whose open incidents share this incident's failure."""

    group_id: int
    number: str
    title: str
    count: int
    station: str
    item: str


def suggested_groups(incident: Incident, user) -> list[GroupSuggestion]:
    """The open problem groups (other than its own) holding open incidents `user` sees with
    the same fail item at the same station as the open `incident`, the most such incidents
    first (one query); none for a closed incident or for someone who sees no problem groups."""
    if not (incident.is_open and incident.fail_item and access.sees_problem_groups(user)):
        return []
    rows = (
        Incident.objects.visible_to(user)
        .filter(
            stage__in=OPEN_STAGES,
            fail_item=incident.fail_item,
            fail_station=incident.fail_station,
            problem_group__status__in=OPEN_GROUP_STATUSES,
        )
        .exclude(pk=incident.pk)
    )
    if incident.problem_group_id:
        rows = rows.exclude(problem_group_id=incident.problem_group_id)
    counted = (
        rows.order_by()
        .values("problem_group", "problem_group__number", "problem_group__title")
        .annotate(count=Count("pk"))
        .order_by("-count", "-problem_group")[:MAX_SUGGESTED]
    )
    return [
        GroupSuggestion(
            group_id=row["problem_group"],
            number=row["problem_group__number"],
            title=row["problem_group__title"],
            count=row["count"],
            station=incident.fail_station,
            item=incident.fail_item,
        )
        for row in counted
    ]


def ungrouped_failures(user, limit: int = MAX_SUGGESTED) -> list[dict]:
    """Failures (station, item) shared by two or more open incidents `user` sees that are in no
    problem group, the most incidents first: each a problem group waiting to be made (one
    query)."""
    return list(
        Incident.objects.visible_to(user)
        .filter(stage__in=OPEN_STAGES, problem_group__isnull=True)
        .exclude(fail_item="")
        .order_by()
        .values("fail_station", "fail_item")
        .annotate(count=Count("pk"))
        .filter(count__gte=2)
        .order_by("-count", "fail_item", "fail_station")[:limit]
    )
