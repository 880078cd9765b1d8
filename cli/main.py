"""`newsarchive` commands. Each is a few lines over one call on `Archive`.

Heavy modules (the model, FAISS, uvicorn) are imported inside the commands that need them, so
`newsarchive --help`, `stats` and `show` answer at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ..archive import MAX_LIMIT, ArchiveError, InputError, ModelError, RayMissingError
from .scale import MaxReplicas, Pq, RayAddress, RayServe, Replicas, Shards, TargetRequests

console = Console()
errors = Console(stderr=True)


class Commands(TyperGroup):
    """Library errors become one line on stderr and exit code 2, however the app is invoked."""

    def invoke(self, ctx):
        from ..archive import RemoteError
        from .output import show_library_notes

        show_library_notes(errors)
        try:
            return super().invoke(ctx)
        except (InputError, ArchiveError, ModelError, RemoteError, RayMissingError) as exc:
            errors.print(f"[red]error:[/red] {plain(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=Commands,
    help="A searchable news archive: ingest articles, search them by meaning and keywords.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Archive folder (default: $NEWSARCHIVE_DATA or the user data folder)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def open_archive(data: Path | None, *, create: bool = False):
    """The archive in `data` (default: NEWSARCHIVE_DATA or the user data folder). Only the
    commands that write articles create one: anywhere else a missing archive is an error, so a
    mistyped --data never leaves a new folder behind."""
    from ..archive import Archive

    return Archive(data, create=create)


def plain(message: object) -> str:
    """A message as literal text: rich markup escaped, control characters (a file name or an
    input's text may carry terminal escapes) shown as escapes."""
    text = str(message)
    text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return escape(text)


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[red]error:[/red] {plain(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, feed URLs, or - for JSONL on stdin.")
    ],
    data: DataOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-embed even unchanged articles.")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="Stamp this source on every article.")
    ] = None,
    no_titles: Annotated[
        bool, typer.Option("--no-titles", help="Drop titles (for evaluating on headline queries).")
    ] = False,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="Fetch each feed entry's page and index its text.")
    ] = False,
    allow_private: Annotated[
        bool,
        typer.Option("--allow-private", help="Also fetch loopback and private-network addresses."),
    ] = False,
    follow_links: Annotated[
        bool,
        typer.Option("--follow-links", help="Follow symbolic links out of the folders given."),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Fail at once if another ingest is writing the archive."),
    ] = False,
    as_json: JsonOption = False,
    ray: RayAddress = None,
) -> None:
    """Add or update articles; only new or changed text is embedded."""

    def waiting(holder: str) -> None:
        errors.print(
            f"waiting for another process writing to this archive ({plain(holder)}) to finish…",
            highlight=False,
        )

    options = {
        "force": force,
        "source": source,
        "keep_titles": not no_titles,
        "fetch": fetch,
        "allow_private": allow_private or None,
        "follow_links": follow_links,
        "wait": not no_wait,
        "on_wait": waiting,
        "ray": ray,
    }
    with open_archive(data, create=True) as archive:
        if console.is_terminal and not as_json:
            from .scale import ingest_progress

            with ingest_progress(console, ray) as progress:
                report = archive.ingest(paths, progress=progress, **options)
        else:
            report = archive.ingest(paths, **options)
    for message in report.errors:
        errors.print(f"[red]error:[/red] {plain(message)}", highlight=False, soft_wrap=True)
    if report.error_count > len(report.errors):
        errors.print(f"[red]error:[/red] … and {report.error_count - len(report.errors):,} more")
    for message in report.warnings:
        errors.print(f"[yellow]warning:[/yellow] {plain(message)}", highlight=False, soft_wrap=True)
    if report.warning_count > len(report.warnings):
        errors.print(
            f"[yellow]warning:[/yellow] … and {report.warning_count - len(report.warnings):,} more"
        )
    if as_json:
        print(json.dumps(report.to_dict()))
    else:
        console.print(plain(report.summary()), highlight=False)
    if report.error_count:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    data: DataOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT)] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, semantic or keyword.")] = "hybrid",
    fusion: Annotated[
        str, typer.Option("--fusion", help="Hybrid's fusion: score (default), rrf or rrf60.")
    ] = "score",
    since: Annotated[
        str | None, typer.Option("--since", help="Only articles on/after this date.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only articles on/before this date.")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this source (repeatable).")
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Metadata filter FIELD=VALUE (repeatable).")
    ] = None,
    passages: Annotated[
        bool, typer.Option("--passages", help="Every passage, not one per article.")
    ] = False,
    no_collapse: Annotated[
        bool,
        typer.Option("--no-collapse", help="Show each copy of a syndicated story separately."),
    ] = False,
    as_json: JsonOption = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON result per line.")] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="NEWSARCHIVE_URL",
            help="Ask a running `newsarchive serve` at this URL (ignored with --data).",
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="relevance, or newest/oldest over every match.")
    ] = "relevance",
    after: Annotated[
        str | None, typer.Option("--after", help="The cursor printed under the last page.")
    ] = None,
    facet: Annotated[
        list[str] | None,
        typer.Option("--facet", help="Count matches by source, author or a metadata field."),
    ] = None,
    timeline: Annotated[
        str | None, typer.Option("--timeline", help="Chart matches per auto|day|week|month|year.")
    ] = None,
    all_matches: Annotated[
        bool, typer.Option("--all", help="Export every matching article (see --format).")
    ] = False,
    export_format: Annotated[
        str, typer.Option("--format", help="With --all: jsonl or csv.")
    ] = "jsonl",
    fields: Annotated[
        str | None, typer.Option("--fields", help="With --all: fields, comma-separated.")
    ] = None,
) -> None:
    """Search the archive; results are ranked passages with their article."""
    from ..archive import RemoteArchive, SearchRequest

    request = SearchRequest.make(
        query,
        limit=limit,
        offset=offset,
        mode=mode,
        fusion=fusion,
        since=since,
        until=until,
        source=source,
        where=where,
        group=not passages,
        collapse=not no_collapse,
        sort=sort,
        after=after,
        facets=facet,
        timeline=timeline,
    )
    with RemoteArchive(url) if url and data is None else open_archive(data) as archive:
        if all_matches:
            from .explore import write_lines

            write_lines(archive.export(request, fields=fields, format=export_format), None)
            return
        result = archive.search(request).to_dict()
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    if as_jsonl:
        for hit in result["results"]:
            print(json.dumps(hit, ensure_ascii=False))
        return
    from rich.text import Text

    from .explore import render_facets, render_timeline, search_footer
    from .output import SCORE_MEANING, render_hit

    if not result["results"]:
        console.print("No results.")
    for rank, hit in enumerate(result["results"], start=offset + 1):
        render_hit(console, rank, hit)
    render_timeline(console, result["timeline"])
    render_facets(console, result["facets"])
    search_footer(console, result)
    console.print(Text(SCORE_MEANING[result["mode"]], style="dim"))


