from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from api.common import created_at_field, json_field


class AuditEntry(SQLModel, table=True):
    """Who changed what, when, from which state to which (append-only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    entity: str = Field(max_length=40)
    entity_id: int
    action: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=30)
    to_state: str | None = Field(default=None, max_length=30)
    comment: str = Field(default="", max_length=4000)
    data: dict[str, Any] = json_field()


class AuditPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    entity: str
    entity_id: int
    action: str
    from_state: str | None
    to_state: str | None
    comment: str
    data: dict[str, Any]
