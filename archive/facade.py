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

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..index.embedders import Embedder, make_embedder, preferred_backend
from ..index.keywords import KeywordView
from ..index.passage_map import PassageMap
from ..index.sync import KIND_CHOICES, VectorView
from .config import (
    configured_backend,
    configured_lock_timeout,
    configured_model,
    configured_threads,
    default_data_dir,
    model_cache_dir,
)
from .errors import ArchiveError, InputError
from .ingest.batches import batches
from .ingest.early import AheadEncoder, IngestStages, encode_in_order
from .ingest.passages import PassagePolicy, make_passages
from .ingest.pipeline import run_in_order
from .ingest.plan import BatchPlan, Planner
from .locks import WriterLock
from .model_identity import ModelIdentity
from .records import Article, IngestReport, StoredChange
from .search.browse import BrowseRequest, BrowseResponse, browse, explore_request
from .search.facets import FacetsResponse
from .search.fusion import RRF_K
from .search.matching import MatchScope, summarise
from .search.request import SearchRequest, SearchResponse
from .search.searcher import Reranker, Searcher, VectorSearch
from .search.timeline import TimelineResponse
from .store import FeedPolls, KeywordIndex, LeadIndex, Store
from .store.derived import DerivedSource, LeadSource
from .store.explore import ExploreStore
from .views import KeywordSearch, LeadSearch, MappedCatalog

