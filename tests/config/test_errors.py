"""Errors stay inside the product: a stale link and a refusal are pages of the product, in the
reader's language, with a way back; a server error is a plain page of its own, never Django's
technical one. (The test client runs with DEBUG off, as the product does by default.)"""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


class StaleLinkTests:
    def test_a_stale_link_is_a_page_of_the_product_with_a_way_back(self, staff_client):
        response = staff_client.get("/admin/incidents/incident/999999/assign/")

        html = response.content.decode()
        assert response.status_code == 404
        assert [t.name for t in response.templates][:2] == ["404.html", "errors/base.html"]
        assert 'data-testid="error-page"' in html
        assert f'href="{reverse("admin:index")}"' in html
        assert "/admin/incidents/incident/999999/assign/" in html
        # The sidebar of someone logged in: the product's frame, not a bare page.
        assert 'id="nav-sidebar"' in html

    def test_it_speaks_the_readers_language(self, staff_client):
        staff_client.post(reverse("set_language"), {"language": "zh-hans"})

        html = staff_client.get("/admin/no-such-page/").content.decode()

        assert "页面不存在" in html
        assert 'lang="zh-hans"' in html

    def test_someone_not_logged_in_is_offered_the_login(self, client: Client):
        response = client.get("/no/such/page/")

        html = response.content.decode()
        assert response.status_code == 404
        assert f'href="{reverse("admin:login")}"' in html
        assert 'id="nav-sidebar"' not in html


class RefusalTests:
    def test_a_refusal_is_a_page_of_the_product_saying_why(self, staff_client):
        response = staff_client.get(reverse("admin:incidents_employee_import"))

        html = response.content.decode()
        assert response.status_code == 403
        assert [t.name for t in response.templates][:2] == ["403.html", "errors/base.html"]
        assert "Your role does not let you open this page." in html
        assert 'id="nav-sidebar"' in html

    def test_it_speaks_the_readers_language(self, staff_client):
        staff_client.post(reverse("set_language"), {"language": "zh-hans"})

        html = staff_client.get(reverse("admin:incidents_employee_import")).content.decode()

        assert "无权访问" in html


class ServerErrorTests:
    def test_the_server_error_page_needs_nothing_to_render(self):
        with translation.override("zh-hans"):
            html = render_to_string("500.html")

        assert "服务器错误 (500)" in html
        assert 'href="/"' in html


class FaviconTests:
    def test_every_page_of_the_admin_names_the_icon(self, client: Client, staff_client):
        for page in (client.get(reverse("admin:login")), staff_client.get(reverse("admin:index"))):
            html = page.content.decode()
            assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in html
            assert 'rel="apple-touch-icon"' in html
