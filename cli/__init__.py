"""The `newsarchive` command: a thin Typer face over `newsarchive.archive.Archive`.

main.py holds the Typer app and the core commands; other modules register their commands on
the same app, and are imported here so that importing `newsarchive.cli.main` brings them all.
"""

from . import maintenance  # noqa: F401 - backup, restore, check
