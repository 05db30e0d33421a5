import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from incidents.choices import Role
from messaging.admin import CappedCountPaginator
from messaging.models import Message
from messaging.search import (
    _tsquery,
    highlight,
    message_search,
    query_terms,
    query_tokens,
    search_tokens,
)
from tests.factories import EmployeeFactory, SuperuserFactory
from tests.messaging import search_corpus
from tests.messaging.search_corpus import CASES
from tests.processes import migrated_sqlite, once_per_run

ROOT = Path(__file__).resolve().parents[2]
CHANGELIST = "admin:messaging_message_changelist"
SEARCH_INDEX = "message_search_vector_idx"


@pytest.fixture
def corpus(db):
    return search_corpus.build()


def found(query: str, corpus: dict, queryset=None) -> set[str]:
    keys = {message.pk: key for key, message in corpus.items()}
    queryset = Message.objects.all() if queryset is None else queryset
    return {keys[pk] for pk in message_search(queryset, query).values_list("pk", flat=True)}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class SearchTokensTests:
    def test_chinese_is_indexed_by_single_characters_and_pairs(self):
        assert search_tokens("虚焊补") == ["虚", "焊", "补", "虚焊", "焊补"]

    def test_latin_words_are_indexed_whole_and_in_lower_case(self):
        assert search_tokens("BT_RSSI Firmware 1.2") == ["bt", "rssi", "firmware", "1", "2"]

    def test_chinese_and_latin_are_told_apart_without_spaces(self):
        assert search_tokens("U12虚焊") == ["u12", "虚", "焊", "虚焊"]

    def test_a_one_character_query_looks_up_that_character(self):
        assert query_tokens("焊") == ["焊"]

    def test_a_longer_chinese_query_looks_up_its_pairs(self):
        assert query_tokens("射频测试") == ["射频", "频测", "测试"]

    def test_a_query_must_contain_each_run_and_word(self):
        assert query_terms("射频测试 Firmware") == ["射频测试", "firmware"]

    def test_operators_and_punctuation_are_no_tokens(self):
        assert query_tokens("' \" & | ! :* ( ) \\ % _ <>") == []


@pytest.mark.django_db
@pytest.mark.postgres(reason="tsquery is PostgreSQL's")
class TsqueryQuotingTests:
    """Tokens never hold quotes or operators; were one to, it would still be one lexeme."""

    def matches(self, lexemes: list[str], tokens: list[str]) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_to_tsvector(%s::text[]) @@ %s::tsquery", [lexemes, _tsquery(tokens)]
            )
            return cursor.fetchone()[0]

    def test_a_quote_inside_a_token_stays_inside_its_lexeme(self):
        assert self.matches(["a'b"], ["a'b"])
        assert not self.matches(["a", "b"], ["a'b"])

    def test_operators_inside_a_token_are_literal(self):
        assert self.matches(["x & !y | z:*"], ["x & !y | z:*"])
        assert not self.matches(["x", "zebra"], ["x & !y | z:*"])

    def test_a_backslash_inside_a_token_is_literal(self):
        assert self.matches(["c\\d"], ["c\\d"])
        assert not self.matches(["cd"], ["c\\d"])


class MessageSearchOnPostgresqlTests:
    @pytest.mark.parametrize(("query", "expected"), CASES, ids=[case[0] for case in CASES])
    def test_finds_the_messages_containing_every_term(self, corpus, query, expected):
        assert found(query, corpus) == expected

    def test_pairs_that_only_sit_apart_are_no_hit(self, corpus):
        assert "apart" in found("测试", corpus)
        assert "apart" not in found("测试站", corpus)
        assert "rf_apart" not in found("射频测试", corpus)

    def test_the_newest_message_comes_first(self, corpus):
        ids = list(message_search(Message.objects.all(), "焊").values_list("pk", flat=True))

        assert ids == sorted(ids, reverse=True)

    def test_edited_text_is_found_by_what_it_says_now(self, corpus):
        assert found("拧紧", corpus) == {"edited"}
        assert found("松动", corpus) == set()

    def test_deleted_messages_and_system_lines_are_not_found(self, corpus):
        assert found("删除", corpus) == set()
        assert "system" not in found("firmware", corpus)

    @pytest.mark.postgres(reason="the GIN index is PostgreSQL's")
    def test_the_migration_drops_and_makes_the_index_again(self, db):
        def has_index() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [SEARCH_INDEX])
                return cursor.fetchone() is not None

        # The migration alone, backwards then forwards (migrating the whole project back to
        # before it would undo and redo every later migration that depends on it).
        loader = MigrationLoader(connection)
        key = ("messaging", "0002_message_search")
        migration = loader.get_migration(*key)
        before = loader.project_state(key, at_end=False)
        after = loader.project_state(key, at_end=True)
        with connection.schema_editor() as editor:
            migration.unapply(after, editor)
        dropped = not has_index()
        with connection.schema_editor() as editor:
            migration.apply(before, editor)

        assert dropped
        assert has_index()