@app.command()
def follow(
    feeds: Annotated[list[str], typer.Argument(help="Feed URLs or feed files to poll.")],
    data: DataOption = None,
    every: Annotated[
        str, typer.Option("--every", help="Time between polls: 30s, 15m, 1h.")
    ] = "15m",
    once: Annotated[bool, typer.Option("--once", help="Poll each feed once and exit.")] = False,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="Fetch each new entry's page and index its text.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 20.0,
    allow_private: Annotated[
        bool,
        typer.Option("--allow-private", help="Also fetch loopback and private-network addresses."),
    ] = False,
) -> None:
    """Poll feeds and ingest only what is new (Ctrl-C to stop)."""
    import signal
    import time

    from ..archive import parse_interval

    seconds = parse_interval(every)
    archive = open_archive(data, create=True)

    def report(poll) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        style = "red" if poll.status == "failed" else "dim"
        line = plain(poll.line())
        errors.print(f"[{style}]{stamp}[/{style}] {line}", highlight=False, soft_wrap=True)
        for message in poll.report.errors if poll.report else []:
            errors.print(f"    [red]error:[/red] {plain(message)}", highlight=False, soft_wrap=True)

    follower = archive.follower(
        feeds,
        fetch_pages=fetch,
        timeout=timeout,
        on_poll=report,
        allow_private=allow_private or None,
    )
    try:
        signal.signal(signal.SIGTERM, lambda *_: follower.stop())
    except ValueError:  # not the main thread (embedded use): Ctrl-C / stop() still work
        pass
    polls = []
    try:
        polls = follower.run(seconds, once=once)
    except KeyboardInterrupt:
        follower.stop()
    finally:
        follower.close()
        archive.close()
    if once and any(poll.status == "failed" for poll in polls):
        raise typer.Exit(1)


