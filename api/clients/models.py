from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from api.common import created_at_field


class ClientBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    contact_name: str = Field(default="", max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    notes: str = Field(default="", max_length=4000)


class Client(ClientBase, table=True):
    __tablename__ = "clients"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = created_at_field()


class ClientCreate(ClientBase):
    pass


class ClientUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    notes: str | None = Field(default=None, max_length=4000)


class ClientPublic(ClientBase):
    id: int
    created_at: datetime
