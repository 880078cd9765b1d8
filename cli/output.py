"""Terminal rendering of search results and reports (rich), kept apart from the commands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text


class LibraryNotes(logging.Handler):
    """What the library says it is doing (an ONNX export being built, once per machine), as
    dim lines on stderr, so a long first command does not look stuck."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(Text(record.getMessage(), style="dim"), soft_wrap=True)


def show_library_notes(console: Console) -> None:
    """Attach LibraryNotes to the `newsarchive` loggers, once."""
    logger = logging.getLogger("newsarchive")
    if not any(isinstance(h, LibraryNotes) for h in logger.handlers):
        logger.addHandler(LibraryNotes(console))
        logger.setLevel(logging.INFO)


@contextmanager
def progress_bar(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A spinner line for ingest; yields the progress callback `Archive.ingest` takes."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("reading", total=None)

        def progress(articles: int, embedded: int) -> None:
            bar.update(task, description=f"{articles} articles, {embedded} passages embedded")

        yield progress


INDENT = 4  # result lines under the title: wrapped lines keep this indent

# What a result's score means, one line (under 80 columns) per mode, printed under the results.
SCORE_MEANING = {
    "hybrid": "score: fused keyword and semantic ranks (higher is better; this query only)",
    "semantic": "score: cosine similarity of query and passage (-1 to 1; higher is closer)",
    "keyword": "score: BM25 weight of the query's words (higher is better; this query only)",
}


def when(date: str | None) -> str | None:
    """A stored date for people: a day stays a day, an instant shows its UTC time."""
    if not date:
        return None
    return date if len(date) <= 10 else f"{date[:10]} {date[11:16]} UTC"


def byline(article: dict[str, Any]) -> str:
    """Outlet, date and author on one line."""
    parts = [article.get("source"), when(article.get("date"))]
    if article.get("author"):
        parts.append(f"by {article['author']}")
    return " · ".join(p for p in parts if p)


def indented(renderable: Any, indent: int = INDENT) -> Padding:
    """Wrapped lines stay under the title instead of running back to column 0."""
    return Padding(renderable, (0, 0, 0, indent), expand=False)


def render_hit(console: Console, rank: int, hit: dict[str, Any]) -> None:
    """One result: rank, title and score on a line (the title wraps in its own column, the
    score stays on the right), then outlet, date and author, the URL once and unbroken, the
    snippet with the query's words marked, and the other passages and outlets."""
    article = hit["article"]
    head = Table.grid(expand=True, padding=(0, 1, 0, 0))
    head.add_column(width=INDENT - 1, justify="right", no_wrap=True)
    head.add_column(ratio=1, overflow="fold")
    head.add_column(justify="right", no_wrap=True)
    head.add_row(
        Text(f"{rank}.", style="bold"),
        Text(article.get("title") or article["id"], style="bold cyan"),
        Text(f"{hit['score']:.3f}", style="dim"),
    )
    console.print(head)
    console.print(indented(Text(byline(article), style="dim")))
    if article.get("url"):
        # Own line, never folded: a terminal wraps it visually and it stays one link.
        console.print(Text(" " * INDENT + article["url"], style="dim"), soft_wrap=True)
    console.print(indented(highlighted(hit["snippet"], hit["highlights"])))
    extra = []
    if hit.get("other_passages"):
        extra.append(f"+{len(hit['other_passages'])} more matching passages")
    if hit.get("also_in"):
        extra.append(f"also in: {', '.join(hit['also_in'])}")
    where = f"passage {hit['position'] + 1}"
    extra.append(where if article["id"] == article.get("url") else f"id {article['id']}, {where}")
    console.print(indented(Text(" · ".join(extra), style="dim")))
    console.print()


def render_article(console: Console, article: dict[str, Any], asked: str) -> None:
    """`show`: the article, saying when the id asked for is stored as a copy of it."""
    console.print(Text(article.get("title") or article["id"], style="bold"))
    console.print(Text(byline(article), style="dim"))
    if article.get("url"):
        console.print(Text(article["url"], style="dim"), soft_wrap=True)
    if article.get("copy"):
        console.print(
            Text(
                f"{asked} is stored as an exact copy of {article['id']} (the same text); "
                "this is that article",
                style="yellow",
            )
        )
    copies = [
        f"{c['id']} ({c.get('source') or 'unknown source'}, {c['kind']} copy)"
        for c in article.get("copies", [])
        if c["id"] != asked
    ]
    if copies:
        console.print(Text("copies: " + "; ".join(copies), style="dim"))
    for passage in article["passages"]:
        console.print()
        number = Text(f"[{passage['position'] + 1}]", style="dim")
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(number, Text(passage["text"]))
        console.print(grid)


def render_eval(console: Console, runs: list[dict[str, Any]], title: str) -> None:
    """`eval`: one row per mode (and its low-overlap queries)."""
    table = Table(title=title)
    for column in ("mode", "queries", "MRR", "Recall", "nDCG", "ms/query"):
        table.add_column(column, justify="right")
    for r in runs:
        table.add_row(r["mode"], str(r["queries"]), f"{r['mrr']:.3f}", f"{r['recall']:.3f}",
                      f"{r['ndcg']:.3f}", f"{r['mean_latency_ms']:.1f}")  # fmt: skip
        if "low_overlap" in r:
            low = r["low_overlap"]
            table.add_row(f"{r['mode']} (overlap<0.5)", str(low["queries"]), f"{low['mrr']:.3f}",
                          f"{low['recall']:.3f}", f"{low['ndcg']:.3f}", "")  # fmt: skip
    console.print(table)


def render_comparisons(console: Console, comparisons: list[dict[str, Any]]) -> None:
    """Each mode against the first: the paired difference, its 95% interval and p-value."""
    table = Table(title="paired difference, 95% bootstrap interval, randomisation p")
    for column in ("mode", "metric", "difference", "95% interval", "p"):
        table.add_column(column, justify="right")
    marked = False
    for c in comparisons:
        low, high = c["ci95"]
        verdict = "" if low <= 0 <= high else " *"
        marked = marked or bool(verdict)
        table.add_row(f"{c['mode']} - {c['baseline']}", c["metric"], f"{c['difference']:+.3f}",
                      f"{low:+.3f} to {high:+.3f}{verdict}", f"{c['p_value']:.3f}")  # fmt: skip
    console.print(table)
    note = "* the interval excludes 0: unlikely to be chance" if marked else ""
    note += ("; " if note else "") + "an interval that includes 0 is no evidence of a difference"
    console.print(Text(note, style="dim"))


def render_per_query(console: Console, run: dict[str, Any]) -> None:
    """One line per query: the rank of the first relevant result (- when not in the cut-off)
    and the top hit."""
    table = Table(title=f"per query ({run['mode']})")
    table.add_column("qid", no_wrap=True)
    table.add_column("first relevant", justify="right", no_wrap=True)
    table.add_column("top hit", ratio=1, overflow="fold")
    table.add_column("query", ratio=1, overflow="fold")
    for row in run["per_query"]:
        top = row["top"]
        hit = (top["title"] or top["id"]) if top else "-"
        rank = str(row["first_relevant"]) if row["first_relevant"] else "-"
        table.add_row(row["qid"], rank, hit, row["query"])
    console.print(table)


def highlighted(
    text: str, spans: list[list[int]] | list[tuple[int, int]], indent: str = ""
) -> Text:
    out = Text(indent)
    cursor = 0
    for start, end in spans:
        out.append(text[cursor:start])
        out.append(text[start:end], style="bold yellow")
        cursor = end
    out.append(text[cursor:])
    return out
