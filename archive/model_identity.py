"""Which model and backend made an archive's vectors, and whether an embedder may add to them.

Vectors of two models, or of two vector families (fp32 and int8), never share an index: the
archive records the model's fingerprint, its name, the dimension and the backend in its `meta`
table when it first stores vectors, and refuses an embedder that would make other vectors.
Without an explicit choice, an archive keeps the vector family it was built with.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArchiveError

if TYPE_CHECKING:
    from ..index.embedders import Embedder
    from .store import Store

REEMBEDDING = "reembedding"  # the backend recorded while `reindex --reembed` runs


class ModelIdentity:
    def __init__(self, store: Store, path: Path) -> None:
        self.store = store
        self.path = path

    def stored_backend(self) -> str | None:
        """The backend that embedded this archive (archives from before backends: torch)."""
        stored = self.store.get_meta("backend")
        if stored is None and self.store.get_meta("model_fingerprint") is not None:
            return "torch"
        return stored

    def stored_dimension(self) -> int | None:
        stored = self.store.get_meta("dimension")
        return int(stored) if stored else None

    def choose_backend(self, explicit: str | None) -> str:
        """An explicit choice wins (checked against the archive by `check`); otherwise the
        archive keeps its vector family (fp32 -> onnx, int8 -> onnx-int8), and a new archive
        gets the default."""
        from ..index.embedders import DEFAULT_BACKEND, family_of

        if explicit:
            return explicit
        stored = self.stored_backend()
        if stored is None or family_of(stored) is None:
            return DEFAULT_BACKEND
        if family_of(stored) == family_of(DEFAULT_BACKEND):
            return DEFAULT_BACKEND
        return stored

    def check(self, embedder: Embedder, *, claim: bool = False) -> None:
        """Refuse an embedder whose vectors differ from the stored ones; with `claim`, an
        archive without vectors yet records this embedder as its own."""
        from ..index.embedders import family_of

        stored = self.store.get_meta("model_fingerprint")
        if stored is None:
            if claim:
                self.record(embedder, self.heading_weight())
            return
        stored_backend = self.stored_backend()
        if stored_backend == REEMBEDDING:
            raise ArchiveError(
                f"{self.path}: a re-embedding was interrupted; run "
                "`newsarchive reindex --reembed` again"
            )
        if family_of(stored_backend) != embedder.family:
            raise ArchiveError(
                f"{self.path}: archive was embedded with backend {stored_backend!r}, whose "
                f"vectors differ from backend {embedder.backend!r}; set NEWSARCHIVE_BACKEND="
                f"{stored_backend}, or run `newsarchive reindex --reembed` to convert it"
            )
        if stored != embedder.fingerprint:
            if stored == self._legacy_fingerprint(embedder):
                self.store.set_meta({"model_fingerprint": embedder.fingerprint})
                return
            name = self.store.get_meta("model_name", "another model")
            raise ArchiveError(
                f"{self.path}: archive was built with model {name!r}, not the configured one; "
                "set NEWSARCHIVE_MODEL to that model, or run `newsarchive reindex --reembed`"
            )

    @staticmethod
    def _legacy_fingerprint(embedder: Embedder) -> str | None:
        """Archives written before fingerprint v2 recorded another hash of the same folder."""
        folder = getattr(embedder, "folder", None)
        return folder.legacy_fingerprint() if folder is not None else None

    def heading_weight(self) -> float:
        """How much of its article's heading each passage vector holds (ingest/embed.py): as
        recorded, else (an archive without vectors yet) today's HEADING_WEIGHT. Archives built
        before titles recorded 0 (m007_titles) until `reindex --reembed`."""
        from .ingest.embed import HEADING_WEIGHT

        stored = self.store.get_meta("heading_weight")
        try:
            return HEADING_WEIGHT if stored is None else float(stored)
        except ValueError:
            raise ArchiveError(
                f"{self.path}: unreadable heading_weight {stored!r} in the archive's meta; "
                "run `newsarchive reindex --reembed`"
            ) from None

    def record(self, embedder: Embedder, heading_weight: float | None = None) -> None:
        """Record `embedder` (and the heading weight, when given) as the maker of this
        archive's vectors."""
        values = {
            "model_fingerprint": embedder.fingerprint,
            "model_name": embedder.name,
            "dimension": str(embedder.dimension),
            "backend": embedder.backend,
        }
        if heading_weight is not None:
            values["heading_weight"] = f"{heading_weight:g}"
        self.store.set_meta(values)

    def mark_reembedding(self) -> None:
        """Until `record` runs again, the archive refuses searches instead of mixing vectors."""
        self.store.set_meta({"backend": REEMBEDDING})
