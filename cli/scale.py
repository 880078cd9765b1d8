"""The `--ray` flags of `ingest`, `reindex --reembed` and `serve`, kept out of the commands.

Each flag is a few lines over a library call: `Archive.ingest(..., ray=ADDRESS)`,
`Archive.reindex(reembed=True, ray=ADDRESS)`, and `api.replicas.serve_until_stopped`.
ADDRESS is what `ray start --head` printed (`HOST:6379`), `ray://HOST:10001`, `auto` (the
cluster this machine is part of) or `local` (a throw-away Ray on this machine, loopback only);
a bare `--ray` means `local`. Ray is imported only when one of these flags is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Embed on a Ray cluster: HOST:PORT, ray://HOST:PORT, auto, or local (the "
        "default for a bare --ray: Ray on this machine). Needs newsarchive[ray].",
    ),
]
RayServe = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Serve replicas with Ray Serve on a Ray cluster (as for ingest --ray).",
    ),
]
Replicas = Annotated[
    int | None,
    typer.Option("--replicas", min=1, max=256, help="With --ray: read replicas (default 2)."),
]
MaxReplicas = Annotated[
    int | None,
    typer.Option(
        "--max-replicas",
        min=1,
        max=256,
        help="With --ray: autoscale between --replicas and this on request load.",
    ),
]
TargetRequests = Annotated[
    float,
    typer.Option(
        "--target-requests",
        min=0.1,
        max=1000,
        help="With --max-replicas: requests in flight per replica before Serve adds one.",
    ),
]
Shards = Annotated[
    int,
    typer.Option(
        "--shards",
        min=0,
        max=1024,
        help="With --ray: vector search on this many shard actors (IVF), kept in step with "
        "the archive; 0 keeps each replica's own index.",
    ),
]
Pq = Annotated[
    int,
    typer.Option(
        "--pq",
        min=0,
        max=96,
        help="With --shards: IVF-PQ with this many bytes a vector (e.g. 48; 0: exact IVF).",
    ),
]
DEFAULT_REPLICAS = 2


def with_bare_ray(argv: list[str]) -> list[str]:
    """`--ray` with no address after it becomes `--ray local` (typer options cannot take an
    optional value): when nothing follows, an option follows, or what follows is an input
    (an existing file or folder, a URL, or - for stdin) rather than an address. Anything else
    is taken as the address and checked, so a mistyped address is an error, not a local run."""
    out: list[str] = []
    for number, arg in enumerate(argv):
        out.append(arg)
        if arg == "--":
            return out + argv[number + 1 :]
        if arg == "--ray":
            following = argv[number + 1] if number + 1 < len(argv) else None
            if following is None or following.startswith("-") or _is_input(following):
                out.append("local")
    return out


def _is_input(value: str) -> bool:
    return value.startswith(("http://", "https://")) or Path(value).exists()


@contextmanager
def ingest_progress(console: Console, ray: str | None) -> Iterator[Callable[[int, int], None]]:
    """The ingest spinner; on a cluster it also shows the passages embedded per second there
    (all actors together, since the ingest started)."""
    from .output import progress_bar

    if ray is None:
        with progress_bar(console) as progress:
            yield progress
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"starting the embedding actors on Ray ({ray})", total=None)
        started = time.perf_counter()

        def progress(articles: int, embedded: int) -> None:
            rate = embedded / max(1e-9, time.perf_counter() - started)
            bar.update(
                task,
                description=f"{articles} articles, {embedded} passages embedded, "
                f"{rate:.1f} passages/s across the cluster",
            )

        yield progress


def serve_on_ray(
    data: Path | None,
    ray: str | None,
    *,
    host: str,
    port: int,
    replicas: int | None,
    max_replicas: int | None,
    target_requests: float,
    shards: int = 0,
    pq: int = 0,
) -> None:
    """`serve --ray`: N replicas (autoscaled up to --max-replicas), their vector search on
    --shards shard actors if given, until Ctrl-C."""
    from ..archive import InputError, config

    if ray is None:
        raise InputError("--replicas, --max-replicas and --shards need --ray")
    if pq and not shards:
        raise InputError("--pq needs --shards")
    low = replicas or (1 if max_replicas else DEFAULT_REPLICAS)
    autoscaling = None
    if max_replicas:
        if max_replicas < low:
            raise InputError(f"--max-replicas {max_replicas} is below --replicas {low}")
        autoscaling = {
            "min_replicas": low,
            "max_replicas": max_replicas,
            "target_ongoing_requests": target_requests,
        }
    from ..api.replicas import serve_until_stopped

    serve_until_stopped(
        Path(data) if data else config.default_data_dir(),
        ray,
        host=host,
        port=port,
        replicas=low,
        autoscaling=autoscaling,
        shards=shards,
        pq_m=pq,
    )
