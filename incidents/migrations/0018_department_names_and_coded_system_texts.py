"""Departments get a Chinese name beside the English one, and what the system wrote in words
(frozen in the language of whoever acted) becomes codes, shown in each reader's language:

- trail reasons of devices, locations, incidents and problem groups (`history_change_reason`):
  "legacy import", "spreadsheet import", "Deactivated", "Assigned for <stage>", "Undo: <reason>"
  in English or Chinese become codes of locations.reasons;
- timeline entries: "Imported from the legacy workbook" and "Stage from the legacy workbook"
  become a note, "<verdict>: findings" a verdict and the findings;
- the same texts in the chat's system lines (the reason of a move, a result's comment).

Anything else, people's own words included, stays as it was written. Everything here is a frozen
copy of the texts and labels as they were when this migration was written.
"""

import json
import re

from django.db import migrations, models

# Department code → (English name, Chinese name), for the departments every factory starts with.
DEPARTMENTS = {
    "PROD": ("Production", "生产"),
    "FAE": ("FAE", "FAE"),
    "XRAY": ("X-ray lab", "X光实验室"),
    "EE": ("EE", "EE"),
    "ME": ("ME", "ME"),
}
CHINESE = re.compile(r"[\u3400-\u9fff]")

# Stage and verdict → (English label, Chinese label).
STAGES = {
    "reported": ("Reported by production", "产线上报"),
    "fae_retest": ("FAE retest", "FAE复测"),
    "xray": ("X-ray inspection", "X光检测"),
    "ee_analysis": ("EE analysis", "EE分析"),
    "me_analysis": ("ME analysis", "ME分析"),
    "final_retest": ("FAE final retest", "FAE终测"),
    "returned": ("Returned to the line", "已回产线"),
    "scrapped": ("Scrapped", "已报废"),
    "cancelled": ("Cancelled", "已取消"),
}
VERDICTS = {
    "pass": ("Pass", "通过"),
    "fail": ("Fail", "不通过"),
    "resolved": ("Resolved", "已解决"),
    "not_resolved": ("Not resolved", "未解决"),
}

# Trail reasons: exact texts, and texts with a parameter (prefix in English and in Chinese).
EXACT_REASONS = {
    "legacy import": {"code": "legacy_import"},
    "spreadsheet import": {"code": "spreadsheet_import"},
    "Deactivated": {"code": "deactivated"},
    "已停用": {"code": "deactivated"},
}
ASSIGNED_PREFIXES = ("Assigned for ", "指派做")
UNDO_PREFIXES = ("Undo: ", "撤销：")
# What an undo said when the move it undid had no reason.
UNDO_WITHOUT_REASON = ("scan", "扫码")
MAX_REASON = 100

NOTES = {
    ("open", "Imported from the legacy workbook"): "legacy_import",
    ("open", "从旧版工作簿导入"): "legacy_import",
    ("import", "Stage from the legacy workbook"): "legacy_stage",
    ("import", "节点取自旧版工作簿"): "legacy_stage",
}
NOTE_TEXTS = {
    ("open", "legacy_import"): "Imported from the legacy workbook",
    ("import", "legacy_stage"): "Stage from the legacy workbook",
}

HISTORIES = [
    ("locations", "HistoricalDevice"),
    ("locations", "HistoricalLocation"),
    ("incidents", "HistoricalIncident"),
    ("incidents", "HistoricalProblemGroup"),
]


def reason_code(text: str):
    """The code (a dict) an old trail reason stands for, or None for a person's words."""
    if text in EXACT_REASONS:
        return dict(EXACT_REASONS[text])
    for prefix in ASSIGNED_PREFIXES:
        if text.startswith(prefix):
            label = text[len(prefix) :]
            for stage, labels in STAGES.items():
                if label in labels:
                    return {"code": "assigned", "stage": stage}
            return None
    for prefix in UNDO_PREFIXES:
        if text.startswith(prefix):
            inner = text[len(prefix) :]
            if inner in UNDO_WITHOUT_REASON:
                return {"code": "undo"}
            return {"code": "undo", "reason": reason_code(inner) or inner}
    return None


def stored(code: dict) -> str:
    return json.dumps(code, ensure_ascii=False, separators=(",", ":"))


def reason_text(code) -> str:
    """Back to the English words (for migrating backwards)."""
    if isinstance(code, str):
        return code
    name = code.get("code")
    if name == "assigned":
        return "Assigned for " + STAGES.get(code.get("stage"), (code.get("stage"),))[0]
    if name == "undo":
        return "Undo: " + (reason_text(code["reason"]) if code.get("reason") else "scan")
    return {
        "legacy_import": "legacy import",
        "spreadsheet_import": "spreadsheet import",
        "deactivated": "Deactivated",
    }.get(name, stored(code))


def decoded(text):
    if not text or not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "code" in data else None


def split_verdict(comment: str):
    """(verdict, findings) of a result's "<verdict>: findings"; (None, comment) otherwise."""
    for verdict, labels in VERDICTS.items():
        for label in labels:
            if comment.startswith(f"{label}: "):
                return verdict, comment[len(label) + 2 :]
    return None, comment


