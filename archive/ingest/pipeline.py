"""A small three-stage runner: the model never waits for reading or writing.

    items --[reader thread: prepare, then plan]--> [caller's thread: work] --[writer thread: commit]

`prepare(item)` runs ahead (while earlier items are still being worked on); `plan(item, prepared)`
waits until every earlier item is committed, because what it decides may depend on them;
`work` (the expensive part: encoding) runs on the calling thread; `commit` runs on a writer
thread, one item at a time, in input order. Ingest uses it with the model's encoding as `work`
and one database transaction per batch as `commit`.

By default `prepare` runs one item ahead, on the reader thread. With `ahead=N` it runs on a
thread of its own, up to N items ahead of planning: ingest on a cluster uses that to send the
passages of later batches off to be embedded while the writer commits earlier ones.

The first exception of any stage stops the others and is raised to the caller; items committed
before it stay committed, none after it is committed. Setting `stop` ends the run after the
item being committed: the ones already committed stay, the rest are dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def run_in_order(
    items: Iterable[T],
    *,
    prepare: Callable[[T], Any],
    plan: Callable[[T, Any], Any],
    work: Callable[[Any], Any],
    commit: Callable[[Any], None],
    stop: threading.Event | None = None,
    depth: int = 2,
    ahead: int = 0,
) -> int:
    """Run every item through the four steps; returns how many items were committed.

    `ahead`: items `prepare` may run ahead of planning on its own thread (0: one, inline).
    """
    stop = stop or threading.Event()
    planned: queue.Queue = queue.Queue(maxsize=depth)
    worked: queue.Queue = queue.Queue(maxsize=depth)
    failures: list[BaseException] = []
    committed = threading.Condition()
    last = {"committed": -1}

    def fail(exc: BaseException) -> None:
        failures.append(exc)
        stop.set()
        with committed:
            committed.notify_all()

    def put(q: queue.Queue, value: Any) -> bool:
        """Put unless the run stopped; a full queue is retried so `stop` is always noticed."""
        while not stop.is_set():
            try:
                q.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def prepared_items() -> Iterator[tuple[T, Any]]:
        if ahead <= 0:
            for item in items:
                yield item, prepare(item)
            return
        ready: queue.Queue = queue.Queue(maxsize=ahead)
        closed = threading.Event()  # the reader is done with this generator

        def offer(value: Any) -> bool:
            while not (stop.is_set() or closed.is_set()):
                try:
                    ready.put(value, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def prepare_ahead() -> None:
            try:
                for item in items:
                    if stop.is_set() or not offer((item, prepare(item))):
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                fail(exc)
            finally:
                offer(_DONE)

        preparer = threading.Thread(target=prepare_ahead, name="pipeline-prepare", daemon=True)
        preparer.start()
        try:
            while not stop.is_set():
                try:
                    entry = ready.get(timeout=0.05)
                except queue.Empty:
                    continue
                if entry is _DONE:
                    return
                yield entry
        finally:  # finished, stopped, or the reader failed: the preparer stops at its next offer
            closed.set()
            preparer.join()

    def read() -> None:
        try:
            for number, (item, prepared) in enumerate(prepared_items()):
                if stop.is_set():
                    return
                with committed:
                    committed.wait_for(lambda n=number: stop.is_set() or last["committed"] >= n - 1)
                if stop.is_set() or not put(planned, (number, plan(item, prepared))):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            fail(exc)
        finally:
            planned.put(_DONE)  # the caller drains this queue until it sees _DONE

    def write() -> None:
        while True:
            item = worked.get()
            if item is _DONE:
                return
            if stop.is_set():
                continue  # drain without committing
            number, result = item
            try:
                commit(result)
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                fail(exc)
                continue
            with committed:
                last["committed"] = number
                committed.notify_all()

    reader = threading.Thread(target=read, name="pipeline-read", daemon=True)
    writer = threading.Thread(target=write, name="pipeline-write", daemon=True)
    reader.start()
    writer.start()
    try:
        while True:
            item = planned.get()
            if item is _DONE:
                break
            if stop.is_set():
                continue  # drain, so the reader is never blocked
            number, planned_item = item
            worked.put((number, work(planned_item)))
    except BaseException as exc:
        fail(exc)
        while reader.is_alive():  # unblock a reader waiting on a full queue
            try:
                planned.get(timeout=0.05)
            except queue.Empty:
                pass
    finally:
        worked.put(_DONE)
        writer.join()
        reader.join()
    if failures:
        raise failures[0]
    return last["committed"] + 1
