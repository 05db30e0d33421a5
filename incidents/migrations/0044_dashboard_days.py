"""The dashboard's day stamps (incidents.models.DashboardDay), written by the database itself
whenever an incident, its timeline or its device changes: statement triggers reading the changed
rows on PostgreSQL (one write per statement, a COPY of thousands of rows included), row triggers
on SQLite."""

from django.db import migrations, models

INCIDENT = "incidents_incident"
EVENT = "incidents_incidentevent"
DEVICE = "locations_device"
DAYS = "incidents_dashboardday"

# The changed rows' days, each given a new stamp; in the order of the days, so that two
# transactions stamping the same days take their rows' locks in the same order.
STAMP = f"""
    INSERT INTO {DAYS} (day, stamp)
    SELECT day, (random() * 9.0e18)::bigint FROM (%s) AS changed ORDER BY day
    ON CONFLICT (day) DO UPDATE SET stamp = EXCLUDED.stamp
"""
OPENED = "SELECT DISTINCT (opened_at AT TIME ZONE 'UTC')::date AS day FROM {rows}"
OF_INCIDENTS = (
    f"SELECT DISTINCT (i.opened_at AT TIME ZONE 'UTC')::date AS day FROM {INCIDENT} i "
    "WHERE i.id IN (SELECT incident_id FROM {rows})"
)
OF_DEVICES = (
    f"SELECT DISTINCT (i.opened_at AT TIME ZONE 'UTC')::date AS day FROM {INCIDENT} i "
    "WHERE i.device_id IN (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
    "WHERE n.project IS DISTINCT FROM o.project "
    "OR n.location_id IS DISTINCT FROM o.location_id)"
)


def _function(name: str, on_insert: str, on_update: str, on_delete: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN {on_insert};
        ELSIF TG_OP = 'UPDATE' THEN {on_update};
        ELSE {on_delete};
        END IF;
        RETURN NULL;
    END $$;
    """


def _triggers(table: str, function: str, operations: tuple[str, ...]) -> list[str]:
    made = []
    for operation in operations:
        tables = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }[operation]
        made.append(
            f"CREATE TRIGGER {function}_{operation.lower()} AFTER {operation} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return made


POSTGRESQL = [
    _function(
        "dashboard_days_of_incidents",
        STAMP % OPENED.format(rows="new_rows"),
        STAMP % (OPENED.format(rows="new_rows") + " UNION " + OPENED.format(rows="old_rows")),
        STAMP % OPENED.format(rows="old_rows"),
    ),
    *_triggers(INCIDENT, "dashboard_days_of_incidents", ("INSERT", "UPDATE", "DELETE")),
    _function(
        "dashboard_days_of_events",
        STAMP % OF_INCIDENTS.format(rows="new_rows"),
        STAMP % OF_INCIDENTS.format(rows="new_rows"),
        STAMP % OF_INCIDENTS.format(rows="old_rows"),
    ),
    *_triggers(EVENT, "dashboard_days_of_events", ("INSERT", "UPDATE", "DELETE")),
    _function("dashboard_days_of_devices", "NULL", STAMP % OF_DEVICES, "NULL"),
    *_triggers(DEVICE, "dashboard_days_of_devices", ("UPDATE",)),
]
POSTGRESQL_REVERSE = [
    "DROP FUNCTION IF EXISTS dashboard_days_of_incidents() CASCADE",
    "DROP FUNCTION IF EXISTS dashboard_days_of_events() CASCADE",
    "DROP FUNCTION IF EXISTS dashboard_days_of_devices() CASCADE",
]

SQLITE_STAMP = (
    f"INSERT INTO {DAYS} (day, stamp) {{select}} "
    "ON CONFLICT (day) DO UPDATE SET stamp = excluded.stamp;"
)


def _sqlite_trigger(name: str, when: str, *selects: str) -> str:
    body = " ".join(SQLITE_STAMP.format(select=select) for select in selects)
    return f"CREATE TRIGGER {name} {when} BEGIN {body} END"


def _of_incident(row: str) -> str:
    return f"SELECT date(opened_at), random() FROM {INCIDENT} WHERE id = {row}.incident_id"


SQLITE = [
    _sqlite_trigger(
        "dashboard_days_incident_insert",
        f"AFTER INSERT ON {INCIDENT}",
        "SELECT date(NEW.opened_at), random() WHERE true",
    ),
    _sqlite_trigger(
        "dashboard_days_incident_update",
        f"AFTER UPDATE ON {INCIDENT}",
        "SELECT date(NEW.opened_at), random() WHERE true",
        "SELECT date(OLD.opened_at), random() WHERE true",
    ),
    _sqlite_trigger(
        "dashboard_days_incident_delete",
        f"AFTER DELETE ON {INCIDENT}",
        "SELECT date(OLD.opened_at), random() WHERE true",
    ),
    _sqlite_trigger("dashboard_days_event_insert", f"AFTER INSERT ON {EVENT}", _of_incident("NEW")),
    _sqlite_trigger("dashboard_days_event_update", f"AFTER UPDATE ON {EVENT}", _of_incident("NEW")),
    _sqlite_trigger("dashboard_days_event_delete", f"AFTER DELETE ON {EVENT}", _of_incident("OLD")),
    _sqlite_trigger(
        "dashboard_days_device_update",
        f"AFTER UPDATE OF project, location_id ON {DEVICE} "
        "WHEN OLD.project IS NOT NEW.project OR OLD.location_id IS NOT NEW.location_id",
        f"SELECT DISTINCT date(opened_at), random() FROM {INCIDENT} WHERE device_id = NEW.id",
    ),
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "dashboard_days_incident_insert",
        "dashboard_days_incident_update",
        "dashboard_days_incident_delete",
        "dashboard_days_event_insert",
        "dashboard_days_event_update",
        "dashboard_days_event_delete",
        "dashboard_days_device_update",
    )
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0043_open_failure_index"),
        ("locations", "0011_serial_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="DashboardDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False, verbose_name="day")),
                ("stamp", models.BigIntegerField(verbose_name="stamp")),
            ],
            options={
                "verbose_name": "dashboard day",
                "verbose_name_plural": "dashboard days",
                "ordering": ["day"],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
