"""The admin's messages after adding, changing or deleting name each thing once: "成功添加了
异常事件“#91 · SN…”", never "异常事件“异常事件 #91…”" (Django puts the model's name before the
object's, so an object's own text must not repeat it), in Chinese and in English."""

import re

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import translation
from django.utils.html import strip_tags

from incidents.choices import Stage
from incidents.models import StageOwnership
from tests.factories import (
    DepartmentFactory,
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    SuperuserFactory,
)

pytestmark = pytest.mark.django_db

SAVE_BUTTONS = ("_save", "_continue", "_addanother")


def things() -> list:
    department = DepartmentFactory(code="FAE", name="FAE", name_zh="FAE")
    return [
        IncidentFactory(),
        DeviceFactory(),
        LocationFactory(),
        ProblemGroupFactory(),
        EmployeeFactory(department=department),
        DepartmentFactory(code="PROD", name="Production", name_zh="生产"),
        StageOwnership.objects.update_or_create(
            stage=Stage.XRAY, defaults={"department": department}
        )[0],
    ]


def messages_after(model_admin, obj, button: str, user) -> list[str]:
    request = RequestFactory().post("/", {button: "1"})
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    model_admin.response_add(request, obj)
    model_admin.response_change(request, obj)
    model_admin.message_user(request, "")  # keeps the storage's order: nothing is lost
    return [strip_tags(str(message)) for message in get_messages(request) if str(message)]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_saved_message_names_the_thing_once(language):
    user = SuperuserFactory()
    checked = 0
    for obj in things():
        model_admin = admin.site._registry[type(obj)]
        with translation.override(language):
            name = str(obj._meta.verbose_name)
            for button in SAVE_BUTTONS:
                for message in messages_after(model_admin, obj, button, user):
                    # The first sentence; a second one may offer to "add another <name>".
                    said = re.split(r"。|\. ", message)[0]
                    assert said.lower().count(name.lower()) == 1, message
                    assert str(obj) in message
                    checked += 1
    assert checked == 7 * len(SAVE_BUTTONS) * 2


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_object_s_own_text_does_not_repeat_its_model_s_name(language):
    for obj in things():
        with translation.override(language):
            assert str(obj._meta.verbose_name).lower() not in str(obj).lower(), type(obj)
