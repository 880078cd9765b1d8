"""Terminal rendering of search results and reports (rich), kept apart from the commands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
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


def render_hit(console: Console, rank: int, hit: dict[str, Any]) -> None:
    article = hit["article"]
    header = Text()
    header.append(f"{rank:>2}. ", style="bold")
    header.append(article.get("title") or article["id"], style="bold cyan")
    header.append(f"  [{hit['score']:.3f}]", style="dim")
    console.print(header)
    meta = " · ".join(
        str(v)
        for v in (article.get("source"), (article.get("date") or "")[:10], article.get("url"))
        if v
    )
    console.print(
        Text(f"    {meta}  (id {article['id']}, passage {hit['position'] + 1})", style="dim")
    )
    console.print(highlighted(hit["snippet"], hit["highlights"], indent="    "))
    if hit.get("other_passages"):
        console.print(
            Text(f"    +{len(hit['other_passages'])} more matching passages", style="dim")
        )
    if hit.get("also_in"):
        console.print(Text(f"    also in: {', '.join(hit['also_in'])}", style="dim"))
    console.print()


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
