"""newsarchive: a searchable news archive with hybrid semantic and keyword search.

The library object is :class:`newsarchive.archive.Archive`; the CLI and the HTTP API are
thin faces over it.
"""

__version__ = "0.1.0"

__all__ = ["Archive", "RemoteArchive", "__version__"]


def __getattr__(name: str):
    # Lazy so `import newsarchive` stays cheap for `--help` and the API schemas.
    if name in ("Archive", "RemoteArchive"):
        from . import archive

        return getattr(archive, name)
    raise AttributeError(name)
