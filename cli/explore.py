"""`newsarchive` commands for exploring: timeline, facets, list, similar, export, watch.

Each is a few lines over one library call (`Archive.timeline`, `.facets`, `.browse`, `.similar`,
`.export`, `.watches()`), printing the same JSON document as the HTTP API with `--json`; the
read commands ask a running `serve` with `--url` / NEWSARCHIVE_URL, as `search` does. The text
renderings (timeline chart, facet tables, article lists) are also used by `search`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .main import JsonOption, app, console, open_archive

BLOCKS = " ▏▎▍▌▋▊▉█"
SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 40
MAX_ROWS = 60  # more buckets than this are drawn as a sparkline

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Archive folder (default: $NEWSARCHIVE_DATA or the user data folder)."
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="NEWSARCHIVE_URL",
        help="Ask a running `newsarchive serve` at this URL (ignored with --data).",
    ),
]
Since = Annotated[str | None, typer.Option("--since", help="Only articles on/after this date.")]
Until = Annotated[str | None, typer.Option("--until", help="Only articles on/before this date.")]
Source = Annotated[
    list[str] | None, typer.Option("--source", help="Only this source (repeatable).")
]
Where = Annotated[
    list[str] | None, typer.Option("--where", help="Metadata filter FIELD=VALUE (repeatable).")
]
Mode = Annotated[str, typer.Option("--mode", help="hybrid, semantic or keyword.")]
OptionalQuery = Annotated[
    str | None, typer.Argument(help="What to look for (leave out: every article that passes).")
]


@contextmanager
def reader(data: Path | None, url: str | None) -> Iterator[Any]:
    """The local archive, or a running server when --url is given without --data."""
    if url and data is None:
        from ..archive import RemoteArchive

        with RemoteArchive(url) as remote:
            yield remote
    else:
        with open_archive(data, create=False) as archive:
            yield archive


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False))


# -- renderings ---------------------------------------------------------------------------------
def bucket_label(start: str, interval: str) -> str:
    return {"year": start[:4], "month": start[:7]}.get(interval, start)


def bar(value: float, peak: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character."""
    eighths = round(value / peak * width * 8) if peak else 0
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


def render_timeline(out: Console, timeline: dict[str, Any] | None) -> None:
    """Bars (one line per period) or, past MAX_ROWS periods, a sparkline."""
    if not timeline:
        return
    buckets, interval = timeline["buckets"], timeline["interval"]
    undated = f"; {timeline['undated']:,} undated" if timeline.get("undated") else ""
    if not buckets:
        out.print(f"[dim]timeline: no dated articles{undated}[/dim]")
        return
    peak = max(b["count"] for b in buckets)
    if len(buckets) > MAX_ROWS:
        spark = "".join(
            SPARKS[min(len(SPARKS) - 1, int(b["count"] / peak * len(SPARKS)))] if peak else " "
            for b in buckets
        )
        out.print(f"[bold]per {interval}[/bold] (peak {peak:,}{undated})", highlight=False)
        out.print(spark, style="cyan", highlight=False)
        first, last = (bucket_label(b["start"], interval) for b in (buckets[0], buckets[-1]))
        out.print(
            f"{first}{last.rjust(max(len(buckets) - len(first), len(last) + 1))}", style="dim"
        )
        return
    width = max(len(bucket_label(b["start"], interval)) for b in buckets)
    out.print(
        f"[bold]per {interval}[/bold]  (count, share of all articles{undated})", highlight=False
    )
    for b in buckets:
        line = Text(f"{bucket_label(b['start'], interval):<{width}} ")
        line.append(f"{bar(b['count'], peak):<{BAR_WIDTH}}", style="cyan")
        line.append(f" {b['count']:>6,}", style="bold")
        line.append(f"  {b['share'] * 100:5.1f}%", style="dim")
        out.print(line)


def render_facets(out: Console, facets: dict[str, Any]) -> None:
    for field, facet in facets.items():
        table = Table(
            title=field, title_justify="left", title_style="bold", show_header=False, box=None
        )
        table.add_column("value", overflow="fold")
        table.add_column("articles", justify="right")
        for item in facet["values"]:
            table.add_row(item["value"], f"{item['count']:,}")
        if facet["other"]:
            table.add_row(Text("(other)", style="dim"), f"{facet['other']:,}")
        if facet["missing"]:
            table.add_row(Text("(missing)", style="dim"), f"{facet['missing']:,}")
        out.print(table)