class HighlightTests:
    def test_hits_are_marked_and_everything_else_is_escaped(self):
        excerpt = highlight("<b>焊点</b> <script>alert(1)</script>", "焊")

        assert excerpt == (
            "&lt;b&gt;<mark>焊</mark>点&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;"
        )

    def test_markup_in_the_query_is_escaped_too(self):
        assert highlight("a <mark> b", "<mark>") == "a &lt;<mark>mark</mark>&gt; b"

    def test_latin_words_are_marked_only_where_they_are_whole_words(self):
        assert highlight("Firmware firmly", "firm") == "Firmware firmly"
        assert highlight("Firmware firmly", "FIRMWARE") == "<mark>Firmware</mark> firmly"

    def test_every_term_is_marked(self):
        assert (
            highlight("BT_RSSI 复测失败", "rssi 失败")
            == "BT_<mark>RSSI</mark> 复测<mark>失败</mark>"
        )

    def test_a_long_message_is_cut_around_its_first_hit(self):
        excerpt = highlight("甲" * 300 + "虚焊" + "乙" * 300, "虚焊", width=100)

        assert excerpt.startswith("…") and excerpt.endswith("…")
        assert "<mark>虚焊</mark>" in excerpt
        assert len(excerpt.replace("<mark>", "").replace("</mark>", "")) == 102

    def test_without_a_query_the_excerpt_is_the_beginning(self):
        assert highlight("一" * 200, "", width=10) == "一" * 10 + "…"


