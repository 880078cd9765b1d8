"""The `newsarchive` command: a thin Typer face over `newsarchive.archive.Archive`."""

from . import explore, main  # noqa: E402,F401  (explore registers its commands on main.app)
