"""The `newsarchive` command: a thin Typer face over `newsarchive.archive.Archive`."""
