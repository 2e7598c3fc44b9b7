"""Webhooks of a project (managed by its staff), the outbox rows of an event, and the claim and
outcome of deliveries for the delivery loop (api/webhooks/delivery.py).

Retry schedule: attempt n (n ≥ 1) that fails is retried after ``base · 2^(n−1)`` seconds, capped at
one hour; after ``webhook_max_attempts`` attempts the delivery is ``failed``. A delivery refused
because its host resolves to a non-public address (api/webhooks/targets.py) fails at once: the
refusal is the server's own rule, which retrying would only repeat. A claimed delivery is leased
(its next attempt moved past the HTTP timeout), so a process that dies mid-send leaves it to be
claimed again: delivery is at least once; receivers dedupe on ``X-Fieldwork-Delivery``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from api.accounts.models import User
from api.common import PageParams, utcnow
from api.errors import Invalid, NotFound
from api.events.models import Event, EventType
from api.projects.access import get_project
from api.results.models import VisitResult
from api.webhooks.models import DeliveryStatus, Webhook, WebhookCreate, WebhookDelivery
from api.webhooks.signing import new_secret
from api.webhooks.targets import host_refusal

WEBHOOK_EVENTS = frozenset(
    {EventType.visit_approved, EventType.visit_revoked, EventType.appeal_changed}
)
MAX_RETRY_DELAY = 3600.0
ERROR_LENGTH = 500

# ---------------------------------------------------------------- managing webhooks


def create_webhook(
    session: Session, *, user: User, project_id: int, data: WebhookCreate, allow_private: bool
) -> Webhook:
    """A webhook of the project; its URL may not name a non-public address unless
    ``allow_private`` (the delivery loop checks what a host name resolves to)."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    refusal = None if allow_private else host_refusal(data.url.host or "")
    if refusal:
        message = f"{refusal}; webhooks may only reach public addresses"
        raise Invalid(
            f"url: {message}.",
            [{"field": "url", "location": "body", "message": message, "type": "non_public_url"}],
        )
    webhook = Webhook(
        project_id=project.id,
        url=str(data.url),
        events=list(data.events),
        description=data.description,
        secret=new_secret(),
        created_by=user.id,
    )
    session.add(webhook)
    session.flush()
    return webhook


def list_webhooks(
    session: Session, *, user: User, project_id: int, page: PageParams
) -> list[Webhook]:
    get_project(session, user=user, project_id=project_id, manage=True)
    query = select(Webhook).where(Webhook.project_id == project_id)
    if page.after_id is not None:
        query = query.where(col(Webhook.id) > page.after_id)
    return list(session.exec(query.order_by(col(Webhook.id)).limit(page.limit + 1)))


def get_webhook(session: Session, *, user: User, webhook_id: int) -> Webhook:
    """The webhook if ``user`` manages its project; otherwise 404, like a missing one."""
    webhook = session.get(Webhook, webhook_id)
    try:
        if webhook is None:
            raise NotFound("")
        get_project(session, user=user, project_id=webhook.project_id, manage=True)
    except NotFound:
        raise NotFound(f"No webhook {webhook_id}.") from None
    return webhook


def delete_webhook(session: Session, *, user: User, webhook_id: int) -> None:
    """Delete the webhook and its delivery log; pending deliveries are not sent."""
    webhook = get_webhook(session, user=user, webhook_id=webhook_id)
    for delivery in session.exec(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    ):
        session.delete(delivery)
    session.flush()
    session.delete(webhook)
    session.flush()


def list_deliveries(
    session: Session, *, user: User, webhook_id: int, page: PageParams
) -> list[WebhookDelivery]:
    """The webhook's deliveries, newest first."""
    get_webhook(session, user=user, webhook_id=webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if page.after_id is not None:
        query = query.where(col(WebhookDelivery.id) < page.after_id)
    return list(session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(page.limit + 1)))


# ---------------------------------------------------------------- the outbox


