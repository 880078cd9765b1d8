"""The search request every face shares: defaults, limits, the forms `where` and `source`
take, and filters that reach SQL only as bound parameters."""

from __future__ import annotations

import sqlite3

import pytest

from newsarchive.archive import InputError, SearchRequest
from newsarchive.archive.search.filters import Filters


def test_defaults_and_the_two_forms_of_where_and_source():
    request = SearchRequest.make("oil", where=["topics=grain", "topics=wheat"], source="Reuters")
    assert request.where == {"topics": ["grain", "wheat"]} and request.source == ["Reuters"]
    assert (request.limit, request.offset, request.mode, request.group) == (10, 0, "hybrid", True)
    same = SearchRequest.model_validate({"q": "oil", "where": {"topics": ["grain", "wheat"]}})
    assert same.where == request.where
    assert SearchRequest.make("oil", where={"topics": "grain"}).where == {"topics": ["grain"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"query": ""}, "query is empty"),
        ({"query": "   "}, "query is empty"),
        ({"query": "x" * 1001}, "query is 1001 characters; the limit is 1000"),
        (
            {"query": "a", "mode": "fuzzy"},
            "mode: Input should be 'hybrid', 'semantic' or 'keyword'",
        ),
        ({"query": "a", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"query": "a", "limit": 101}, "limit: Input should be less than or equal to 100"),
        ({"query": "a", "offset": -1}, "offset: Input should be greater than or equal to 0"),
        ({"query": "a", "where": ["bad"]}, "where: 'bad' is not FIELD=VALUE"),
        ({"query": "a", "lmit": 5}, "lmit: Extra inputs are not permitted"),
    ],
)
def test_bad_requests_are_one_input_error_naming_the_field(options: dict, message: str):
    with pytest.raises(InputError) as error:
        SearchRequest.make(**options)
    assert message in str(error.value)


INJECTIONS = [
    "topics') OR 1=1 --",
    'x"), (SELECT value FROM meta) --',
    "a' || (SELECT group_concat(key) FROM meta) || '",
    "$.topics') = 1 OR json_each.value IN ('",
]


@pytest.mark.parametrize("key", INJECTIONS)
def test_a_field_name_that_is_not_a_name_is_refused_before_any_sql(key: str):
    with pytest.raises(InputError, match="is not a field name"):
        Filters(where={key: ["grain"]})
    with pytest.raises(InputError, match="is not a field name"):
        SearchRequest.make("oil", where={key: ["grain"]})
    with pytest.raises(ValueError, match="is not a field name"):  # the API's body: a 422
        SearchRequest.model_validate({"q": "oil", "where": {key: ["grain"]}})


def test_values_and_json_paths_are_bound_parameters():
    filters = Filters(
        since="1987-03-01", sources=["Reuters'); DROP TABLE articles; --"],
        where={"topics": ["grain' OR '1'='1"], "author": ["x"]},
    )  # fmt: skip
    clause, params = filters.to_sql("a")
    assert "grain" not in clause and "Reuters" not in clause and "topics" not in clause
    assert '$."topics"' in params
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles (id, title, author, source, url, date, metadata)")
    conn.execute("CREATE TABLE source_aliases (alias COLLATE NOCASE, kind, source)")
    conn.execute(
        "INSERT INTO articles VALUES ('1', 't', 'x', 'Reuters', '', '1987-04-01', "
        '\'{"topics": ["grain"]}\')'
    )
    assert conn.execute(f"SELECT id FROM articles a WHERE {clause}", params).fetchall() == []
    ok, ok_params = Filters(where={"topics": ["grain"], "author": ["x"]}).to_sql("a")
    assert conn.execute(f"SELECT id FROM articles a WHERE {ok}", ok_params).fetchall() == [("1",)]
