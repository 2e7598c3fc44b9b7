"""Password hashing (argon2id) and signed bearer tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.common import utcnow

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
# Verifying against a real hash for unknown users keeps login timing from telling who exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hash_cost(*, time_cost: int, memory_cost: int) -> None:
    """Change argon2's cost (tests lower it; production keeps the library's defaults)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(*, user_id: int, secret: str, lifetime_minutes: int) -> tuple[str, datetime]:
    expires = utcnow() + timedelta(minutes=lifetime_minutes)
    token = jwt.encode({"sub": str(user_id), "exp": expires}, secret, algorithm=_ALGORITHM)
    return token, expires


def read_token(token: str, *, secret: str) -> int | None:
    """The user id a valid, unexpired token was issued to, else None."""
    claims = _verified(token, secret)
    if claims is None or claims[1] <= utcnow().timestamp():
        return None
    return claims[0]


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[int, float] | None:
    """A token's user id and expiry if its signature holds, else None. Every request of a
    session sends the same token: its signature is checked once (the expiry on each use)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "sub"], "verify_exp": False},
        )
        return int(claims["sub"]), float(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
