"""Connector secrets at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key
derived from the installation's secret key (SIYU_SECRET_KEY / `siyu.toml`).

The key is derived with HKDF and its own `info` label, so the key that signs console sessions is never used as
is for anything else, and a leaked database alone reveals no token, password or HMAC key. Every host of an
installation shares the secret key (the preflight check enforces it), so each can open what another sealed.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"siyu connector secrets v1"


class SealedSecretError(Exception):
    """The sealed secrets cannot be opened: the installation's secret key is not the one that sealed them."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise SealedSecretError("no secret key configured (SIYU_SECRET_KEY): connector secrets cannot be sealed")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(secret_key: str, values: dict[str, Any]) -> str:
    """The secret fields as one token; an empty dict seals to "" (a kind without secrets stores nothing)."""
    if not values:
        return ""
    return _fernet(secret_key).encrypt(orjson.dumps(values)).decode()


def unseal(secret_key: str, token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        data = _fernet(secret_key).decrypt(token.encode())
    except InvalidToken:
        raise SealedSecretError("the connector's secrets were sealed with another secret key") from None
    out: dict[str, Any] = orjson.loads(data)
    return out
