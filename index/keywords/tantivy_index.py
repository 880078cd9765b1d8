"""One tantivy index of passages: BM25 with block-max WAND, so a query scores only what can
still reach the top k, where FTS5 scores every passage that matches any OR-ed term.

Fields:
- `id` (integer, indexed and fast): the passage id; deletes and upserts go by it, and hits are
  mapped back to it through the fast column.
- `text`: the passage's terms as FTS5 makes them (analysis.py), joined by spaces and split by
  tantivy's whitespace tokenizer, with positions, so quoted phrases are phrase queries.
- `date` (integer, fast): `date_key` of the article's date, ordered as the ISO strings are.
- `source`: the article's source lower-cased as SQLite's `lower()` does (ASCII only), one raw
  term, for `sources` filters (`lower(a.source) IN (...)` in archive/search/filters.py).
- `meta`: raw `key\\x1fvalue` terms for `where` filters: every metadata value as the filter's
  SQL reads it (`json_each`, `CAST(value AS TEXT)`), plus `source` and `date` as stored.
- `flags`: `date-inexact` on passages whose date is not in the ISO form `date_key` reads, so
  date filters fall back to SQL while any such passage is live.

Filters are `Must` clauses scored 0 (`const_score_query`) around the scored disjunction, so
they apply before ranking inside tantivy: the top k are the best k of the passages that pass.

Differences from FTS5's bm25(), accepted and measured in bench/keyword_lab.py (top-10 overlap
0.93-0.97 at a million passages, dev-set quality equal within noise): Lucene's IDF
ln(1 + (N - n + 0.5) / (n + 0.5)) instead of FTS5's ln((N - n + 0.5) / (n + 0.5)); passage
lengths quantised to one byte; and N, n and the average length count deleted passages until a
merge drops them, so an index updated in place scores slightly differently from a rebuild of
the same rows (the same passages match, and the rankings differ only where scores are close).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tantivy

from ..article_fields import INEXACT_DATE, date_key, sqlite_lower
from .analysis import Analyzer, KeywordQuery

META_SEP = "\x1f"
TERM_LIMIT = 16_384  # bytes; longer filter values are not indexed, and filters on them go to SQL
COLUMNS = frozenset({"id", "title", "author", "url"})  # `where` on these goes to SQL
INEXACT_FLAG = "date-inexact"
TIE_SLACK = 32  # hits asked past k, so a tie at the cut rarely needs a second search


class UnsupportedFilter(ValueError):
    """A filter the index cannot evaluate exactly; that query goes to FTS5 instead."""


@dataclass
class KeywordRow:
    """What the index needs of one passage: its text and the article fields filters read."""

    passage_id: int
    text: str
    date: str | None = None  # as stored in articles.date (ISO 8601 UTC)
    source: str | None = None  # as stored in articles.source
    metadata: dict[str, list[str]] = field(default_factory=dict)  # field -> values as text


@dataclass
class KeywordFilter:
    """archive/search/filters.py's Filters with its date bounds already normalised
    (archive/views.py's date_bounds), as index/ cannot import archive/."""

    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)
    where: dict[str, list[str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.since or self.until or self.sources or self.where)


def _fits(term: str) -> bool:
    return len(term) * 4 <= TERM_LIMIT or len(term.encode("utf-8")) <= TERM_LIMIT


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # integer, not unsigned: tantivy-py 0.27 turns a Python int into an i64 term, so deleting
    # by term on an unsigned field silently matches nothing.
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="position")
    builder.add_integer_field("date", indexed=True, fast=True)
    builder.add_text_field("source", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("meta", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("flags", tokenizer_name="raw", index_option="basic")
    return builder.build()


class TantivyIndex:
    """A tantivy index in `folder`: written in sessions (`write`), searched by `search`."""

    def __init__(self, folder: Path, *, create: bool = False) -> None:
        self.folder = Path(folder)
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(schema(), path=str(self.folder), reuse=False)
        else:  # the layout is checked by the view, from the FORMAT in its stamp
            self.index = tantivy.Index.open(str(self.folder))
        self.schema = self.index.schema
        self.index.config_reader(reload_policy="Manual")
        self.searcher = self.index.searcher()
        self._inexact: bool | None = None

    def __len__(self) -> int:
        return int(self.searcher.num_docs)

    def reload(self) -> None:
        """Search what the last commit (of any process) holds."""
        self.index.reload()
        self.searcher = self.index.searcher()
        self._inexact = None

    # -- writing -----------------------------------------------------------------------------
    def document(self, row: KeywordRow, terms: list[str]) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_integer("id", int(row.passage_id))
        doc.add_text("text", " ".join(terms))
        key = date_key(row.date)
        doc.add_integer("date", key)
        if key == INEXACT_DATE:
            doc.add_text("flags", INEXACT_FLAG)
        meta = []
        if row.source is not None:
            if _fits(row.source):
                doc.add_text("source", sqlite_lower(row.source))
            meta.append(("source", row.source))
        if row.date is not None:
            meta.append(("date", row.date))
        for name, values in row.metadata.items():
            if name in COLUMNS or name in ("source", "date"):
                continue  # `where` on a column never reads metadata
            meta.extend((name, value) for value in values if value is not None)
        for name, value in meta:
            term = f"{name}{META_SEP}{value}"
            if _fits(term):
                doc.add_text("meta", term)
        return doc

    def write(
        self,
        removed: Iterable[int],
        rows: Iterable[list[KeywordRow]],
        analyzer: Analyzer,
        *,
        upsert: bool = True,
        heap: int = 64_000_000,
        threads: int = 1,
    ) -> int:
        """Delete `removed`, add `rows` (batches), commit, and let merges finish; rows added.

        With `upsert`, each row's id is deleted before it is added, so applying the same rows
        twice (a catch-up repeated after a crash between commit and stamp) leaves one copy.
        Nothing is visible to other readers until the commit, which is atomic in tantivy.
        """
        writer = self.index.writer(heap_size=heap, num_threads=threads)
        try:
            gone = sorted({int(i) for i in removed})
            for start in range(0, len(gone), 1024):
                chunk = gone[start : start + 1024]
                writer.delete_documents_by_query(
                    tantivy.Query.term_set_query(self.schema, "id", chunk)
                )
            added = 0
            for batch in rows:
                if not batch:
                    continue
                if upsert:
                    writer.delete_documents_by_query(
                        tantivy.Query.term_set_query(
                            self.schema, "id", [int(r.passage_id) for r in batch]
                        )
                    )
                for row, terms in zip(batch, analyzer.analyze_many([r.text for r in batch])):
                    writer.add_document(self.document(row, terms))
                added += len(batch)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:  # drops the writer now, which releases tantivy's lock on the folder
            writer.wait_merging_threads()
        self.reload()
        return added

    # -- searching ---------------------------------------------------------------------------
    def has_inexact_dates(self) -> bool:
        if self._inexact is None:
            query = tantivy.Query.term_query(self.schema, "flags", INEXACT_FLAG)
            self._inexact = self.searcher.search(query, limit=1, count=True).count > 0
        return self._inexact

    def filter_clauses(self, flt: KeywordFilter) -> list[tantivy.Query]:
        """The filter as queries every hit must match; UnsupportedFilter when one cannot be
        said exactly here."""
        query, s = tantivy.Query, self.schema
        clauses = []
        if flt.since or flt.until:
            low, high = date_key(flt.since), date_key(flt.until)
            if (flt.since and low < 0) or (flt.until and high < 0) or self.has_inexact_dates():
                raise UnsupportedFilter("dates not in ISO 8601 form")
            clauses.append(
                query.range_query(
                    s, "date", tantivy.FieldType.Integer, low if flt.since else 0,
                    high if flt.until else None,
                )
            )  # fmt: skip
        if flt.sources:
            values = [source.lower() for source in flt.sources]
            if not all(_fits(v) for v in values):
                raise UnsupportedFilter("source value too long")
            clauses.append(query.term_set_query(s, "source", values))
        for name, values in flt.where.items():
            if name in COLUMNS:
                raise UnsupportedFilter(f"where on {name}")
            terms = [f"{name}{META_SEP}{value}" for value in values]
            if not all(_fits(t) for t in terms):
                raise UnsupportedFilter(f"where {name}: value too long")
            clauses.append(query.term_set_query(s, "meta", terms))
        return clauses

    def query(self, parsed: KeywordQuery, flt: KeywordFilter | None) -> tantivy.Query:
        query, s = tantivy.Query, self.schema
        items = [
            query.term_query(s, "text", item[0])
            if len(item) == 1
            else query.phrase_query(s, "text", list(item))
            for item in parsed.items
        ]
        scored = query.boolean_query([(tantivy.Occur.Should, q) for q in items])
        if flt is None or flt.is_empty():
            return scored
        clauses = [(tantivy.Occur.Must, scored)]
        clauses += [
            (tantivy.Occur.Must, query.const_score_query(q, 0.0)) for q in self.filter_clauses(flt)
        ]
        return query.boolean_query(clauses)

    def search(
        self, parsed: KeywordQuery, flt: KeywordFilter | None, k: int
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25), best first, ties by passage id.

        tantivy breaks ties by its own document order, so hits are asked past k and, while the
        k-th ties with the last one asked, again with twice as many: the tie group at the cut
        is then whole, and sorting by (score, id) before cutting gives the ids' order. Copies
        of one passage tie exactly, so the first ask goes TIE_SLACK past k (one search instead
        of two for 169 of 200 queries at a million passages, where texts repeat).
        """
        if not parsed or k <= 0:
            return []
        searcher = self.searcher
        q = self.query(parsed, flt)
        limit = k + TIE_SLACK
        while True:
            hits = searcher.search(q, limit=limit, count=False).hits
            if len(hits) < limit or hits[k - 1][0] != hits[-1][0]:
                break
            limit *= 2
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        ranked = sorted(
            ((int(pid), float(score)) for (score, _), pid in zip(hits, ids)),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:k]

    def ids(self) -> list[int]:
        """Every live passage id (for a catch-up that must compare ids), ascending."""
        searcher = self.searcher
        count = int(searcher.num_docs)
        if count == 0:
            return []
        hits = searcher.search(
            tantivy.Query.all_query(), limit=count, count=False, order_by_field="id"
        ).hits
        return sorted(int(value) for value, _ in hits)
