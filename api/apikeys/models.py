"""API keys: a client system's credential, scoped to one client's projects.

Only the SHA-256 of a key is stored (a key is 256 random bits, so a fast hash is enough: there is
nothing to guess), with a short ``prefix`` to tell keys apart in lists. The key itself is shown
once, in the response that creates it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field

HASH_LENGTH = 64
PREFIX_LENGTH = 12  # "fwk_" and the key's first 8 characters


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=PREFIX_LENGTH)
    key_hash: str = Field(max_length=HASH_LENGTH, unique=True)
    rate_limit_per_minute: int | None = Field(
        default=None, description="None: the server's default (api_key_rate_limit_per_minute)."
    )
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: int | None = Field(default=None, foreign_key="users.id")


class ApiKeyCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="What the key is for.")
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=100_000, description="Requests per minute; default: the server's."
    )


class ApiKeyPublic(SQLModel):
    id: int
    client_id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    rate_limit_per_minute: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(SQLModel):
    id: int
    client_id: int
    name: str
    prefix: str
    key: str = Field(description="The key itself: shown only in this response, store it now.")
    rate_limit_per_minute: int
    created_at: datetime
    created_by: int | None
