"""What a legacy import reports: each sheet's outcome, every invalid or skipped row, and each change
to people the workbook asks for (made only when confirmed)."""

from dataclasses import dataclass, field

from incidents.legacy.workbook import LegacyError


@dataclass
class SheetSummary:
    rows: int = 0  # read from the sheet, with or without problems
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class PersonChange:
    """One change the workbook would make to a person, field by field (a role granted is one),
    made only when the administrator confirms it for the import. `key` names it the same in
    the check and in the import, whatever the language of the report."""

    sheet: str
    row: int
    person: str
    column: str
    before: str
    after: str
    key: str
    applied: bool = False

    def __str__(self) -> str:
        change = f"{self.before or '—'} → {self.after}"
        return f"{self.sheet}!{self.row}: {self.person}: {self.column}: {change}"


# `confirmed_people` for the command line: every change to people the run lists is made.
ALL_LISTED = "all-listed"


@dataclass
class ImportReport:
    dry_run: bool
    summaries: dict[str, SheetSummary] = field(default_factory=dict)
    errors: list[LegacyError] = field(default_factory=list)
    # Rows left alone on purpose (the product changed them since), with the reason.
    skipped: list[LegacyError] = field(default_factory=list)
    sheet_titles: dict[str, str] = field(default_factory=dict)
    # Every change to people the workbook asks for, made or not (`applied`).
    people_changes: list[PersonChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
