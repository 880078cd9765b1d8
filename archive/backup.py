"""Backups that restore: a consistent copy of an archive taken while it serves and ingests, a
manifest with checksums, a verified restore, and a check of an archive in place.

A backup is a folder: `archive.db` (SQLite's online backup API: the database as of one moment,
while writers go on), `vectors.faiss` and `vectors.json` (the vector index caught up to exactly
that database), and `manifest.json` (archive id, generation, schema version, counts, and each
file's size and SHA-256). The index files are copied *before* the database, under the index's
file lock, so they are never newer than the database copy; the copy is then caught up from
the copied database (or rebuilt from its vectors if it cannot be). It is written into a
temporary folder and renamed into place at the end, so a killed backup leaves no folder that
looks complete. `models/` (the exported model) is not copied: it is rebuilt when needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import ArchiveDamaged, ArchiveError
from .store import Store
from .store.maintenance import LEADS_FTS, database_problems, keyword_problem, snapshot

MANIFEST = "manifest.json"
FORMAT = 1
FILES = ("archive.db", "vectors.faiss", "vectors.json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_folder(dest: Path) -> Path:
    """A temporary folder beside `dest`, which must not exist or be empty."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArchiveError(f"{dest}: already exists and is not an empty folder; name a new one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    return partial


def _catch_up_index(folder: Path) -> dict[str, Any] | None:
    """Bring the copied index in `folder` to the copied database's lineage (rebuilding it from
    the database's vectors if it cannot be caught up); returns its stamp."""
    from ..index.sync import VectorView
    from ..index.vectors import read_stamp

    store = Store(folder / "archive.db")
    try:
        dimension = store.get_meta("dimension")
        if dimension is None:  # no vectors were ever stored: no index
            for name in FILES[1:]:
                (folder / name).unlink(missing_ok=True)
            return None
        kind = store.get_meta("index_kind") or "auto"
        view = VectorView(folder / "vectors.faiss", store, lambda: int(dimension), lambda: kind)
        view.current()
        view.save()
        (folder / "vectors.lock").unlink(missing_ok=True)
        return read_stamp(folder / "vectors.faiss")
    finally:
        store.close()


def take_backup(store: Store, vectors: Any, dest: Path) -> dict[str, Any]:
    """Write a backup of the archive (`store` and its `vectors` view) into the new folder
    `dest`; returns the manifest."""
    dest = Path(dest).expanduser().resolve()
    partial = _new_folder(dest)
    try:
        vectors.copy_to(partial)  # first: never newer than the database copied next
        snapshot(store.path, partial / "archive.db")
        problems = database_problems(partial / "archive.db", quick=True)
        if problems:
            raise ArchiveDamaged(
                f"{store.path}: the database is damaged ({problems[0]}); a backup would copy "
                "the damage (run `newsarchive check`)"
            )
        stamp = _catch_up_index(partial)
        manifest = _manifest(partial, stamp)
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
        for name in (*FILES, MANIFEST):
            if (partial / name).exists():
                _fsync(partial / name)
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.replace(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _manifest(folder: Path, stamp: dict[str, Any] | None) -> dict[str, Any]:
    store = Store(folder / "archive.db")
    try:
        archive_id, generation, token = store.lineage()
        counts = store.stats()
        schema = store.schema_version()
    finally:
        store.close()
    files = {}
    for name in FILES:
        path = folder / name
        if path.exists():
            files[name] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "archive_id": archive_id,
        "generation": generation,
        "token": token,
        "schema_version": schema,
        "articles": counts["articles"],
        "passages": counts["passages"],
        "index": stamp.get("kind") if stamp else None,
        "files": files,
    }


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of the backup folder `src`, or an ArchiveError saying why it has none."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("not an object with files")
    except (OSError, ValueError) as exc:
        raise ArchiveError(
            f"{src}: not a newsarchive backup (no readable {MANIFEST}: "
            f"{getattr(exc, 'strerror', None) or exc})"
        ) from None
    return manifest


def verify_backup(src: Path) -> dict[str, Any]:
    """Check every file of the backup against its manifest (size and SHA-256)."""
    manifest = read_manifest(src)
    if "archive.db" not in manifest["files"]:
        raise ArchiveDamaged(f"{src}: the manifest names no archive.db")
    for name, expected in manifest["files"].items():
        if name not in FILES:
            raise ArchiveDamaged(f"{src}: the manifest names an unexpected file {name!r}")
        path = src / name
        if not path.is_file():
            raise ArchiveDamaged(f"{path}: missing from the backup")
        if path.stat().st_size != expected.get("bytes") or sha256_of(path) != expected.get(
            "sha256"
        ):
            raise ArchiveDamaged(f"{path}: does not match its checksum; the backup is damaged")
    return manifest


