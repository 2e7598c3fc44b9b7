"""Shared building blocks: UTC timestamps, JSON columns, cursor pagination, stopping tasks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from api.errors import Invalid

T = TypeVar("T")
STOP_WAIT_SECONDS = 5.0


async def cancel_and_wait(task: asyncio.Task[Any], *, timeout: float = STOP_WAIT_SECONDS) -> bool:
    """Cancel a background task and wait for it to end, at most ``timeout`` seconds; whether it
    ended. A shutdown never hangs on a task that does not take its cancellation (e.g. one
    waiting on a database connection that stopped answering): it is logged and left."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        logging.getLogger("fieldwork").warning(
            "%s did not stop within %.0f s of its cancellation; left behind",
            task.get_name(),
            timeout,
        )
        return False
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("fieldwork").warning(
            "%s ended with an error", task.get_name(), exc_info=task.exception()
        )
    return True


# Named constraints let Alembic's batch mode alter SQLite tables and keep migrations diffable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back timezone-aware datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_utc_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """``process_bind_param`` and SQLite's DATETIME text in one step (``isoformat`` is the same
    text as SQLAlchemy's storage format, ``2026-11-24 13:10:06.000000``, made in C; a UTC
    value's ``+00:00`` is cut off): a whole visit binds about a hundred datetimes."""
    if value is None:
        return None
    zone = value.tzinfo
    if zone is not None and zone is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def enum_field(enum: type[StrEnum], default: Any = ..., **kwargs: Any) -> Any:
    """A StrEnum column stored as plain text, so new values need no database type change."""
    column_type = SAEnum(
        enum, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )
    return Field(default=default, sa_type=column_type, **kwargs)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON, nullable=False)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not one this API handed out.",
            [{"field": "cursor", "location": "query", "message": "unknown cursor"}],
        ) from None


class PageParams(BaseModel):
    limit: int = 50
    cursor: str | None = None

    @property
    def after_id(self) -> int | None:
        return decode_cursor(self.cursor)


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def paginate(
    rows: list[Any], params: PageParams, convert: Any, key: Any = lambda row: row.id
) -> Page[Any]:
    """Rows were fetched ordered by id with ``limit + 1``; the extra row means another page."""
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page(
        items=[convert(row) for row in rows],
        next_cursor=encode_cursor(key(rows[-1])) if more and rows else None,
    )
