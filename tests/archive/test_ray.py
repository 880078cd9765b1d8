"""Scaling out on a real Ray cluster: a head and two worker node processes on loopback.

One cluster serves the module (starting it costs 10-20 s here); at the end it is stopped and
every process it started is checked gone. Skipped, with the reason, when Ray is not installed
(`pip install "newsarchive[ray]"`; `make test` installs it). Most tests embed with the
HashEmbedder; the real model only where its vectors are the point (cosine 1.0).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "ray", reason='Ray is an optional extra: pip install "newsarchive[ray]" to run these tests'
)

from newsarchive.archive import Archive  # noqa: E402
from newsarchive.index.distributed.cluster import LocalCluster, descendants  # noqa: E402
from newsarchive.index.distributed.embedding import EmbedderSpec, RayEncoder  # noqa: E402
from newsarchive.index.embedders.hashing import HashEmbedder  # noqa: E402

from conftest import NEWS  # noqa: E402

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Head (no CPUs: the driver's node) + 2 worker nodes of 1 CPU, each its own processes.
    The nodes find tests/archive/ray_embedders.py on their PYTHONPATH."""
    before = descendants()
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), saved) if p)
    try:
        # a killed node is noticed after ~1.5 s instead of Ray's default ~15 s of health checks
        fast = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
        local = LocalCluster(workers=2, worker_cpus=1, head_cpus=0, system_config=fast).start()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        yield local
    finally:
        killed = local.stop()
        left = descendants() - before
        assert not killed, f"Ray's shutdown left processes that had to be killed: {killed}"
        assert not left, f"processes still running after the cluster stopped: {left}"


def corpus(n: int) -> list[dict]:
    """n articles of three ~80-word paragraphs (one passage each); the third is shared by
    every fifth article, so stored vectors are reused across batches."""

    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]

    def words(seed: int) -> str:
        rng = np.random.default_rng(seed)
        picked = rng.choice(syllables, (80, 3))
        return " ".join("".join(w) for w in picked).capitalize() + "."

    return [
        {
            "id": f"a{i}",
            "title": f"Story {i}",
            "body": f"{words(i)}\n\n{words(10_000 + i)}\n\n{words(20_000 + i % 5)}",
            "date": "2004-11-20",
            "source": "Wire",
        }
        for i in range(n)
    ]


def snapshot(archive: Archive) -> tuple[list, dict[tuple[str, int], np.ndarray]]:
    """Articles and passages as rows, and each passage's vector by (article, position)."""
    conn = archive.store.conn
    articles = conn.execute(
        "SELECT id, title, source, date, text_hash, meta_hash FROM articles ORDER BY id"
    ).fetchall()
    rows = conn.execute(
        "SELECT article_id, position, text, text_hash, vector FROM passages "
        "ORDER BY article_id, position"
    ).fetchall()
    stored = np.sort(archive.store.passage_ids())
    assert np.array_equal(stored, archive.vectors.current().ids()), "FAISS and SQLite differ"
    vectors = {(r[0], r[1]): np.frombuffer(r[4], np.float32) for r in rows}
    return articles + [r[:4] for r in rows], vectors


def assert_same(a: Archive, b: Archive) -> None:
    rows_a, vectors_a = snapshot(a)
    rows_b, vectors_b = snapshot(b)
    assert rows_a == rows_b
    assert vectors_a.keys() == vectors_b.keys()
    assert all(np.array_equal(vectors_a[k], vectors_b[k]) for k in vectors_a)


def counts(report) -> tuple:
    return (report.articles, report.new, report.changed, report.unchanged,
            report.exact_copies, report.passages_embedded, report.errors)  # fmt: skip