def render_summary(out: Console, rank: int, item: dict[str, Any]) -> None:
    header = Text(f"{rank:>3}. ", style="bold")
    header.append(item.get("title") or item["id"], style="bold cyan")
    out.print(header)
    meta = [item.get("source"), (item.get("date") or "undated")[:10], item.get("author")]
    line = " · ".join(str(m) for m in meta if m) + f"  (id {item['id']})"
    if item.get("also_in"):
        line += f"  also in: {', '.join(item['also_in'])}"
    out.print(Text("     " + line, style="dim"))


def search_footer(out: Console, result: dict[str, Any]) -> None:
    """`10 of 312 results (1,234 matching articles)`: what paging reaches, and the whole set."""
    shown, mode, took = len(result["results"]), result["mode"], result["took_ms"]
    matching = f"{result['total']:,} matching article" + ("" if result["total"] == 1 else "s")
    if result["sort"] == "relevance":
        line = f"{shown} of {result['pageable']:,} results ({matching})"
    else:
        line = f"{shown} of {matching}, {result['sort']} first"
    out.print(f"[dim]{line} ({mode}) in {took:.0f} ms[/dim]", highlight=False)
    if result.get("next"):
        out.print(f"[dim]next page: --after {result['next']}[/dim]", soft_wrap=True)


def write_lines(lines: Iterable[str], output: Path | None) -> int:
    """Stream lines to a file or stdout; returns how many were written."""
    count = 0
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for line in lines:
            handle.write(line)
            count += 1
    finally:
        if output:
            handle.close()
    return count


# -- commands -------------------------------------------------------------------------------------
@app.command()
def timeline(
    query: OptionalQuery = None,
    data: DataOption = None,
    interval: Annotated[
        str, typer.Option("--interval", help="auto (from the span), day, week, month or year.")
    ] = "auto",
    mode: Mode = "hybrid",
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """Matching articles per day, week, month or year, and their share of all articles."""
    with reader(data, url) as archive:
        result = archive.timeline(
            query, interval, mode=mode, since=since, until=until, source=source, where=where
        ).model_dump(mode="json")
    if as_json:
        print_json(result)
        return
    render_timeline(console, result["timeline"])
    console.print(f"[dim]{result['total']:,} matching articles[/dim]")


@app.command()
def facets(
    query: OptionalQuery = None,
    data: DataOption = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="source, author or a metadata field (repeatable)."),
    ] = None,
    size: Annotated[int, typer.Option("--size", min=1, max=100, help="Values per field.")] = 10,
    mode: Mode = "hybrid",
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """Counts of the matching articles per source, author or metadata value."""
    options = {"mode": mode, "since": since, "until": until, "source": source, "where": where}
    with reader(data, url) as archive:
        result = archive.facets(query, field or ["source"], size, **options)
    result = result.model_dump(mode="json")
    if as_json:
        print_json(result)
        return
    render_facets(console, result["facets"])
    console.print(f"[dim]{result['total']:,} matching articles[/dim]")


