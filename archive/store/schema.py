"""The database schema as migrations, applied in order when an archive is opened.

`m001_initial` is the schema every archive had before migrations existed, written with
`IF NOT EXISTS`, so an existing archive records it as applied without any change. Later
migrations change the schema step by step; `stats` shows how far an archive is
(`schema_version`). Each runs in one transaction with the record of it having run
(sqlite-utils' `Migrations`), and the store holds the archive's write lock while applying them,
so two processes opening a new archive at once do not race.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("newsarchive")

# One statement per entry: executescript() would commit the migration's transaction early.
INITIAL = [
    """CREATE TABLE IF NOT EXISTS articles (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        author TEXT,
        source TEXT,
        date TEXT,
        date_raw TEXT,
        url TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        text_hash TEXT NOT NULL,
        meta_hash TEXT NOT NULL,
        passage_count INTEGER NOT NULL DEFAULT 0,
        ingested_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS articles_date ON articles(date)",
    "CREATE INDEX IF NOT EXISTS articles_source ON articles(source)",
    "CREATE INDEX IF NOT EXISTS articles_url ON articles(url)",
    # AUTOINCREMENT: a passage id is never reused, so a stale vector-index entry can never be
    # mistaken for a newer passage that got the same id.
    """CREATE TABLE IF NOT EXISTS passages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        article_id TEXT NOT NULL REFERENCES articles(id),
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, position)",
    "CREATE INDEX IF NOT EXISTS passages_text_hash ON passages(text_hash)",
    # Passage -> article for ~1,000 ranked candidates per search: this narrow index answers it
    # without walking the table's wide rows (text and vector).
    "CREATE INDEX IF NOT EXISTS passages_owner ON passages(id, article_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Passages removed at each generation, so a reader can catch its vector index up without
    # rescanning every id.
    "CREATE TABLE IF NOT EXISTS tombstones (passage_id INTEGER NOT NULL, generation INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tombstones_generation ON tombstones(generation)",
    # Copies of one story (store/dedup.py): each article's text key and cluster, the LSH band
    # keys that find near copies, and exact copies kept as other sources of one article.
    """CREATE TABLE IF NOT EXISTS article_dedup (
        article_id TEXT PRIMARY KEY,
        text_key TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        signature BLOB
    )""",
    "CREATE INDEX IF NOT EXISTS article_dedup_text ON article_dedup(text_key)",
    "CREATE INDEX IF NOT EXISTS article_dedup_cluster ON article_dedup(cluster_id)",
    "CREATE TABLE IF NOT EXISTS lsh_bands (band_key INTEGER NOT NULL, article_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lsh_bands_key ON lsh_bands(band_key)",
    "CREATE INDEX IF NOT EXISTS lsh_bands_article ON lsh_bands(article_id)",
    """CREATE TABLE IF NOT EXISTS article_sources (
        alias_id TEXT PRIMARY KEY,
        article_id TEXT NOT NULL,
        title TEXT,
        source TEXT,
        url TEXT,
        date TEXT,
        metadata TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX IF NOT EXISTS article_sources_article ON article_sources(article_id)",
    # Followed feeds: conditional-request validators and the outcome of the last poll.
    """CREATE TABLE IF NOT EXISTS feeds (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_polled TEXT,
        last_status TEXT,
        last_error TEXT,
        polls INTEGER NOT NULL DEFAULT 0,
        articles_new INTEGER NOT NULL DEFAULT 0
    )""",
    # The keyword index: FTS5 over passage text, kept in step by triggers inside the same
    # transactions (the DDL sqlite-utils' enable_fts wrote before migrations existed).
    """CREATE VIRTUAL TABLE IF NOT EXISTS "passages_fts" USING FTS5 (
        "text",
        tokenize='porter unicode61 remove_diacritics 2',
        content="passages"
    )""",
    """CREATE TRIGGER IF NOT EXISTS "passages_ai" AFTER INSERT ON "passages" BEGIN
      INSERT INTO "passages_fts" (rowid, "text") VALUES (new.rowid, new."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "passages_ad" AFTER DELETE ON "passages" BEGIN
      INSERT INTO "passages_fts" ("passages_fts", rowid, "text") VALUES('delete', old.rowid, old."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "passages_au" AFTER UPDATE ON "passages" BEGIN
      INSERT INTO "passages_fts" ("passages_fts", rowid, "text") VALUES('delete', old.rowid, old."text");
      INSERT INTO "passages_fts" (rowid, "text") VALUES (new.rowid, new."text");
    END""",
]


@migrations()
def m001_initial(db: Database) -> None:
    """The schema of every archive written before migrations; a no-op on those archives."""
    for statement in INITIAL:
        db.execute(statement)


@migrations()
def m002_article_copies(db: Database) -> None:
    """One name for an exact copy kept as another source of an article: `article_copies`,
    keyed by `copy_id` (was `article_sources.alias_id`)."""
    db.execute("ALTER TABLE article_sources RENAME TO article_copies")
    db.execute("ALTER TABLE article_copies RENAME COLUMN alias_id TO copy_id")
    db.execute("DROP INDEX IF EXISTS article_sources_article")
    db.execute("CREATE INDEX IF NOT EXISTS article_copies_article ON article_copies(article_id)")


@migrations()
def m003_lineage(db: Database) -> None:
    """The archive's lineage: a random archive id, created once, and a random token for each
    generation (`generations`), which the FAISS file records beside the generation number, so
    an index is only trusted by the database it was built from (not by a restored copy that
    reached the same generation number by other writes)."""
    import secrets
    import uuid

    db.execute(
        "CREATE TABLE IF NOT EXISTS generations (generation INTEGER PRIMARY KEY, "
        "token TEXT NOT NULL, committed_at TEXT NOT NULL)"
    )
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    generation = int(row[0]) if row else 0
    token = secrets.token_hex(8)
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('archive_id', ?)", [uuid.uuid4().hex]
    )
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('generation_token', ?)", [token])
    db.execute(
        "INSERT OR REPLACE INTO generations(generation, token, committed_at) "
        "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
        [generation, token],
    )