def name_departments(apps, schema_editor):
    Department = apps.get_model("incidents", "Department")
    departments = list(Department.objects.all())
    taken_en = {d.name for d in departments}
    taken_zh = {d.name_zh for d in departments if d.name_zh}
    for department in departments:
        english, chinese = DEPARTMENTS.get(department.code.upper(), (None, None))
        if CHINESE.search(department.name):
            # Named in Chinese by an administrator or a workbook: that is its Chinese name.
            chinese = department.name
            if english and english not in taken_en:
                taken_en.discard(department.name)
                department.name = english
                taken_en.add(english)
        if chinese and not department.name_zh and chinese not in taken_zh:
            department.name_zh = chinese
            taken_zh.add(chinese)
    Department.objects.bulk_update(departments, ["name", "name_zh"])


def _convert_histories(apps, convert) -> None:
    for app_label, model_name in HISTORIES:
        history = apps.get_model(app_label, model_name)
        rows = (
            history.objects.exclude(history_change_reason__isnull=True)
            .exclude(history_change_reason="")
            .values_list("history_id", "history_change_reason")
        )
        changes: dict[str, list[int]] = {}
        for pk, text in rows.iterator(chunk_size=2000):
            new = convert(text)
            if new is not None and new != text and len(new) <= MAX_REASON:
                changes.setdefault(new, []).append(pk)
        for new, pks in changes.items():
            for start in range(0, len(pks), 1000):
                history.objects.filter(history_id__in=pks[start : start + 1000]).update(
                    history_change_reason=new
                )


def _to_code(text: str):
    code = reason_code(text)
    return stored(code) if code else None


def _to_words(text: str):
    code = decoded(text)
    return reason_text(code) if code else None


def _convert_events(apps, forwards: bool) -> None:
    IncidentEvent = apps.get_model("incidents", "IncidentEvent")
    if forwards:
        for (action, comment), note in NOTES.items():
            IncidentEvent.objects.filter(action=action, comment=comment).update(
                note=note, comment=""
            )
        results = list(IncidentEvent.objects.filter(action="result", verdict=""))
        for event in results:
            verdict, findings = split_verdict(event.comment)
            if verdict:
                event.verdict, event.comment = verdict, findings
        IncidentEvent.objects.bulk_update(
            [e for e in results if e.verdict], ["verdict", "comment"], batch_size=1000
        )
        return
    for (action, note), text in NOTE_TEXTS.items():
        IncidentEvent.objects.filter(action=action, note=note, comment="").update(comment=text)
    results = list(IncidentEvent.objects.exclude(verdict=""))
    for event in results:
        event.comment = f"{VERDICTS[event.verdict][0]}: {event.comment}"
    IncidentEvent.objects.bulk_update(results, ["comment"], batch_size=1000)


def _convert_chat_lines(apps, forwards: bool) -> None:
    Message = apps.get_model("messaging", "Message")
    changed = []
    for message in Message.objects.filter(kind="system").iterator(chunk_size=1000):
        event = dict(message.event or {})
        if event.get("code") == "device.moved":
            reason = event.get("reason")
            if forwards and isinstance(reason, str):
                code = reason_code(reason)
                if code:
                    event["reason"] = code
            elif not forwards and isinstance(reason, dict):
                event["reason"] = reason_text(reason)
        elif event.get("code") == "workflow" and event.get("action") == "result":
            if forwards and not event.get("verdict"):
                verdict, findings = split_verdict(event.get("comment") or "")
                if verdict:
                    event["verdict"], event["comment"] = verdict, findings
            elif not forwards and event.get("verdict") in VERDICTS:
                label = VERDICTS[event.pop("verdict")][0]
                event["comment"] = f"{label}: {event.get('comment') or ''}"
        if event != message.event:
            message.event = event
            changed.append(message)
    Message.objects.bulk_update(changed, ["event"], batch_size=1000)


def forwards(apps, schema_editor):
    name_departments(apps, schema_editor)
    _convert_histories(apps, _to_code)
    _convert_events(apps, forwards=True)
    _convert_chat_lines(apps, forwards=True)


def backwards(apps, schema_editor):
    _convert_histories(apps, _to_words)
    _convert_events(apps, forwards=False)
    _convert_chat_lines(apps, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0017_notification_for_chat_mentions"),
        ("locations", "0003_device_move_permission"),
        ("messaging", "0002_message_search"),
    ]

    operations = [
        migrations.AlterField(
            model_name="department",
            name="name",
            field=models.CharField(max_length=100, verbose_name="English name"),
        ),
        migrations.AddField(
            model_name="department",
            name="name_zh",
            field=models.CharField(
                blank=True,
                help_text="Shown to people who read Chinese; the English name when empty.",
                max_length=100,
                verbose_name="Chinese name",
            ),
        ),
        migrations.AddField(
            model_name="incidentevent",
            name="verdict",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pass", "Pass"),
                    ("fail", "Fail"),
                    ("resolved", "Resolved"),
                    ("not_resolved", "Not resolved"),
                ],
                max_length=16,
                verbose_name="verdict",
            ),
        ),
        migrations.AddField(
            model_name="incidentevent",
            name="note",
            field=models.CharField(
                blank=True,
                choices=[
                    ("legacy_import", "Imported from the legacy workbook"),
                    ("legacy_stage", "Stage from the legacy workbook"),
                ],
                max_length=32,
                verbose_name="note",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddConstraint(
            model_name="department",
            constraint=models.UniqueConstraint(
                condition=models.Q(("name_zh", ""), _negated=True),
                fields=("name_zh",),
                name="department_name_zh_unique",
                violation_error_message="A department with this Chinese name already exists.",
            ),
        ),
    ]