def test_ray_ingest_equals_local_ingest(cluster, tmp_path: Path):
    records = corpus(150)  # 3 batches of 64; 455 passages, 305 distinct texts
    records.append(dict(records[3], id="copy-of-a3", source="Other"))  # an exact copy
    with Archive(tmp_path / "local", embedder=HashEmbedder()) as local:
        expected = local.ingest_articles(records)
        # ~20 ms a text, so the pool's second actor is up before the first has done it all
        slow = EmbedderSpec(
            "ray_embedders:SlowHashEmbedder", fingerprint=HashEmbedder().fingerprint
        )
        encoder = RayEncoder(slow, block=16)
        with Archive(tmp_path / "ray", embedder=HashEmbedder()) as remote, encoder:
            report = remote.ingest_articles(records, encoder=encoder)
            assert counts(report) == counts(expected)
            assert_same(remote, local)
            assert {w.split(":")[0] for w in encoder.workers} == {
                n.node_id[:8] for n in cluster.nodes
            }, f"both worker nodes embedded: {encoder.workers}"
            # incremental, as locally: nothing again, then only an edited article's new text
            assert remote.ingest_articles(records, encoder=encoder).passages_embedded == 0
            edited = [dict(r) for r in records[:10]]
            edited[0]["body"] += "\n\nA late paragraph about the talks."
            assert counts(remote.ingest_articles(edited, encoder=encoder)) == counts(
                local.ingest_articles(edited)
            )
            assert_same(remote, local)


def test_ray_ingest_vectors_equal_local_real_model(cluster, tmp_path: Path, model):
    """fp32 vectors made by the actors (torch, one thread) equal this process's: cosine 1.0."""
    with Archive(tmp_path / "local", embedder=model) as local:
        local.ingest_articles(NEWS)
        rows_local, vectors_local = snapshot(local)
    spec = EmbedderSpec("torch", fingerprint=model.fingerprint)
    with Archive(tmp_path / "ray", embedder=model) as remote, RayEncoder(spec, actors=1) as actors:
        remote.ingest_articles(NEWS, encoder=actors)
        rows_ray, vectors_ray = snapshot(remote)
        assert remote.search("wheat exports to Egypt", limit=1).hits[0].article.id == "wheat-1"
    assert rows_ray == rows_local
    cosines = [float(vectors_local[key] @ vectors_ray[key]) for key in vectors_local]
    assert min(cosines) > 1 - 1e-6, min(cosines)


def test_an_actor_with_another_model_refuses_to_start(cluster):
    from newsarchive.archive import ModelError

    with RayEncoder(EmbedderSpec("hash", fingerprint="0123456789abcdef"), actors=1) as actors:
        with pytest.raises(ModelError, match="the model on this node .* is not the archive's"):
            actors.encode(["a text"])


class DriverStopped(Exception):
    pass


def test_driver_stopped_mid_ingest_resumes_like_a_local_ingest(cluster, tmp_path: Path):
    records = corpus(150)

    def stops_at(n: int, archive: Archive) -> Iterator[dict]:
        for number, record in enumerate(records):
            if number == n:  # the driver dies here, once a batch is committed
                for _ in range(600):
                    if archive.stats()["articles"]:
                        break
                    threading.Event().wait(0.05)
                raise DriverStopped
            yield record

    with Archive(tmp_path / "local", embedder=HashEmbedder()) as local:
        local.ingest_articles(records)
        with Archive(tmp_path / "ray", embedder=HashEmbedder()) as remote:
            with RayEncoder(EmbedderSpec("hash"), block=16) as encoder:
                with pytest.raises(DriverStopped):
                    remote.ingest_articles(stops_at(140, remote), encoder=encoder)
            kept = remote.stats()["articles"]
            assert kept in (64, 128)  # whole batches only
            with RayEncoder(EmbedderSpec("hash"), block=16) as encoder:
                resumed = remote.ingest_articles(records, encoder=encoder)
            assert (resumed.unchanged, resumed.new) == (kept, 150 - kept)
            assert_same(remote, local)