if TYPE_CHECKING:
    from ..index.vectors.sharded import ShardedView
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
        self.lock_timeout = configured_lock_timeout()  # seconds a write waits for another
        self.store = Store(self.path / "archive.db", lock_timeout=self.lock_timeout)
        self.identity = ModelIdentity(self.store, self.path)
        self.vectors = VectorView(
            self.path / "vectors.faiss", self.store, self._dimension, self._index_kind
        )
        self.keyword = KeywordIndex(self.store)  # FTS5
        self.leads = LeadIndex(self.store)  # each article's lead, for hybrid's default ranking
        derived = DerivedSource(self.store)
        self.keywords = KeywordView(self.path / "keywords", derived)  # tantivy, past 100k
        self.passage_map = PassageMap(derived)
        # the leads' tantivy index: on with the passages' (`_ensure_keywords`), keyed by first
        # passage id
        self.lead_keywords = KeywordView(self.path / "leads", LeadSource(self.store), threshold=0)
        self.lead_search = LeadSearch(self.lead_keywords, self.leads, self.passage_map)
        self.keyword_search = KeywordSearch(self.keywords, self.keyword)
        self.catalog = MappedCatalog(self.store, self.passage_map)
        self._vector_pool: ThreadPoolExecutor | None = None  # vector search beside keyword
        self._vector_search: VectorSearch | None = None  # None: the FAISS view (sharded: Ray)
        # matching sets: totals, facets, date order; the map spares SQL mapping a term's matches
        self.explore = ExploreStore(self.store, self.passage_map.owners_at)
        self._model_path = model or configured_model()
        self._embedder = embedder
        self._policy = policy
        self._backend = backend
        self.writer = WriterLock(self.path)  # one ingest at a time, across threads and processes
        self.rrf_k = RRF_K
        self.reranker: Reranker | None = None  # hook for a cross-encoder; none ships today

    # -- components, made on first use ---------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(
                self.backend,
                self._model_path,
                cache_dir=model_cache_dir(),
                threads=configured_threads(),
            )
        return self._embedder

    @property
    def backend(self) -> str:
        """The embedding backend: the embedder's, else the one chosen, else the archive's."""
        if self._embedder is not None:
            return self._embedder.backend
        return self.identity.choose_backend(
            self._backend or configured_backend(), self._preferred_backend
        )

    def _preferred_backend(self, family: str | None) -> str:
        """The fastest backend of `family` on this machine (calibrated once per CPU model)."""
        return preferred_backend(
            family, self._model_path, cache_dir=model_cache_dir(), threads=configured_threads()
        )

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
        self.vectors.apply(
            change.removed, change.added, change.vectors, change.generation, change.token
        )

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
        allow_private: bool | None = None,
        follow_links: bool = False,
        wait: bool | float = True,
        on_wait: Callable[[str], None] | None = None,
        ray: str | None = None,
        encoder: AheadEncoder | None = None,
    ) -> IngestReport:
        """Read files, folders, URLs or '-' (stdin JSONL) and store what is new or changed.

        With `fetch`, each feed entry's linked page is fetched and its text extracted; only
        public addresses are fetched unless `allow_private` (default: NEWSARCHIVE_ALLOW_PRIVATE).
        Symbolic links that lead out of a folder are skipped unless `follow_links`. `wait`,
        `on_wait`, `ray` and `encoder` are as for `ingest_articles`.
        """
        from .sources import read_inputs

        return self.ingest_articles(
            read_inputs(
                [str(p) for p in paths],
                fetch=fetch,
                allow_private=allow_private,
                follow_links=follow_links,
            ),
            force=force,
            source=source,
            keep_titles=keep_titles,
            progress=progress,
            wait=wait,
            on_wait=on_wait,
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
        wait: bool | float = True,
        on_wait: Callable[[str], None] | None = None,
        ray: str | None = None,
        encoder: AheadEncoder | None = None,
    ) -> IngestReport:
        """Store articles incrementally: unchanged ones cost nothing, edited ones are replaced.

        Bad items are recorded in `report.errors` and the rest still go in. Each batch is one
        database transaction, so a killed run leaves whole batches only, and an interrupted
        `force` run is resumed by the next one. `save=False` leaves the FAISS file to a later
        `save_index()` (the server batches those). One ingest writes to an archive at a time,
        across processes: `wait` (True, False or seconds) says how long to wait for another
        one (then `ArchiveBusy`), and `on_wait` is told who holds the archive when waiting.

        `ray` ("HOST:PORT", "auto", or "local" for a Ray started on this machine) embeds on a
        Ray cluster (`pip install "newsarchive[ray]"`); `encoder` takes any `AheadEncoder`
        instead. Either way this process stays the one writer, with the same rules.
        """
        with (
            self.writer.held(wait=wait, on_wait=on_wait, what="ingesting into"),
            self._embedding_elsewhere(ray, encoder) as remote,
        ):
            started = time.perf_counter()
            report = IngestReport()
            embedder = self.embedder
            self.identity.check(embedder, claim=True)
            heading_weight = self.identity.heading_weight()
            force_mark = self._force_mark() if force else None
            planner = Planner(self.store, self._split, force=force, force_mark=force_mark)
            known = self.store.vectors_by_text_hash
            stages = IngestStages(
                planner,
                embedder.encode,
                known,
                report,
                force=force,
                encoder=remote,
                heading_weight=heading_weight,
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
            if force:
                self.store.delete_meta("force_mark")  # the forced run is complete
                if planner.resumed:
                    report.add_warning(
                        f"resumed an interrupted --force: {planner.resumed} articles it had "
                        "re-embedded were kept"
                    )
            if save:
                self._save_index(report)
            report.seconds = time.perf_counter() - started
            return report

    @contextmanager
    def _embedding_elsewhere(
        self, ray: str | None, encoder: AheadEncoder | None, *, adding: bool = True
    ) -> Iterator[AheadEncoder | None]:
        """The encoder given, or for `ray` Ray Data's embedding actors on that Ray cluster (for
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

    def _force_mark(self) -> int:
        """The passage id a forced re-embedding started from: passages above it were written
        by this forced run (or an interrupted one, which this run resumes)."""
        mark = self.store.get_meta("force_mark")
        if mark is None:
            mark = str(self.store.max_passage_id())
            self.store.set_meta({"force_mark": mark})
        return int(mark)

    def _save_index(self, report: IngestReport | None = None) -> None:
        """Leave the FAISS file current: caught up and saved when it is behind the database
        (also after a run that changed nothing, so a stale file is not re-synced by every
        later command). A file that cannot be written is a warning: the database is whole."""
        self._ensure_keywords()  # first: saving the FAISS file prunes the tombstones they read
        try:
            if not self.vectors.file_is_current():
                self.vectors.current()
            self.vectors.save()
        except OSError as exc:
            if report is None:
                return
            report.add_warning(
                f"{self.vectors.path}: the vector index could not be saved "
                f"({exc.strerror or exc}); the database is complete and the next command "
                "rebuilds the index"
            )

    def _ensure_keywords(self) -> bool:
        """Switch on / catch up the passages' tantivy index, then the leads' one, which is on
        exactly when the passages' is (the same size rule); whether the passages' is usable."""
        usable = self.keywords.ensure()
        if usable or self.lead_keywords.active:
            self.lead_keywords.ensure()
        return usable

    def follower(self, feeds: Sequence[str], **options: Any) -> FeedFollower:
        """A FeedFollower that ingests new entries of `feeds` (URLs or files) into this archive."""
        from .ingest.follow import FeedFollower

        return FeedFollower(self.ingest_articles, FeedPolls(self.store), feeds, **options)

    # -- read -----------------------------------------------------------------------------
    def search(self, query: str | SearchRequest, **options: Any) -> SearchResponse:
        """Ranked results for a natural-language query; filters apply before ranking.

        Takes a `SearchRequest`, or the query and its options as keyword arguments (`limit`,
        `offset`, `mode`, `fusion`, `since`, `until`, `source`, `where`, `group`, `collapse`,
        `sort`, `after`, `facets`, `facet_size`, `timeline`). With `collapse`, syndicated copies of one
        story are one result whose `also_in` names the other outlets. `total` counts the
        matching set (search/matching.py), `pageable` what relevance order pages through.
        """
        request = (
            query if isinstance(query, SearchRequest) else SearchRequest.make(query, **options)
        )
        self._check_filters(request)
        return self.searcher(semantic=request.mode != "keyword").search(request)

    def _check_filters(self, request: Any) -> None:
        """A filter that is a mistake (a bad date, an inverted range, a field no article has)
        fails here, before any model loads or any set is counted."""
        request.filters().check(self.store.metadata_fields() if request.where else None)

    def searcher(self, *, semantic: bool = True) -> Searcher:
        """The search pipeline over this archive (model and index loaded when `semantic`)."""
        if not semantic:
            return Searcher(
                self.catalog,
                self.keyword_search,
                matches=self.explore,
                rrf_k=self.rrf_k,
                reranker=self.reranker,
            )
        self.identity.check(self.embedder)
        self.embedder.load()  # a cold model load is not search time
        if self._vector_search is None:
            self.vectors.current()  # loaded and caught up before the clock starts
        self.passage_map.current()  # built (once) and caught up before the clock starts
        return Searcher(
            self.catalog,
            self.keyword_search,
            self._vector_search or self.vectors.search,
            self.embedder.encode_query,
            matches=self.explore,
            rrf_k=self.rrf_k,
            reranker=self.reranker,
            leads=self.lead_search,
            pool=self.vector_pool,
        )

    def shard_vectors(
        self, shards: int, *, pq_m: int = 0, cpus_per_shard: float = 1.0
    ) -> ShardedView:
        """Answer this archive's vector searches from `shards` Ray actors (IVF, IVF-PQ with
        `pq_m`) on the cluster this process is connected to (`ray_session`), kept in step with
        the database as the FAISS index is (index/vectors/sharded.py); `stop()` the view
        returned to free them. Filters apply before ranking on every shard."""
        from ..index.vectors.sharded import ShardedView

        if shards < 1 or pq_m < 0:
            raise InputError(f"shards must be 1 or more and pq_m 0 or more, not {shards}, {pq_m}")
        self.identity.check(self.embedder)
        view = ShardedView(
            self.store, self._dimension(), shards, pq_m=pq_m, cpus_per_shard=cpus_per_shard
        )
        view.catch_up()
        self.use_vector_search(view.search)
        return view

    def use_vector_search(self, search: VectorSearch | None) -> None:
        """Answer vector searches with `search(query, k, allowed)` instead of the archive's
        own FAISS index (None: back to it); Serve's replicas share one set of shards so."""
        self._vector_search = search

    @property
    def vector_pool(self) -> ThreadPoolExecutor:
        """One thread for the vector search of hybrid queries, beside the keyword search."""
        if self._vector_pool is None:
            self._vector_pool = ThreadPoolExecutor(1, thread_name_prefix="vector-search")
        return self._vector_pool

    # -- explore: the matching set (search/matching.py) counted, ordered, listed, exported --
    def _scope(self, request: SearchRequest | BrowseRequest) -> MatchScope:
        """A request's matching set (keyword reads only: no model is loaded)."""
        self._check_filters(request)
        if isinstance(request, BrowseRequest):
            return MatchScope(None, request.filters())
        return self.searcher(semantic=False).match_scope(request)

    def browse(self, request: BrowseRequest | None = None, **options: Any) -> BrowseResponse:
        """Articles passing the filters (`since`, `until`, `source`, `where`), newest first
        (`sort="oldest"`), `limit` per page, the next page `after` a response's `next`."""
        request = request if isinstance(request, BrowseRequest) else BrowseRequest.make(**options)
        self._check_filters(request)
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
        self._check_filters(request)
        if text is not None:
            return similar(self.searcher(), self.explore, request, article_id)
        # A stored article is compared through its stored vectors: no model to load.
        if self._vector_search is None:
            self.vectors.current()
        search = self._vector_search or self.vectors.search
        searcher = Searcher(self.catalog, self.keyword_search, search, matches=self.explore)
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
        per_query: bool = False,
    ) -> dict[str, Any]:
        """MRR/Recall/nDCG@depth of this archive's search on `{qid, query, relevant_ids}` lines;
        labels naming an exact copy count for the article it is stored as."""
        from .evaluate import evaluate, load_queries

        if isinstance(queries, (str, Path)):
            queries = load_queries(queries)
        return evaluate(
            self, list(queries), mode=mode, depth=depth, per_query=per_query,
            owners=self.store.copy_owners,
        )  # fmt: skip

    def compare(
        self,
        queries: str | Path | Sequence[dict[str, Any]],
        modes: Sequence[str],
        *,
        depth: int = 10,
        per_query: bool = False,
    ) -> dict[str, Any]:
        """`evaluate` for each mode, and each later mode against the first: the paired
        difference per metric with its 95% bootstrap interval and randomisation p-value."""
        from .evaluate import compare, load_queries

        if isinstance(queries, (str, Path)):
            queries = load_queries(queries)
        runs = [self.evaluate(queries, mode=m, depth=depth, per_query=True) for m in modes]
        comparisons = [row for other in runs[1:] for row in compare(runs[0], other)]
        if not per_query:
            for run in runs:
                del run["per_query"]
        return {"modes": runs, "comparisons": comparisons}

    def get(self, article_id: str) -> dict[str, Any] | None:
        """The stored article with its passages, or None."""
        return self.store.get_article(article_id)

    def remove(self, article_ids: Sequence[str], *, save: bool = True) -> list[str]:
        """Delete articles (and their passages and vectors); returns the ids that existed."""
        removed, change = self.store.remove(list(article_ids))
        if removed:
            self._mirror(change)
            if save:
                self._save_index()
        return removed

    def stats(self, *, check_seconds: float = 0.0) -> dict[str, Any]:
        """Counts, date range, sources, copies, model, index and sizes.

        With `check_seconds`, SQLite's quick check runs for up to that long first (the CLI's
        `stats` gives it 2 s: all of an archive up to ~250 MB); a damaged database is then
        `ArchiveDamaged`. `integrity` says what was checked ("ok", or "not checked").
        """
        from .store.maintenance import quick_integrity

        integrity = "not checked"
        if check_seconds > 0:
            integrity = quick_integrity(self.store.path, check_seconds)
        stats = self.store.stats()
        stats.update(self.keywords.stats())
        leads = self.lead_keywords.stats()
        stats.update(
            {"lead_index": leads["keyword_index"], "lead_index_bytes": leads["keyword_index_bytes"]}
        )
        stats.update(
            {
                "path": str(self.path),
                "model": self.store.get_meta("model_name"),
                "backend": self.identity.stored_backend(),
                "index": self.vectors.kind,
                "dimension": self.identity.stored_dimension(),
                "heading_weight": self.identity.heading_weight(),
                "generation": self.store.generation(),
                "schema_version": self.store.schema_version(),
                "database_bytes": self.store.path.stat().st_size,
                "index_bytes": (
                    self.vectors.path.stat().st_size if self.vectors.path.exists() else 0
                ),
                "integrity": integrity,
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
        re-encodes every passage (and lead) with the configured model and backend, which is how
        an archive moves to another model or between fp32 and int8 vectors, and how an archive
        built before titles gets its headings into its vectors (ingest/embed.py); `ray` /
        `encoder` do the passages' encoding elsewhere, as in `ingest_articles`. Articles
        without a lead (an archive from before leads were kept) get one (`leads_added`).
        """
        from .store.maintenance import LEADS_FTS, keyword_problem, rebuild_keyword

        if kind is not None and kind not in KIND_CHOICES:
            raise InputError(f"index kind {kind!r} is not one of {', '.join(KIND_CHOICES)}")
        if (ray is not None or encoder is not None) and not reembed:
            raise InputError("a cluster only re-embeds: use it with reembed (--reembed)")
        with self.writer.held(what="writing to"):
            started = time.perf_counter()
            if kind is not None:
                self.store.set_meta({"index_kind": kind})
            reembedded = 0
            if reembed:
                with self._embedding_elsewhere(ray, encoder, adding=False) as remote:
                    reembedded = self._reembed(progress, remote)
            keyword = keyword_problem(self.store) is not None
            if keyword:
                rebuild_keyword(self.store)
            lead_keyword = keyword_problem(self.store, LEADS_FTS) is not None
            if lead_keyword:
                rebuild_keyword(self.store, LEADS_FTS)
            leads = self._fill_leads()
            index = self.vectors.rebuild()
            keywords = self.keywords.rebuild() if self.keywords.active else self.keywords.ensure()
            lead_index = None
            if keywords or self.lead_keywords.active:
                lead_index = self.lead_keywords.rebuild()
            return {
                "passages": len(index),
                "kind": index.kind,
                "keyword_index": "tantivy" if keywords else "fts5",
                "lead_index": "tantivy" if lead_index else "fts5",
                "reembedded": reembedded,
                "leads_added": leads,
                "keyword_rebuilt": keyword,
                "lead_keyword_rebuilt": lead_keyword,
                "seconds": round(time.perf_counter() - started, 2),
            }

    def _reembed(self, progress: ProgressCallback | None, remote: AheadEncoder | None) -> int:
        """Re-encode every stored passage with the configured model and backend (`remote`:
        on a cluster, a few chunks ahead of the writes).

        The archive is marked as re-embedding until the last vector is written, so a run that
        is killed half-way leaves an archive that refuses searches instead of mixing vectors.
        """
        from .ingest.embed import HEADING_WEIGHT, encode_inputs, input_hash, with_early

        embedder = self.embedder
        self.identity.mark_reembedding()
        done = 0
        if remote is None:
            for ids, texts, headings in self.store.iter_texts(2048):
                vectors = encode_inputs(embedder.encode, texts, headings, HEADING_WEIGHT)
                hashes = [input_hash(t, h, HEADING_WEIGHT) for t, h in zip(texts, headings)]
                self.store.set_vectors(ids, vectors, hashes)
                done += len(ids)
                if progress:
                    progress(0, done)
        else:  # the passages' own vectors on the cluster; headings blended in here
            chunks = ((row, row[1]) for row in self.store.iter_texts(2048))
            # 8 chunks of 2,048 ahead: a Ray Data window (one model load per actor) is 16,384
            for (ids, texts, headings), raw in encode_in_order(chunks, remote, ahead=8):
                encode = with_early(embedder.encode, dict(zip(texts, raw)))
                vectors = encode_inputs(encode, texts, headings, HEADING_WEIGHT)
                hashes = [input_hash(t, h, HEADING_WEIGHT) for t, h in zip(texts, headings)]
                self.store.set_vectors(ids, vectors, hashes)
                done += len(ids)
                if progress:
                    progress(0, done)
        for rows in self.leads.texts(2048):
            self.leads.set_vectors([a for a, _ in rows], embedder.encode([t for _, t in rows]))
        self.identity.record(embedder, HEADING_WEIGHT)
        return done

    def _fill_leads(self) -> int:
        """Give every article without a lead one (an archive from before leads were kept, or
        one written by an older version): its first passage's opening, embedded. The model is
        loaded only when some lead is missing."""
        from .ingest.leads import lead_sentence
        from .records import LeadRow

        added = 0
        for rows in self.leads.missing(1000):
            leads = [(a, pid, lead_sentence([text])) for a, pid, text in rows]
            leads = [(a, pid, text) for a, pid, text in leads if text]
            if not leads:
                continue
            self.identity.check(self.embedder)
            vectors = self.embedder.encode([text for _, _, text in leads])
            self.leads.store_leads(
                [(a, pid, LeadRow(text, v)) for (a, pid, text), v in zip(leads, vectors)]
            )
            added += len(leads)
        return added

    def save_index(self) -> None:
        """Write the FAISS file if the in-memory index has changes it lacks."""
        self._ensure_keywords()  # first: saving the FAISS file prunes the tombstones they read
        try:
            self.vectors.save()
        except OSError:  # a full or read-only disk: the database is whole, the next open repairs
            pass

    def backup(self, dest: str | Path) -> dict[str, Any]:
        """Write a consistent copy of this archive into the new folder `dest` while it serves
        and ingests (database, vector index, manifest with checksums); returns the manifest."""
        from .backup import take_backup

        return take_backup(self.store, self.vectors, Path(dest))

    @staticmethod
    def restore(
        src: str | Path, dest: str | Path | None = None, *, replace: bool = False
    ) -> dict[str, Any]:
        """Verify the backup in `src` (checksums, SQLite integrity) and make it the archive in
        `dest` (default: the configured data folder); an archive already there is put aside
        only with `replace`."""
        from .backup import restore_backup

        return restore_backup(
            Path(src), Path(dest) if dest else default_data_dir(), replace=replace
        )

    def check(self) -> dict[str, Any]:
        """Verify this archive: SQLite's integrity, the keyword index's, and the vector index
        against the database; says what `reindex` would repair and what only a restore can."""
        from .backup import check_archive

        return check_archive(self.store, self.vectors, self.keywords, self.lead_keywords)

    def close(self) -> None:
        self.save_index()
        if self._vector_pool is not None:
            self._vector_pool.shutdown()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
