"""Section `search`: a million generated chat messages (Chinese and English) on PostgreSQL,
searched for one-, two- and four-character Chinese queries and an English word through
message_search (the GIN-indexed search vector), against an unindexed `icontains` scan that must
find the same ids."""

import os
import time

from django.db import connection

from scripts.bench.figures import figure


def _vocabulary(words: str) -> list[str]:
    return words.split("|")


# Chat messages as people write them: a part and what is wrong with it, everyday phrases, English
# words and part codes; each list drawn with weights 1/rank, so the first are the most common.
CHAT_PARTS = _vocabulary(
    "主板|电池|屏幕|摄像头|天线|充电口|扬声器|麦克风|副板|电源板|指纹模组|SIM 卡座|马达|"
    "中框|后盖|按键|FPC|BTB 连接器|PMU|CPU|内存|闪存|WiFi 模块|GPS 模块|NFC 线圈|陀螺仪|"
    "光感|听筒|闪光灯|屏蔽罩|晶振|电感|电容|LDO|滤波器|功放|射频开关|耳机座|背光|触控 IC"
)
CHAT_FAULTS = _vocabulary(
    "不良|失效|异常|接触不良|无输出|短路|开路|松动|有划痕|偏移|漏电|发热|烧毁|变形|脱落|"
    "进水|氧化|裂纹|缺件|错件|翘起|极性反|阻值偏大|电压偏低|无信号|容值偏小|起泡|分层|"
    "压伤|脏污|引脚弯曲|丝印不清|漏贴|立碑|桥接|偏位|空焊|掉件|虚焊|锡珠"
)
CHAT_PHRASES = _vocabulary(
    "收到|好的我看一下|复测还是失败|已经送回产线|等待 FAE 确认|重启后恢复|开机卡在 logo|"
    "电压正常|功耗偏高|需要重新烧录|充电电流偏大|USB 无法识别|蓝牙配对失败|WiFi 吞吐量低|"
    "EE 帮忙量一下电源|ME 看一下结构|温度过高|音频有杂音|换料后正常|同批次还有三台|"
    "送 X-ray 看焊点|申请报废|先别动这台|日志已上传|明天上午处理|和供应商确认过了|"
    "工单已关闭|回流焊温度曲线要看|复现了|没有复现|客户退回|老化测试通过|跌落后出现|"
    "振动测试后出现|高温高湿后出现|校准数据丢失|耦合测试不过|产线治具问题|程序版本不对|"
    "拍了照片在群里|这台先挂起|麻烦尽快|谁在实验室|已经补焊|换了一块新板|"
    "示波器借我用一下|今晚加班测|结果出来了|和上次一样|图纸版本不对|周报里写一下|"
    "供应商来料问题|开会再讨论|数据在共享盘|先按报废走|下午送过去|测不到电流|"
    "版本回退后正常|需要做切片|射频测试不过"
)
CHAT_WORDS = _vocabulary(
    "ok|log|pass|fail|retest|trace|update|boot|voltage|current|GPS|NFC|LCD|PMIC|firmware|"
    "antenna|reflow|ICT|FCT|OTA|golden|sample|rework|shield|connector|ESD|EMI|thermal|"
    "crack|impedance|coupling|leakage|oscillator|debug|patch|calibration"
)
# One, two and four Chinese characters and an English word, each in a few thousand messages.
SEARCH_QUERIES = ["锡", "虚焊", "射频测试", "calibration"]


def _pick(rng, words: list[str]) -> str:
    return rng.choices(words, weights=[1 / rank for rank in range(1, len(words) + 1)])[0]


def chat_text(rng) -> str:
    """One message of one to three clauses, sometimes with an English word or a part code."""
    clauses = []
    for _clause in range(rng.choice((1, 1, 2, 2, 3))):
        if rng.random() < 0.5:
            clauses.append(_pick(rng, CHAT_PARTS) + _pick(rng, CHAT_FAULTS))
        else:
            clauses.append(_pick(rng, CHAT_PHRASES))
    if rng.random() < 0.4:
        clauses.insert(rng.randrange(len(clauses) + 1), _pick(rng, CHAT_WORDS))
    if rng.random() < 0.2:
        clauses.append(f"{rng.choice('URCJ')}{rng.randrange(1, 400)}")
    return rng.choice(("，", " ", "。")).join(clauses)