def test_reembed_on_ray(cluster, tmp_path: Path):
    with Archive(tmp_path / "a", embedder=HashEmbedder()) as archive:
        archive.ingest_articles(corpus(20))
        ids = archive.store.passage_ids()
        stored = archive.store.vectors_for(ids, 256).copy()
        archive.store.set_vectors(ids, -stored)  # spoil them
        with RayEncoder(EmbedderSpec("hash"), block=16) as encoder:
            result = archive.reindex(reembed=True, encoder=encoder)
        assert result["reembedded"] == len(ids) == encoder.embedded
        assert np.array_equal(archive.store.vectors_for(ids, 256), stored)
        assert archive.stats()["backend"] == "hash"


def test_cli_ingest_and_reembed_on_ray(cluster, tmp_path: Path, hash_backend, news_file: Path):
    """The CLI's --ray flags: the driver is already connected, so `local` uses that cluster."""
    import json

    from typer.testing import CliRunner

    from newsarchive.cli.main import app

    runner = CliRunner()
    data = ["--data", str(tmp_path / "cli")]
    ingested = runner.invoke(app, ["ingest", str(news_file), *data, "--json", "--ray", "local"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.stdout)["new"] == 4
    reembedded = runner.invoke(app, ["reindex", "--reembed", *data, "--ray", "local"])
    assert reembedded.exit_code == 0, reembedded.output
    assert "re-embedded" in reembedded.stdout
    wrong = runner.invoke(app, ["reindex", *data, "--ray", "local"])
    assert wrong.exit_code == 2
    assert "a cluster only re-embeds" in wrong.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_serve_replicas_answer_alike_and_both_see_a_new_article(cluster, tmp_path: Path):
    import httpx
    from ray import serve

    from newsarchive.api.replicas import deploy

    with Archive(tmp_path / "served", embedder=HashEmbedder()) as archive:
        archive.ingest_articles(NEWS)
    port = free_port()
    deploy(tmp_path / "served", replicas=2, port=port)
    base = f"http://127.0.0.1:{port}"

    def by_replica(params: dict, rounds: int = 20) -> dict[str, dict]:
        """Each replica's answer: rounds of 4 concurrent requests until both have answered."""

        def ask(_: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as own:
                return own.get("/search", params=params)

        answers: dict[str, dict] = {}
        with ThreadPoolExecutor(4) as pool:
            for _ in range(rounds):
                for response in pool.map(ask, range(4)):
                    assert response.status_code == 200, response.text
                    body = response.json()
                    body.pop("took_ms")
                    answers.setdefault(response.headers["x-newsarchive-replica"], body)
                if len(answers) >= 2:
                    break
        assert len(answers) == 2, "Serve never routed to a second replica"
        return answers

    try:
        first, second = by_replica({"q": "wheat exports Egypt", "limit": 3}).values()
        assert first == second and first["results"][0]["article"]["id"] == "wheat-1"
        new = {
            "id": "volcano-1",
            "title": "Volcano grounds flights",
            "body": "Ash from an Icelandic volcano closed airports across northern Europe.",
            "date": "2010-04-15",
            "source": "Wire",
        }
        with httpx.Client(base_url=base, timeout=60) as client:
            posted = client.post("/articles", json=new)
            assert posted.status_code == 200 and posted.json()["new"] == 1, posted.text
            seen = by_replica({"q": "volcano ash airports", "limit": 3})
            assert [b["results"][0]["article"]["id"] for b in seen.values()] == ["volcano-1"] * 2
            assert client.delete("/articles/volcano-1").status_code == 200
            gone = by_replica({"q": "volcano ash airports", "limit": 3})
            for body in gone.values():
                assert "volcano-1" not in [r["article"]["id"] for r in body["results"]]
    finally:
        serve.shutdown()


def clustered(n: int, dimension: int, centres: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((centres, dimension)).astype(np.float32)
    noise = rng.standard_normal((n, dimension)).astype(np.float32)
    vectors = centre[rng.integers(0, centres, n)] + 0.6 * noise
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("pq_m", [0, 8], ids=["ivf-flat", "ivf-pq"])
def test_sharded_search_equals_single_index(cluster, pq_m: int):
    from newsarchive.index.vectors.sharded import (
        ShardedIndex,
        ShardSettings,
        single_index,
        train,
    )

    n, d = 30_000, 64
    vectors = clustered(n, d)
    ids = np.arange(1, n + 1, dtype=np.int64) * 3  # ids with gaps, as after deletions
    queries = clustered(10, d, seed=1)
    settings = ShardSettings(nlist=64, nprobe=6, pq_m=pq_m, pq_bits=6)  # small codebooks: quick
    rng = np.random.default_rng(2)
    trained = train(d, vectors[rng.choice(n, 4_000, replace=False)], settings)
    single = single_index(trained, ids, vectors, settings)
    sharded = ShardedIndex(d, 3, settings, cpus_per_shard=0.5).start(trained)
    try:
        sharded.add(ids, vectors)
        assert len(sharded) == n and all(9_500 < c < 10_500 for c in sharded.counts)
        wide = np.sort(rng.choice(ids, 24_000, replace=False))  # widened nprobe
        narrow = np.sort(rng.choice(ids, 400, replace=False))  # exact over the allowed
        for allowed in (None, wide, narrow):
            for query in queries:
                expected = single.search(query, 20, allowed)
                got = sharded.search(query, 20, allowed)
                assert [i for i, _ in got] == [i for i, _ in expected]
                assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-6)
                if allowed is not None:
                    assert set(i for i, _ in got) <= set(allowed.tolist())
        gone = ids[:5000]
        assert sharded.remove(gone) == 5000
        single.remove(gone)
        query = queries[0]
        assert [i for i, _ in sharded.search(query, 50)] == [i for i, _ in single.search(query, 50)]
    finally:
        sharded.stop()


def ranked(hits: list[tuple[float, str, int]]) -> list[tuple[float, frozenset]]:
    """Scores in order, each with the passages that share it: the HashEmbedder gives many
    exact ties, which two indexes may break differently (the last group may be cut short)."""
    groups: dict[float, set] = {}
    for score, article, position in hits:
        groups.setdefault(round(score, 5), set()).add((article, position))
    return [(score, frozenset(found)) for score, found in groups.items()]


def same_ranking(got, expected) -> bool:
    """Two SearchResponses (or lists of result dicts from the HTTP API) rank alike."""

    def rows(answer) -> list[tuple[float, str, int]]:
        if isinstance(answer, list):
            return [(r["score"], r["article"]["id"], r["position"]) for r in answer]
        return [(h.score, h.article.id, h.position) for h in answer.hits]

    a, b = ranked(rows(got)), ranked(rows(expected))
    return bool(b) and len(a) == len(b) and a[:-1] == b[:-1] and a[-1][0] == b[-1][0]


SHARD_QUERIES = [
    ("Dabe kimo", {}),
    ("Story about talks", {"mode": "semantic"}),
    ("lorem pasu", {"mode": "semantic", "source": "Wire"}),
    ("tika", {"mode": "semantic", "where": ["n=7"]}),
]


def test_sharded_archive_searches_like_the_unsharded_one_and_follows_writes(
    cluster, tmp_path: Path
):
    # no shared paragraph: a tie between two copies of one text may be broken either way
    records = [
        dict(r, n=str(i % 10), body=r["body"].rsplit("\n\n", 1)[0])
        for i, r in enumerate(corpus(150))
    ]
    with Archive(tmp_path / "a", embedder=HashEmbedder()) as plain:
        plain.ingest_articles(records)
        with Archive(tmp_path / "a", embedder=HashEmbedder()) as sharded:
            view = sharded.shard_vectors(2, cpus_per_shard=0.25)
            try:
                assert sum(view.describe()["passages"]) == len(plain.store.passage_ids())
                assert min(view.describe()["passages"]) > 0, "both shards hold passages"
                for query, options in SHARD_QUERIES:
                    expected = plain.search(query, limit=10, **options)
                    assert same_ranking(sharded.search(query, limit=10, **options), expected)
                new = {"id": "volcano-1", "title": "Volcano grounds flights", "source": "Wire",
                       "body": "Ash from an Icelandic volcano closed airports across Europe."}  # fmt: skip
                plain.ingest_articles([new])  # another Archive object writes: the view follows
                top = sharded.search("volcano ash airports", limit=1, mode="semantic").hits[0]
                assert top.article.id == "volcano-1"
                plain.remove(["volcano-1"])
                found = sharded.search("volcano ash airports", limit=5, mode="semantic")
                assert "volcano-1" not in [h.article.id for h in found.hits]
                assert same_ranking(
                    found, plain.search("volcano ash airports", limit=5, mode="semantic")
                )
            finally:
                view.stop()


def test_serve_replicas_search_sharded_vectors(cluster, tmp_path: Path):
    import httpx
    from ray import serve

    from newsarchive.api.replicas import deploy

    records = [dict(r, body=r["body"].rsplit("\n\n", 1)[0]) for r in corpus(60)]
    with Archive(tmp_path / "served", embedder=HashEmbedder()) as archive:
        archive.ingest_articles(records)
        expected = archive.search("Dabe kimo", limit=5, mode="semantic")
    port = free_port()
    deploy(tmp_path / "served", replicas=1, replica_cpus=0.5, shards=2, shard_cpus=0.25, port=port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            got = client.get("/search", params={"q": "Dabe kimo", "limit": 5, "mode": "semantic"})
            assert got.status_code == 200, got.text
            assert same_ranking(got.json()["results"], expected)
            new = {"id": "volcano-1", "title": "Volcano grounds flights", "source": "Wire",
                   "body": "Ash from an Icelandic volcano closed airports across Europe."}  # fmt: skip
            assert client.post("/articles", json=new).status_code == 200
            params = {"q": "volcano ash airports", "limit": 3, "mode": "semantic"}
            assert client.get("/search", params=params).json()["results"][0]["article"]["id"] == (
                "volcano-1"
            )
            assert client.delete("/articles/volcano-1").status_code == 200
            ids = [
                r["article"]["id"] for r in client.get("/search", params=params).json()["results"]
            ]
            assert "volcano-1" not in ids
    finally:
        serve.shutdown()


def test_worker_node_killed_mid_ingest_loses_and_duplicates_nothing(cluster, tmp_path: Path):
    """Last in the module: it leaves the cluster one worker node short."""
    records = corpus(120)
    with Archive(tmp_path / "local", embedder=HashEmbedder()) as local:
        expected = local.ingest_articles(records)
        victim = cluster.nodes[-1]
        killed = threading.Event()

        def kill_once_under_way(embedded: int, seconds: float) -> None:
            if embedded >= 48 and not killed.is_set():
                killed.set()
                threading.Thread(target=cluster.kill_node, args=(victim,)).start()

        # the slow embedder (~20 ms a text) keeps blocks in flight on both nodes; 0.5 CPU per
        # actor lets Ray restart the dead node's actor on the surviving one
        spec = EmbedderSpec(
            "ray_embedders:SlowHashEmbedder", fingerprint=HashEmbedder().fingerprint
        )
        encoder = RayEncoder(
            spec, cpus_per_actor=0.5, actors=2, block=8, progress=kill_once_under_way
        )
        with Archive(tmp_path / "ray", embedder=HashEmbedder()) as remote, encoder:
            report = remote.ingest_articles(records, encoder=encoder)
            assert killed.is_set()
            assert counts(report) == counts(expected)
            assert_same(remote, local)
            assert any(w.startswith(victim.node_id[:8]) for w in encoder.workers), (
                "the killed node had embedded nothing"
            )