@migrations()
def m004_outlets_and_fields(db: Database) -> None:
    """One name per outlet (`outlets`: registered domain -> the name it is stored under, see
    archive/outlets.py), and the metadata fields present with how many articles carry each
    (`metadata_fields`), so a filter on a field no article has is an error, not an empty page."""
    db.execute("CREATE TABLE IF NOT EXISTS outlets (domain TEXT PRIMARY KEY, name TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS metadata_fields "
        "(name TEXT PRIMARY KEY, articles INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT INTO metadata_fields (name, articles) SELECT key, COUNT(*) FROM articles, "
        "json_each(articles.metadata) WHERE json_valid(articles.metadata) GROUP BY key"
    )


@migrations()
def m004_source_aliases(db: Database) -> None:
    """The other names of each stored source (store/outlets.py): an outlet's registered
    domain (`site`), its own site name (`site_name`) and its feeds' titles (`feed_title`), so
    `--source` reads the articles(source) index instead of every article's metadata."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS source_aliases (alias TEXT NOT NULL COLLATE NOCASE, "
        "kind TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (alias, kind, source))"
    )
    for key in ("site", "site_name", "feed_title"):  # archive/outlets.py's SOURCE_KEYS
        db.execute(
            "INSERT OR IGNORE INTO source_aliases (alias, kind, source) SELECT DISTINCT "
            f"json_extract(metadata, '$.{key}'), '{key}', source FROM articles "
            f"WHERE source IS NOT NULL AND json_valid(metadata) "
            f"AND json_type(metadata, '$.{key}') = 'text'"
        )


@migrations()
def m005_explore(db: Database) -> None:
    """Exploring the archive (search/matching.py, store/explore.py, store/watches.py).

    - `articles.generation`: the database generation that first stored the article, so a
      saved search can list what was ingested after its last check (0 for older articles).
    - `articles(date, id)`: date order with ties broken by id, walked by keyset cursors, is a
      range scan of this index; `articles(generation)` finds what is new since a check.
    - `articles(source COLLATE NOCASE, date, id)`: `--source` ignores case; the count and the
      date-ordered pages of one source are read from this index alone.
    - `articles(id, date, source)`: a query's matching set is read from this covering index
      (store/explore.py) rather than from the wide article rows.
    - `watches`: saved searches, each a SearchRequest (JSON) and the generation it was last
      checked at.
    """
    db.execute("ALTER TABLE articles ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX IF NOT EXISTS articles_date_id ON articles(date, id)")
    db.execute("CREATE INDEX IF NOT EXISTS articles_generation ON articles(generation)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS articles_source_date "
        "ON articles(source COLLATE NOCASE, date, id)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS articles_id_date_source ON articles(id, date, source)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS watches (
            name TEXT PRIMARY KEY,
            request TEXT NOT NULL,
            created_at TEXT NOT NULL,
            checked_at TEXT,
            checked_generation INTEGER NOT NULL DEFAULT 0
        )"""
    )


