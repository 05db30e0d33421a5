"""A factory at scale, made up quickly: `seed_scale(incidents=N)` adds N incidents with everything
around them (people, places, devices and their trails, timelines, records and results, problem
groups, notifications, chat rooms and messages), to measure the admin at 1,000 and 100,000
incidents. `python manage.py seed_scale --incidents N` runs it.

It writes rows directly, for speed: no service, no transition, no signal runs, nothing is
announced or e-mailed. The small tables (employees, locations, problem groups) go through
`bulk_create` with the services' builders; the large ones are streamed with PostgreSQL's COPY
(plain `executemany` elsewhere, slowly), with ids taken from each table's own sequence, so the
sequences stay right and later inserts never clash. Every incident is first walked through the
workflow in memory (the graph of `NEXT_STAGE`, the step cycle of each stage, send-backs), and
the rows are what the services would have written for that walk, so the data keeps the
invariants the product relies on:

- departments and stage ownership are reused (created the way migrations and `seed_demo` do
  when missing); every owning department gets supervisors, who assign and approve its stages;
- an incident's timeline runs from its opening through assign → record → result → submit
  (→ send back → …) → approve for each stage it visited, in time order, each entry's from/to
  stage and step chaining to the next; the last entry that changed the stage ends in the
  incident's stage, and its stage, step, assignee, round, `stage_entered_at` and `closed_at`
  are those the walk left; its history has a row for each change the workflow saved;
- a stage is submitted only with an operation record of the round, and with an analysis result
  carrying one of the stage's verdicts where the stage needs one; approval follows that verdict;
- a device has at most one open incident, its incidents do not overlap in time, and its trail
  (simple-history rows, `history_date` increasing) ends where the device is: registered on a
  line, pulled off by the reporter, handed over and taken to each stage's work location, put
  back on the line, in the scrap cage or on a shelf when the incident closes; reasons are a
  person's words or the workflow's hand-over code (`incidents.reasons.assigned`);
- chat messages have ids growing with time in each room, each naming the one before it, the
  room its newest, and a search vector (PostgreSQL) made of the same tokens as a sent message.

Left out on purpose: files (attachments), mentions, evidence, message edits; notifications and
chat system lines exist for each incident's latest step only, not for every step. The people
it adds have no usable password: log them in with `Client.force_login`, or set one.

Serial numbers, employee numbers, user names, location codes and problem-group numbers carry a
run prefix (SC01, SC02…), so running it again adds another set beside the first. The random
choices come from `random.Random(seed)`; times are relative to the moment of the run.
"""

import json
import random
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from incidents import reasons as workflow_reasons
from incidents.choices import (
    DEFAULT_STAGE_OWNERS,
    NEXT_STAGE,
    STAGE_VERDICTS,
    TERMINAL_STAGES,
    ProblemGroupStatus,
    Role,
    Stage,
    Step,
    Verdict,
    WorkflowAction,
)
from incidents.models import (
    AnalysisResult,
    Department,
    Employee,
    Incident,
    IncidentEvent,
    Notification,
    OperationRecord,
    ProblemGroup,
    StageOwnership,
)
from incidents.services.people import department_add_supervisors, employee_build, roles_grant
from locations.choices import LocationKind
from locations.models import Device, Location, project_key
from messaging.choices import MessageKind, RoomKind
from messaging.models import Message, Room, RoomMember
from messaging.search import search_tokens

Progress = Callable[[dict[str, int]], None]

# The trails' models (simple-history makes a new manager at each `Model.history`: read once).
DeviceTrail = Device.history.model
IncidentHistory = Incident.history.model

# Devices are walked and written this many at a time (with their incidents and all around them).
CHUNK = 5000
BATCH = 5000
YEARS = 3
DAY = 86400.0
HOUR = 3600.0

