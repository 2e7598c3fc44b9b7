"""API keys of a client, managed by its agency staff."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.apikeys import service
from api.apikeys.models import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from api.common import Page, paginate
from api.config import Settings
from api.deps import PageDep, SessionDep, SettingsDep, StaffUser

router = APIRouter(tags=["api keys"])


def _public(row: ApiKey, settings: Settings) -> ApiKeyPublic:
    limit = row.rate_limit_per_minute or settings.api_key_rate_limit_per_minute
    return ApiKeyPublic.model_validate(row, update={"rate_limit_per_minute": limit})


@router.post("/clients/{client_id}/api-keys", status_code=status.HTTP_201_CREATED)
def create_api_key(
    client_id: int, data: ApiKeyCreate, session: SessionDep, settings: SettingsDep, actor: StaffUser
) -> ApiKeyCreated:
    """Create an API key for the client's systems; the key is in this response only."""
    row, key = service.create_key(session, client_id=client_id, data=data, actor=actor)
    public = _public(row, settings)
    return ApiKeyCreated.model_validate(
        public.model_dump() | {"key": key, "created_by": row.created_by}
    )


@router.get("/clients/{client_id}/api-keys")
def list_api_keys(
    client_id: int, session: SessionDep, settings: SettingsDep, actor: StaffUser, page: PageDep
) -> Page[ApiKeyPublic]:
    """The client's API keys, revoked ones included, oldest first."""
    rows = service.list_keys(session, client_id=client_id, page=page, actor=actor)
    return paginate(rows, page, lambda row: _public(row, settings))


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(
    key_id: int, session: SessionDep, settings: SettingsDep, actor: StaffUser
) -> ApiKeyPublic:
    """Revoke an API key: it stops working at once. Revoking again changes nothing."""
    return _public(service.revoke_key(session, key_id=key_id, actor=actor), settings)
