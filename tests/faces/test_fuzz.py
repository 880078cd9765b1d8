"""schemathesis over every endpoint of the HTTP API, from its own OpenAPI document, with and
without keys: no 5xx, no answer outside the document (status, headers, body schema), no
accepted bad key. A schema-valid request may still be refused for what a schema cannot say (a
date the archive cannot read, an article whose text is only furniture), as a 400 `{error}`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from newsarchive.api.app import create_app
from newsarchive.archive import Archive

from conftest import NEWS, SEED

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 30
# Values a schema allows but the archive cannot use: a date it cannot read, a range with no
# date in it, a field no article has, an ingest that stored nothing.
SEMANTIC_400 = (
    "unparseable date",
    "is ambiguous",
    "no date can match",
    "has no year",
    "in this archive; known fields",
    "no article stored:",
)
# Rules a schema cannot state (between fields, or about a server-made token): a 4xx naming them
# is the contract, whatever the generated values.
CROSS_FIELD = (
    "after: not a cursor from a previous response",
    "after and offset: give one or the other",
    "group=false lists passages; sort=",
    "asked; at most",  # export fields counted across repeated, comma-separated values
)


@pytest.mark.parametrize("keys", [False, True], ids=["open", "keys"])
def test_every_endpoint_holds_its_contract(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: bool
):
    archive.ingest([SEED])
    archive.ingest_articles(NEWS)
    headers = {}
    if keys:
        monkeypatch.setenv("NEWSARCHIVE_API_KEY", "writer-key")
        monkeypatch.setenv("NEWSARCHIVE_READ_KEY", "reader-key")
        headers = {"Authorization": "Bearer writer-key"}
    app = create_app(archive, warm=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    failures: Counter = Counter()
    cases: Counter = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            label = case.operation.label
            cases[label] += 1
            response = case.call(headers=headers)
            try:
                case.validate_response(
                    response, headers=headers, excluded_checks=[positive_data_acceptance]
                )
            except Exception as exc:  # every distinct failure is reported below
                failures[f"{label}: {str(exc).splitlines()[:6]}"] += 1
                return
            if response.status_code >= 400 and response.status_code not in (404,):
                error = response.json().get("error", "")
                semantic = response.status_code == 400 and any(
                    part in error for part in SEMANTIC_400
                )
                if not (semantic or any(rule in error for rule in CROSS_FIELD)):
                    failures[f"{label}: {response.status_code} {error[:200]}"] += 1

        run()
    summary = {"keys": keys, "cases": sum(cases.values()), "operations": dict(cases)}
    (tmp_path / "fuzz.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    assert len(cases) == operations >= 17  # every endpoint was exercised
    assert dict(failures) == {}