# --- what the factory is made of ------------------------------------------------------------------
PROJECTS = [("Falcon", 30), ("Heron", 22), ("Osprey", 18), ("Kestrel", 12), ("Swift", 10)]
PROJECTS += [("Merlin", 5), ("Condor", 3)]
BUILDS = ["EVT1", "EVT2", "DVT1", "DVT2", "PVT", "MP"]
CONFIGS = ["CFG-A", "CFG-B", "CFG-C", "CFG-D"]
STATIONS = ["RF-OTA", "MMI", "BT-WIFI", "CAMERA", "AUDIO", "FCT", "BURN-IN", "DISPLAY", "GPS"]
# Failure modes, most frequent first (a Pareto chart needs a long tail).
FAIL_ITEMS = [
    "BT_RSSI_LOW", "WIFI_TX_POWER", "CAM_AF_FAIL", "GPS_CN0_LOW", "AUDIO_THD", "LCD_FLICKER",
    "USB_ENUM_FAIL", "NFC_FIELD", "CHARGE_CURRENT", "TOUCH_NOISE", "SPK_BUZZ", "MIC_SNR",
    "SIM_DETECT", "PMU_OVP", "DDR_TRAIN", "EMMC_CRC", "SENSOR_IMU", "VIB_MOTOR", "KEY_STUCK",
    "LTE_RSRP", "IR_BLASTER", "HALL_SENSOR", "FLASH_LED", "TEMP_RISE", "BOOT_LOOP",
]  # fmt: skip
SURNAMES = [
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
]  # fmt: skip
GIVEN_NAMES = [
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("磊", "Lei"),
    ("强", "Qiang"), ("洋", "Yang"), ("艳", "Yan"), ("勇", "Yong"), ("军", "Jun"), ("杰", "Jie"),
    ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"),
    ("悦", "Yue"), ("婷", "Ting"), ("浩", "Hao"), ("宇", "Yu"), ("鑫", "Xin"), ("琳", "Lin"),
]  # fmt: skip
DESCRIPTIONS = [
    "Three consecutive fails at {station}: {item}. 连续三次fail，已下线。",
    "{item} out of limit at {station}, retest on the line failed too.",
    "{station}站{item}不良，复测仍fail，送FA。",
    "Intermittent {item} at {station}; fails after warm-up.",
    "{item} 偶发不良，{station} 三次fail。",
]
WORK = {
    Stage.REPORTED: ("Confirmed three consecutive fails on the line", "三次fail确认，已下线"),
    Stage.FAE_RETEST: ("Retest on golden station", "FAE复测，复现失败"),
    Stage.XRAY: ("2D/3D X-ray of the main board", "X光检测BGA焊点"),
    Stage.EE_ANALYSIS: ("Signal measurement on the RF path", "测量射频通路信号"),
    Stage.ME_ANALYSIS: ("Cross-section of the shield can area", "屏蔽罩区域切片分析"),
    Stage.FINAL_RETEST: ("Final retest after repair", "修复后最终复测"),
}
FINDINGS = {
    Verdict.PASS: [
        "Passes on the golden station",
        "复测PASS，未复现",
        "No defect found in the image",
    ],
    Verdict.FAIL: ["Fails again, same signature", "复测仍fail", "Voids under the BGA, 虚焊"],
    Verdict.RESOLVED: ["Reworked the component, passes now", "更换器件后恢复", "Reflowed, OK"],
    Verdict.NOT_RESOLVED: ["Board damaged, cannot be repaired", "PCB内层断线，无法修复"],
    "": ["Checked the station log and fixture", "确认测试站与治具正常"],
}
SEND_BACK_REASONS = [
    "Attach the full log please",
    "请补充X光图片",
    "Measure again on a second unit",
]
CANCEL_REASONS = [
    "Duplicate report of the same unit",
    "误报，治具问题",
    "Test program bug, not a unit",
]
CHAT = [
    "请问{serial}现在在哪里？", "Log uploaded for {serial}", "{item}这个问题上周也出现过",
    "X光看起来BGA有虚焊", "Can someone check the fixture at {station}?", "已经送到实验室了",
    "复测PASS，可能是治具接触不良", "same signature as the Falcon DVT units", "需要切片分析确认",
    "I will take it after lunch", "射频测试结果偏低3dB", "calibration of the station was off",
    "请尽快处理，产线在等", "rework done, please retest", "这个料号的供应商换过批次",
]  # fmt: skip
GROUP_CHAT = [
    "本周又新增了几台{item}不良", "Root cause looks like the supplier lot", "8D报告草稿已更新",
    "Containment: screen all units at {station}", "供应商回复明天到厂分析", "closing after the fix",
]  # fmt: skip
# What a person typed at a scan station when the device went to each place.
TAKE_WORDS = {
    Stage.FAE_RETEST: "FAE领用",
    Stage.XRAY: "X-ray检测",
    Stage.EE_ANALYSIS: "送分析",
    Stage.ME_ANALYSIS: "送分析",
    Stage.FINAL_RETEST: "FAE领用",
}

# How closed incidents ended and the visits that led there: ((stage, verdict), …) with a weight.
V = Verdict
R, FAE, XRAY, EE, ME, FINAL = (
    Stage.REPORTED,
    Stage.FAE_RETEST,
    Stage.XRAY,
    Stage.EE_ANALYSIS,
    Stage.ME_ANALYSIS,
    Stage.FINAL_RETEST,
)
PATHS = [
    (32, ((R, None), (FAE, V.PASS))),  # no fault found: returned straight from FAE retest
    (8, ((R, None), (FAE, V.FAIL), (XRAY, V.PASS), (EE, V.RESOLVED), (FINAL, V.PASS))),
    (7, ((R, None), (FAE, V.FAIL), (XRAY, V.FAIL), (ME, V.RESOLVED), (FINAL, V.PASS))),
    (9, ((R, None), (FAE, V.FAIL), (XRAY, V.PASS), (EE, V.NOT_RESOLVED))),
    (9, ((R, None), (FAE, V.FAIL), (XRAY, V.FAIL), (ME, V.NOT_RESOLVED))),
    (3, ((R, None), (FAE, V.FAIL), (XRAY, V.PASS), (EE, V.RESOLVED), (FINAL, V.FAIL))),
    (3, ((R, None), (FAE, V.FAIL), (XRAY, V.FAIL), (ME, V.RESOLVED), (FINAL, V.FAIL))),
]
PATH_WEIGHTS = [weight for weight, _path in PATHS]
# Shares of the incidents: closed by the graph, cancelled, open (in any open stage and step).
CANCELLED_SHARE = 0.12
OPEN_SHARE = 0.07
OPEN_STAGE_WEIGHTS = {R: 18, FAE: 26, XRAY: 14, EE: 16, ME: 10, FINAL: 16}
SEND_BACK_RATE = 0.08
# Hours: waiting to be assigned, the work, waiting for review (the mean of an exponential).
WAIT_HOURS = {R: 2, FAE: 8, XRAY: 10, EE: 12, ME: 14, FINAL: 8}
WORK_HOURS = {R: 1.5, FAE: 20, XRAY: 8, EE: 60, ME: 80, FINAL: 16}
REVIEW_HOURS = 10

for _weight, _path in PATHS:  # the walks above follow the workflow's graph
    for (_stage, _verdict), (_next, _v) in pairwise(_path):
        assert NEXT_STAGE[(_stage, _verdict)] == _next, _path
    assert NEXT_STAGE[_path[-1]] in TERMINAL_STAGES, _path


def seed_scale(incidents: int, seed: int = 0, progress: Progress | None = None) -> dict:
    """Add `incidents` incidents and the factory around them (see the module's docstring), in
    one transaction; returns how many rows were written, per model label."""
    if incidents < 1:
        raise ValueError("seed_scale needs at least one incident")
    with transaction.atomic():
        return _Factory(incidents, seed, progress or (lambda counts: None)).build()


def _visit_ends(events: list[tuple]) -> dict[int, float]:
    """For each event of a walk that took the incident into a stage (or opened it), by its
    index: the seconds of the next such event (IncidentEvent.left_at, as
    services.visit_ends_write writes it)."""
    entering = sorted(
        (seconds, index)
        for index, (seconds, action, _actor, from_stage, _fs, to_stage, *_rest) in enumerate(events)
        if from_stage != to_stage or action == WorkflowAction.OPEN
    )
    return {index: later for (_s, index), (later, _i) in pairwise(entering)}


