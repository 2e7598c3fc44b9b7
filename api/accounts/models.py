from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from api.common import created_at_field, enum_field

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    shopper = "shopper"
    client = "client"


class UserBase(SQLModel):
    username: str = Field(min_length=3, max_length=64, schema_extra={"pattern": USERNAME_PATTERN})
    full_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and ("@" not in value or value.startswith("@") or value.endswith("@")):
            raise ValueError("not an e-mail address")
        return value


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    role: Role = enum_field(Role, index=True)
    password_hash: str
    is_active: bool = True
    client_id: int | None = Field(default=None, foreign_key="clients.id", index=True)
    created_at: datetime = created_at_field()


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=256)
    role: Role
    client_id: int | None = Field(default=None, description="Required for client users.")


class UserUpdate(SQLModel):
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=8, max_length=256)
    is_active: bool | None = None


class UserPublic(UserBase):
    id: int
    role: Role
    is_active: bool
    client_id: int | None
    created_at: datetime


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserPublic
