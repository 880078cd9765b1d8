"""API keys: NEWSARCHIVE_API_KEY guards the writes (and may read), NEWSARCHIVE_READ_KEY guards
the reads. Keys are compared in constant time."""

from __future__ import annotations

import os
import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..archive import config

bearer = HTTPBearer(auto_error=False)


def _check_key(credentials: HTTPAuthorizationCredentials | None, *keys: str | None) -> None:
    accepted = [k for k in keys if k]
    if not accepted:
        return
    given = credentials.credentials if credentials else ""
    # compare_digest against every accepted key so timing reveals nothing about which matched
    if not any([secrets.compare_digest(given.encode(), k.encode()) for k in accepted]):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key (send Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_write(credentials: Annotated[Any, Depends(bearer)]) -> None:
    _check_key(credentials, os.environ.get(config.API_KEY_ENV))


def require_read(credentials: Annotated[Any, Depends(bearer)]) -> None:
    read_key = os.environ.get(config.READ_KEY_ENV)
    if read_key:  # the write key may read too
        _check_key(credentials, read_key, os.environ.get(config.API_KEY_ENV))
