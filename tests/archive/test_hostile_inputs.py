"""Hostile files: each is refused with a message naming it, memory stays bounded whatever it
holds, the archive is unchanged, and the valid inputs around it still go in. Symbolic links do
not lead a folder's ingest out of the folder."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import random
import threading
from pathlib import Path

import pytest

from newsarchive.archive import Archive

from conftest import SEED, write_jsonl
from hostile_files import EndlessAnswer, make_all, make_fifo
from processes import COMMAND, hash_env, measured_peak

MAX_RSS_MB = 400  # a `newsarchive ingest` process at rest is ~90-120 MB
HEAVY = {
    "bomb.jsonl.gz",
    "zeros.json.gz",
    "bomb-lines.jsonl.gz",
    "bad-lines.jsonl.gz",
    "huge.txt",
    "huge-line.jsonl",
}


@pytest.mark.slow
def test_hostile_files_are_refused_in_bounded_memory_and_change_nothing(
    tmp_path: Path, hash_embedder
):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([SEED])
        before = archive.stats()
    files = make_all(tmp_path / "hostile")
    entities = tmp_path / "hostile" / "entities.rss"
    files.pop(entities)  # neutralised, not refused: checked below
    env = hash_env()
    peaks = {}
    # The big ones one process each, to measure each one's peak; the small ones together.
    runs = [[path] for path in files if path.name in HEAVY] + [
        [path for path in files if path.name not in HEAVY]
    ]
    for paths in runs:
        args = ["ingest", *map(str, paths), "--data", str(data)]
        done = measured_peak(args, env=env, timeout=300)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        for path in paths:
            assert any(line.startswith(f"error: {path}") for line in lines), files[path]
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), lines
        assert len(lines) <= 101 + 1  # 100 messages and the count of the rest
        peaks[" ".join(p.name for p in paths)] = done.peak_rss_mb
    assert max(peaks.values()) < MAX_RSS_MB, peaks
    with Archive(data, embedder=hash_embedder) as archive:
        after = archive.stats()
        assert (after["articles"], after["passages"], after["generation"]) == (
            before["articles"],
            before["passages"],
            before["generation"],
        )
        report = archive.ingest([entities])  # entities are not expanded, nor files read
        assert (report.new, report.error_count) == (1, 0)
        with archive.store.reading() as conn:
            text = " ".join(r[0] for r in conn.execute("SELECT text FROM passages"))
            titles = " ".join(r[0] for r in conn.execute("SELECT title FROM articles"))
        assert "root:" not in text + titles and "lollol" not in text + titles


@pytest.mark.slow
def test_an_endless_http_answer_and_a_pipe_in_a_folder(tmp_path: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EndlessAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
        done = measured_peak(
            ["ingest", url, "--allow-private", "--data", str(tmp_path / "data")],
            env=hash_env(),
            timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {url}: the response is larger than 8,388,608 bytes "
        "(NEWSARCHIVE_MAX_HTTP_BYTES); not read"
    )
    assert done.peak_rss_mb < MAX_RSS_MB

    folder = tmp_path / "folder"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", [{"id": "g", "body": "A good article."}])
    if make_fifo(folder) is None:
        pytest.skip("no named pipes here")
    done = measured_peak(["ingest", str(folder), "--data", str(tmp_path / "d2")], env=hash_env())
    assert done.returncode == 0, done.stderr  # the pipe is not a file: not opened
    assert "1 articles: 1 new" in done.stdout


def test_deep_nesting_is_one_error_and_the_inputs_around_it_go_in(archive: Archive, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("First title\n\nA first article about harbour cranes.\n")
    (folder / "b.json").write_text('{"body": ' * 100_000 + '"x"' + "}" * 100_000)
    lines = [
        json.dumps({"id": "c1", "body": "Second article about tides."}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"id": "c2", "body": "Third article about ferries."}),
    ]
    (folder / "c.jsonl").write_text("\n".join(lines) + "\n")
    report = archive.ingest([folder])
    assert (report.new, report.error_count) == (3, 2)
    assert report.errors == [
        f"{folder / 'b.json'}: JSON nested too deeply to read",
        f"{folder / 'c.jsonl'}:2: JSON nested too deeply to read",
    ]


def test_binary_text_and_bad_utf8(archive: Archive, tmp_path: Path):
    rng = random.Random(1)
    noise = tmp_path / "noise.txt"
    noise.write_bytes(bytes(rng.randrange(1, 256) for _ in range(20_000)))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Café crème\n\nLe café est très bon à Zürich.\n".encode("latin-1"))
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(b'{"id": "u", "body": "Caf\xe9 au lait in the morning."}\n')
    report = archive.ingest([noise, latin, lines])
    assert report.errors == [f"{noise}: looks like a binary file, not text"]
    assert report.new == 2
    assert report.warnings == [
        f"{latin}: not valid UTF-8 (byte 4); read as Latin-1",
        f"{lines}:1: not valid UTF-8 (byte 25 of the line); replaced",
    ]
    assert archive.get("latin")["title"] == "Café crème"
    assert "Caf\ufffd au lait" in archive.get("u")["passages"][0]["text"]


def test_millions_of_bad_lines_keep_a_count_not_every_message(archive: Archive, tmp_path):
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(gzip.compress(b"x\n" * 50_000 + b'{"id": "late", "body": "Too late."}\n'))
    report = archive.ingest([path])
    assert report.error_count == 10_001 and len(report.errors) == 100
    assert report.errors[-1] == f"{path}:100: malformed JSON (Expecting value at column 1)"
    assert report.summary().endswith("; 10,001 errors")
    assert report.new == 0  # the file was abandoned at line 10,001


def test_lone_surrogates_in_files_and_records_are_errors(archive: Archive, tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "s", "body": "bad \\ud83d text"}\n{"id": "ok", "body": "Fine."}\n')
    report = archive.ingest([path])
    assert report.errors == [
        f"{path}:1: body: holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
    ]
    report = archive.ingest_articles([{"id": "r", "body": "x", "where": {"k": "\udc00"}}])
    assert report.errors == [
        "article 1: where: holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
    ]
    assert archive.stats()["articles"] == 1


def test_symbolic_links_out_of_a_folder_are_not_followed(archive: Archive, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret title\n\nPrivate words of the host.\n")
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Harbour news\n\nCranes are back at the harbour.\n")
    os.symlink(outside / "secret.txt", folder / "passwd.txt")
    os.symlink(outside, folder / "sub" / "elsewhere")
    os.symlink(folder / "a.txt", folder / "inside.txt")  # a link within the folder is fine
    os.symlink(folder, folder / "sub" / "loop")  # a cycle ends
    report = archive.ingest([folder])
    assert sorted(report.errors) == sorted(
        [
            f"{folder / 'passwd.txt'}: a symbolic link out of {folder} (to "
            f"{outside / 'secret.txt'}); skipped (--follow-links reads it)",
            f"{folder / 'sub' / 'elsewhere'}: a symbolic link out of {folder} (to {outside}); "
            "skipped (--follow-links reads it)",
        ]
    )
    assert archive.get("secret") is None and archive.get("a") is not None
    followed = archive.ingest([folder], follow_links=True)
    assert followed.errors == [] and archive.get("secret") is not None


def test_follow_links_from_the_cli(tmp_path: Path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Outside\n\nWords from outside the folder.\n")
    folder = tmp_path / "f"
    folder.mkdir()
    os.symlink(outside, folder / "link.txt")
    import subprocess

    data = ["--data", str(tmp_path / "d")]
    refused = subprocess.run(
        [*COMMAND, "ingest", str(folder), *data], env=hash_env(), capture_output=True, text=True
    )
    assert refused.returncode == 1 and "a symbolic link out of" in refused.stderr
    followed = subprocess.run(
        [*COMMAND, "ingest", str(folder), "--follow-links", *data],
        env=hash_env(),
        capture_output=True,
        text=True,
    )
    assert followed.returncode == 0 and "1 new" in followed.stdout
