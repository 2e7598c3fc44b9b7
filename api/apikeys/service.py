"""Create, list, revoke and resolve API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.accounts.service import ensure_manages_client
from api.apikeys.models import PREFIX_LENGTH, ApiKey, ApiKeyCreate
from api.audit.service import record
from api.clients.models import Client
from api.common import PageParams, utcnow
from api.errors import NotFound

KEY_PREFIX = "fwk_"
# last_used_at is a hint for people reviewing keys, not an access log: write it at most this often.
TOUCH_INTERVAL = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


def _ensure_may_manage(session: Session, *, actor: User, client_id: int) -> None:
    """Admins, and managers of at least one of the client's projects."""
    if session.get(Client, client_id) is None:
        raise NotFound(f"No client {client_id}.")
    if actor.role != Role.admin:
        ensure_manages_client(session, manager=actor, client_id=client_id)


def create_key(
    session: Session, *, client_id: int, data: ApiKeyCreate, actor: User
) -> tuple[ApiKey, str]:
    """The new key's row and the key itself (which is not stored)."""
    _ensure_may_manage(session, actor=actor, client_id=client_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.model_validate(
        data,
        update={
            "client_id": client_id,
            "prefix": key[:PREFIX_LENGTH],
            "key_hash": hash_key(key),
            "created_by": actor.id,
        },
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    record(
        session,
        actor_id=actor.id,
        entity="api_key",
        entity_id=row.id,
        action="created",
        data={"client_id": client_id, "name": row.name, "prefix": row.prefix},
    )
    return row, key


def list_keys(session: Session, *, client_id: int, page: PageParams, actor: User) -> list[ApiKey]:
    _ensure_may_manage(session, actor=actor, client_id=client_id)
    query = (
        select(ApiKey)
        .where(ApiKey.client_id == client_id)
        .order_by(col(ApiKey.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(ApiKey.id) > page.after_id)
    return list(session.exec(query))


def revoke_key(session: Session, *, key_id: int, actor: User) -> ApiKey:
    """Revoke the key (again is fine: the first revocation stands)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key {key_id}.")
    _ensure_may_manage(session, actor=actor, client_id=row.client_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_by = actor.id
        session.add(row)
        session.flush()
        record(
            session,
            actor_id=actor.id,
            entity="api_key",
            entity_id=key_id,
            action="revoked",
            data={"client_id": row.client_id, "prefix": row.prefix},
        )
    return row


def find_active_key(session: Session, *, key: str) -> ApiKey | None:
    """The unrevoked key with this value, else None."""
    return session.exec(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key), col(ApiKey.revoked_at).is_(None))
    ).first()


def touch_due(row: ApiKey) -> bool:
    return row.last_used_at is None or row.last_used_at < utcnow() - TOUCH_INTERVAL


def touch(session: Session, *, key_id: int) -> None:
    """Record a use, unless one was recorded within TOUCH_INTERVAL (by any worker)."""
    now = utcnow()
    session.exec(
        update(ApiKey)
        .where(
            col(ApiKey.id) == key_id,
            or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) < now - TOUCH_INTERVAL,
            ),
        )
        .values(last_used_at=now)
    )


def principal(row: ApiKey) -> User:
    """The client-role user a key acts as: transient, never added to a session.

    Its ``id`` is None: it owns nothing and is the actor of no write.
    """
    return User(
        username=f"api-key-{row.id}",
        full_name=row.name,
        role=Role.client,
        client_id=row.client_id,
        password_hash="!",
        is_active=True,
    )