# What the derived views (the keyword index, the passage map) must re-read without new text:
# an article whose date, source or metadata changed, or whose cluster of copies was renamed,
# stamped with the generation that commits the change. The store bumps the generation at the
# end of each write transaction (store.write), so inside it the committed one is the stored
# one plus one. Passages added or removed need no entry: new ids and tombstones tell those.
ARTICLE_CHANGES = [
    """CREATE TABLE IF NOT EXISTS article_changes (
        article_id TEXT NOT NULL,
        generation INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS article_changes_generation ON article_changes(generation)",
    """CREATE TRIGGER IF NOT EXISTS article_changes_fields AFTER UPDATE OF date, source, metadata
    ON articles WHEN old.date IS NOT new.date OR old.source IS NOT new.source
        OR old.metadata IS NOT new.metadata
    BEGIN
      INSERT INTO article_changes (article_id, generation) VALUES (new.id,
        (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) + 1 FROM meta WHERE key = 'generation'));
    END""",
    """CREATE TRIGGER IF NOT EXISTS article_changes_cluster AFTER UPDATE OF cluster_id
    ON article_dedup WHEN old.cluster_id IS NOT new.cluster_id
    BEGIN
      INSERT INTO article_changes (article_id, generation) VALUES (new.article_id,
        (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) + 1 FROM meta WHERE key = 'generation'));
    END""",
]


@migrations()
def m006_article_changes(db: Database) -> None:
    """A change log of articles whose filter fields or cluster changed without new text, filled
    by triggers, so the keyword index and the passage map follow such edits (index/keywords/,
    index/passage_map.py) while the store's own writes stay as they were."""
    for statement in ARTICLE_CHANGES:
        db.execute(statement)


# The keyword index's rows since m007: each passage's text and its article's heading (title and
# standfirst, records.Article.heading), as two FTS5 columns over the `passages` table, so BM25
# can weigh a headline word apart (store/fts.py's COLUMN_WEIGHTS). This is the one definition
# of what the keyword index holds: anything else that indexes passages' terms reads these
# columns of `passages`.
FTS_COLUMNS = ("text", "heading")


def fts_statements() -> list[str]:
    """The FTS5 table over FTS_COLUMNS and the triggers keeping it in step with `passages`."""
    columns = ", ".join(f'"{c}"' for c in FTS_COLUMNS)
    new = ", ".join(f'new."{c}"' for c in FTS_COLUMNS)
    old = ", ".join(f'old."{c}"' for c in FTS_COLUMNS)
    delete = f'INSERT INTO "passages_fts" ("passages_fts", rowid, {columns}) VALUES(\'delete\', old.rowid, {old});'
    insert = f'INSERT INTO "passages_fts" (rowid, {columns}) VALUES (new.rowid, {new});'
    return [
        f"""CREATE VIRTUAL TABLE IF NOT EXISTS "passages_fts" USING FTS5 ({columns},
        tokenize='porter unicode61 remove_diacritics 2', content="passages")""",
        f'CREATE TRIGGER "passages_ai" AFTER INSERT ON "passages" BEGIN {insert} END',
        f'CREATE TRIGGER "passages_ad" AFTER DELETE ON "passages" BEGIN {delete} END',
        f'CREATE TRIGGER "passages_au" AFTER UPDATE OF {columns} ON "passages" '
        f"BEGIN {delete} {insert} END",
    ]


