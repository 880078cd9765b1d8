"""The Archive: the one library object behind the CLI and the HTTP API.

    >>> archive = Archive("~/news")
    >>> archive.ingest(["seeds/"]).summary()
    >>> archive.search("talks on US troops leaving Iraq", limit=5)

Writes go to SQLite first (the source of truth), then to the in-memory FAISS index, then to the
FAISS file. Any reader that finds the FAISS view behind the database's generation catches up
from the database before answering, so a killed process or a second writer never yields stale
or wrong rows.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import default_data_dir
from .dates import DateError, normalise_date
from .dedup import Fingerprint, copy_of
from .filters import Filters, parse_where
from .fusion import RRF_K
from .models import ArchiveError, Article, IngestReport, InputError
from .passages import PassagePolicy, make_passages
from .search import Reranker, Searcher, SearchRequest, SearchResponse
from .store import ArticleWrite, PassageRow, Store
from .urls import normalise_url

if TYPE_CHECKING:
    from .feeds import FeedFollower

ProgressCallback = Callable[[int, int], None]  # (articles read, passages embedded)
BATCH_ARTICLES = 64
# (articles to write, exact copies to record as extra sources, passages still to embed)
BatchPlan = tuple[
    list["ArticleWrite"], list[tuple[str, dict[str, Any]]], list[tuple["ArticleWrite", list[str]]]
]
# What an article's content alone determines: its duplicate fingerprint and, when it may need
# embedding, its passage texts.
Prepared = tuple[Fingerprint, "list[str] | None"]
INDEX_KINDS = ("auto", "flat", "ivf", "hnsw")


class Archive:
    """A news archive in one folder: `archive.db` (SQLite) and `vectors.faiss` (FAISS)."""

    def __init__(
        self,
        path: str | Path | None = None,
        model: str | None = None,
        *,
        embedder: Any = None,
        policy: PassagePolicy | None = None,
        backend: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser() if path else default_data_dir()
        self.path.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.path / "archive.db")
        self.index_path = self.path / "vectors.faiss"
        self._model_path = model
        self._embedder = embedder
        self._policy = policy
        self._index = None
        self._index_generation: int | None = None
        self._max_id = -1
        self._dirty = False  # in-memory index newer than the FAISS file
        self._lock = threading.RLock()  # guards the FAISS view
        self._ingest_lock = threading.Lock()  # one ingest at a time per process
        self._backend = backend
        self.index_threshold: int | None = None  # passages before `auto` leaves flat
        self.rrf_k = RRF_K
        self.reranker: Reranker | None = None  # hook for a cross-encoder; none ships today

    # -- components, loaded on first use ---------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from ..index.embedding import make_embedder

            self._embedder = make_embedder(
                self._model_path, self.backend, cache_dir=self.path / "models"
            )
        return self._embedder

    @property
    def backend(self) -> str:
        """Which embedding backend this archive uses.

        An explicit choice (argument or NEWSARCHIVE_BACKEND) wins and is checked against the
        archive by `check_model`; otherwise the archive keeps the vector family it was built
        with (fp32 -> onnx, int8 -> onnx-int8), and a new archive gets the default.
        """
        if self._embedder is not None:
            return getattr(self._embedder, "backend", "torch")
        from ..index.embedding import DEFAULT_BACKEND, VECTOR_FAMILY, configured_backend

        chosen = self._backend or configured_backend()
        if chosen:
            return chosen
        stored = self.stored_backend()
        if stored is None:
            return DEFAULT_BACKEND
        if VECTOR_FAMILY.get(stored) == VECTOR_FAMILY[DEFAULT_BACKEND]:
            return DEFAULT_BACKEND
        return stored if stored in VECTOR_FAMILY else DEFAULT_BACKEND

    def stored_backend(self) -> str | None:
        """The backend that embedded this archive (archives from before backends: torch)."""
        stored = self.store.get_meta("backend")
        if stored is None and self.store.get_meta("model_fingerprint") is not None:
            return "torch"
        return stored

    @property
    def policy(self) -> PassagePolicy:
        if self._policy is None:
            self._policy = PassagePolicy(max_tokens=self.embedder.max_tokens)
        return self._policy

    def model_fingerprint(self) -> str:
        """Identity of the model's weights, so vectors of two models are never mixed."""
        embedder = self.embedder
        digest = hashlib.sha256(str(embedder.dimension).encode())
        root = getattr(embedder, "path", None)
        if root is not None:
            for name in ("config.json", "modules.json", "sentence_bert_config.json"):
                if (root / name).exists():
                    digest.update((root / name).read_bytes())
            for weights in sorted(root.glob("*.safetensors")) + sorted(root.glob("*.bin")):
                digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        else:
            digest.update(getattr(embedder, "name", "custom").encode())
        return digest.hexdigest()[:16]

    def check_model(self, *, claim: bool = False) -> None:
        """Refuse to mix vectors from two models, or from two backends whose vectors differ."""
        from ..index.embedding import VECTOR_FAMILY

        stored = self.store.get_meta("model_fingerprint")
        current = self.model_fingerprint()
        if stored is None:
            if claim:
                with self.store.lock, self.store.db.conn:
                    self.store._set_meta("model_fingerprint", current)
                    self.store._set_meta("model_name", str(getattr(self.embedder, "name", "")))
                    self.store._set_meta("dimension", str(self.embedder.dimension))
                    self.store._set_meta("backend", self.backend)
            return
        stored_backend = self.stored_backend()
        if VECTOR_FAMILY.get(stored_backend or "") != VECTOR_FAMILY.get(self.backend):
            if stored_backend == "reembedding":
                raise ArchiveError(
                    f"{self.path}: a re-embedding was interrupted; run "
                    "`newsarchive reindex --reembed` again"
                )
            raise ArchiveError(
                f"{self.path}: archive was embedded with backend {stored_backend!r}, whose "
                f"vectors differ from backend {self.backend!r}; set NEWSARCHIVE_BACKEND="
                f"{stored_backend}, or run `newsarchive reindex --reembed` to convert it"
            )
        if stored != current:
            name = self.store.get_meta("model_name", "another model")
            raise ArchiveError(
                f"{self.path}: archive was built with model {name!r}, not the configured one; "
                "set NEWSARCHIVE_MODEL to that model, or run `newsarchive reindex --reembed`"
            )

    @property
    def dimension(self) -> int:
        stored = self.store.get_meta("dimension")
        return int(stored) if stored else int(self.embedder.dimension)

    @property
    def index(self):
        """The FAISS view, loaded on first use and caught up with the database."""
        with self._lock:
            if self._index is None:
                from ..index.vectors import VectorIndex

                self._index, self._index_generation = VectorIndex.load(
                    self.index_path, self.dimension
                )
                ids = self._index.ids()
                self._max_id = int(ids.max()) if len(ids) else -1
                if self._index_generation is None and len(self._index) == 0:
                    self._index_generation = 0
            self.sync_index()
            self._maybe_change_index_kind()
            return self._index

    def index_kind(self) -> str:
        """The configured index kind: auto (the default), flat, ivf or hnsw."""
        return self.store.get_meta("index_kind") or "auto"

    def _maybe_change_index_kind(self) -> None:
        """Move the in-memory view to the configured kind (auto: ivf once past the threshold).

        `auto` only ever moves flat -> ivf here; going back happens on `reindex`, so an archive
        hovering around the threshold is not rebuilt again and again.
        """
        from ..index.vectors import AUTO_THRESHOLD, VectorIndex, auto_kind

        configured = self.index_kind()
        count = len(self._index)
        if configured == "auto":
            wanted = auto_kind(count, self.index_threshold or AUTO_THRESHOLD)
            if wanted == "flat":
                return
        else:
            wanted = configured
        if wanted == self._index.kind or count == 0:
            return
        ids, vectors = self._index.vectors()
        self._index = VectorIndex.build(self._index.dimension, wanted, ids, vectors)
        self._dirty = True

    def sync_index(self) -> dict[str, int]:
        """Bring the FAISS view up to the database's generation; returns what changed."""
        with self._lock:
            if self._index is None:
                _ = self.index
                return {"added": 0, "removed": 0}
            current = self.store.generation()
            if self._index_generation == current:
                return {"added": 0, "removed": 0}
            if self._index_generation is None or self._index_generation > current:
                # Unknown, or ahead of the database (restored from a backup): compare all ids.
                removed, added = self._full_diff()
            else:
                removed, added = self.store.changes_since(self._index_generation, self._max_id)
            self._index.remove(removed)
            for start in range(0, len(added), 10000):
                chunk = added[start : start + 10000]
                self._index.add(chunk, self.store.vectors_for(chunk, self._index.dimension))
            if len(added):
                self._max_id = max(self._max_id, int(added.max()))
            self._index_generation = current
            if len(added) or len(removed):
                self._dirty = True
            return {"added": int(len(added)), "removed": int(len(removed))}

    def _full_diff(self) -> tuple[np.ndarray, np.ndarray]:
        """Compare every id: used when the FAISS file's generation is unknown."""
        in_db = self.store.passage_ids()
        in_index = self._index.ids()
        return np.setdiff1d(in_index, in_db), np.setdiff1d(in_db, in_index)

    def save_index(self) -> None:
        """Write the FAISS file if the in-memory view has changes it lacks."""
        with self._lock:
            if self._index is not None and self._dirty and self._index_generation is not None:
                self._index.save(self.index_path, self._index_generation)
                self._dirty = False

    def _apply(
        self, removed: np.ndarray, added: np.ndarray, vectors: np.ndarray, committed: int
    ) -> None:
        """Mirror the write that committed generation `committed` in the FAISS view."""
        with self._lock:
            if self._index is None or self._index_generation is None:
                return  # loaded (and caught up) lazily later
            if self._index_generation >= committed:
                return  # a catch-up already read this write from the database
            if self._index_generation == committed - 1:
                self._index.remove(removed)
                self._index.add(added, vectors)
                if len(added):
                    self._max_id = max(self._max_id, int(added.max()))
                self._index_generation = committed
                self._dirty = True
            else:
                self.sync_index()  # another writer committed in between: catch up from the database

    # -- ingest ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        force: bool = False,
        source: str | None = None,
        keep_titles: bool = True,
        progress: ProgressCallback | None = None,
        fetch: bool = False,
    ) -> IngestReport:
        """Read files, folders, URLs or '-' (stdin JSONL) and store what is new or changed.

        With `fetch`, each feed entry's linked page is fetched and its text extracted.
        """
        from .readers import iter_inputs

        return self.ingest_articles(
            iter_inputs([str(p) for p in paths], fetch=fetch),
            force=force,
            source=source,
            keep_titles=keep_titles,
            progress=progress,
        )

    def ingest_articles(
        self,
        items: Iterable[Article | InputError | dict[str, Any]],
        *,
        force: bool = False,
        source: str | None = None,
        keep_titles: bool = True,
        progress: ProgressCallback | None = None,
        save: bool = True,
    ) -> IngestReport:
        """Store articles incrementally: unchanged ones cost nothing, edited ones are replaced.

        Bad items are recorded in `report.errors` and the rest still go in. Each batch is one
        database transaction, so a killed run leaves whole articles only. `save=False` leaves
        the FAISS file to a later `save_index()` (the server batches those).
        """
        with self._ingest_lock:
            started = time.perf_counter()
            report = IngestReport()
            self.check_model(claim=True)
            self._pipeline(items, report, force, source, keep_titles, progress)
            if save:
                if report.new or report.changed or not self.index_path.exists():
                    _ = self.index  # load and catch up, so the FAISS file leaves this run current
                self.save_index()
            report.seconds = time.perf_counter() - started
            return report

    def _batches(
        self,
        items: Iterable[Article | InputError | dict[str, Any]],
        report: IngestReport,
        source: str | None,
        keep_titles: bool,
    ) -> Iterable[list[Article]]:
        """Parsed, normalised articles in batches; an article seen twice starts a new batch."""
        from .parsing import article_from_record

        batch: dict[str, Article] = {}
        for item in items:
            if isinstance(item, dict):
                try:
                    item = article_from_record(
                        item, f"article {report.articles + len(report.errors) + 1}"
                    )
                except InputError as exc:
                    item = exc
            if isinstance(item, InputError):
                report.errors.append(str(item))
                continue
            article = self._prepare(item, report, source=source, keep_titles=keep_titles)
            key = article.identity()
            if key in batch:  # the same article twice in one batch: the later copy wins
                yield list(batch.values())
                batch = {}
            batch[key] = article
            if len(batch) >= BATCH_ARTICLES:
                yield list(batch.values())
                batch = {}
        if batch:
            yield list(batch.values())

    def _pipeline(
        self,
        items: Iterable[Article | InputError | dict[str, Any]],
        report: IngestReport,
        force: bool,
        source: str | None,
        keep_titles: bool,
        progress: ProgressCallback | None,
    ) -> None:
        """Read, encode and write in three overlapping stages, so the model never waits.

        A reader thread parses the next batches and splits them into passages while this
        thread encodes, and a writer thread commits finished batches to SQLite and FAISS.
        Batches still go to the database one transaction each, in input order, and a batch is
        planned only once the one before it is written, so "new, changed or a copy" is always
        judged against what is stored.
        """
        done = object()
        planned: queue.Queue = queue.Queue(maxsize=2)
        encoded: queue.Queue = queue.Queue(maxsize=2)
        failures: list[BaseException] = []
        written = threading.Condition()
        state = {"written": -1, "stop": False}

        def read() -> None:
            try:
                for number, articles in enumerate(
                    self._batches(items, report, source, keep_titles)
                ):
                    if state["stop"]:
                        return
                    # Work that depends only on the articles (fingerprints, passage splits)
                    # overlaps the encoding of the batch before; deciding new, changed or a
                    # copy reads what is stored, so it waits for every earlier batch.
                    prepared = self._prepare_batch(articles, force)
                    with written:
                        written.wait_for(
                            lambda n=number: state["stop"] or state["written"] >= n - 1
                        )
                    planned.put((number, self._plan_batch(articles, report, force, prepared)))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                failures.append(exc)
            finally:
                planned.put(done)

        def write() -> None:
            while True:
                item = encoded.get()
                if item is done:
                    return
                if failures:
                    continue  # drain, so the encoding thread never blocks on a full queue
                number, plan = item
                try:
                    self._store_batch(plan, report, progress)
                except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                    failures.append(exc)
                    state["stop"] = True
                with written:
                    state["written"] = number
                    written.notify_all()

        reader = threading.Thread(target=read, name="ingest-read", daemon=True)
        writer = threading.Thread(target=write, name="ingest-write", daemon=True)
        reader.start()
        writer.start()
        try:
            while True:
                item = planned.get()
                if item is done:
                    break
                if failures:
                    continue
                number, plan = item
                self._embed(plan[2], force, report)
                encoded.put((number, plan))
        except BaseException as exc:
            failures.append(exc)
        finally:
            state["stop"] = True
            with written:
                written.notify_all()
            while reader.is_alive():  # unblock a reader waiting on a full queue
                try:
                    planned.get(timeout=0.05)
                except queue.Empty:
                    pass
            encoded.put(done)
            writer.join()
        if failures:
            raise failures[0]

    def _prepare(
        self, article: Article, report: IngestReport, *, source: str | None, keep_titles: bool
    ) -> Article:
        """Normalise metadata: ISO UTC dates (unparseable ones reported), clean URLs, source."""
        if source:
            article.source = source
        if not keep_titles:
            article.title = ""
        article.url = normalise_url(article.url)
        if article.date:
            article.date_raw = article.date_raw or article.date
            try:
                article.date = normalise_date(article.date)
            except DateError as exc:
                where = article.origin or article.identity()
                report.warnings.append(f"{where}: {exc}; stored without a date")
                article.date = None
        return article

    def _prepare_batch(self, articles: list[Article], force: bool) -> dict[str, Prepared]:
        """Fingerprints, and passage splits for articles whose text looks new or changed.

        Uses no state that an earlier, still unwritten batch could change: the stored text
        hash is only a hint of which articles need splitting, and `_plan_batch` splits any
        article the hint missed.
        """
        ids = [a.identity() for a in articles]
        stored = self.store.article_states(ids)
        prepared = {}
        for article, article_id in zip(articles, ids):
            texts = None
            if force or stored.get(article_id, ("",))[0] != article.text_hash():
                texts = make_passages(article.paragraphs, self.embedder.count_tokens, self.policy)
            prepared[article_id] = (Fingerprint.of(article.title, article.paragraphs), texts)
        return prepared

    def _plan_batch(
        self,
        articles: list[Article],
        report: IngestReport,
        force: bool,
        prepared: dict[str, Prepared],
    ) -> BatchPlan:
        """Decide per article: skip, metadata-only update, or new passages to embed."""
        ids = [a.identity() for a in articles]
        states = self.store.article_states(ids)
        fingerprints = {i: prepared[i][0] for i in ids}
        owners = self.store.duplicates_of(f.key for f in fingerprints.values())
        copy_owners = self.store.copy_owners(ids)
        writes: list[ArticleWrite] = []
        aliases: list[tuple[str, dict[str, Any]]] = []
        pending: list[tuple[ArticleWrite, list[str]]] = []
        for article, article_id in zip(articles, ids):
            report.articles += 1
            fingerprint = fingerprints[article_id]
            owner = owners.setdefault(fingerprint.key, article_id)
            if owner != article_id and article_id not in states:
                # An exact copy (a syndicated story): one article, one more source.
                if copy_owners.get(article_id) == owner:
                    report.unchanged += 1
                else:
                    report.duplicates += 1
                    aliases.append((owner, copy_of(article, article_id)))
                continue
            text_hash, meta_hash = article.text_hash(), article.meta_hash()
            row = {
                "id": article_id,
                "title": article.title,
                "author": article.author,
                "source": article.source,
                "date": article.date,
                "date_raw": article.date_raw,
                "url": article.url,
                "metadata": article.metadata,
                "text_hash": text_hash,
                "meta_hash": meta_hash,
            }
            state = states.get(article_id)
            if state and state[0] == text_hash and not force:
                if state[1] == meta_hash:
                    report.unchanged += 1
                else:
                    report.updated_metadata += 1
                    writes.append(ArticleWrite(row, None))
                continue
            if state:
                report.changed += 1
            else:
                report.new += 1
            texts = prepared[article_id][1]
            if texts is None:  # stored text matched the hint, then an earlier batch changed it
                texts = make_passages(article.paragraphs, self.embedder.count_tokens, self.policy)
            write = ArticleWrite(row, [], fingerprint)
            writes.append(write)
            pending.append((write, texts))
        return writes, aliases, pending

    def _store_batch(
        self,
        plan: BatchPlan,
        report: IngestReport,
        progress: ProgressCallback | None,
    ) -> None:
        """Commit one batch to SQLite, then mirror it in the FAISS view."""
        writes, aliases, _ = plan
        if writes or aliases:
            self._apply(*self.store.save_articles(writes, aliases))
        if progress:
            progress(report.articles, report.passages_embedded)

    def _embed(
        self,
        pending: list[tuple[ArticleWrite, list[str]]],
        force: bool,
        report: IngestReport,
    ) -> None:
        """Embed the passages of new/changed articles, reusing vectors of identical text."""
        hashes = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for _, ts in pending for t in ts}
        known = {} if force else self.store.vectors_by_text_hash(hashes.values())
        missing = list(dict.fromkeys(t for t in hashes if hashes[t] not in known))
        if missing:
            vectors = self.embedder.encode(missing)
            for text, vector in zip(missing, vectors):
                known[hashes[text]] = vector
            report.passages_embedded += len(missing)
        for write, texts in pending:
            write.passages = [
                PassageRow(write.row["id"], position, text, hashes[text], known[hashes[text]])
                for position, text in enumerate(texts)
            ]

    # -- read -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        mode: str = "hybrid",
        since: str | None = None,
        until: str | None = None,
        source: str | Sequence[str] | None = None,
        where: dict[str, list[str]] | Sequence[str] | None = None,
        group: bool = True,
        collapse: bool = True,
    ) -> SearchResponse:
        """Ranked results for a natural-language query; filters apply before ranking.

        With `collapse`, syndicated copies of one story are one result whose `also_in` names
        the other outlets.
        """
        if isinstance(where, dict):
            where_map = {
                k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in where.items()
            }
        else:
            where_map = parse_where(list(where or []))
        sources = [source] if isinstance(source, str) else list(source or [])
        filters = Filters(since=since, until=until, sources=sources, where=where_map)
        try:
            filters.to_sql()
        except DateError as exc:
            raise InputError(str(exc)) from exc
        request = SearchRequest(query, limit, offset, mode, filters, group, collapse)
        request.validate()
        return self.searcher(semantic=mode != "keyword").search(request)

    def searcher(self, *, semantic: bool = True) -> Searcher:
        """The search pipeline over this archive (model and index loaded when `semantic`)."""
        if not semantic:
            return Searcher(self.store, None, None, rrf_k=self.rrf_k, reranker=self.reranker)
        self.check_model()
        self.embedder.load()  # a cold model load is not search time
        index = self.index  # loads and catches up

        def vector_search(query_vector, k, allowed):
            with self._lock:  # a concurrent write may be mutating the FAISS view
                return index.search(query_vector, k, allowed)

        return Searcher(
            self.store, vector_search, self.embedder.encode_query, self.rrf_k, self.reranker
        )

    def evaluate(
        self,
        queries: str | Path | Sequence[dict[str, Any]],
        *,
        mode: str = "hybrid",
        depth: int = 10,
    ) -> dict[str, Any]:
        """MRR/Recall/nDCG@depth of this archive's search on `{qid, query, relevant_ids}` lines."""
        from .evaluate import evaluate, load_queries

        if isinstance(queries, (str, Path)):
            queries = load_queries(queries)
        return evaluate(self, list(queries), mode=mode, depth=depth)

    def follower(self, feeds: Sequence[str], **options: Any) -> FeedFollower:
        """A FeedFollower that ingests new entries of `feeds` (URLs or files) into this archive."""
        from .feeds import FeedFollower

        return FeedFollower(self, feeds, **options)

    def get(self, article_id: str) -> dict[str, Any] | None:
        """The stored article with its passages, or None."""
        return self.store.get_article(article_id)

    def remove(self, article_ids: Sequence[str], *, save: bool = True) -> list[str]:
        """Delete articles (and their passages and vectors); returns the ids that existed."""
        removed_articles, removed_passages, committed = self.store.remove_articles(
            list(article_ids)
        )
        if removed_articles:
            self._apply(
                removed_passages, np.zeros(0, np.int64), np.zeros((0, 0), np.float32), committed
            )
            if save:
                self.save_index()
        return removed_articles

    def stats(self) -> dict[str, Any]:
        stats = self.store.stats()
        stats.update(
            {
                "path": str(self.path),
                "model": self.store.get_meta("model_name"),
                "backend": self.stored_backend(),
                "index": self._index.kind if self._index is not None else self._saved_kind(),
                "dimension": int(self.store.get_meta("dimension") or 0) or None,
                "generation": self.store.generation(),
                "database_bytes": (self.path / "archive.db").stat().st_size,
                "index_bytes": self.index_path.stat().st_size if self.index_path.exists() else 0,
            }
        )
        return stats

    def _saved_kind(self) -> str | None:
        import json

        try:
            return json.loads(self.index_path.with_suffix(".json").read_text()).get("kind")
        except (OSError, ValueError):
            return None

    def reindex(
        self,
        *,
        kind: str | None = None,
        reembed: bool = False,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Rebuild the FAISS index from the vectors stored in SQLite.

        `kind` (auto, flat, ivf, hnsw) is remembered for later writes. `reembed` first
        re-encodes every passage with the configured model and backend, which is how an archive
        moves to another model or between fp32 and int8 vectors.
        """
        from ..index.vectors import AUTO_THRESHOLD, VectorIndex, auto_kind

        if kind is not None and kind not in INDEX_KINDS:
            raise InputError(f"index kind {kind!r} is not one of {', '.join(INDEX_KINDS)}")
        started = time.perf_counter()
        if kind is not None:
            self.store.set_meta("index_kind", kind)
        reembedded = self._reembed(progress) if reembed else 0
        with self._lock:
            generation = self.store.generation()
            chunks = list(self.store.iter_vectors())
            ids = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
            dim = self.dimension
            vectors = (
                np.vstack([c[1] for c in chunks]) if chunks else np.zeros((0, dim), np.float32)
            )
            del chunks
            wanted = self.index_kind()
            if wanted == "auto":
                wanted = auto_kind(len(ids), self.index_threshold or AUTO_THRESHOLD)
            if len(ids) == 0:
                wanted = "flat"  # IVF needs vectors to train on; it is built once there are some
            index = VectorIndex.build(dim, wanted, ids, vectors)
            del vectors
            max_id = int(ids.max()) if len(ids) else -1
            self._index, self._index_generation, self._max_id = index, generation, max_id
            self._dirty = True
            self.sync_index()  # anything written while we read
            self._dirty = True
            self.save_index()
        return {
            "passages": len(index),
            "kind": index.kind,
            "reembedded": reembedded,
            "seconds": round(time.perf_counter() - started, 2),
        }

    def _reembed(self, progress: ProgressCallback | None) -> int:
        """Re-encode every stored passage with the configured model and backend.

        The archive is marked `reembedding` until the last vector is written, so a run that is
        killed half-way leaves an archive that refuses searches instead of mixing vectors.
        """
        embedder = self.embedder
        self.store.set_meta("backend", "reembedding")
        done = 0
        for ids, texts in self.store.iter_texts(2048):
            self.store.set_vectors(ids, embedder.encode(texts))
            done += len(ids)
            if progress:
                progress(0, done)
        with self.store.lock, self.store.db.conn:
            self.store._set_meta("model_fingerprint", self.model_fingerprint())
            self.store._set_meta("model_name", str(getattr(embedder, "name", "")))
            self.store._set_meta("dimension", str(embedder.dimension))
            self.store._set_meta("backend", self.backend)
        return done

    def close(self) -> None:
        self.save_index()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