class _Writer:
    """Streams rows into a table: COPY on PostgreSQL, executemany elsewhere. Columns the caller
    leaves out get their field's default, so a field added later does not break the seeding."""

    def __init__(self, model, columns: list[str]):
        self.model = model
        self.table = model._meta.db_table
        concrete = model._meta.concrete_fields
        unknown = set(columns) - {f.attname for f in concrete}
        if unknown:
            raise ValueError(f"{model._meta.label} has no column {sorted(unknown)}")
        # The table's own key fills itself when not given (history rows, timeline entries).
        fields = [f for f in concrete if f.attname not in columns and not f.primary_key]
        self.tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in fields)
        self.columns = tuple(columns) + tuple(f.column for f in fields)
        self.postgresql = connection.vendor == "postgresql"

    def write(self, rows: list[tuple]) -> int:
        if not rows:
            return 0
        quote = connection.ops.quote_name
        names = ", ".join(quote(column) for column in self.columns)
        tail = self.tail
        if self.postgresql:
            connection.ensure_connection()
            statement = f"COPY {quote(self.table)} ({names}) FROM STDIN"
            with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row + tail if tail else row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            marks = ", ".join(["%s"] * len(self.columns))
            statement = f"INSERT INTO {quote(self.table)} ({names}) VALUES ({marks})"
            with connection.cursor() as cursor:
                for start in range(0, len(rows), BATCH):
                    cursor.executemany(
                        statement,
                        [
                            [adapt(v) if isinstance(v, datetime) else v for v in row + tail]
                            for row in rows[start : start + BATCH]
                        ],
                    )
        return len(rows)


def _reserve_ids(model, count: int) -> list[int]:
    """`count` ids from the table's own sequence (PostgreSQL), so rows written with explicit ids
    leave the sequence right; elsewhere the next ids above the largest (one writer at a time)."""
    if count == 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
        first = cursor.fetchone()[0] + 1
    return list(range(first, first + count))


def _tsvector(text: str) -> str:
    """The search vector of a message as PostgreSQL reads it: its tokens, each quoted."""
    quoted = (token.replace("\\", "\\\\").replace("'", "''") for token in search_tokens(text))
    return " ".join(f"'{token}'" for token in quoted)


class _Walk:
    """One incident walked through the workflow in memory, times in seconds from its opening."""

    __slots__ = (
        "assignee",
        "closed",
        "end",
        "entered",
        "events",
        "moves",
        "people",
        "records",
        "results",
        "round",
        "snapshots",
        "stage",
        "step",
    )


