"""The Archive: the one library object behind the CLI and the HTTP API.

    >>> archive = Archive("~/news")
    >>> archive.ingest(["seeds/"]).summary()
    >>> archive.search("talks on US troops leaving Iraq", limit=5)

This class only wires the stages together; each public method is a few lines over them:
sources/ (inputs -> articles), ingest/ (normalise, passages, plan, embed, in an ordered
pipeline), store/ (SQLite: the source of truth), index/ (the embedding model and the FAISS view
that follows the database), search/ (retrieve, fuse, group, collapse, page).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..index.embedders import Embedder, make_embedder
from ..index.sync import KIND_CHOICES, VectorView
from .config import configured_backend, configured_model, configured_threads, default_data_dir
from .errors import ArchiveError, InputError
from .ingest.batches import batches
from .ingest.early import AheadEncoder, IngestStages, encode_in_order
from .ingest.passages import PassagePolicy, make_passages
from .ingest.pipeline import run_in_order
from .ingest.plan import BatchPlan, Planner
from .model_identity import ModelIdentity
from .records import Article, IngestReport, StoredChange
from .search.browse import BrowseRequest, BrowseResponse, browse, explore_request
from .search.facets import FacetsResponse
from .search.fusion import RRF_K
from .search.matching import MatchScope, summarise
from .search.request import SearchRequest, SearchResponse
from .search.searcher import Reranker, Searcher
from .search.timeline import TimelineResponse
from .store import FeedPolls, KeywordIndex, Store
from .store.explore import ExploreStore

if TYPE_CHECKING:
    from .ingest.follow import FeedFollower
    from .search.watches import Watches

ProgressCallback = Callable[[int, int], None]  # (articles read, passages embedded)


class Archive:
    """A news archive in one folder: `archive.db` (SQLite) and `vectors.faiss` (FAISS).

    `embedder` replaces the configured model (any `Embedder`, e.g. the deterministic
    `HashEmbedder` in tests); `backend` picks one by name; `create=False` refuses a folder
    that holds no archive yet.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        model: str | None = None,
        *,
        embedder: Embedder | None = None,
        policy: PassagePolicy | None = None,
        backend: str | None = None,
        create: bool = True,
    ) -> None:
        self.path = Path(path).expanduser() if path else default_data_dir()
        if not create and not (self.path / "archive.db").is_file():
            raise ArchiveError(
                f"{self.path}: no archive here (`newsarchive ingest` creates one; "
                "check --data or NEWSARCHIVE_DATA)"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.path / "archive.db")
        self.identity = ModelIdentity(self.store, self.path)
        self.vectors = VectorView(
            self.path / "vectors.faiss", self.store, self._dimension, self._index_kind
        )
        self.keyword = KeywordIndex(self.store)
        self.explore = ExploreStore(self.store)  # matching sets: totals, facets, date order
        self._model_path = model or configured_model()
        self._embedder = embedder
        self._policy = policy
        self._backend = backend
        self._ingest_lock = threading.Lock()  # one ingest at a time per process
        self.rrf_k = RRF_K
        self.reranker: Reranker | None = None  # hook for a cross-encoder; none ships today

    # -- components, made on first use ---------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(
                self.backend,
                self._model_path,
                cache_dir=self.path / "models",
                threads=configured_threads(),
            )
        return self._embedder

    @property
    def backend(self) -> str:
        """The embedding backend: the embedder's, else the one chosen, else the archive's."""
        if self._embedder is not None:
            return self._embedder.backend
        return self.identity.choose_backend(self._backend or configured_backend())

    @property
    def policy(self) -> PassagePolicy:
        if self._policy is None:
            self._policy = PassagePolicy(max_tokens=self.embedder.max_tokens)
        return self._policy

    def _split(self, paragraphs: list[str]) -> list[str]:
        return make_passages(paragraphs, self.embedder.count_tokens, self.policy)

    def _dimension(self) -> int:
        return self.identity.stored_dimension() or int(self.embedder.dimension)

    def _index_kind(self) -> str:
        return self.store.get_meta("index_kind") or "auto"

    @property
    def index_threshold(self) -> int:
        """Passages from which `auto` moves the vector index from flat to ivf."""
        return self.vectors.threshold

    @index_threshold.setter
    def index_threshold(self, value: int) -> None:
        self.vectors.threshold = value

    def _mirror(self, change: StoredChange) -> None:
        self.vectors.apply(change.removed, change.added, change.vectors, change.generation)

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
        ray: str | None = None,
        encoder: AheadEncoder | None = None,
    ) -> IngestReport:
        """Read files, folders, URLs or '-' (stdin JSONL) and store what is new or changed.

        With `fetch`, each feed entry's linked page is fetched and its text extracted. With
        `ray` or `encoder`, passages are embedded elsewhere (see ingest_articles).
        """
        from .sources import read_inputs

        return self.ingest_articles(
            read_inputs([str(p) for p in paths], fetch=fetch),
            force=force,
            source=source,
            keep_titles=keep_titles,
            progress=progress,
            ray=ray,
            encoder=encoder,
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
        ray: str | None = None,
        encoder: AheadEncoder | None = None,
    ) -> IngestReport:
        """Store articles incrementally: unchanged ones cost nothing, edited ones are replaced.

        Bad items are recorded in `report.errors` and the rest still go in. Each batch is one
        database transaction, so a killed run leaves whole batches only. `save=False` leaves
        the FAISS file to a later `save_index()` (the server batches those).

        `ray` ("HOST:PORT", "auto", or "local" for a Ray started on this machine) embeds on a
        Ray cluster (`pip install "newsarchive[ray]"`); `encoder` takes any `AheadEncoder`
        instead. Either way this process stays the one writer, with the same rules.
        """
        with self._ingest_lock, self._embedding_elsewhere(ray, encoder) as remote:
            started = time.perf_counter()
            report = IngestReport()
            embedder = self.embedder
            self.identity.check(embedder, claim=True)
            planner = Planner(self.store, self._split, force=force)
            known = self.store.vectors_by_text_hash
            stages = IngestStages(
                planner, embedder.encode, known, report, force=force, encoder=remote
            )

            def commit(plan: BatchPlan) -> None:
                if not plan.is_empty():
                    self._mirror(self.store.save(plan.writes, plan.copies))
                if progress:
                    progress(report.articles, report.passages_embedded)

            run_in_order(
                batches(items, report, source=source, keep_titles=keep_titles),
                prepare=stages.prepare,
                plan=stages.plan,
                work=stages.work,
                commit=commit,
                ahead=stages.ahead,
            )
            if save:
                if report.new or report.changed or not self.vectors.path.exists():
                    self.vectors.current()  # load and catch up: the file leaves this run current
                self.vectors.save()
            report.seconds = time.perf_counter() - started
            return report

    @contextmanager
    def _embedding_elsewhere(
        self, ray: str | None, encoder: AheadEncoder | None, *, adding: bool = True
    ) -> Iterator[AheadEncoder | None]:
        """The encoder given, or for `ray` a pool of embedding actors on that Ray cluster (for
        this call only, the archive's model on each); None embeds in this process. `adding`:
        vectors join the stored ones, so a model the archive refuses fails before Ray starts."""
        if encoder is not None or ray is None:
            yield encoder
            return
        from ..index.distributed.cluster import check_address, session
        from ..index.distributed.embedding import EmbedderSpec, RayEncoder

        try:
            address = check_address(ray)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if adding:
            self.identity.check(self.embedder)
        spec = EmbedderSpec(
            self.backend,
            self._model_path,
            cache_dir=str(self.path / "models"),
            fingerprint=self.embedder.fingerprint,
        )
        with session(address), RayEncoder(spec) as actors:
            yield actors

    def follower(self, feeds: Sequence[str], **options: Any) -> FeedFollower:
        """A FeedFollower that ingests new entries of `feeds` (URLs or files) into this archive."""
        from .ingest.follow import FeedFollower

        return FeedFollower(self.ingest_articles, FeedPolls(self.store), feeds, **options)

    # -- read -----------------------------------------------------------------------------
    def search(self, query: str | SearchRequest, **options: Any) -> SearchResponse:
        """Ranked results for a natural-language query; filters apply before ranking.

        Takes a `SearchRequest`, or the query and its options as keyword arguments (`limit`,
        `offset`, `mode`, `since`, `until`, `source`, `where`, `group`, `collapse`, `sort`,
        `after`, `facets`, `facet_size`, `timeline`). With `collapse`, syndicated copies of one
        story are one result whose `also_in` names the other outlets. `total` counts the
        matching set (search/matching.py), `pageable` what relevance order pages through.
        """
        request = (
            query if isinstance(query, SearchRequest) else SearchRequest.make(query, **options)
        )
        request.filters().to_sql()  # a bad date fails here, before the model loads
        return self.searcher(semantic=request.mode != "keyword").search(request)

    def searcher(self, *, semantic: bool = True) -> Searcher:
        """The search pipeline over this archive (model and index loaded when `semantic`)."""
        if not semantic:
            return Searcher(
                self.store,
                self.keyword,
                matches=self.explore,
                rrf_k=self.rrf_k,
                reranker=self.reranker,
            )
        self.identity.check(self.embedder)
        self.embedder.load()  # a cold model load is not search time
        self.vectors.current()  # loaded and caught up before the clock starts
        return Searcher(
            self.store,
            self.keyword,
            self.vectors.search,
            self.embedder.encode_query,
            matches=self.explore,
            rrf_k=self.rrf_k,
            reranker=self.reranker,
        )

    # -- explore: the matching set (search/matching.py) counted, ordered, listed, exported --
    def _scope(self, request: SearchRequest | BrowseRequest) -> MatchScope:
        """A request's matching set (keyword reads only: no model is loaded)."""
        request.filters().to_sql()  # a bad date is one clear error
        if isinstance(request, BrowseRequest):
            return MatchScope(None, request.filters())
        return self.searcher(semantic=False).match_scope(request)

    def browse(self, request: BrowseRequest | None = None, **options: Any) -> BrowseResponse:
        """Articles passing the filters (`since`, `until`, `source`, `where`), newest first
        (`sort="oldest"`), `limit` per page, the next page `after` a response's `next`."""
        request = request if isinstance(request, BrowseRequest) else BrowseRequest.make(**options)
        request.filters().to_sql()
        return browse(self.explore, self.store, request)

    def timeline(
        self, query: str | None = None, interval: str = "auto", **options: Any
    ) -> TimelineResponse:
        """Matching articles per day/week/month/year (auto: from the span), with each period's
        share of all articles passing the filters; without a query, of the filters alone."""
        request = explore_request(query, timeline=interval, **options)
        summary = summarise(self.explore, self._scope(request), timeline=request.timeline)
        return TimelineResponse(total=summary.total, timeline=summary.timeline)

    def facets(
        self,
        query: str | None = None,
        fields: Sequence[str] = ("source",),
        size: int = 10,
        **options: Any,
    ) -> FacetsResponse:
        """The top `size` values of each field over the matching set, with other and missing."""
        request = explore_request(query, facets=list(fields), facet_size=size, **options)
        scope = self._scope(request)
        summary = summarise(self.explore, scope, request.facets, request.facet_size)
        return FacetsResponse(total=summary.total, facets=summary.facets)

    def similar(
        self, article_id: str | None = None, text: str | None = None, **options: Any
    ) -> SearchResponse:
        """Stories like a stored article (its own copies and cluster left out) or like a text,
        with `limit`, `offset` and the search filters."""
        from .search.similar import SimilarRequest, similar

        request = SimilarRequest.make(text=text, **options)
        request.filters().to_sql()
        if text is not None:
            return similar(self.searcher(), self.explore, request, article_id)
        # A stored article is compared through its stored vectors: no model to load.
        self.vectors.current()
        searcher = Searcher(self.store, self.keyword, self.vectors.search, matches=self.explore)
        return similar(searcher, self.explore, request, article_id)

    def export(
        self,
        request: SearchRequest | BrowseRequest | str | None = None,
        *,
        fields: str | Sequence[str] | None = None,
        format: str = "jsonl",
        **options: Any,
    ) -> Iterator[str]:
        """Every article of a search's (or, without a query, a browse's) matching set, as lines
        of JSONL or CSV, in date order (newest first unless `sort="oldest"`), streamed."""
        from .search import export

        if not isinstance(request, (SearchRequest, BrowseRequest)):
            request = explore_request(request, **options)
        chosen, fmt = export.check_fields(fields), export.check_format(format)
        order = "oldest" if request.sort == "oldest" else "newest"
        pages = export.walk(self.explore, self._scope(request), order)
        return export.lines(export.records(pages, chosen, self.explore), chosen, fmt)

    def watches(self) -> Watches:
        """Saved searches: `add(name, request)`, `list()`, `check(name=None)`, `remove(name)`."""
        from .search.watches import Watches
        from .store.watches import WatchTable

        return Watches(WatchTable(self.store), self._scope, self.explore, self.store)

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

    def get(self, article_id: str) -> dict[str, Any] | None:
        """The stored article with its passages, or None."""
        return self.store.get_article(article_id)

    def remove(self, article_ids: Sequence[str], *, save: bool = True) -> list[str]:
        """Delete articles (and their passages and vectors); returns the ids that existed."""
        removed, change = self.store.remove(list(article_ids))
        if removed:
            self._mirror(change)
            if save:
                self.vectors.save()
        return removed

    def stats(self) -> dict[str, Any]:
        """Counts, date range, sources, copies, model, index and sizes."""
        stats = self.store.stats()
        stats.update(
            {
                "path": str(self.path),
                "model": self.store.get_meta("model_name"),
                "backend": self.identity.stored_backend(),
                "index": self.vectors.kind,
                "dimension": self.identity.stored_dimension(),
                "generation": self.store.generation(),
                "schema_version": self.store.schema_version(),
                "database_bytes": self.store.path.stat().st_size,
                "index_bytes": (
                    self.vectors.path.stat().st_size if self.vectors.path.exists() else 0
                ),
            }
        )
        return stats

    # -- maintenance ------------------------------------------------------------------------
    def reindex(
        self,
        *,
        kind: str | None = None,
        reembed: bool = False,
        progress: ProgressCallback | None = None,
        ray: str | None = None,
        encoder: AheadEncoder | None = None,
    ) -> dict[str, Any]:
        """Rebuild the FAISS index from the vectors stored in SQLite.

        `kind` (auto, flat, ivf, hnsw) is remembered for later writes. `reembed` first
        re-encodes every passage with the configured model and backend, which is how an archive
        moves to another model or between fp32 and int8 vectors; `ray` / `encoder` do that
        encoding elsewhere, as in `ingest_articles`.
        """
        if kind is not None and kind not in KIND_CHOICES:
            raise InputError(f"index kind {kind!r} is not one of {', '.join(KIND_CHOICES)}")
        if (ray is not None or encoder is not None) and not reembed:
            raise InputError("a cluster only re-embeds: use it with reembed (--reembed)")
        started = time.perf_counter()
        if kind is not None:
            self.store.set_meta({"index_kind": kind})
        reembedded = 0
        if reembed:
            with self._embedding_elsewhere(ray, encoder, adding=False) as remote:
                reembedded = self._reembed(progress, remote)
        index = self.vectors.rebuild()
        return {
            "passages": len(index),
            "kind": index.kind,
            "reembedded": reembedded,
            "seconds": round(time.perf_counter() - started, 2),
        }

    def _reembed(self, progress: ProgressCallback | None, remote: AheadEncoder | None) -> int:
        """Re-encode every stored passage with the configured model and backend (`remote`:
        on a cluster, a few chunks ahead of the writes).

        The archive is marked as re-embedding until the last vector is written, so a run that
        is killed half-way leaves an archive that refuses searches instead of mixing vectors.
        """
        embedder = self.embedder
        self.identity.mark_reembedding()
        done = 0
        chunks = self.store.iter_texts(2048)
        if remote is not None:
            encoded = encode_in_order(chunks, remote)
        else:
            encoded = ((ids, embedder.encode(texts)) for ids, texts in chunks)
        for ids, vectors in encoded:
            self.store.set_vectors(ids, vectors)
            done += len(ids)
            if progress:
                progress(0, done)
        self.identity.record(embedder)
        return done

    def save_index(self) -> None:
        """Write the FAISS file if the in-memory index has changes it lacks."""
        self.vectors.save()

    def close(self) -> None:
        self.vectors.save()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
