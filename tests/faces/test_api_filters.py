"""The HTTP face of filters that say when they are a mistake: the error names the parameter
(`where`, `since`, `until`), not the CLI flag, and GET /search refuses parameters it does not
know, as POST does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from newsarchive.api.app import create_app
from newsarchive.archive import Archive

from conftest import NEWS


@pytest.fixture
def client(archive: Archive) -> TestClient:
    archive.ingest_articles([dict(r) for r in NEWS])
    with TestClient(create_app(archive, warm=False)) as test_client:
        yield test_client


KNOWN = "author, category, date, id, source, title, topics, url"


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"where": "topic=grain"}, 400, f"where: no field 'topic' in this archive; known fields: {KNOWN}"),
        ({"where": "topics"}, 422, "where: 'topics' is not FIELD=VALUE (e.g. topics=grain)"),
        ({"until": "03/01/1987"}, 400, "until: '03/01/1987' is ambiguous (day/month or "
         "month/day): write 1987-01-03 or 1987-03-01"),
        ({"since": "1987-04", "until": "1987-03"}, 400,
         "since '1987-04' is after until '1987-03': no date can match; swap them"),
        ({"order": "date"}, 422, "order: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_mistaken_filter_is_an_error_naming_the_parameter(client, params, status, error):
    response = client.get("/search", params={"q": "wheat", **params})
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert "--" not in error


def test_where_matches_values_whatever_their_case(client):
    for body in (
        {"q": "wheat", "where": {"topics": ["GRAIN"]}},
        {"q": "wheat", "source": "reuters"},
    ):
        found = client.post("/search", json=body).json()["results"]
        assert "wheat-1" in [r["article"]["id"] for r in found]
    month = client.get("/search", params={"q": "wheat", "since": "1987-03", "until": "1987-03"})
    assert [r["article"]["id"] for r in month.json()["results"]] == ["wheat-1"]
