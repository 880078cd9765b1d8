"""Passage -> article -> cluster of copies (and the article's date and source), as numpy arrays
kept in step with the database.

A hybrid query groups ~1,000 candidate passages by article and collapses articles by cluster,
and a filtered one first lists every passage its filter allows, for the vector search's
selector. From SQLite that costs milliseconds for grouping at a million passages, and over a
hundred for the passages of a wide date filter; these arrays answer both in a few. They follow
the database the way the FAISS view does: from the `generation` counter, the tombstones of
removed passages, the passages above the largest id held, and the change log of articles whose
date, source or cluster changed (migration m006), read through `PassageMapSource`
(archive/store/derived.py implements it).

The map lives in memory only: it is built on first use (about 3 s of CPU at a million
passages) and caught up before each use. `article_ids_of` and `clusters_of` answer as the
store's SQL does, `allowed_ids` as the filter's SQL does for dates and sources, and `group` /
`collapse` do the grouping work on arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from .article_fields import INEXACT_DATE, date_key, sqlite_lower
from .sync import follows

OWNERS_WAIT = 0.05  # seconds `owners_at` waits for a busy map before SQL answers instead
# (article id, cluster id, date, source) as stored
Owner = tuple[str, str, "str | None", "str | None"]


class PassageMapSource(Protocol):
    """What the passage map reads of the database."""

    def lineage(self) -> tuple[str, int, str]:
        """(archive id, generation, the generation's token), read together."""
        ...

    def token_at(self, generation: int) -> str | None: ...

    def tombstones_pruned_through(self) -> int: ...

    def passage_ids(self) -> np.ndarray: ...

    def changes_since(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]: ...

    def changed_articles(self, generation: int) -> list[Owner]:
        """The articles logged as changed after `generation` that still exist."""
        ...

    def passage_owners(
        self, ids: Sequence[int] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[Owner]]]:
        """(passage ids, their positions in their articles, the owner of each) of these
        passages (all when None), in batches."""
        ...

    def lead_writes(self) -> str:
        """A count that moves whenever leads are written without new passages."""
        ...

    def lead_vectors(
        self, ids: Sequence[int] | None = None
    ) -> Iterator[tuple[np.ndarray, list[str], list[bytes]]]:
        """(first passage ids, article ids, vector bytes) of the leads keyed by these
        passages (all when None), in batches."""
        ...