class MessageAdminTests:
    def test_anonymous_is_sent_to_the_login_page(self, client, db):
        response = client.get(reverse(CHANGELIST))

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    def test_someone_who_may_see_no_room_is_refused(self, corpus):
        nobody = EmployeeFactory(roles=())

        response = client_for(nobody).get(reverse(CHANGELIST), {"q": "焊"})

        assert response.status_code == 403

    @pytest.mark.parametrize("role", [Role.STAFF, Role.SUPERVISOR, Role.ADMIN])
    def test_every_role_searches_every_room(self, corpus, role):
        response = client_for(EmployeeFactory(roles=(role,))).get(
            reverse(CHANGELIST), {"q": "虚焊"}
        )

        assert response.status_code == 200
        assert [m.pk for m in response.context["cl"].result_list] == [
            corpus["group"].pk,
            corpus["solder"].pk,
        ]

    def test_results_link_to_the_message_in_its_room(self, corpus):
        solder, group = corpus["solder"], corpus["group"]

        response = client_for(EmployeeFactory(roles=(Role.STAFF,))).get(
            reverse(CHANGELIST), {"q": "虚焊"}
        )

        incident_page = reverse("admin:incidents_incident_change", args=[solder.room.incident_id])
        group_page = reverse(
            "admin:incidents_problemgroup_change", args=[group.room.problem_group_id]
        )
        assert f'href="{incident_page}#message-{solder.pk}"' in response.text
        assert f'href="{group_page}#message-{group.pk}"' in response.text
        assert group.room.problem_group.number in response.text
        assert "<mark>虚焊</mark>" in response.text

    def test_excerpts_are_escaped(self, corpus):
        response = client_for(EmployeeFactory(roles=(Role.STAFF,))).get(
            reverse(CHANGELIST), {"q": "script"}
        )

        assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in response.text
        assert "<script>alert(1)" not in response.text

    def test_someone_who_sees_incidents_only_finds_no_problem_group_messages(self, corpus):
        readers = Group.objects.create(name="incident readers")
        readers.permissions.add(
            Permission.objects.get(codename="view_incident", content_type__app_label="incidents")
        )
        reader = EmployeeFactory(roles=())
        reader.groups.add(readers)

        response = client_for(reader).get(reverse(CHANGELIST), {"q": "虚焊"})

        assert [m.pk for m in response.context["cl"].result_list] == [corpus["solder"].pk]

    def test_deleted_messages_and_system_lines_are_not_listed(self, corpus):
        response = client_for(EmployeeFactory(roles=(Role.STAFF,))).get(reverse(CHANGELIST))

        listed = {m.pk for m in response.context["cl"].result_list}
        assert corpus["deleted"].pk not in listed
        assert corpus["system"].pk not in listed
        assert corpus["solder"].pk in listed

    def test_an_injection_attempt_finds_nothing_and_does_not_fail(self, corpus):
        response = client_for(EmployeeFactory(roles=(Role.STAFF,))).get(
            reverse(CHANGELIST), {"q": "':* & !( |"}
        )

        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []

    def test_nobody_adds_changes_or_deletes_messages_not_even_a_superuser(self, corpus):
        superuser = client_for(SuperuserFactory())

        for name in ("add", "change", "delete", "history"):
            with pytest.raises(NoReverseMatch):
                reverse(f"admin:messaging_message_{name}", args=[] if name == "add" else [1])
        response = superuser.post(
            reverse(CHANGELIST),
            {"action": "delete_selected", "_selected_action": [corpus["solder"].pk]},
        )

        assert response.status_code == 200
        assert Message.objects.filter(pk=corpus["solder"].pk).exists()

    def test_the_count_stops_at_the_cap(self, corpus, monkeypatch):
        monkeypatch.setattr(CappedCountPaginator, "cap", 3)

        paginator = CappedCountPaginator(Message.objects.all(), 2)

        assert Message.objects.count() > 3
        assert paginator.count == 3
        assert paginator.capped
        assert paginator.num_pages == 2
        assert not CappedCountPaginator(Message.objects.all()[:3], 2).capped

    def test_the_count_sorts_nothing(self, corpus):
        paginator = CappedCountPaginator(Message.objects.order_by("-created_at"), 2)

        with CaptureQueriesContext(connection) as queries:
            assert paginator.count == Message.objects.count()

        assert "ORDER BY" not in queries.captured_queries[-1]["sql"]

    def test_a_count_stopped_at_the_cap_says_so(self, corpus, monkeypatch):
        monkeypatch.setattr(CappedCountPaginator, "cap", 3)
        superuser = client_for(SuperuserFactory())

        listed = superuser.get(reverse(CHANGELIST)).content.decode()
        count = listed.split('data-testid="result-count"')[1].split("</div>")[0]

        assert "more than 3" in " ".join(count.split())

    def test_the_sidebar_offers_the_search_to_whoever_may_see_rooms(self, db):
        link = f'href="{reverse(CHANGELIST)}"'

        staff = client_for(EmployeeFactory(roles=(Role.STAFF,))).get(reverse("admin:index"))
        nobody = client_for(EmployeeFactory(roles=())).get(reverse("admin:index"))

        assert link in staff.text
        assert link not in nobody.text


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory) -> dict:
    """The corpus and the queries on a SQLite database holding every migration, in a process
    of its own (tests/messaging/search_on_sqlite.py), once per run."""

    def findings() -> dict:
        database = migrated_sqlite(tmp_path_factory, "sqlite")
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        env["DATABASE_URL"] = f"sqlite:///{database}"
        done = subprocess.run(
            [sys.executable, "-m", "tests.messaging.search_on_sqlite"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    return once_per_run(tmp_path_factory, "search-on-sqlite", findings)


class MessageSearchOnSqliteTests:
    @pytest.mark.parametrize(("query", "expected"), CASES, ids=[case[0] for case in CASES])
    def test_finds_what_postgresql_finds(self, on_sqlite, query, expected):
        assert set(on_sqlite["cases"][query]) == expected

    def test_the_newest_message_comes_first(self, on_sqlite):
        assert on_sqlite["newest_first"] == ["group", "markup", "rework", "solder"]

    def test_queries_of_three_characters_or_more_go_through_the_fts5_table(self, on_sqlite):
        for query in ("测试站", "射频测试"):
            assert "SCAN messaging_message_search VIRTUAL TABLE" in on_sqlite["plans"][query]
        assert "messaging_message_search" not in on_sqlite["plans"]["焊"]

    def test_the_migration_made_the_table_and_its_triggers(self, on_sqlite):
        assert {
            "messaging_message_search",
            "messaging_message_search_insert",
            "messaging_message_search_update",
            "messaging_message_search_delete",
        } <= set(on_sqlite["objects"])

    def test_the_triggers_follow_inserts_edits_and_deletes(self, on_sqlite):
        assert on_sqlite["fts_inserted"]
        assert on_sqlite["fts_edited_old"] == []
        assert on_sqlite["fts_edited_new"] == [on_sqlite["edited_id"]]
        assert on_sqlite["fts_after_delete"] == []
        assert on_sqlite["consistent"]

    def test_a_table_rebuild_loses_the_triggers_and_the_next_migrate_restores_them(self, on_sqlite):
        assert "messaging_message_search_insert" not in on_sqlite["objects_after_rebuild"]
        assert on_sqlite["objects_after_migrate"] == on_sqlite["objects"]
        assert on_sqlite["found_after_rebuild"]
        assert on_sqlite["consistent_after_rebuild"]

    def test_the_migration_goes_back_and_forth(self, on_sqlite):
        assert on_sqlite["objects_after_reverse"] == []
        assert on_sqlite["objects_after_forward"] == on_sqlite["objects"]
        assert on_sqlite["cases_after_forward"] == on_sqlite["cases"]
