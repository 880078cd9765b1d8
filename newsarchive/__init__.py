"""newsarchive: a searchable news archive with hybrid semantic and keyword search.

The library object is :class:`newsarchive.archive.Archive`; the CLI and the HTTP API are
thin faces over it.
"""

__version__ = "0.1.0"

__all__ = ["Archive", "__version__"]


def __getattr__(name: str):
    # Lazy so `import newsarchive` stays cheap for `--help` and the API schemas.
    if name == "Archive":
        from .archive.archive import Archive

        return Archive
    raise AttributeError(name)