class _Factory:
    """One run: the frame (people, places, groups), then the devices chunk by chunk."""

    def __init__(self, count: int, seed: int, progress: Progress):
        self.count = count
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = timezone.now()
        self.counts: dict[str, int] = {}
        self.postgresql = connection.vendor == "postgresql"

    def add(self, model, rows: int) -> None:
        label = model._meta.label
        self.counts[label] = self.counts.get(label, 0) + rows

    # --- the frame: departments, people, places, problem groups ---------------------------------
    def build(self) -> dict:
        self.run = self._next_run()
        self.prefix = f"SC{self.run:02d}"
        self._departments()
        self._employees()
        self.progress(dict(self.counts))
        self._locations()
        self._problem_groups()
        self.progress(dict(self.counts))
        self._writers()
        devices = max(1, round(self.count * 0.8))
        # Every device has an incident; the others go to devices that failed again.
        per_device = [1] * devices
        for _extra in range(self.count - devices):
            per_device[self.rng.randrange(devices)] += 1
        # The devices whose latest incident is still open: a few percent of the incidents.
        self.open_devices = set(self.rng.sample(range(devices), round(OPEN_SHARE * self.count)))
        for start in range(0, devices, CHUNK):
            self._chunk(per_device[start : start + CHUNK], start)
            self.progress(dict(self.counts))
        self._group_statuses()
        self._group_rooms()
        self.progress(dict(self.counts))
        if self.postgresql:
            with connection.cursor() as cursor:
                for model in (Device, DeviceTrail, Incident, IncidentEvent, Message):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        return dict(self.counts)

    def _next_run(self) -> int:
        numbers = Employee.objects.filter(employee_number__regex=r"^SC[0-9]+-").values_list(
            "employee_number", flat=True
        )
        runs = [int(number[2:].split("-")[0]) for number in numbers]
        return max(runs, default=0) + 1

    def _departments(self) -> None:
        """The departments owning the stages, as the migrations make them; missing ownership is
        given back to the default owner."""
        for stage, code in DEFAULT_STAGE_OWNERS.items():
            if not StageOwnership.objects.filter(stage=stage).exists():
                department, _created = Department.objects.get_or_create(
                    code=code, defaults={"name": code}
                )
                StageOwnership.objects.create(stage=stage, department=department)
        self.owners = {
            o.stage: o.department for o in StageOwnership.objects.select_related("department")
        }

    def _employees(self) -> None:
        """About one person per hundred incidents (at least 20), spread over the departments
        that own stages: a supervisor for every eight or so, an administrator or two."""
        rng = self.rng
        total = max(20, self.count // 100)
        admins = max(1, total // 200)
        departments = list({d.pk: d for d in self.owners.values()}.values())
        reporting = self.owners[Stage.REPORTED]
        weights = [
            3.0 if d == reporting else sum(1 for o in self.owners.values() if o == d)
            for d in departments
        ]
        sizes = [max(2, round((total - admins) * w / sum(weights))) for w in weights]
        # Rounding aside, the reporting department takes what is left over.
        sizes[departments.index(reporting)] += max(0, total - admins - sum(sizes))
        people, grants, supervisors = [], [], {}
        number = 0

        def person(department, role):
            nonlocal number
            number += 1
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
            code = department.code.lower() if department else "admin"
            username = f"{self.prefix.lower()}_{code}_{number:05d}"
            employee = employee_build(
                employee_number=f"{self.prefix}-{number:05d}",
                username=username,
                display_name=f"{surname[0]}{given[0]} {given[1]} {surname[1]}",
                email=f"{username}@example.com",
                department=department,
            )
            employee.language = rng.choice(("", "zh-hans", "zh-hans", "en"))
            people.append(employee)
            grants.append((employee, role))
            return employee

        for _n in range(admins):
            person(None, Role.ADMIN)
        for department, size in zip(departments, sizes, strict=True):
            leads = max(1, round(size / 8))
            supervisors[department.pk] = [person(department, Role.SUPERVISOR) for _ in range(leads)]
            for _n in range(size - leads):
                person(department, Role.STAFF)
        Employee.objects.bulk_create(people, batch_size=BATCH)
        roles_grant(grants=grants)
        for department in departments:
            department_add_supervisors(
                department=department, supervisors=supervisors[department.pk]
            )
        self.add(Employee, len(people))
        self.admins = [e.pk for e, role in grants if role == Role.ADMIN]
        self.supervisors = {pk: [e.pk for e in team] for pk, team in supervisors.items()}
        self.staff = {
            d.pk: [e.pk for e, role in grants if role == Role.STAFF and e.department_id == d.pk]
            for d in departments
        }
        self.names = {e.pk: e.display_name for e in people}
        self.stage_supervisors = {s: self.supervisors[d.pk] for s, d in self.owners.items()}
        self.stage_staff = {s: self.staff[d.pk] for s, d in self.owners.items()}

    def _locations(self) -> None:
        """Workshops with their lines (and shelves by the lines), a warehouse with shelves, and
        a lab building with a lab per analysis stage and the scrap cage: a few hundred places
        at 100,000 incidents. Stages without a work location get their lab (as `seed_demo`)."""
        rng, p = self.rng, self.prefix
        buildings = [
            Location(
                code=f"{p}-WS{n}", name=f"{p} 车间{n} Workshop {n}", kind=LocationKind.BUILDING
            )
            for n in range(1, 2 + self.count // 20000 + 1)
        ]
        warehouse = Location(code=f"{p}-WH", name=f"{p} 仓库 Warehouse", kind=LocationKind.BUILDING)
        lab = Location(code=f"{p}-LAB", name=f"{p} 实验楼 Lab building", kind=LocationKind.BUILDING)
        Location.objects.bulk_create([*buildings, warehouse, lab])
        areas, lines, stores = [], [], []
        for building in buildings:
            for n in range(1, rng.randint(4, 7) + 1):
                line = Location(
                    code=f"{building.code}-L{n}", name=f"Line {n}", kind=LocationKind.AREA
                )
                line.parent = building
                areas.append(line)
                lines.append(line)
        for n in range(1, 3 + self.count // 25000 + 1):
            store = Location(code=f"{p}-WH-B{n}", name=f"仓库B{n}区", kind=LocationKind.AREA)
            store.parent = warehouse
            areas.append(store)
            stores.append(store)
        labs = {}
        for stage, short in ((FAE, "FAE"), (XRAY, "XRAY"), (EE, "EE"), (ME, "ME")):
            labs[stage] = Location(
                code=f"{p}-{short}-LAB", name=f"{short} lab", kind=LocationKind.LAB, parent=lab
            )
        labs[FINAL] = labs[FAE]
        scrap = Location(code=f"{p}-SCRAP", name="报废笼 Scrap cage", kind=LocationKind.OTHER)
        scrap.parent = lab
        Location.objects.bulk_create([*areas, *{x.code: x for x in labs.values()}.values(), scrap])
        shelves_per_area = 3 + min(6, self.count // 15000)
        shelves = [
            Location(
                code=f"{area.code}-S{n:02d}",
                name=f"Shelf {n}",
                kind=LocationKind.SHELF,
                parent=area,
            )
            for area in areas
            for n in range(1, shelves_per_area + 1)
        ]
        Location.objects.bulk_create(shelves, batch_size=BATCH)
        made = [*buildings, warehouse, lab, *areas, *{x.code: x for x in labs.values()}.values()]
        made += [scrap, *shelves]
        for location in made:
            location._history_date = self.now - timedelta(days=365 * YEARS + 30)
        Location.history.bulk_history_create(made, batch_size=BATCH)
        self.add(Location, len(made))
        self.add(Location.history.model, len(made))
        for ownership in StageOwnership.objects.filter(work_location__isnull=True):
            if ownership.stage in labs:
                ownership.work_location = labs[ownership.stage]
                ownership.save(update_fields=["work_location"])
        self.work_places = {
            o.stage: o.work_location_id
            for o in StageOwnership.objects.all()
            if o.work_location_id is not None
        }
        self.lines = [x.pk for x in lines]
        self.shelves = [x.pk for x in shelves]
        self.intake = [x.pk for x in shelves if x.parent in stores]
        self.scrap = scrap.pk

    def _problem_groups(self) -> None:
        """One group per two hundred incidents, each gathering incidents of a few months."""
        count = max(1, self.count // 200)
        span = 365 * YEARS * DAY
        centers = sorted(self.rng.uniform(0.02, 0.97) * span for _n in range(count))
        groups = []
        for n, center in enumerate(centers, start=1):
            created = self.now - timedelta(seconds=span - center + 45 * DAY)
            item = self.rng.choice(FAIL_ITEMS[:12])
            groups.append(
                ProblemGroup(
                    number=f"{self.prefix}-{created.year}-{n:04d}",
                    title=f"{item} · {self.rng.choice(PROJECTS)[0]}",
                    description=f"Incidents failing {item} with the same signature.",
                    created_at=created,
                )
            )
        ProblemGroup.objects.bulk_create(groups, batch_size=BATCH)
        for group in groups:
            group._history_date = group.created_at
        ProblemGroup.history.bulk_history_create(groups, batch_size=BATCH)
        self.add(ProblemGroup, len(groups))
        self.add(ProblemGroup.history.model, len(groups))
        self.groups = groups
        self.group_starts = [g.created_at for g in groups]

    def _writers(self) -> None:
        """A writer per large table, in the order the chunks write them, with the columns the
        rows below fill (the others get their field's default)."""
        device = [
            "id",
            "serial_number",
            "project",
            "hardware_version",
            "rom_version",
            "config",
            "project_key",
            "location_id",
            "holder_id",
            "created_at",
        ]
        incident = [
            "id",
            "device_id",
            "problem_group_id",
            "stage",
            "step",
            "assignee_id",
            "stage_round",
            "reporter_id",
            "description",
            "opened_at",
            "stage_entered_at",
            "closed_at",
            "fail_station",
            "fail_item",
            "test_log_url",
            "failed_at",
        ]
        event = [
            "incident_id",
            "action",
            "actor_id",
            "from_stage",
            "from_step",
            "to_stage",
            "to_step",
            "assignee_id",
            "comment",
            "verdict",
            "created_at",
            "left_at",
        ]
        record = [
            "id",
            "incident_id",
            "stage",
            "round",
            "action",
            "notes",
            "created_by_id",
            "created_at",
        ]
        result = [
            "incident_id",
            "stage",
            "round",
            "operation_record_id",
            "findings",
            "verdict",
            "created_by_id",
            "created_at",
        ]
        notification = [
            "recipient_id",
            "incident_id",
            "action",
            "actor_id",
            "stage",
            "comment",
            "created_at",
            "read_at",
        ]
        room = ["id", "kind", "incident_id", "problem_group_id", "last_message_id", "created_at"]
        message = [
            "id",
            "room_id",
            "kind",
            "author_id",
            "text",
            "event",
            "reply_to_id",
            "prev_id",
            "created_at",
        ]
        if self.postgresql:
            message.append("search_vector")
        member = ["room_id", "person_id", "joined_at", "last_read_id"]
        trail = [*device, "history_date", "history_change_reason", "history_type"]
        self.writers = {
            Device: _Writer(Device, device),
            DeviceTrail: _Writer(DeviceTrail, [*trail, "history_user_id"]),
            Incident: _Writer(Incident, incident),
            IncidentHistory: _Writer(
                IncidentHistory, [*incident, "history_date", "history_type", "history_user_id"]
            ),
            IncidentEvent: _Writer(IncidentEvent, event),
            OperationRecord: _Writer(OperationRecord, record),
            AnalysisResult: _Writer(AnalysisResult, result),
            Notification: _Writer(Notification, notification),
            Room: _Writer(Room, room),
            Message: _Writer(Message, message),
            RoomMember: _Writer(RoomMember, member),
        }

    # --- one incident, walked in memory ----------------------------------------------------------
    def _hours(self, mean: float, floor: float = 0.1) -> float:
        return (floor + self.rng.expovariate(1 / mean)) * HOUR

    def _walk(self, reporter: int, is_open: bool, cancel: bool) -> _Walk:
        """The events, records, results, state snapshots and device moves of one incident."""
        rng = self.rng
        walk = _Walk()
        path = PATHS[rng.choices(range(len(PATHS)), PATH_WEIGHTS)[0]][1]
        if is_open:
            stage = rng.choices(list(OPEN_STAGE_WEIGHTS), list(OPEN_STAGE_WEIGHTS.values()))[0]
            while stage not in (s for s, _v in path):
                path = PATHS[rng.choices(range(len(PATHS)), PATH_WEIGHTS)[0]][1]
            cut = [s for s, _v in path].index(stage)
        elif cancel:
            cut = min(len(path) - 1, rng.choices((0, 1, 2, 3), (5, 4, 2, 1))[0])
        else:
            cut = len(path)
        step = rng.choice((Step.UNASSIGNED, Step.ASSIGNED, Step.SUBMITTED))
        events, records, results, snapshots, moves = [], [], [], [], []
        state = {"stage": R, "step": Step.UNASSIGNED, "assignee": None, "round": 1}
        state.update(entered=0.0, closed=None)
        people = {reporter}
        t = 0.0
        opening = (WorkflowAction.OPEN, reporter, R, Step.UNASSIGNED, R, Step.UNASSIGNED)
        events.append((t, *opening, None, "", ""))
        snapshots.append((t, "+", reporter, dict(state)))
        moves.append((t + 60, rng.choice(self.intake), reporter, "送分析", reporter))

        def log(action, actor, who=None, comment="", verdict="", **change):
            """A timeline entry (`who`: its assignee column); `change` is what the step did to
            the incident, saved (a history row) unless it only added a record or a result."""
            before = (state["stage"], state["step"])
            state.update(change)
            after = (state["stage"], state["step"])
            events.append((t, action, actor, *before, *after, who, comment, verdict))
            if action not in (WorkflowAction.RECORD, WorkflowAction.RESULT):
                snapshots.append((t, "~", actor, dict(state)))

        def work(stage, staff, verdict, span):
            nonlocal t
            action, notes = WORK[stage]
            t += span * 0.6
            records.append((t, stage, state["round"], action, notes, staff))
            log(WorkflowAction.RECORD, staff, comment=action)
            if stage in STAGE_VERDICTS:
                t += span * 0.2
                findings = rng.choice(FINDINGS[verdict])
                results.append(
                    (t, stage, state["round"], len(records) - 1, findings, verdict, staff)
                )
                log(WorkflowAction.RESULT, staff, comment=findings, verdict=verdict)
            else:
                t += span * 0.2

        def assign(stage, supervisor, staff):
            nonlocal t
            t += self._hours(WAIT_HOURS[stage], 0.2)
            log(WorkflowAction.ASSIGN, supervisor, staff, step=Step.ASSIGNED, assignee=staff)
            people.update((supervisor, staff))
            if rng.random() < 0.6:  # handed over with the assignment
                moves.append((t + 60, None, staff, workflow_reasons.assigned(stage), supervisor))
            place = self.work_places.get(stage)
            if place is not None:  # taken to where the stage works, scanned at the station
                moves.append((t + 600, place, staff, TAKE_WORDS.get(stage, "送分析"), staff))

        def visit(stage, verdict, until=None):
            """One stage, from assignment to approval, or to step `until` when it stops there."""
            nonlocal t
            if until == Step.UNASSIGNED:
                return None
            supervisor = rng.choice(self.stage_supervisors[stage])
            staff = rng.choice(self.stage_staff[stage])
            assign(stage, supervisor, staff)
            span = self._hours(WORK_HOURS[stage], 0.3)
            if until == Step.ASSIGNED:
                if rng.random() < 0.5:
                    work(stage, staff, rng.choice(STAGE_VERDICTS.get(stage, ("",))), span)
                return staff
            if rng.random() < SEND_BACK_RATE:
                work(stage, staff, rng.choice(STAGE_VERDICTS.get(stage, ("",))), span)
                t += span * 0.2
                log(WorkflowAction.SUBMIT, staff, staff, step=Step.SUBMITTED)
                t += self._hours(REVIEW_HOURS)
                reason = rng.choice(SEND_BACK_REASONS)
                round_ = state["round"] + 1
                log(
                    WorkflowAction.REJECT,
                    supervisor,
                    staff,
                    reason,
                    step=Step.ASSIGNED,
                    round=round_,
                )
                span = self._hours(WORK_HOURS[stage] / 2, 0.3)
            work(stage, staff, verdict or "", span)
            t += span * 0.2
            log(WorkflowAction.SUBMIT, staff, staff, step=Step.SUBMITTED)
            if until == Step.SUBMITTED:
                return staff
            t += self._hours(REVIEW_HOURS)
            target = NEXT_STAGE[(stage, verdict)]
            closing = target in TERMINAL_STAGES
            log(
                WorkflowAction.APPROVE,
                rng.choice(self.stage_supervisors[stage]),
                staff,
                stage=target,
                step=Step.CLOSED if closing else Step.UNASSIGNED,
                assignee=None,
                round=1,
                entered=t,
                closed=t if closing else None,
            )
            if not closing and rng.random() < 0.6:
                moves.append((t + 300, rng.choice(self.shelves), None, "入库", staff))
            return staff

        last_staff = reporter
        for stage, verdict in path[:cut]:
            last_staff = visit(stage, verdict)
        if cut < len(path):
            stage, verdict = path[cut]
            last_staff = visit(stage, verdict, until=step) or last_staff
            if cancel:
                t += self._hours(WAIT_HOURS[stage] * 2)
                actor = rng.choice(self.stage_supervisors[stage])
                if rng.random() < 0.1:
                    actor = rng.choice(self.admins)
                log(
                    WorkflowAction.CANCEL,
                    actor,
                    state["assignee"],
                    rng.choice(CANCEL_REASONS),
                    stage=Stage.CANCELLED,
                    step=Step.CLOSED,
                    assignee=None,
                    round=1,
                    entered=t,
                    closed=t,
                )
                moves.append((t + 1800, rng.choice(self.shelves), None, "入库", actor))
        if state["stage"] == Stage.RETURNED:
            keeper = rng.choice(self.stage_staff[R])
            moves.append(
                (t + rng.uniform(600, 20 * HOUR), rng.choice(self.lines), keeper, "回产线", keeper)
            )
        elif state["stage"] == Stage.SCRAPPED:
            moves.append((t + rng.uniform(600, 20 * HOUR), self.scrap, None, "报废", last_staff))
        walk.events, walk.records, walk.results = events, records, results
        walk.snapshots, walk.moves, walk.people = snapshots, moves, people
        walk.end = max(t, moves[-1][0]) if moves else t
        walk.stage, walk.step = state["stage"], state["step"]
        walk.assignee, walk.round = state["assignee"], state["round"]
        walk.entered, walk.closed = state["entered"], state["closed"]
        return walk

    # --- a chunk of devices with everything around them ------------------------------------------
    def _chunk(self, per_device: list[int], first: int) -> None:
        rng, now = self.rng, self.now
        span = 365 * YEARS * DAY
        total = sum(per_device)
        device_ids = _reserve_ids(Device, len(per_device))
        incident_ids = iter(_reserve_ids(Incident, total))
        rows = {model: [] for model in self.writers}
        trail = rows[DeviceTrail]
        planned = []  # (incident id, walk, opened_at, device id, device details, failure)
        for offset, (device_id, count) in enumerate(zip(device_ids, per_device, strict=True)):
            project = rng.choices([p for p, _w in PROJECTS], [w for _p, w in PROJECTS])[0]
            serial = f"{self.prefix}{first + offset + 1:08d}"
            details = (
                serial,
                project,
                rng.choice(BUILDS),
                f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
                rng.choice(CONFIGS),
                project_key(project),
            )
            failures = self._failures(serial, count)
            walks = []
            last_open = first + offset in self.open_devices
            for n in range(count):
                is_open = last_open and n == count - 1
                cancel = not is_open and rng.random() < CANCELLED_SHARE / (1 - OPEN_SHARE)
                reporter = rng.choice(self.stage_staff[R])
                walks.append(self._walk(reporter, is_open, cancel))
            # Place the incidents one after another in time: an open one ends now.
            gap = 2 * DAY
            if last_open:
                idle = rng.choice(
                    (
                        self._hours(36, 1),
                        self._hours(36, 1),
                        rng.uniform(3, 14) * DAY,
                        rng.uniform(14, 60) * DAY,
                    )
                )
                last_start = span - idle - walks[-1].end
                closed_walks, end_limit = walks[:-1], last_start - gap
            else:
                closed_walks, end_limit = walks, span - DAY
            starts = []
            slot = end_limit / max(1, len(closed_walks))
            for n, walk in enumerate(closed_walks):
                room = slot - walk.end - gap
                if room < 0:  # a long walk in a short slot: squeeze its times in
                    self._squeeze(walk, (slot - gap) / walk.end)
                    room = 0
                starts.append(n * slot + rng.uniform(0, room))
            if last_open:
                starts.append(last_start)
            created = starts[0] - rng.uniform(DAY, 60 * DAY)
            created_at = now - timedelta(seconds=span - created)
            maker = rng.choice(self.stage_staff[R])
            location, holder = rng.choice(self.lines), None
            trail.append(
                (device_id, *details, location, holder, created_at, created_at, None, "+", maker)
            )
            for walk, start, failure in zip(walks, starts, failures, strict=True):
                opened_at = now - timedelta(seconds=span - start)
                incident_id = next(incident_ids)
                planned.append((incident_id, walk, opened_at, device_id, details, failure))
                for at, place, person, reason, user in walk.moves:
                    new = (place or location, person or holder)
                    if new == (location, holder):
                        continue
                    location, holder = new
                    trail.append(
                        (
                            device_id,
                            *details,
                            location,
                            holder,
                            created_at,
                            opened_at + timedelta(seconds=at),
                            reason,
                            "~",
                            user,
                        )
                    )
            rows[Device].append((device_id, *details, location, holder, created_at))
        self._incident_rows(planned, rows)
        self._chat_rows(planned, rows)
        for model in self.writers:
            self.add(model, self.writers[model].write(rows[model]))

    def _failures(self, serial: str, count: int) -> list[tuple[str, str, str]]:
        """How each of a device's `count` incidents failed (station, item, test log): a device
        that fails again mostly fails the same way, sometimes on another station or item."""
        rng, failures = self.rng, []
        for n in range(count):
            if failures and rng.random() < 0.6:
                station, item = failures[-1][:2]
            else:
                station = rng.choice(STATIONS)
                item = FAIL_ITEMS[min(len(FAIL_ITEMS) - 1, int(rng.paretovariate(1.2)) - 1)]
            failures.append((station, item, f"https://testlogs.example.com/{serial}/{n + 1}"))
        return failures

    def _squeeze(self, walk: _Walk, factor: float) -> None:
        walk.events = [(e[0] * factor, *e[1:]) for e in walk.events]
        walk.records = [(r[0] * factor, *r[1:]) for r in walk.records]
        walk.results = [(r[0] * factor, *r[1:]) for r in walk.results]
        walk.moves = [(m[0] * factor, *m[1:]) for m in walk.moves]
        walk.snapshots = [(s[0] * factor, *s[1:]) for s in walk.snapshots]
        for _at, _kind, _user, state in walk.snapshots:
            state["entered"] *= factor
            if state["closed"] is not None:
                state["closed"] *= factor
        walk.entered *= factor
        walk.closed = walk.closed * factor if walk.closed is not None else None
        walk.end *= factor

    def _group_for(self, opened_at: datetime):
        """A problem group started shortly before, for about one incident in six."""
        if self.rng.random() > 0.16:
            return None
        index = bisect_left(self.group_starts, opened_at) - 1
        if index < 0:
            return None
        group = self.groups[index]
        return group.pk if opened_at - group.created_at < timedelta(days=120) else None

    def _incident_rows(self, planned, rows) -> None:
        rng = self.rng
        record_ids = iter(_reserve_ids(OperationRecord, sum(len(p[1].records) for p in planned)))
        for incident_id, walk, opened_at, device_id, _details, failure in planned:
            station, item, _url = failure
            description = rng.choice(DESCRIPTIONS).format(station=station, item=item)
            # The station failed it three times in the hour before it was reported.
            failed_at = opened_at - timedelta(seconds=rng.uniform(5 * 60, HOUR))
            group = self._group_for(opened_at)

            def at(seconds, opened_at=opened_at):
                return opened_at + timedelta(seconds=seconds)

            reporter = walk.events[0][2]
            closed = at(walk.closed) if walk.closed is not None else None
            rows[Incident].append(
                (
                    incident_id,
                    device_id,
                    group,
                    walk.stage,
                    walk.step,
                    walk.assignee,
                    walk.round,
                    reporter,
                    description,
                    opened_at,
                    at(walk.entered),
                    closed,
                    *failure,
                    failed_at,
                )
            )
            for seconds, kind, user, state in walk.snapshots:
                rows[IncidentHistory].append(
                    (
                        incident_id,
                        device_id,
                        group,
                        state["stage"],
                        state["step"],
                        state["assignee"],
                        state["round"],
                        reporter,
                        description,
                        opened_at,
                        at(state["entered"]),
                        at(state["closed"]) if state["closed"] is not None else None,
                        *failure,
                        failed_at,
                        at(seconds),
                        kind,
                        user,
                    )
                )
            left = _visit_ends(walk.events)
            for index, (seconds, *event) in enumerate(walk.events):
                ended = left.get(index)
                rows[IncidentEvent].append(
                    (incident_id, *event, at(seconds), None if ended is None else at(ended))
                )
            ids = []
            for seconds, stage, round_, action, notes, by in walk.records:
                ids.append(next(record_ids))
                rows[OperationRecord].append(
                    (ids[-1], incident_id, stage, round_, action, notes, by, at(seconds))
                )
            for seconds, stage, round_, record, findings, verdict, by in walk.results:
                rows[AnalysisResult].append(
                    (incident_id, stage, round_, ids[record], findings, verdict, by, at(seconds))
                )
            self._notification(incident_id, walk, at, reporter, rows[Notification])

    def _notification(self, incident_id, walk, at, reporter, rows) -> None:
        """What the workflow told someone about the incident's latest step: always for open
        incidents, for about half of the closed ones (the others were cleared)."""
        rng = self.rng
        if walk.closed is not None and rng.random() > 0.47:
            return
        for seconds, action, actor, from_stage, _fst, to_stage, _tst, who, text, _v in reversed(
            walk.events
        ):
            recipient = {
                WorkflowAction.ASSIGN: who,
                WorkflowAction.REJECT: who,
                WorkflowAction.APPROVE: who,
                WorkflowAction.SUBMIT: rng.choice(self.stage_supervisors[from_stage]),
                WorkflowAction.CANCEL: reporter,
            }.get(action)
            if recipient is None or recipient == actor:
                continue
            created = at(seconds)
            age = (self.now - created).total_seconds()
            read = None
            if age > 3 * DAY or rng.random() < 0.4:
                read = min(self.now, created + timedelta(seconds=rng.uniform(300, 2 * DAY)))
            # People's words (a reason) travel with the notification; the rest is a code.
            comment = text if action in (WorkflowAction.REJECT, WorkflowAction.CANCEL) else ""
            rows.append((recipient, incident_id, action, actor, to_stage, comment, created, read))
            return

    def _chat_rows(self, planned, rows) -> None:
        """Rooms for most incidents (every open one), a few messages each by the people who
        worked on it and one system line telling the latest step, as the workflow would."""
        rng, now = self.rng, self.now
        rooms, messages = [], []  # messages: (at, room index, kind, author, text, event)
        for incident_id, walk, opened_at, _device_id, details, failure in planned:
            if walk.closed is not None and rng.random() > 0.7:
                continue
            serial = details[0]
            station, item, _url = failure
            end = opened_at + timedelta(seconds=walk.closed or walk.end)
            end = min(now, end if walk.closed is not None else now)
            life = max(60.0, (end - opened_at).total_seconds())
            index = len(rooms)
            rooms.append([incident_id, None])
            people = list(walk.people)
            for _n in range(rng.choice((1, 2, 3, 3, 4, 4, 5, 6))):
                text = rng.choice(CHAT).format(serial=serial, station=station, item=item)
                at = opened_at + timedelta(seconds=rng.uniform(0, life))
                messages.append((at, index, MessageKind.TEXT, rng.choice(people), text, None))
            told = [e for e in walk.events if e[1] != WorkflowAction.OPEN]
            if told:
                seconds, action, actor, fs, fst, ts, tst, assignee, comment, verdict = told[-1]
                params = {
                    "code": "workflow",
                    "action": action,
                    "from_stage": fs,
                    "to_stage": ts,
                    "from_step": fst,
                    "to_step": tst,
                    "assignee": self.names.get(assignee),
                    "comment": comment,
                }
                if verdict:
                    params["verdict"] = verdict
                at = min(now, opened_at + timedelta(seconds=seconds))
                messages.append((at, index, MessageKind.SYSTEM, actor, "", params))
        self._room_rows(rooms, messages, rows, RoomKind.INCIDENT)

    def _room_rows(self, rooms, messages, rows, kind) -> None:
        """Ids growing with time, each message naming the one before it in its room, the room
        its newest; the people who wrote are members, some with messages still unread."""
        rng = self.rng
        room_ids = _reserve_ids(Room, len(rooms))
        messages.sort(key=lambda m: m[0])
        message_ids = _reserve_ids(Message, len(messages))
        last: dict[int, int] = {}
        first_at: dict[int, datetime] = {}
        written: dict[int, list[int]] = {}
        members: dict[tuple[int, int], list] = {}
        for message_id, (at, index, message_kind, author, text, event) in zip(
            message_ids, messages, strict=True
        ):
            room_id = room_ids[index]
            previous = last.get(index)
            reply = None
            if message_kind == MessageKind.TEXT and written.get(index) and rng.random() < 0.15:
                reply = rng.choice(written[index])
            row = (
                message_id,
                room_id,
                message_kind,
                author,
                text,
                json.dumps(event or {}, ensure_ascii=False),
                reply,
                previous,
                at,
            )
            if self.postgresql:
                row += (_tsvector(text) if text else None,)
            rows[Message].append(row)
            last[index] = message_id
            first_at.setdefault(index, at)
            if message_kind == MessageKind.TEXT:
                written.setdefault(index, []).append(message_id)
                member = members.setdefault((index, author), [at, message_id])
                member[1] = message_id
        for index, (incident_id, group_id) in enumerate(rooms):
            created = first_at.get(index, self.now)
            rows[Room].append(
                (room_ids[index], kind, incident_id, group_id, last.get(index), created)
            )
        for (index, person), (joined, own_last) in members.items():
            newest = last[index]
            read = newest if rng.random() < 0.8 else own_last
            rows[RoomMember].append((room_ids[index], person, joined, read))

    # --- after every incident is in ------------------------------------------------------------
    def _group_statuses(self) -> None:
        """Groups with open incidents are open or investigated; the others resolved or closed."""
        open_ids = set(
            ProblemGroup.objects.filter(pk__in=[g.pk for g in self.groups])
            .annotate(open=Count("incidents", filter=~Q(incidents__stage__in=TERMINAL_STAGES)))
            .filter(open__gt=0)
            .values_list("pk", flat=True)
        )
        by_status: dict[str, list[int]] = {}
        for group in self.groups:
            if group.pk in open_ids:
                status = self.rng.choice(
                    (ProblemGroupStatus.OPEN, ProblemGroupStatus.INVESTIGATING)
                )
            else:
                status = self.rng.choice((ProblemGroupStatus.RESOLVED, ProblemGroupStatus.CLOSED))
            by_status.setdefault(status, []).append(group.pk)
        for status, ids in by_status.items():
            ProblemGroup.objects.filter(pk__in=ids).update(status=status)

    def _group_rooms(self) -> None:
        """Half of the problem groups have been discussed in their room."""
        rng = self.rng
        rooms, messages = [], []
        people = [pk for team in self.staff.values() for pk in team]
        for group in self.groups:
            if rng.random() > 0.5:
                continue
            index = len(rooms)
            rooms.append([None, group.pk])
            life = max(60.0, (self.now - group.created_at).total_seconds())
            item = group.title.split(" · ")[0]
            for _n in range(rng.randint(4, 16)):
                text = rng.choice(GROUP_CHAT).format(item=item, station=rng.choice(STATIONS))
                at = group.created_at + timedelta(seconds=rng.uniform(0, min(life, 120 * DAY)))
                messages.append((at, index, MessageKind.TEXT, rng.choice(people), text, None))
        rows = {Room: [], Message: [], RoomMember: []}
        self._room_rows(rooms, messages, rows, RoomKind.PROBLEM_GROUP)
        for model, model_rows in rows.items():
            self.add(model, self.writers[model].write(model_rows))


def supported() -> bool:
    """Whether this database takes the fast path (COPY): PostgreSQL."""
    return connection.vendor == "postgresql"
