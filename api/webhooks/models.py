"""Webhooks of a project and their delivery log (the outbox the delivery loop works from)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, HttpUrl, field_validator
from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, enum_field, json_field

# The event types a webhook may take; service.WEBHOOK_EVENTS names the same ones.
WebhookEvent = Literal["visit.approved", "visit.revoked", "appeal.changed"]
URL_LENGTH = 2000


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    delivered = "delivered"  # a 2xx answer
    failed = "failed"  # every attempt failed


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    url: str = Field(max_length=URL_LENGTH)
    events: list[str] = json_field(list)
    description: str = Field(default="", max_length=500)
    # Kept readable: every delivery is signed with it (HMAC-SHA256).
    secret: str = Field(max_length=100)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id", index=True)
    event_id: str = Field(max_length=40)
    event: str = Field(max_length=40)
    payload: dict[str, Any] = json_field()
    status: DeliveryStatus = enum_field(DeliveryStatus, default=DeliveryStatus.pending)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_at_field()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookCreate(BaseModel):
    url: HttpUrl = Field(
        description="Receives a POST per event: http or https, at a public address, without "
        "credentials."
    )
    events: list[WebhookEvent] = Field(min_length=1)
    description: str = Field(default="", max_length=500)

    @field_validator("url")
    @classmethod
    def _short_enough(cls, value: HttpUrl) -> HttpUrl:
        if len(str(value)) > URL_LENGTH:
            raise ValueError(f"at most {URL_LENGTH} characters")
        if value.username or value.password:
            raise ValueError("no user name or password in the URL: check the signature instead")
        return value

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        return sorted(set(value))  # type: ignore[arg-type]


class WebhookPublic(BaseModel):
    id: int
    project_id: int
    url: str
    events: list[str]
    description: str
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Signs every delivery; shown only in this answer.")


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: int
    event: str
    event_id: str
    visit_id: int | None
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
