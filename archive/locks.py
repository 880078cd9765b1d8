"""One writer at a time per archive, across processes: an advisory lock on `writer.lock`.

SQLite serialises single transactions, but an ingest is many: it plans each batch against what
is stored, then embeds, then writes. Two ingests of one archive at once would both find the
same articles new and both embed them. Every ingest (and reindex, restore) therefore holds
`fcntl.flock` on `<archive>/writer.lock` from start to end; the kernel releases it when the
process ends, however it ends, so a killed ingest never leaves the archive locked. The file
names the holder (pid, command, start time) for the message the next writer prints.
Searches never take this lock.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ArchiveBusy

LOCK_NAME = "writer.lock"


def describe_holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it ('pid 123, newsarchive ingest, since 10:15')."""
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info['pid']}, {info['command']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class WriterLock:
    """The archive folder's writer lock (and, for the threads of one process sharing an
    Archive, a thread lock taken first with the same patience)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._threads = threading.Lock()

    @contextmanager
    def held(
        self,
        *,
        wait: bool | float = True,
        on_wait: Callable[[str], None] | None = None,
        what: str = "writing",
    ) -> Iterator[None]:
        """Hold the lock while the block runs.

        `wait`: True waits as long as it takes, a number waits that many seconds, False does
        not wait; a lock not got in time is `ArchiveBusy` naming the holder. `on_wait` is told
        the holder once, when the lock is taken by someone else.
        """
        deadline = None if wait is True else time.monotonic() + (0.0 if wait is False else wait)
        if deadline is None:
            self._threads.acquire()
        elif not self._threads.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise ArchiveBusy(
                f"{self.path.parent}: another request of this process is {what} this archive; "
                "try again when it is done"
            )
        try:
            with self._file_lock(deadline, on_wait, what):
                yield
        finally:
            self._threads.release()

    @contextmanager
    def _file_lock(
        self, deadline: float | None, on_wait: Callable[[str], None] | None, what: str
    ) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # not POSIX: SQLite's own locking still keeps each batch whole
            yield
            return
        handle = open(self.path, "a+")  # noqa: SIM115 - closed in finally
        try:
            if not self._try(fcntl, handle):
                holder = describe_holder(self.path)
                busy = ArchiveBusy(
                    f"{self.path.parent}: another process is {what} this archive "
                    f"({holder}); try again when it is done"
                )
                if deadline is not None and time.monotonic() >= deadline:
                    raise busy
                if on_wait is not None:
                    on_wait(holder)
                if deadline is None:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                while deadline is not None and not self._try(fcntl, handle):
                    if time.monotonic() >= deadline:
                        raise busy
                    time.sleep(0.05)
            handle.seek(0)
            handle.truncate()
            command = " ".join(["newsarchive", *sys.argv[1:2]]) if sys.argv else "newsarchive"
            handle.write(
                json.dumps(
                    {"pid": os.getpid(), "command": command, "since": time.strftime("%H:%M:%S")}
                )
            )
            handle.flush()
            yield
        finally:
            handle.close()  # closing the file releases the lock

    @staticmethod
    def _try(fcntl, handle) -> bool:  # noqa: ANN001 - the fcntl module
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
