"""The messages and queries the search is tried with, on PostgreSQL and on SQLite alike."""

MESSAGES = {
    "solder": "主板 U12 虚焊，已经补焊",
    "rework": "补焊以后复测通过，送回产线",
    "station": "测试站三号机又报 BT_RSSI 失败",
    # 测试 and 试站 (the pairs of 测试站) are both here, but 测试站 is not.
    "apart": "测试完成，试站已关",
    "rf": "射频测试 firmware 1.2.3 之后正常",
    # 射频, 频测 and 测试 (the pairs of 射频测试) are all here, but 射频测试 is not.
    "rf_apart": "射频没问题；频测结果见附件，测试 firmware 也正常",
    "english": "Firmware update fixed the RSSI drop",
    "firmly": "Connector firmly seated",
    "quotes": "他说 'OK' & \"fine\" | done (100%)",
    "markup": "<b>焊点</b> <script>alert(1)</script>",
    "group": "同一批次都虚焊",  # in the problem group's room
    "deleted": "删除前的虚焊记录",  # deleted by its author
    "edited": "螺丝松动",  # edited by its author into EDITED
}
EDITED = "螺丝已拧紧"
SYSTEM_TEXT = "虚焊 firmware system line"
SOLDER = {"solder", "rework", "markup", "group"}

# (query, the keys of the messages it finds)
CASES = [
    # Chinese of one, two, three and four characters
    ("焊", SOLDER),
    ("补焊", {"solder", "rework"}),
    ("虚焊", {"solder", "group"}),
    ("测试", {"station", "apart", "rf", "rf_apart"}),
    ("测试站", {"station"}),
    ("射频测试", {"rf"}),
    # Latin words: whole words, any case
    ("firmware", {"rf", "rf_apart", "english"}),
    ("FIRMWARE", {"rf", "rf_apart", "english"}),
    ("firm", set()),
    ("rssi", {"station", "english"}),
    ("1.2.3", {"rf"}),
    ("script", {"markup"}),
    # Chinese and Latin together: every term must be there
    ("RSSI 失败", {"station"}),
    ("Firmware 测试", {"rf", "rf_apart"}),
    ("U12 补焊", {"solder"}),
    # edits and deletions
    ("拧紧", {"edited"}),
    ("松动", set()),
    ("删除", set()),
    ("system", set()),
    # what would be operators to tsquery, FTS5 or LIKE is only text (or nothing)
    ("'", set()),
    ('"', set()),
    ("&", set()),
    ("|", set()),
    ("!", set()),
    (":*", set()),
    ("()", set()),
    ("\\", set()),
    ("%", set()),
    ("_", set()),
    ("firm:*", set()),
    ("焊 & !补焊", {"solder", "rework"}),
    ("') | ('焊", SOLDER),
    ("'OK' & \"fine\"", {"quotes"}),
    ("100%", {"quotes"}),
    ("<script>", {"markup"}),
    ('"测试站" OR 射频', set()),  # "or" is a word to find, not an operator
    ("NEAR(焊点 测试)", set()),
    ("^焊点*", {"markup"}),
]


def build() -> dict:
    """The corpus stored through the chat's services, in an incident's room and a problem
    group's room: {key: message}; the system line is under "system"."""
    from incidents.choices import Role
    from messaging.choices import MessageKind
    from messaging.models import Message
    from messaging.search import index_message
    from messaging.services import message_delete, message_edit, message_send, room_for
    from tests.factories import EmployeeFactory, IncidentFactory, ProblemGroupFactory

    author = EmployeeFactory(roles=(Role.STAFF,))
    incident_room = room_for(incident=IncidentFactory())
    group_room = room_for(problem_group=ProblemGroupFactory())
    messages = {}
    for key, text in MESSAGES.items():
        room = group_room if key == "group" else incident_room
        messages[key], _new = message_send(room=room, author=author, text=text)
    message_delete(message=messages["deleted"], by=author)
    messages["edited"] = message_edit(message=messages["edited"], by=author, text=EDITED)
    # The system writes its lines as codes; one carrying text is still never found.
    messages["system"] = Message.objects.create(
        room=incident_room, kind=MessageKind.SYSTEM, text=SYSTEM_TEXT, event={"code": "note"}
    )
    index_message(messages["system"])
    return messages
