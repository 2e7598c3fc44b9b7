"""Webhooks of a project and their delivery log, for the project's staff."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.common import Page, paginate
from api.deps import PageDep, SessionDep, SettingsDep, StaffUser
from api.webhooks import service
from api.webhooks.models import (
    DeliveryPublic,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookPublic,
)

router = APIRouter(tags=["webhooks"])


def _public(webhook: Webhook) -> WebhookPublic:
    return WebhookPublic.model_validate(webhook, from_attributes=True)


def _delivery(row: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(
        row.model_dump() | {"visit_id": row.payload.get("visit_id")}
    )


@router.post("/projects/{project_id}/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    project_id: int,
    data: WebhookCreate,
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
) -> WebhookCreated:
    """Register a webhook; the answer shows its signing secret, this once."""
    webhook = service.create_webhook(
        session,
        user=user,
        project_id=project_id,
        data=data,
        allow_private=settings.webhook_allow_private,
    )
    return WebhookCreated.model_validate(webhook, from_attributes=True)


@router.get("/projects/{project_id}/webhooks")
def list_webhooks(
    project_id: int, session: SessionDep, user: StaffUser, page: PageDep
) -> Page[WebhookPublic]:
    """The project's webhooks (without their secrets), oldest first."""
    rows = service.list_webhooks(session, user=user, project_id=project_id, page=page)
    return paginate(rows, page, _public)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: int, session: SessionDep, user: StaffUser) -> Response:
    """Delete a webhook and its delivery log; nothing more is sent to it."""
    service.delete_webhook(session, user=user, webhook_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: int, session: SessionDep, user: StaffUser, page: PageDep
) -> Page[DeliveryPublic]:
    """The webhook's delivery log, newest first: status, attempts, last answer, next attempt."""
    rows = service.list_deliveries(session, user=user, webhook_id=webhook_id, page=page)
    return paginate(rows, page, _delivery)
