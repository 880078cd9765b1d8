"""The `newsarchive` command: a thin Typer face over `newsarchive.archive.Archive`.

main.py holds the Typer app and the core commands; other modules register their commands on
the same app, and are imported here so that importing `newsarchive.cli.main` brings them all.
"""

from . import explore, main, maintenance  # noqa: F401 - they register their commands on main.app