def run() -> None:
    """A million chat messages on PostgreSQL, searched through the GIN-indexed search vector
    against an unindexed `icontains` scan returning the same ids, in the same run."""
    import random
    from datetime import UTC, datetime, timedelta

    from messaging.choices import MessageKind, RoomKind
    from messaging.models import Message, Room
    from messaging.search import (
        POSTGRESQL_CREATE_INDEX,
        POSTGRESQL_INDEX,
        message_search,
        search_tokens,
    )

    count = int(os.environ.get("BENCH_MESSAGES", "1000000"))
    if connection.vendor != "postgresql":
        print("Chat search: measured on PostgreSQL only (SQLite searches through FTS5).")
        return
    print(f"Chat search ({connection.vendor}, {count:,} messages):")
    rng = random.Random(11)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    rooms = Room.objects.bulk_create(
        # A room's subject is no foreign key: ids far above any incident's, so none is touched.
        [Room(kind=RoomKind.INCIDENT, incident_id=2_000_000_000 + n) for n in range(2000)]
    )
    room_ids = [room.pk for room in rooms]
    messages = Message.objects.all()  # both sides read the same table, whatever else is in it

    def tsvector(tokens: list[str]) -> str:
        return " ".join("'{}'".format(t.replace("\\", "\\\\").replace("'", "''")) for t in tokens)

    def best_of(attempts: int, run) -> tuple[float, list[int]]:
        seconds = []
        for _attempt in range(attempts):
            start = time.perf_counter()
            ids = run()
            seconds.append(time.perf_counter() - start)
        return min(seconds), ids

    try:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {POSTGRESQL_INDEX}")  # one build after the load is faster
            with cursor.cursor.copy(
                "COPY messaging_message (room_id, kind, text, event, created_at, search_vector) "
                "FROM STDIN"
            ) as copy:
                for n in range(count):
                    text = chat_text(rng)
                    copy.write_row(
                        (
                            rng.choice(room_ids),
                            MessageKind.TEXT.value,
                            text,
                            "{}",
                            first + timedelta(seconds=n),
                            tsvector(search_tokens(text)),
                        )
                    )
            loaded = time.perf_counter() - start
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(POSTGRESQL_CREATE_INDEX)
            # What autovacuum does to a table at rest: hint bits, visibility map, statistics.
            cursor.execute("VACUUM ANALYZE messaging_message")
        print(
            f"  stored with their search vectors (COPY) in {loaded:.0f} s, GIN index built and "
            f"VACUUM ANALYZE in {time.perf_counter() - start - loaded:.0f} s"
        )
        print(f"  {'query':<14}{'found':>8}{'message_search':>17}{'icontains':>12}{'ratio':>9}")
        for query in SEARCH_QUERIES:
            searched, found = best_of(
                5,
                lambda query=query: list(
                    message_search(messages, query).values_list("id", flat=True)
                ),
            )
            scanned, expected = best_of(
                3,
                lambda query=query: list(
                    messages.filter(
                        kind=MessageKind.TEXT, deleted_at__isnull=True, text__icontains=query
                    )
                    .order_by("-id")
                    .values_list("id", flat=True)
                ),
            )
            assert found == expected, f"{query}: {len(found)} found, {len(expected)} expected"
            figure(
                "search",
                f"message_search {query!r}",
                searched * 1000,
                "ms",
                scanned * 1000,
                "icontains scan",
                "at most 0.05x",
            )
            print(
                f"  {query:<14}{len(found):>8,}{searched * 1000:>14.1f} ms"
                f"{scanned * 1000:>9.1f} ms{scanned / searched:>8.1f}x"
            )
        print("  goal: at least 20x faster than icontains, finding the same messages")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM messaging_message WHERE room_id = ANY(%s)", [room_ids])
            cursor.execute(POSTGRESQL_CREATE_INDEX)
        Room.objects.filter(pk__in=room_ids).delete()
