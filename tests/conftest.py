import pytest
from django.test import Client

from tests.factories import AdminFactory, StaffFactory, SupervisorFactory


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def supervisor_user(db):
    return SupervisorFactory()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def staff_client(staff_user):
    return _client_for(staff_user)


@pytest.fixture
def supervisor_client(supervisor_user):
    return _client_for(supervisor_user)
