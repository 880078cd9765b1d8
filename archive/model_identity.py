"""Which model and backend made an archive's vectors, and whether an embedder may add to them.

Vectors of two models, or of two vector families (fp32 and int8), never share an index: the
archive records the model's fingerprint, its name, the dimension, the backend and the backend's
recipe (how int8 vectors were quantised) in its `meta` table when it first stores vectors, and
refuses an embedder that would make other vectors.
Without an explicit choice, an archive keeps the vector family it was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArchiveError

if TYPE_CHECKING:
    from ..index.embedders import Embedder
    from .store import Store

REEMBEDDING = "reembedding"
DEFAULT_BACKEND_FOR_UNKNOWN = "onnx"  # a backend this version does not know (or re-embedding)  # the backend recorded while `reindex --reembed` runs


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

    def stored_recipe(self) -> str:
        """The recipe of the stored vectors; int8 archives from before recipes were recorded
        hold the legacy one (everything quantised)."""
        from ..index.embedders import family_of
        from ..index.embedders.onnx_export import LEGACY_INT8_RECIPE

        stored = self.store.get_meta("vector_recipe")
        if stored is not None:
            return stored
        return LEGACY_INT8_RECIPE if family_of(self.stored_backend()) == "int8" else ""

    def stored_dimension(self) -> int | None:
        stored = self.store.get_meta("dimension")
        return int(stored) if stored else None

    def choose_backend(self, explicit: str | None, preferred: Callable[[str | None], str]) -> str:
        """An explicit choice wins (checked against the archive by `check`); otherwise
        `preferred(family)` picks the fastest backend here: for a new archive (family None)
        among all at fp32 quality, for an existing one within its vector family, which it keeps
        (an int8 archive stays int8, an fp32 one may move between onnx and torch)."""
        from ..index.embedders import family_of

        if explicit:
            return explicit
        stored = self.stored_backend()
        family = family_of(stored) if stored is not None else None
        if stored is not None and family is None:
            return DEFAULT_BACKEND_FOR_UNKNOWN
        if family not in (None, "fp32", "int8"):
            return stored  # a plug-in backend's own family
        return preferred(family)

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
        recipe = getattr(embedder, "recipe", "")
        if self.stored_recipe() != recipe:
            raise ArchiveError(
                f"{self.path}: archive's {embedder.family} vectors were made with recipe "
                f"{self.stored_recipe()!r}, and backend {embedder.backend!r} now makes "
                f"{recipe!r}; run `newsarchive reindex --reembed` to convert it, or set "
                "NEWSARCHIVE_BACKEND=onnx for fp32 vectors (also a re-embedding)"
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
        """Record `embedder` (its int8 recipe, and the heading weight when given) as the maker
        of this archive's vectors."""
        values = {
            "model_fingerprint": embedder.fingerprint,
            "model_name": embedder.name,
            "dimension": str(embedder.dimension),
            "backend": embedder.backend,
            "vector_recipe": getattr(embedder, "recipe", ""),
        }
        if heading_weight is not None:
            values["heading_weight"] = f"{heading_weight:g}"
        self.store.set_meta(values)

    def mark_reembedding(self) -> None:
        """Until `record` runs again, the archive refuses searches instead of mixing vectors."""
        self.store.set_meta({"backend": REEMBEDDING})
