from __future__ import annotations

from sqlmodel import Session, col, select

from api.clients.models import Client, ClientCreate, ClientUpdate
from api.common import PageParams
from api.errors import Conflict, NotFound


def _ensure_name_free(session: Session, name: str, *, except_id: int | None = None) -> None:
    existing = session.exec(select(Client.id).where(Client.name == name)).first()
    if existing is not None and existing != except_id:
        raise Conflict(f"A client named {name!r} exists.", field="name")


def create_client(session: Session, *, data: ClientCreate) -> Client:
    _ensure_name_free(session, data.name)
    client = Client.model_validate(data)
    session.add(client)
    session.flush()
    return client


def get_client(session: Session, *, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    return client


def list_clients(session: Session, *, page: PageParams, search: str | None) -> list[Client]:
    query = select(Client).order_by(col(Client.id)).limit(page.limit + 1)
    if page.after_id is not None:
        query = query.where(col(Client.id) > page.after_id)
    if search:
        query = query.where(col(Client.name).ilike(f"%{search}%"))
    return list(session.exec(query))


def update_client(session: Session, *, client: Client, data: ClientUpdate) -> Client:
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        _ensure_name_free(session, changes["name"], except_id=client.id)
    client.sqlmodel_update(changes)
    session.add(client)
    session.flush()
    return client
