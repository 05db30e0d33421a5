"""Each person reads the product in their own language: the switcher in the user menu keeps the
choice on their account, and every later request of theirs, from any browser, is in it. People
who never chose keep the cookie and the browser's Accept-Language."""

import pytest
from django.test import Client
from django.urls import resolve, reverse

from config.views import set_language
from tests.factories import AdminFactory, StaffFactory

pytestmark = pytest.mark.django_db

ADMIN_HOME = "/admin/"


def logged_in(person, **headers) -> Client:
    client = Client(**headers)
    client.force_login(person)
    return client


def switch(client: Client, language: str):
    return client.post(reverse("set_language"), {"language": language, "next": ADMIN_HOME})


class LanguageSwitcherTests:
    def test_the_user_menu_posts_to_the_switcher_that_keeps_the_choice(self, staff_client):
        page = staff_client.get(ADMIN_HOME).content.decode()

        assert 'action="/i18n/setlang/"' in page
        assert resolve("/i18n/setlang/").func is set_language

    def test_switching_saves_the_language_on_the_persons_account(self, staff_user, staff_client):
        response = switch(staff_client, "zh-hans")

        assert response.status_code == 302
        assert response["Location"] == ADMIN_HOME
        assert response.cookies["django_language"].value == "zh-hans"
        staff_user.refresh_from_db()
        assert staff_user.language == "zh-hans"

    def test_switching_back_saves_the_new_choice(self, staff_user, staff_client):
        switch(staff_client, "zh-hans")
        switch(staff_client, "en")

        staff_user.refresh_from_db()
        assert staff_user.language == "en"

    def test_a_language_the_product_does_not_speak_is_not_saved(self, staff_user, staff_client):
        switch(staff_client, "fr")

        staff_user.refresh_from_db()
        assert staff_user.language == ""

    def test_switching_without_logging_in_only_sets_the_cookie(self, client):
        response = switch(client, "zh-hans")

        assert response.status_code == 302
        assert response.cookies["django_language"].value == "zh-hans"


class PersonLanguageTests:
    def test_the_next_request_from_another_browser_is_in_the_chosen_language(
        self, staff_user, staff_client
    ):
        switch(staff_client, "zh-hans")

        response = logged_in(staff_user).get(ADMIN_HOME)

        assert response.status_code == 200
        assert response["Content-Language"] == "zh-hans"
        assert "异常设备追踪" in response.content.decode()

    def test_the_chosen_language_wins_over_the_cookie_and_the_browser(self):
        person = StaffFactory(language="zh-hans")
        client = logged_in(person, HTTP_ACCEPT_LANGUAGE="en")
        client.cookies["django_language"] = "en"

        response = client.get(ADMIN_HOME)

        assert response["Content-Language"] == "zh-hans"

    def test_someone_who_never_chose_gets_the_browsers_language(self):
        client = logged_in(StaffFactory(language=""), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

        response = client.get(ADMIN_HOME)

        assert response["Content-Language"] == "zh-hans"

    def test_someone_who_never_chose_gets_the_language_of_their_cookie(self):
        client = logged_in(StaffFactory(language=""), HTTP_ACCEPT_LANGUAGE="zh-CN")
        client.cookies["django_language"] = "en"

        response = client.get(ADMIN_HOME)

        assert response["Content-Language"] == "en"

    def test_two_people_at_once_each_read_their_own_language(self):
        chinese = logged_in(StaffFactory(language="zh-hans"))
        english = logged_in(StaffFactory(language="en"))

        assert chinese.get(ADMIN_HOME)["Content-Language"] == "zh-hans"
        assert english.get(ADMIN_HOME)["Content-Language"] == "en"
        assert chinese.get(ADMIN_HOME)["Content-Language"] == "zh-hans"


class EmployeeFormTests:
    def test_the_employee_page_offers_the_languages_the_product_speaks(self):
        admin = logged_in(AdminFactory())
        person = StaffFactory(language="")
        url = reverse("admin:incidents_employee_change", args=[person.pk])

        page = admin.get(url).content.decode()

        assert 'name="language"' in page
        assert 'value="zh-hans"' in page
