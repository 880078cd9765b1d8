"""`newsarchive backup`, `restore` and `check`: a few lines each over `Archive.backup`,
`Archive.restore` and `Archive.check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .main import DataOption, JsonOption, app, console, open_archive, plain


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new folder for the backup.")],
    data: DataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a consistent copy of the archive (safe while `serve` and `ingest` run)."""
    with open_archive(data, create=False) as archive:
        manifest = archive.backup(dest)
    if as_json:
        print(json.dumps(manifest))
        return
    size = sum(f["bytes"] for f in manifest["files"].values())
    console.print(
        plain(
            f"backed up {manifest['articles']} articles, {manifest['passages']} passages "
            f"(generation {manifest['generation']}, {size:,} bytes) to {dest}"
        ),
        highlight=False,
    )


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A folder written by `newsarchive backup`.")],
    data: DataOption = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Put an archive already in --data aside and restore."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Verify a backup (checksums, SQLite integrity) and make it the archive in --data."""
    from ..archive import Archive

    result = Archive.restore(src, data, replace=replace)
    if as_json:
        print(json.dumps(result))
        return
    line = (
        f"restored {result['articles']} articles, {result['passages']} passages "
        f"(generation {result['generation']}) into {result['restored']}"
    )
    if result["replaced"]:
        line += f"; the archive that was there is now {result['replaced']}"
    console.print(plain(line), highlight=False)


@app.command()
def check(data: DataOption = None, as_json: JsonOption = False) -> None:
    """Verify the archive: SQLite integrity, the keyword index, the vector index against the
    database; says what `reindex` would repair. Exit code 1 when something is wrong."""
    with open_archive(data, create=False) as archive:
        report = archive.check()
    if as_json:
        print(json.dumps(report))
    else:
        index = report["vector_index"]
        database = report["database"]
        shown = database if database == "ok" else "; ".join(database)
        console.print(f"database: {plain(shown)}", soft_wrap=True)
        console.print(f"keyword index: {plain(report['keyword_index'])}", soft_wrap=True)
        console.print(f"tantivy index: {plain(report['tantivy_index'])}", soft_wrap=True)
        console.print(f"lead keyword index: {plain(report['lead_keyword_index'])}", soft_wrap=True)
        console.print(f"lead tantivy index: {plain(report['lead_tantivy_index'])}", soft_wrap=True)
        if index is not None:
            state = "ok" if index["ok"] else "needs repair"
            if index["ok"] and index["behind"]:
                state = "ok (behind the database; the next command catches it up)"
            console.print(
                plain(
                    f"vector index: {state} ({index['passages']} passages, "
                    f"{index['missing']} missing, {index['extra']} extra, "
                    f"{index['wrong_vectors']} wrong vectors; lineage {index['lineage']})"
                ),
                soft_wrap=True,
            )
        for line in report["repairs"]:
            console.print(f"[yellow]repair:[/yellow] {plain(line)}", soft_wrap=True)
        for line in report["unrepairable"]:
            console.print(f"[red]damaged:[/red] {plain(line)}", soft_wrap=True)
        if report["ok"]:
            console.print("all checks passed")
    if not report["ok"]:
        raise typer.Exit(1)
