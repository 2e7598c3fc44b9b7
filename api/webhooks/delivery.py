"""The delivery loop: one asyncio task per app (started in the lifespan) that claims due
deliveries, POSTs them signed, and records each outcome (retry schedule in service.py).

It wakes when an approval, a revocation or an appeal change is published (the hub sees every process's events, so
the outbox row is committed by then), when a retry falls due, and every ``webhook_poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

import httpx
from starlette.concurrency import run_in_threadpool

from api.common import cancel_and_wait, utcnow
from api.config import Settings
from api.db import Database
from api.events.models import Event
from api.webhooks.service import (
    WEBHOOK_EVENTS,
    Claimed,
    claim_due,
    has_due,
    next_due,
    record_outcome,
)
from api.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from api.webhooks.targets import RefusedTarget, delivery_transport

log = logging.getLogger("fieldwork.webhooks")

BATCH = 20
USER_AGENT = "Fieldwork-Webhooks/1"

# delivery id, HTTP status, error, final (refused: not to be retried)
Outcome = tuple[int, int | None, str | None, bool]


class DeliveryLoop:
    def __init__(self, *, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def notice(self, event: Event) -> None:
        """A hub watcher: an event webhooks take may have queued deliveries."""
        if event.type in WEBHOOK_EVENTS:
            self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            transport=delivery_transport(allow_private=self.settings.webhook_allow_private),
            # Straight to the receiver: a proxy from the environment would connect for us,
            # past the address check.
            trust_env=False,
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        self._task = asyncio.create_task(self._run(), name="fieldwork-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                sleep = await self.run_once()
            except Exception:  # the database may be away for a moment: try again later
                log.exception("webhook delivery round failed")
                sleep = self.settings.webhook_poll_seconds
            if sleep > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), sleep)

    async def run_once(self) -> float:
        """Send what is due; returns how long to wait before the next round."""
        claimed = await run_in_threadpool(self._claim)
        if claimed:
            outcomes = await asyncio.gather(*(self._send(c) for c in claimed))
            await run_in_threadpool(self._record, outcomes)
            if len(claimed) == BATCH:
                return 0
        due = await run_in_threadpool(self._next_due)
        poll = self.settings.webhook_poll_seconds
        if due is None:
            return poll
        return max(0.0, min(poll, (due - utcnow()).total_seconds()))

    def _claim(self) -> list[Claimed]:
        now = utcnow()
        # Look first in a read transaction: on SQLite a claim takes the database write lock.
        with self.db.session(read_only=True) as session:
            if not has_due(session, now=now):
                return []
        with self.db.session() as session:
            return claim_due(
                session,
                now=now,
                limit=BATCH,
                lease_seconds=self.settings.webhook_timeout_seconds + 30,
            )

    def _next_due(self) -> datetime | None:
        with self.db.session(read_only=True) as session:
            return next_due(session)

    async def _send(self, claimed: Claimed) -> Outcome:
        assert self._client is not None
        timestamp = int(time.time())
        headers = {
            EVENT_HEADER: claimed.event,
            DELIVERY_HEADER: str(claimed.id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(claimed.secret, timestamp, claimed.body),
        }
        try:
            response = await self._client.post(claimed.url, content=claimed.body, headers=headers)
        except RefusedTarget as err:
            return claimed.id, None, str(err), True
        except httpx.HTTPError as err:
            message = str(err)
            error = f"{type(err).__name__}: {message}" if message else repr(err)
            return claimed.id, None, error, False
        error = None if response.is_success else f"HTTP {response.status_code}"
        return claimed.id, response.status_code, error, False

    def _record(self, outcomes: list[Outcome]) -> None:
        now = utcnow()
        with self.db.session() as session:
            for delivery_id, status_code, error, final in outcomes:
                record_outcome(
                    session,
                    delivery_id=delivery_id,
                    status_code=status_code,
                    error=error,
                    now=now,
                    max_attempts=self.settings.webhook_max_attempts,
                    retry_base=self.settings.webhook_retry_base_seconds,
                    final=final,
                )
