"""The in-order pipeline runner: order kept, planning after the previous commit, errors from
any stage reach the caller, and a stop keeps what was committed."""

from __future__ import annotations

import threading
import time

import pytest

from newsarchive.archive.ingest.pipeline import run_in_order


def test_items_are_committed_in_order_and_planned_after_the_previous_commit():
    committed: list[int] = []
    seen_at_plan: dict[int, list[int]] = {}

    def plan(item: int, prepared: int) -> int:
        seen_at_plan[item] = list(committed)
        return prepared

    def work(item: int) -> int:
        time.sleep(0.001 * (item % 3))  # uneven work must not reorder commits
        return item

    count = run_in_order(
        range(20), prepare=lambda i: i, plan=plan, work=work, commit=committed.append
    )
    assert count == 20 and committed == list(range(20))
    assert all(seen_at_plan[i] == list(range(i)) for i in range(20))


def test_preparing_runs_ahead_of_the_work():
    prepared: list[int] = []
    overlap = threading.Event()

    def prepare(item: int) -> int:
        prepared.append(item)
        return item

    def work(item: int) -> int:
        if item == 0:
            deadline = time.monotonic() + 2
            while len(prepared) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            if len(prepared) >= 2:
                overlap.set()
        return item

    run_in_order(range(3), prepare=prepare, plan=lambda i, p: p, work=work, commit=lambda r: None)
    assert overlap.is_set()  # item 1 was prepared while item 0 was being worked on


@pytest.mark.parametrize("ahead", [0, 3])
@pytest.mark.parametrize("stage", ["prepare", "plan", "work", "commit", "items"])
def test_an_error_in_any_stage_reaches_the_caller_and_stops_the_rest(stage: str, ahead: int):
    committed: list[int] = []

    def fails_at(name: str, value: int) -> int:
        if stage == name and value == 3:
            raise RuntimeError(f"{name} failed")
        return value

    def items():
        for i in range(10):
            fails_at("items", i)
            yield i

    def commit(item: int) -> None:
        fails_at("commit", item)
        committed.append(item)

    with pytest.raises(RuntimeError, match=f"{stage} failed"):
        run_in_order(
            items(),
            prepare=lambda i: fails_at("prepare", i),
            plan=lambda i, p: fails_at("plan", p),
            work=lambda p: fails_at("work", p),
            commit=commit,
            ahead=ahead,
        )
    assert committed == list(range(len(committed))) and len(committed) <= 3
    assert not [t for t in threading.enumerate() if t.name.startswith("pipeline-")]


def test_ahead_prepares_up_to_that_many_items_before_planning_needs_them():
    prepared: list[int] = []
    seen_at_plan: dict[int, int] = {}

    def prepare(item: int) -> int:
        prepared.append(item)
        return item

    def plan(item: int, value: int) -> int:
        seen_at_plan[item] = len(prepared)
        return value

    def work(item: int) -> int:
        if item == 0:  # the writer is slow: the preparer runs ahead meanwhile
            deadline = time.monotonic() + 2
            while len(prepared) < 5 and time.monotonic() < deadline:
                time.sleep(0.005)
        return item

    committed: list[int] = []
    run_in_order(range(30), prepare=prepare, plan=plan, work=work, commit=committed.append, ahead=4)
    assert committed == list(range(30)) and prepared == list(range(30))
    assert seen_at_plan[1] >= 5  # items 1-4 were prepared while item 0 was worked on
    assert all(seen_at_plan[i] <= i + 4 + 2 for i in seen_at_plan)  # never more than ahead
    assert not [t for t in threading.enumerate() if t.name.startswith("pipeline-")]


def test_stop_keeps_what_was_committed_and_ends_every_thread():
    stop = threading.Event()
    committed: list[int] = []

    def commit(item: int) -> None:
        committed.append(item)
        if item == 4:
            stop.set()

    count = run_in_order(
        range(1000), prepare=lambda i: i, plan=lambda i, p: p, work=lambda p: p, commit=commit,
        stop=stop,
    )  # fmt: skip
    assert count == len(committed) and committed == list(range(count)) and 5 <= count < 1000
    assert not [t for t in threading.enumerate() if t.name.startswith("pipeline-")]


def test_an_interrupt_in_the_caller_stops_the_threads():
    def work(item: int) -> int:
        if item == 2:
            raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        run_in_order(
            range(100), prepare=lambda i: i, plan=lambda i, p: p, work=work, commit=lambda r: None
        )
    assert not [t for t in threading.enumerate() if t.name.startswith("pipeline-")]
