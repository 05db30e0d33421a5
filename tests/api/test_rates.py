"""A token flooding the API is slowed (429, Retry-After) while the others keep their pace."""

from types import SimpleNamespace

import pytest

from incidents.models import ApiTokenUse
from tests.api.conftest import bearer

URL = "/api/v1/devices/"


@pytest.fixture
def minute(monkeypatch):
    """Every request falls 15 seconds into the same minute."""
    clock = SimpleNamespace(time=lambda: 1_800_000_015.0)
    monkeypatch.setattr("incidents.api.rates.time", clock)
    return clock


@pytest.mark.django_db
class TokenPaceTests:
    def test_a_token_over_its_pace_is_429_with_retry_after(self, settings, minute, token_for):
        settings.API_TOKEN_REQUESTS_PER_MINUTE = 3
        station = bearer(token_for("devices:read"))

        answers = [station.get(URL) for _ in range(5)]

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
        assert answers[3]["Retry-After"] == "45"
        assert answers[3].json()["error"]["code"] == "rate_limited"
        assert ApiTokenUse.objects.count() == 3

    def test_the_other_tokens_keep_their_pace(self, settings, minute, token_for):
        settings.API_TOKEN_REQUESTS_PER_MINUTE = 2
        flooding, other = bearer(token_for("devices:read")), bearer(token_for("devices:read"))
        for _ in range(4):
            flooding.get(URL)

        assert other.get(URL).status_code == 200
        assert flooding.get(URL).status_code == 429

    def test_the_next_minute_lets_it_in_again(self, settings, minute, token_for):
        settings.API_TOKEN_REQUESTS_PER_MINUTE = 1
        station = bearer(token_for("devices:read"))
        station.get(URL)
        assert station.get(URL).status_code == 429

        minute.time = lambda: 1_800_000_075.0

        assert station.get(URL).status_code == 200
