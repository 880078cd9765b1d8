"""The errors a user of the library (and of the CLI and the API) can meet, and what they mean.

Each is answered the same way by every face: the CLI prints its message on one line and exits
non-zero, the HTTP API answers with a 4xx status (the mapping is in api/errors.py; the archive's
own trouble, busy, damaged or out of disk, is a 503 or 507). `ModelError` (the
embedding model cannot be loaded) lives in index/, which never imports archive/; the package
root re-exports it.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input that the user can fix; the message names the file (and line) and the problem."""


class ArchiveError(RuntimeError):
    """The archive cannot do what was asked (e.g. it was built with another model)."""


class ArchiveBusy(ArchiveError):
    """Another writer holds the archive: nothing was written; the same call may succeed later.

    The HTTP API answers 503 with `Retry-After`; the CLI prints the message and exits 2.
    """

    retry_after = 5  # seconds a client should wait before trying again


class ArchiveDamaged(ArchiveError):
    """The database file is not a readable SQLite database (truncated, overwritten, corrupt)."""


class StorageFull(ArchiveError):
    """The disk is full: the write was rolled back, nothing of it is stored."""
