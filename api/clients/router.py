from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.clients import service
from api.clients.models import ClientCreate, ClientPublic, ClientUpdate
from api.common import Page, paginate
from api.deps import PageDep, SessionDep, StaffUser

router = APIRouter(prefix="/clients", tags=["clients"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_client(data: ClientCreate, session: SessionDep, _: StaffUser) -> ClientPublic:
    """Create a client (the company whose journey is measured)."""
    return ClientPublic.model_validate(service.create_client(session, data=data))


@router.get("")
def list_clients(
    session: SessionDep,
    _: StaffUser,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name.")] = None,
) -> Page[ClientPublic]:
    """List clients, oldest first."""
    return paginate(
        service.list_clients(session, page=page, search=q), page, ClientPublic.model_validate
    )


@router.get("/{client_id}")
def get_client(client_id: int, session: SessionDep, _: StaffUser) -> ClientPublic:
    """One client."""
    return ClientPublic.model_validate(service.get_client(session, client_id=client_id))


@router.patch("/{client_id}")
def update_client(
    client_id: int, data: ClientUpdate, session: SessionDep, _: StaffUser
) -> ClientPublic:
    """Change a client."""
    client = service.get_client(session, client_id=client_id)
    return ClientPublic.model_validate(service.update_client(session, client=client, data=data))