def _grown(array: np.ndarray, size: int, fill: int) -> np.ndarray:
    out = np.full(max(size, 1024, int(len(array) * 1.25)), fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


class PassageMap:
    """article_of[passage id] -> article ordinal; per article ordinal: cluster ordinal, date
    key (article_fields.date_key) and source code."""

    def __init__(self, source: PassageMapSource) -> None:
        self.source = source
        self.lock = threading.RLock()
        self._empty()

    def _empty(self) -> None:
        """Hold nothing (before a build). The lock is not replaced: threads waiting on it
        while a catch-up rebuilds the map must wake on the lock that guards the new state."""
        self.article_of = np.full(0, -1, dtype=np.int32)
        self.position_of = np.full(0, -1, dtype=np.int32)  # passage id -> position in article
        self.article_ids: list[str] = []  # ordinal -> article id
        self._article_ord: dict[str, int] = {}
        self.cluster_of = np.zeros(0, dtype=np.int32)
        self.date_of = np.zeros(0, dtype=np.int64)
        self.source_of = np.zeros(0, dtype=np.int32)  # code of sqlite_lower(source); -1: none
        self.cluster_ids: list[str] = []  # ordinal -> cluster id
        self._cluster_ord: dict[str, int] = {}
        self._source_code: dict[str, int] = {}
        self.generation: int | None = None
        self.lineage: tuple[str, int, str] | None = None  # the database's, as the map holds it
        self.max_id = -1
        # Per article ordinal: its first (position-0) passage id, and its lead's vector with
        # the first passage id the lead was written with (-1: none). An entry counts only
        # while that passage is still the article's in `article_of`, so a rewritten or removed
        # article never shows an old lead. The vectors load on first use (`lead_cosines`).
        self.first_of = np.zeros(0, dtype=np.int64)
        self.lead_of = np.zeros(0, dtype=np.int64)
        self.lead_vectors = np.zeros((0, 0), dtype=np.float32)
        self.leads_loaded = False
        self.lead_writes: str | None = None  # the source's count when the vectors were read
        self.leads_mixed = False  # some lead has another size (another model's): use SQL

    # -- keeping in step ---------------------------------------------------------------------
    def current(self) -> PassageMap:
        """The map, built on first use and caught up with the database."""
        with self.lock:
            lineage = self.source.lineage()
            if self.lineage != lineage:
                self.catch_up(lineage)
            return self

    def catch_up(self, lineage: tuple[str, int, str]) -> dict[str, int]:
        """Follow the database to `lineage`; built anew when the map is not of its history."""
        with self.lock:
            generation = lineage[1]
            if not follows(self.lineage, lineage, self.source):
                self._empty()
                self._read(None)
                self.generation, self.lineage = generation, lineage
                return {"rebuilt": 1}
            removed, added = self.source.changes_since(self.generation, self.max_id)
            if self.generation < self.source.tombstones_pruned_through():
                # removals no longer listed: every id held that the database lacks
                held = np.flatnonzero(self.article_of >= 0)
                removed = np.setdiff1d(held, self.source.passage_ids())
            removed = removed[(removed >= 0) & (removed < len(self.article_of))]
            self.article_of[removed] = -1
            if len(added):
                self._read(added)
            changed = self.source.changed_articles(self.generation)
            for owner in changed:
                if owner[0] in self._article_ord:
                    self._set(*owner)
            if self.leads_loaded:
                if self.source.lead_writes() != self.lead_writes:
                    self.leads_loaded = False  # filled or re-embedded: read again on next use
                elif len(added):
                    self._read_leads(added)
            self.generation, self.lineage = generation, lineage
            return {"removed": len(removed), "added": len(added), "changed": len(changed)}

    def _read(self, ids: np.ndarray | None) -> None:
        for passage_ids, positions, owners in self.source.passage_owners(
            None if ids is None else ids.tolist()
        ):
            top = int(passage_ids.max())
            if top >= len(self.article_of):
                self.article_of = _grown(self.article_of, top + 1, -1)
                self.position_of = _grown(self.position_of, top + 1, -1)
            self.position_of[passage_ids] = positions
            ordinals = np.fromiter(
                (self._set(*owner) for owner in owners), dtype=np.int32, count=len(owners)
            )
            self.article_of[passage_ids] = ordinals
            first = positions == 0
            self.first_of[ordinals[first]] = passage_ids[first]
            self.max_id = max(self.max_id, top)

    def _set(self, article: str, cluster: str, date: str | None, source: str | None) -> int:
        ordinal = self._article_ord.get(article)
        if ordinal is None:
            ordinal = self._article_ord[article] = len(self.article_ids)
            self.article_ids.append(article)
            if ordinal >= len(self.cluster_of):
                self.cluster_of = _grown(self.cluster_of, ordinal + 1, 0)
                self.date_of = _grown(self.date_of, ordinal + 1, -1)
                self.source_of = _grown(self.source_of, ordinal + 1, -1)
                self.first_of = _grown(self.first_of, ordinal + 1, -1)
                self.lead_of = _grown(self.lead_of, ordinal + 1, -1)
        cluster_ordinal = self._cluster_ord.get(cluster)
        if cluster_ordinal is None:
            cluster_ordinal = self._cluster_ord[cluster] = len(self.cluster_ids)
            self.cluster_ids.append(cluster)
        self.cluster_of[ordinal] = cluster_ordinal
        self.date_of[ordinal] = date_key(date)
        if source is None:
            self.source_of[ordinal] = -1
        else:
            folded = sqlite_lower(source)
            self.source_of[ordinal] = self._source_code.setdefault(folded, len(self._source_code))
        return ordinal

    def _load_leads(self) -> None:
        """Read every lead's vector (the count first: a write meanwhile reloads them)."""
        self.lead_writes = self.source.lead_writes()
        self.lead_of[:] = -1
        self.lead_vectors = np.zeros((0, 0), dtype=np.float32)
        self.leads_mixed = False
        for passage_ids, article_ids, vectors in self.source.lead_vectors(None):
            self._put_leads(passage_ids, article_ids, vectors)
        self.leads_loaded = True

    def _read_leads(self, added: np.ndarray) -> None:
        for passage_ids, article_ids, vectors in self.source.lead_vectors(added.tolist()):
            self._put_leads(passage_ids, article_ids, vectors)

    def _put_leads(self, passage_ids: np.ndarray, article_ids: list[str], vectors: list[bytes]):
        """Hold these leads, each under its article if its first passage is the map's (a lead
        of passages the map has not read yet comes again with them)."""
        get = self._article_ord.get
        ordinals = np.fromiter((get(a, -1) for a in article_ids), np.int64, len(article_ids))
        dim = self.lead_vectors.shape[1] or (len(vectors[0]) // 4 if vectors else 0)
        keep = (ordinals >= 0) & (self.articles(passage_ids) == ordinals)
        sized = np.fromiter((len(v) == dim * 4 for v in vectors), bool, len(vectors))
        if (keep & ~sized).any():
            self.leads_mixed = True
        keep &= sized
        if not keep.any() or not dim:
            return
        matrix = np.frombuffer(
            b"".join(v for v, k in zip(vectors, keep.tolist()) if k), dtype=np.float32
        ).reshape(-1, dim)
        rows = len(self.article_ids)
        if rows > len(self.lead_vectors):
            grown = np.zeros((max(rows, int(len(self.lead_vectors) * 1.25)), dim), np.float32)
            if len(self.lead_vectors):
                grown[: len(self.lead_vectors)] = self.lead_vectors
            self.lead_vectors = grown
        self.lead_vectors[ordinals[keep]] = matrix
        self.lead_of[ordinals[keep]] = passage_ids[keep]

    def lead_cosines(
        self, query_vector: np.ndarray, article_ids: Sequence[str]
    ) -> tuple[dict[str, float], dict[str, int]] | None:
        """store/leads.py's `LeadIndex.lookup` from memory: article id -> the inner product
        of the query's vector and its lead's, and article id -> its first passage's id, for
        the articles of the map's lineage (the caller has caught it up). None when the leads
        are of mixed sizes or another size than the query's (re-embedding): SQL decides."""
        with self.lock:
            get = self._article_ord.get
            known = [a for a in article_ids if a in self._article_ord]
            ordinals = np.fromiter((get(a) for a in known), np.int64, len(known))
            found = self.lead_arrays(query_vector, ordinals)
        if found is None:
            return None
        cosines, has_lead, first = found
        firsts = {a: p for a, p in zip(known, first.tolist()) if p >= 0}
        scores = cosines[has_lead].tolist()
        return dict(zip([a for a, ok in zip(known, has_lead.tolist()) if ok], scores)), firsts

    def lead_arrays(
        self,
        query_vector: np.ndarray,
        ordinals: np.ndarray,
        lineage: tuple[str, int, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """`lead_cosines` by article ordinal: (cosine to each article's lead, 0.0 where it
        has none; whether it has one; its first passage's id, -1 if unknown). None as
        `lead_cosines` says, or when `lineage` is given and the map is not at it (the
        ordinals were read at another state)."""
        query = np.asarray(query_vector, dtype=np.float32).ravel()
        with self.lock:
            if lineage is not None and lineage != self.lineage:
                return None
            if not self.leads_loaded:
                self._load_leads()
            dim = self.lead_vectors.shape[1]
            if self.leads_mixed or (dim and dim != len(query)):
                return None
            first = self.first_of[ordinals]
            first = np.where(self.articles(first) == ordinals, first, -1)
            lead = self.lead_of[ordinals]
            has_lead = self.articles(lead) == ordinals
            cosines = np.zeros(len(ordinals))
            if has_lead.any():
                cosines[has_lead] = self.lead_vectors[ordinals[has_lead]] @ query
        return cosines, has_lead, first

    def owner_codes(
        self, passage_ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, tuple[str, int, str] | None]:
        """search/owners.py's `Owners` from the map (the caller has caught it up): (article
        code per passage, -1 if not in the archive; the article ordinal of each code; its
        id; its cluster ordinal; the lineage they were read at). Articles are coded in the
        order they first appear, so the lead vectors are read in the order a lookup by id
        reads them (the same float32 products to the bit)."""
        with self.lock:
            ordinals = self.articles(passage_ids)
            present = ordinals >= 0
            unique, first, inverse = np.unique(
                ordinals[present], return_index=True, return_inverse=True
            )
            seen = np.argsort(first)  # code -> its rank among `unique` in first-seen order
            code_of = np.empty(len(unique), dtype=np.int64)
            code_of[seen] = np.arange(len(unique))
            unique = unique[seen]
            out = np.full(len(ordinals), -1, dtype=np.int64)
            out[present] = code_of[inverse]
            names = self.article_ids
            return (
                out,
                unique.astype(np.int64),
                [names[o] for o in unique.tolist()],
                self.cluster_of[unique].astype(np.int64),
                self.lineage,
            )

    # -- search stages -----------------------------------------------------------------------
    def articles(self, passage_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Article ordinal per passage (-1: not in the archive)."""
        ids = np.asarray(passage_ids, dtype=np.int64)
        table = self.article_of
        out = np.full(len(ids), -1, dtype=np.int32)
        inside = (ids >= 0) & (ids < len(table))
        out[inside] = table[ids[inside]]
        return out

    def owners_at(self, lineage: tuple[str, int, str], passage_ids: np.ndarray) -> set[str] | None:
        """The articles of these passages if the map is at exactly `lineage` (the caller's
        read snapshot), else None; never catches up or builds (the caller falls back to SQL).
        For store/every_word.py, which maps a term's matches to articles.

        Its caller holds one of the store's few read connections, while a catch-up holds this
        lock and waits for a read connection: waiting here without limit could close that
        circle (searches stuck for good under concurrent load), so a busy map answers None
        after OWNERS_WAIT seconds and SQL maps the matches instead."""
        if not self.lock.acquire(timeout=OWNERS_WAIT):
            return None
        try:
            if self.lineage != lineage:
                return None
            ordinals = np.unique(self.articles(passage_ids))
            if len(ordinals) and ordinals[0] < 0:  # not a passage at this lineage: not ours
                return None
            return set(map(self.article_ids.__getitem__, ordinals.tolist()))
        finally:
            self.lock.release()

    def positions(self, passage_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Each passage's position in its article (0 first; -1: not in the archive), for
        fusion that weighs where in an article a passage stands."""
        ids = np.asarray(passage_ids, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int32)
        inside = (ids >= 0) & (ids < len(self.article_of))
        out[inside] = np.where(self.article_of[ids[inside]] >= 0, self.position_of[ids[inside]], -1)
        return out

    def article_ids_of(self, passage_ids: Sequence[int]) -> dict[int, str]:
        """passage id -> article id for the passages that exist (the store's `article_ids`)."""
        ordinals = self.articles(passage_ids)
        names = self.article_ids
        return {int(pid): names[o] for pid, o in zip(passage_ids, ordinals.tolist()) if o >= 0}

    def clusters_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """article id -> its cluster of copies (the store's `clusters_of`)."""
        get, names = self._article_ord.get, self.cluster_ids
        known = [a for a in article_ids if get(a) is not None]
        ordinals = np.fromiter((get(a) for a in known), dtype=np.int64, count=len(known))
        return dict(zip(known, [names[c] for c in self.cluster_of[ordinals].tolist()]))

    def allowed_ids(
        self, since: str | None, until: str | None, sources: Sequence[str]
    ) -> np.ndarray | None:
        """Ids of the passages whose article is dated within [since, until] (bounds as
        archive/views.py's date_bounds makes them) and comes from one of `sources` (any
        case), ascending; None when a date filter meets a stored date in another form (SQL
        must decide those)."""
        count = len(self.article_ids)
        keep = np.ones(count, dtype=bool)
        if since or until:
            dates = self.date_of[:count]
            low, high = date_key(since), date_key(until)
            if (since and low < 0) or (until and high < 0) or (dates == INEXACT_DATE).any():
                return None
            keep &= dates >= (low if since else 0)
            if until:
                keep &= dates <= high
        if sources:
            codes = [self._source_code.get(s.lower(), -2) for s in sources]
            keep &= np.isin(self.source_of[:count], codes)
        table = self.article_of
        live = table >= 0
        live[live] = keep[table[live]]
        return np.flatnonzero(live).astype(np.int64)

    def group(self, passage_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions of each article's best passage, in rank order; article ordinal per
        passage; position of the best passage of each passage's article, -1 if none)."""
        articles = self.articles(passage_ids)
        present = np.flatnonzero(articles >= 0)
        _, first = np.unique(articles[present], return_index=True)
        best = np.sort(present[first])
        lead = np.full(len(passage_ids), -1, dtype=np.int64)
        order = np.argsort(articles[best])
        where = np.searchsorted(articles[best][order], articles[present])
        lead[present] = best[order][where]
        return best, articles, lead

    def collapse(self, articles: np.ndarray) -> np.ndarray:
        """Positions (in the given order) of the first article of each cluster."""
        clusters = self.cluster_of[articles]
        _, first = np.unique(clusters, return_index=True)
        return np.sort(first)