@app.command("list")
def list_articles(
    data: DataOption = None,
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
    sort: Annotated[str, typer.Option("--sort", help="newest or oldest.")] = "newest",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
    after: Annotated[
        str | None, typer.Option("--after", help="The cursor printed under the last page.")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """List articles by date, without a query (filters, then pages by cursor)."""
    options = {"since": since, "until": until, "source": source, "where": where}
    with reader(data, url) as archive:
        result = archive.browse(sort=sort, limit=limit, after=after, **options)
    result = result.model_dump(mode="json")
    if as_json:
        print_json(result)
        return
    if not result["results"]:
        console.print("No articles.")
    for rank, item in enumerate(result["results"], start=1):
        render_summary(console, rank, item)
    console.print(
        f"[dim]{len(result['results'])} of {result['total']:,} articles, {sort} first[/dim]"
    )
    if result["next"]:
        console.print(f"[dim]next page: --after {result['next']}[/dim]", soft_wrap=True)


@app.command()
def similar(
    article_id: Annotated[str | None, typer.Argument(help="A stored article's id.")] = None,
    data: DataOption = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Find stories like this passage instead.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """Stories like a stored article (its own copies left out), or like a passage of text."""
    from .output import render_hit

    options = {"since": since, "until": until, "source": source, "where": where}
    with reader(data, url) as archive:
        result = archive.similar(article_id, text, limit=limit, offset=offset, **options)
    result = result.to_dict()
    if as_json:
        print_json(result)
        return
    if not result["results"]:
        console.print("No similar articles.")
    for rank, hit in enumerate(result["results"], start=offset + 1):
        render_hit(console, rank, hit)
    console.print(f"[dim]{len(result['results'])} of {result['total']:,} similar articles[/dim]")


@app.command()
def export(
    query: OptionalQuery = None,
    data: DataOption = None,
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Comma-separated: id,title,author,source,date,url,passage_count,also_in,text,"
            "metadata or any metadata field (default id,title,date,source,url).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="newest or oldest.")] = "newest",
    mode: Mode = "hybrid",
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
    url: UrlOption = None,
) -> None:
    """Every matching article (without a query: every article passing the filters), streamed."""
    options = {"since": since, "until": until, "source": source, "where": where}
    with reader(data, url) as archive:
        lines = archive.export(query, fields=fields, format=format, sort=sort, mode=mode, **options)
        written = write_lines(lines, output)
    if output:
        records = written - 1 if format == "csv" else written
        console.print(f"{records:,} articles written to {output}", highlight=False)


# -- saved searches -------------------------------------------------------------------------------
watch = typer.Typer(
    help="Saved searches: what is new for a query since its last check (a news alert).",
    no_args_is_help=True,
)
app.add_typer(watch, name="watch")


@watch.command("add")
def watch_add(
    name: Annotated[str, typer.Argument(help="A name: letters, digits, '_', '-', '.'.")],
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    data: DataOption = None,
    mode: Mode = "hybrid",
    since: Since = None,
    until: Until = None,
    source: Source = None,
    where: Where = None,
) -> None:
    """Save a search (replacing one of that name); its first check reports what comes after."""
    options = {"mode": mode, "since": since, "until": until, "source": source, "where": where}
    with open_archive(data, create=False) as archive:
        saved = archive.watches().add(name, query, **options)
    console.print(f"saved {saved.name!r}: {saved.request['q']!r}", highlight=False)


@watch.command("list")
def watch_list(data: DataOption = None, as_json: JsonOption = False) -> None:
    """The saved searches and when each was last checked."""
    with open_archive(data, create=False) as archive:
        saved = [w.model_dump(mode="json", by_alias=True) for w in archive.watches().list()]
    if as_json:
        print_json({"watches": saved})
        return
    if not saved:
        console.print("No saved searches (`newsarchive watch add NAME QUERY`).")
    for item in saved:
        request = item["request"]
        filters = {k: request[k] for k in ("since", "until", "source", "where") if request.get(k)}
        checked = item["checked_at"] or "never"
        console.print(
            f"[bold]{item['name']}[/bold]  {request['q']!r} ({request['mode']})"
            + (f" {json.dumps(filters)}" if filters else "")
            + f"  [dim]last checked {checked}[/dim]",
            highlight=False,
        )


@watch.command("check")
def watch_check(
    name: Annotated[str | None, typer.Argument(help="One saved search (default: all).")] = None,
    data: DataOption = None,
    as_json: JsonOption = False,
) -> None:
    """What is new since the last check. Exit code 0: nothing new; 1: new articles (like diff)."""
    with open_archive(data, create=False) as archive:
        result = archive.watches().check(name).model_dump(mode="json")
    if as_json:
        print_json(result)
    elif not result["watches"]:
        console.print("No saved searches (`newsarchive watch add NAME QUERY`).")
    else:
        for item in result["watches"]:
            console.print(
                f"[bold]{item['name']}[/bold]: {item['new']:,} new ({item['query']!r})",
                highlight=False,
            )
            for rank, summary in enumerate(item["results"], start=1):
                render_summary(console, rank, summary)
    if result["new"]:
        raise typer.Exit(1)


@watch.command("remove")
def watch_remove(
    name: Annotated[str, typer.Argument(help="The saved search to forget.")],
    data: DataOption = None,
) -> None:
    """Forget a saved search."""
    with open_archive(data, create=False) as archive:
        removed = archive.watches().remove(name)
    if not removed:
        from .main import fail

        fail(f"no saved search named {name!r}")
    console.print(f"removed {name!r}", highlight=False)