def restore_backup(src: Path, dest: Path, *, replace: bool = False) -> dict[str, Any]:
    """Verify the backup in `src` and make it the archive in `dest`.

    A `dest` that holds an archive is refused unless `replace`: then it is renamed aside
    (`<dest>.replaced-<time>`, its exported models moved into the restored archive) while
    holding its writer lock, so no ingest is running.
    """
    from .locks import WriterLock

    src = Path(src).expanduser().resolve()
    dest = Path(dest).expanduser().resolve()
    manifest = verify_backup(src)
    holds_archive = (dest / "archive.db").exists()
    if holds_archive and not replace:
        raise ArchiveError(
            f"{dest}: already holds an archive; pass --replace to put it aside and restore"
        )
    if not holds_archive and dest.exists() and any(dest.iterdir()):
        raise ArchiveError(f"{dest}: is not empty and holds no archive; name another folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.restoring-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for name in manifest["files"]:
            shutil.copyfile(src / name, staging / name)
            _fsync(staging / name)
        problems = database_problems(staging / "archive.db")
        if problems:
            raise ArchiveDamaged(
                f"{src}/archive.db: fails SQLite's integrity check ({problems[0]})"
            )
        replaced = None
        if holds_archive:
            with WriterLock(dest).held(wait=False, what="writing to"):
                replaced = dest.with_name(f"{dest.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
                os.replace(dest, replaced)
            if (replaced / "models").is_dir():
                shutil.move(str(replaced / "models"), str(staging / "models"))
        elif dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "restored": str(dest),
        "from": str(src),
        "replaced": str(replaced) if replaced else None,
        "archive_id": manifest.get("archive_id"),
        "generation": manifest.get("generation"),
        "articles": manifest.get("articles"),
        "passages": manifest.get("passages"),
    }


def check_archive(
    store: Store, vectors: Any, keywords: Any = None, lead_keywords: Any = None
) -> dict[str, Any]:
    """Verify an archive in place: SQLite's integrity check, FTS5's (of the passages and of
    the leads), and the vector index against the database (lineage, missing and extra
    passages, vectors that differ from the stored ones), and the tantivy keyword indexes
    (`keywords` of the passages, `lead_keywords` of the leads, index/keywords/view.py) of large
    archives; the leads' is expected exactly where the passages' exists. Says what `reindex`
    would repair and what it cannot."""
    database = database_problems(store.path) or []
    keyword = None if database else keyword_problem(store)
    lead_keyword = None if database else keyword_problem(store, LEADS_FTS)
    index = vectors.audit() if not database else None
    tantivy = None if database or keywords is None else keywords.audit()
    lead_tantivy = None
    if not database and lead_keywords is not None and (keywords is None or keywords.active):
        lead_tantivy = lead_keywords.audit()
    repairs: list[str] = []
    unrepairable: list[str] = []
    if database:
        unrepairable.append(
            "the database is damaged: restore a backup (`newsarchive restore`); "
            "`reindex` cannot repair it"
        )
    if keyword:
        repairs.append("reindex rebuilds the keyword index from the passages")
    if lead_keyword:
        repairs.append("reindex rebuilds the leads' keyword index from the leads")
    if tantivy:
        repairs.append(f"reindex rebuilds the tantivy keyword index ({tantivy})")
    if lead_tantivy:
        repairs.append(f"reindex rebuilds the leads' tantivy index ({lead_tantivy})")
    if index is not None and not index["ok"]:
        details = [
            f"{index[key]} {label}"
            for key, label in (
                ("missing", "passages missing"),
                ("extra", "passages in excess"),
                ("wrong_vectors", "wrong vectors"),
            )
            if index[key]
        ]
        if index["lineage"] != "ok":
            details.insert(0, index["lineage"])
        repairs.append(
            "reindex rebuilds the vector index from the stored vectors (" + "; ".join(details) + ")"
        )
    unchecked = "not checked (the database is damaged)"
    return {
        "ok": not (repairs or unrepairable),
        "database": database or "ok",
        "keyword_index": unchecked if database else keyword or "ok",
        "tantivy_index": unchecked if database else tantivy or "ok",
        "lead_keyword_index": unchecked if database else lead_keyword or "ok",
        "lead_tantivy_index": unchecked if database else lead_tantivy or "ok",
        "vector_index": index,
        "repairs": repairs,
        "unrepairable": unrepairable,
    }
