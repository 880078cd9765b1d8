"""Filters that say when they match nothing because of a mistake, and dates that mean what
they say, through `Archive.search` as every face calls it."""

from __future__ import annotations

import pytest

from newsarchive.archive import Archive, InputError

MARCH = [
    {"id": "feb-28", "body": "Grain prices eased late in February.", "date": "1987-02-28 23:00"},
    {"id": "mar-01", "body": "Grain prices firmed on the first of March.", "date": "1987-03-01T10:00Z"},
    {"id": "mar-15", "body": "Grain prices held steady mid March.", "date": "1987-03-15"},
    {"id": "mar-31", "body": "Grain prices jumped on the last evening of March.",
     "date": "1987-03-31T23:30:00Z"},
    {"id": "apr-01", "body": "Grain prices fell just after midnight in April.",
     "date": "1987-04-01T00:10:00Z"},
]  # fmt: skip


@pytest.fixture
def months(archive: Archive) -> Archive:
    archive.ingest_articles([dict(r, title="", topics=["Grain"], source="Reuters") for r in MARCH])
    return archive


def found(archive: Archive, **filters) -> list[str]:
    hits = archive.search("grain prices", mode="keyword", limit=20, **filters).hits
    return sorted(h.article.id for h in hits)


def test_a_month_is_the_whole_month(months: Archive):
    assert found(months, since="1987-03", until="1987-03") == ["mar-01", "mar-15", "mar-31"]
    assert found(months, since="1987-03") == ["apr-01", "mar-01", "mar-15", "mar-31"]
    assert found(months, until="1987") == [r["id"] for r in sorted(MARCH, key=lambda r: r["id"])]


def test_until_a_day_includes_it_and_a_bare_day_is_inside_its_day(months: Archive):
    assert found(months, since="1987-03-31", until="1987-03-31") == ["mar-31"]
    assert found(months, since="1987-03-15", until="1987-03-15") == ["mar-15"]


def test_a_date_only_source_is_stored_and_shown_as_a_date(months: Archive):
    assert months.get("mar-15")["date"] == "1987-03-15"
    (hit,) = months.search("mid March", mode="keyword", limit=1).hits
    assert hit.article.date == "1987-03-15"
    assert months.get("mar-01")["date"] == "1987-03-01T10:00:00Z"  # time of day kept


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"since": "1987-04", "until": "1987-03"},
         "since '1987-04' is after until '1987-03': no date can match; swap them"),
        ({"until": "03/01/1987"},
         "until: '03/01/1987' is ambiguous (day/month or month/day): write 1987-01-03 or "
         "1987-03-01"),
        ({"where": ["topic=grain"]},
         "where: no field 'topic' in this archive; known fields: author, date, id, source, "
         "title, topics, url"),
    ],
)  # fmt: skip
def test_a_mistaken_filter_is_an_error_not_an_empty_page(months: Archive, filters, message):
    for mode in ("keyword", "hybrid"):
        with pytest.raises(InputError) as error:
            months.search("grain prices", mode=mode, **filters)
        assert str(error.value) == message


def test_filter_values_match_whatever_their_case(months: Archive):
    everything = found(months)
    assert found(months, where=["topics=grain"]) == everything  # stored as "Grain"
    assert found(months, where=["topics=GRAIN"]) == everything
    assert found(months, where=["source=reuters"]) == everything  # a column
    assert found(months, source="REUTERS") == everything
    assert found(months, where=["topics=wheat"]) == []  # a known field, another value


def test_known_fields_are_the_ones_articles_have_now(archive: Archive):
    archive.ingest_articles(
        [
            {"id": "a", "body": "Storm closes the harbour.", "category": "weather"},
            {"id": "b", "body": "Harbour reopens after the storm.", "places": ["usa"]},
        ]
    )
    assert archive.store.metadata_fields() == {"category", "places"}
    archive.ingest_articles([{"id": "a", "body": "Storm closes the harbour.", "desk": "metro"}])
    assert archive.store.metadata_fields() == {"desk", "places"}  # a's metadata replaced
    archive.remove(["b"])
    assert archive.store.metadata_fields() == {"desk"}
    with pytest.raises(InputError, match="no field 'places' in this archive"):
        archive.search("harbour", where=["places=usa"])


def test_every_way_of_exploring_refuses_a_field_no_article_has(months: Archive):
    message = "where: no field 'topic' in this archive"
    for explore in (
        lambda: months.browse(where=["topic=grain"]),
        lambda: months.timeline("grain", where=["topic=grain"]),
        lambda: months.facets("grain", where=["topic=grain"]),
        lambda: list(months.export("grain", where=["topic=grain"])),
    ):
        with pytest.raises(InputError, match=message):
            explore()
    assert months.browse(where=["topics=GRAIN"]).total == 5  # case-insensitive there too
