import pytest
from django.test import Client

from incidents.services.tokens import api_token_create


@pytest.fixture
def token_for(db):
    """A token's secret with the scopes named (all of them by default), made as an
    administrator would."""

    def make(*scopes: str, name: str | None = None, **options) -> str:
        make.count += 1
        _token, secret = api_token_create(
            name=name or f"STATION-{make.count}",
            scopes=list(scopes) or ["incidents:read", "devices:read"],
            **options,
        )
        return secret

    make.count = 0
    return make


@pytest.fixture
def machine(token_for):
    """A client sending a token that reads incidents and devices."""
    return bearer(token_for())


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})