@app.command()
def show(
    article_id: Annotated[str, typer.Argument(help="Article id.")],
    data: DataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print one stored article with its passages."""
    with open_archive(data) as archive:
        article = archive.get(article_id)
    if article is None:
        fail(f"no article with id {article_id!r}")
    if as_json:
        print(json.dumps(article, ensure_ascii=False))
        return
    from .output import render_article

    render_article(console, article, article_id)


@app.command()
def remove(
    article_ids: Annotated[list[str], typer.Argument(help="Article ids to delete.")],
    data: DataOption = None,
) -> None:
    """Delete articles, their passages and their vectors."""
    with open_archive(data) as archive:
        removed = archive.remove(article_ids)
    missing = [a for a in article_ids if a not in removed]
    console.print(f"removed {len(removed)} articles", highlight=False)
    if missing:
        fail(f"no article with id {', '.join(map(repr, missing))}")


@app.command()
def stats(data: DataOption = None, as_json: JsonOption = False) -> None:
    """Counts, date range, sources and sizes; a damaged database is reported."""
    with open_archive(data) as archive:
        result = archive.stats(check_seconds=2.0)
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if key == "sources":
            value = ", ".join(f"{name} ({count})" for name, count in value.items()) or "-"
        console.print(f"[bold]{key:>15}[/bold]  {value}", highlight=False)


@app.command()
def reindex(
    data: DataOption = None,
    index: Annotated[
        str | None,
        typer.Option("--index", help="auto (flat, then ivf when large), flat, ivf or hnsw."),
    ] = None,
    reembed: Annotated[
        bool,
        typer.Option(
            "--reembed",
            help="Re-encode every passage with the configured backend, with its heading "
            "(an archive from before titles gets them into its vectors).",
        ),
    ] = False,
    ray: RayAddress = None,
) -> None:
    """Rebuild the FAISS index from the vectors kept in SQLite (no re-embedding by default)."""
    with open_archive(data) as archive:
        result = archive.reindex(kind=index, reembed=reembed, ray=ray)
    console.print(
        f"reindexed {result['passages']} passages ({result['kind']}"
        + (f", {result['reembedded']} re-embedded" if reembed else "")
        + (", keyword index rebuilt" if result.get("keyword_rebuilt") else "")
        + (", leads' keyword index rebuilt" if result.get("lead_keyword_rebuilt") else "")
        + f") in {result['seconds']} s",
        highlight=False,
    )


@app.command("eval")
def evaluate(
    queries: Annotated[Path, typer.Argument(help="JSONL lines {qid, query, relevant_ids}.")],
    data: DataOption = None,
    mode: Annotated[
        list[str] | None,
        typer.Option(
            "--mode",
            help="hybrid, semantic, keyword; hybrid:rrf or hybrid:rrf60 for hybrid with "
            "reciprocal rank fusion (repeatable).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Cut-off depth.")] = 10,
    per_query: Annotated[
        bool,
        typer.Option("--per-query", help="One line per query: first relevant rank, top hit."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score search on labelled queries: MRR, Recall and nDCG at article level; with several
    modes, each against the first with a 95% confidence interval."""
    modes = mode or ["hybrid"]
    with open_archive(data) as archive:
        if len(modes) > 1:
            result = archive.compare(queries, modes, depth=limit, per_query=per_query)
        else:
            result = archive.evaluate(queries, mode=modes[0], depth=limit, per_query=per_query)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    from .output import render_comparisons, render_eval, render_per_query

    runs = result["modes"] if len(modes) > 1 else [result]
    render_eval(console, runs, f"{queries.name} @{limit}")
    if len(modes) > 1:
        render_comparisons(console, result["comparisons"])
    if per_query:
        for run in runs:
            render_per_query(console, run)


@app.command()
def serve(
    data: DataOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    create: Annotated[
        bool, typer.Option("--create", help="Create the archive if the folder holds none.")
    ] = False,
    ray: RayServe = None,
    replicas: Replicas = None,
    max_replicas: MaxReplicas = None,
    target_requests: TargetRequests = 2.0,
    shards: Shards = 0,
    pq: Pq = 0,
) -> None:
    """Run the HTTP API (FastAPI + uvicorn); model and index load once at start-up."""
    if ray is not None or replicas or max_replicas or shards or pq:
        from .scale import serve_on_ray

        scaling = {"replicas": replicas, "max_replicas": max_replicas, "shards": shards, "pq": pq}
        return serve_on_ray(
            data, ray, host=host, port=port, target_requests=target_requests, **scaling
        )
    import uvicorn

    from ..api.app import create_app

    archive = open_archive(data, create=create)
    uvicorn.run(create_app(archive), host=host, port=port, log_level="info")


def run() -> None:
    """Console entry point."""
    from .scale import with_bare_ray

    try:
        app(args=with_bare_ray(sys.argv[1:]))
    except KeyboardInterrupt:
        errors.print("interrupted; what was committed is kept")
        sys.exit(130)


if __name__ == "__main__":
    run()