@migrations()
def m007_titles(db: Database) -> None:
    """Headlines are searchable: `passages.heading` holds each passage's article heading, the
    keyword index gets it as a second column, and `meta.heading_weight` records how much of the
    heading an archive's vectors hold (ingest/embed.py).

    Headings of stored articles are their titles (a standfirst joins on the next ingest of
    the article), so keyword search finds headline words at once; the keyword index is
    rebuilt for it (about 2 s per 100,000 passages). The vectors are left as they are: an
    archive with passages records weight 0 and keeps embedding without headings until
    `reindex --reembed` re-encodes it with them.
    """
    for trigger in ("passages_ai", "passages_ad", "passages_au"):
        db.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
    db.execute('DROP TABLE IF EXISTS "passages_fts"')
    db.execute("ALTER TABLE passages ADD COLUMN heading TEXT NOT NULL DEFAULT ''")
    # A headline-only article's one passage is its title: not indexed twice.
    db.execute(
        "UPDATE passages SET heading = (SELECT a.title FROM articles a "
        "WHERE a.id = passages.article_id) WHERE EXISTS (SELECT 1 FROM articles a "
        "WHERE a.id = passages.article_id AND a.title != '' AND a.title != passages.text)"
    )
    for statement in fts_statements():
        db.execute(statement)
    db.execute("INSERT INTO passages_fts(passages_fts) VALUES('rebuild')")
    if db.execute("SELECT 1 FROM passages LIMIT 1").fetchone():
        db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('heading_weight', '0')")


@migrations()
def m008_leads(db: Database) -> None:
    """Each article's lead (ingest/leads.py: the opening sentence of its first passage), with
    its vector and an FTS5 row, for the hybrid ranking's lead evidence (search/fusion.py).

    `article_leads` has one row per article with text, the id of the passage it opens (so
    search reads an article's lead and first passage in one lookup), replaced and removed with
    its passages (store/leads.py); `leads_fts` is kept in step by triggers, as `passages_fts` is. An archive
    migrated here has no leads yet: search works without them (the lead terms are absent) until
    `reindex` fills them.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS article_leads (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "article_id TEXT NOT NULL UNIQUE, passage_id INTEGER NOT NULL, text TEXT NOT NULL, "
        "vector BLOB NOT NULL)"
    )
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS leads_fts USING FTS5 (text, "
        "tokenize='porter unicode61 remove_diacritics 2', content='article_leads', "
        "content_rowid='id')"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS article_leads_ai AFTER INSERT ON article_leads BEGIN "
        "INSERT INTO leads_fts (rowid, text) VALUES (new.id, new.text); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS article_leads_ad AFTER DELETE ON article_leads BEGIN "
        "INSERT INTO leads_fts (leads_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS article_leads_au AFTER UPDATE ON article_leads BEGIN "
        "INSERT INTO leads_fts (leads_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO leads_fts (rowid, text) VALUES (new.id, new.text); END"
    )


@migrations()
def m009_leads_index(db: Database) -> None:
    """Leads found by their first passage's id: the tantivy index of the leads (large
    archives, index/keywords/, store/derived.py's `LeadSource`) is keyed by it, reads the
    leads in its order and finds the leads written since it was caught up by it."""
    db.execute("CREATE INDEX IF NOT EXISTS article_leads_passage ON article_leads (passage_id)")


def latest_version() -> int:
    """The schema version an archive has once every migration here is applied."""
    return len(migrations._migrations)


def schema_version(db: Database) -> int:
    """How many migrations this archive has applied."""
    return len(migrations.applied(db))


def migrate(db: Database) -> None:
    """Apply every pending migration (the caller holds the archive's write lock)."""
    if migrations.pending(db):
        migrations.apply(db)