def result_summary(session: Session, *, visit_id: int) -> dict[str, Any] | None:
    """The visit's materialised result, without the shopper (None when it has none)."""
    row = session.get(VisitResult, visit_id)
    if row is None:
        return None
    return row.model_dump(
        mode="json",
        include={
            "score",
            "raw_score",
            "knocked_out",
            "passed",
            "band",
            "basis",
            "ease",
            "emotion",
            "location_id",
            "region",
            "channel",
            "wave_id",
            "visit_day",
            "approved_at",
        },
    )


def enqueue(session: Session, *, event: Event) -> int:
    """One pending delivery per webhook of the project that takes ``event``, in the caller's
    transaction; returns how many."""
    if event.type not in WEBHOOK_EVENTS or event.visit_id is None:
        return 0
    webhooks = [
        w
        for w in session.exec(select(Webhook).where(Webhook.project_id == event.project_id))
        if event.type.value in w.events
    ]
    if not webhooks:
        return 0
    # The fields that apply to the event (as on the stream), without the assignment's state.
    payload = event.model_dump(mode="json", exclude={"state"}, exclude_none=True) | {
        "result": result_summary(session, visit_id=event.visit_id)
    }
    now = utcnow()
    for webhook in webhooks:
        assert webhook.id is not None
        session.add(
            WebhookDelivery(
                webhook_id=webhook.id,
                event_id=event.id,
                event=event.type.value,
                payload=payload,
                next_attempt_at=now,
            )
        )
    session.flush()
    return len(webhooks)


# ---------------------------------------------------------------- the delivery loop's side


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt: what to send, where, signed with what."""

    id: int
    url: str
    secret: str
    event: str
    body: bytes
    attempt: int


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def has_due(session: Session, *, now: datetime) -> bool:
    return (
        session.exec(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .limit(1)
        ).first()
        is not None
    )


def next_due(session: Session) -> datetime | None:
    due: datetime | None = session.exec(
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == DeliveryStatus.pending
        )
    ).one()
    return due


def claim_due(
    session: Session, *, now: datetime, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for one attempt each.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so workers claiming at once take different rows;
    SQLite: the writer's database lock serialises claims. The lease moves the next attempt past
    the send, so nobody else claims the row while it is in flight.
    """
    rows = list(
        session.exec(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    webhooks = {
        w.id: w
        for w in session.exec(
            select(Webhook).where(col(Webhook.id).in_({r.webhook_id for r in rows}))
        )
    }
    claimed = []
    for row in rows:
        assert row.id is not None
        webhook = webhooks[row.webhook_id]
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=lease_seconds)
        session.add(row)
        claimed.append(
            Claimed(
                id=row.id,
                url=webhook.url,
                secret=webhook.secret,
                event=row.event,
                body=body_bytes(row.payload),
                attempt=row.attempts,
            )
        )
    session.flush()
    return claimed


def retry_delay(attempts: int, *, base: float) -> float:
    """Seconds to wait after failed attempt number ``attempts`` (1, 2, …)."""
    return float(min(base * 2 ** (attempts - 1), MAX_RETRY_DELAY))


def record_outcome(
    session: Session,
    *,
    delivery_id: int,
    status_code: int | None,
    error: str | None,
    now: datetime,
    max_attempts: int,
    retry_base: float,
    final: bool = False,
) -> None:
    """A 2xx answer delivers; anything else retries later or, after the last attempt or when
    ``final`` (a target refused, no use retrying), fails."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != DeliveryStatus.pending:  # deleted with its webhook meanwhile
        return
    row.last_status_code = status_code
    ok = error is None and status_code is not None and 200 <= status_code < 300
    if ok:
        row.status = DeliveryStatus.delivered
        row.delivered_at = now
        row.next_attempt_at = None
        row.last_error = None
    else:
        row.last_error = (error or f"HTTP {status_code}")[:ERROR_LENGTH]
        if final or row.attempts >= max_attempts:
            row.status = DeliveryStatus.failed
            row.next_attempt_at = None
        else:
            row.next_attempt_at = now + timedelta(
                seconds=retry_delay(row.attempts, base=retry_base)
            )
    session.add(row)
    session.flush()
