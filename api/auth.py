"""API keys: NEWSARCHIVE_API_KEY guards the writes (and may read), NEWSARCHIVE_READ_KEY guards
the reads. Keys are compared in constant time.

What a read key protects: with NEWSARCHIVE_READ_KEY set, every route needs a key (the read key
or the write key), the API's description included (`/docs`, `/openapi.json`), except `/health`,
which says only `{"status": "ok"}`. The server's data folder is shown in `/stats` only to a
request carrying the write key. A key that is set but empty is refused at start-up: an empty
`NEWSARCHIVE_API_KEY=""` must not silently mean "no key".
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..archive import ArchiveError, config

bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Keys:
    write: str | None
    read: str | None


def keys_from_environment() -> Keys:
    """The configured keys; a variable set to an empty (or blank) value is refused."""
    found = {}
    for name in (config.API_KEY_ENV, config.READ_KEY_ENV):
        value = os.environ.get(name)
        if value is not None and not value.strip():
            raise ArchiveError(
                f"{name} is set but empty; give it a key, or unset it to leave "
                + ("writes" if name == config.API_KEY_ENV else "reads")
                + " open"
            )
        found[name] = value
    return Keys(write=found[config.API_KEY_ENV], read=found[config.READ_KEY_ENV])


def _given(credentials: HTTPAuthorizationCredentials | None) -> str:
    return credentials.credentials if credentials else ""


def _matches(given: str, *keys: str | None) -> bool:
    # compare_digest against every accepted key so timing reveals nothing about which matched
    return any([secrets.compare_digest(given.encode(), k.encode()) for k in keys if k])


def _check_key(credentials: HTTPAuthorizationCredentials | None, *keys: str | None) -> None:
    if not any(keys):
        return
    if not _matches(_given(credentials), *keys):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key (send Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _keys(request: Request) -> Keys:
    return request.app.state.keys


def require_write(request: Request, credentials: Annotated[Any, Depends(bearer)]) -> None:
    _check_key(credentials, _keys(request).write)


def require_read(request: Request, credentials: Annotated[Any, Depends(bearer)]) -> None:
    keys = _keys(request)
    if keys.read:  # the write key may read too
        _check_key(credentials, keys.read, keys.write)


def is_writer(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Whether the request carries the write key (False when no write key is configured)."""
    keys = _keys(request)
    return bool(keys.write) and _matches(_given(credentials), keys.write)
