"""Webhooks over real HTTP: a receiver in a thread gets signed POSTs, retried with backoff."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, get_args

import pytest
from sqlmodel import select

from api.common import utcnow
from api.config import Settings
from api.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from api.webhooks.service import WEBHOOK_EVENTS, claim_due
from api.webhooks.signing import verify
from tests.conftest import PG_URL
from tests.events.conftest import API, Live

MAX_ATTEMPTS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Retries after 0.1 s, 0.2 s; three attempts at most; receivers on 127.0.0.1 allowed."""
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_base_seconds": 0.1,
            "webhook_max_attempts": MAX_ATTEMPTS,
            "webhook_poll_seconds": 0.5,
            "webhook_timeout_seconds": 2,
        }
    )


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server answering POSTs with the next status of ``script`` (then 200)."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} of {count} POSTs arrived"
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(dict(self.headers.items()), body))
            status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/fieldwork"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def register(live: Live, url: str, events: list[str]) -> dict[str, Any]:
    created: dict[str, Any] = live.call(
        "POST",
        f"/projects/{live.project_id}/webhooks",
        as_="mgr-a",
        expect=201,
        json={"url": url, "events": events, "description": "BI import"},
    )
    return created


def deliveries(live: Live, webhook_id: int) -> list[dict[str, Any]]:
    page = live.call("GET", f"/webhooks/{webhook_id}/deliveries", as_="mgr-a")
    items: list[dict[str, Any]] = page["items"]
    return items


def wait_settled(live: Live, webhook_id: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = deliveries(live, webhook_id)
        if items and all(d["status"] != "pending" for d in items):
            return items
        time.sleep(0.05)
    raise AssertionError(f"deliveries still pending: {deliveries(live, webhook_id)}")


def test_approval_is_posted_signed_with_the_webhooks_secret(live: Live, receiver: Receiver) -> None:
    webhook = register(live, receiver.url, ["visit.approved"])
    assert webhook["secret"].startswith("whsec_")
    listed = live.call("GET", f"/projects/{live.project_id}/webhooks", as_="mgr-a")["items"]
    assert [w["id"] for w in listed] == [webhook["id"]]
    assert "secret" not in listed[0]

    visit_id, assignment_id = live.submitted_visit()
    live.review(visit_id, "approve")
    [post] = receiver.wait(1)

    timestamp = int(post.headers["X-Fieldwork-Timestamp"])
    assert abs(time.time() - timestamp) < 60
    assert verify(webhook["secret"], timestamp, post.body, post.headers["X-Fieldwork-Signature"])
    assert not verify("whsec_other", timestamp, post.body, post.headers["X-Fieldwork-Signature"])
    assert post.headers["X-Fieldwork-Event"] == "visit.approved"
    assert post.headers["Content-Type"] == "application/json"
    payload = post.json()
    assert payload["type"] == "visit.approved"
    # Only the fields that apply: no null appeal fields, no assignment state.
    assert set(payload) == {"id", "type", "project_id", "visit_id", "assignment_id", "at", "result"}
    assert (payload["project_id"], payload["visit_id"]) == (live.project_id, visit_id)
    assert payload["assignment_id"] == assignment_id
    assert payload["id"] and payload["at"]
    assert payload["result"]["score"] == 100.0
    assert payload["result"]["location_id"] == live.world.ids["Alpha/loc0"]
    assert not [key for key in json.dumps(payload).split('"') if "shopper" in key]

    [logged] = wait_settled(live, webhook["id"])
    assert logged["id"] == int(post.headers["X-Fieldwork-Delivery"])
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert logged["visit_id"] == visit_id and logged["delivered_at"]


def test_failing_receiver_is_retried_with_backoff_until_it_answers(
    live: Live, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    webhook = register(live, receiver.url, ["visit.approved", "visit.revoked"])
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    posts = receiver.wait(3)
    [logged] = wait_settled(live, webhook["id"])
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "delivered",
        3,
        200,
    )
    assert logged["last_error"] is None
    # The same delivery each time, with a fresh signature; retries wait 0.1 s, then 0.2 s.
    assert {p.headers["X-Fieldwork-Delivery"] for p in posts} == {str(logged["id"])}
    assert len({p.body for p in posts}) == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(posts)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19, gaps


def test_delivery_fails_after_the_last_attempt(live: Live, receiver: Receiver) -> None:
    receiver.script = [500] * 10
    webhook = register(live, receiver.url, ["visit.approved"])
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    [logged] = wait_settled(live, webhook["id"])
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "failed",
        MAX_ATTEMPTS,
        500,
    )
    assert logged["last_error"] == "HTTP 500" and logged["next_attempt_at"] is None
    time.sleep(0.5)
    assert len(receiver.received) == MAX_ATTEMPTS


def test_unreachable_receiver_is_logged_with_the_error(live: Live, receiver: Receiver) -> None:
    webhook = register(live, "http://127.0.0.1:9/nobody-listens", ["visit.approved"])
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    [logged] = wait_settled(live, webhook["id"])
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "failed",
        MAX_ATTEMPTS,
        None,
    )
    assert "Connect" in logged["last_error"]


def test_revocation_sends_visit_revoked_without_a_result(live: Live, receiver: Receiver) -> None:
    webhook = register(live, receiver.url, ["visit.revoked"])
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    live.review(visit_id, "revoke")
    [post] = receiver.wait(1)
    payload = post.json()
    assert (payload["type"], payload["visit_id"], payload["result"]) == (
        "visit.revoked",
        visit_id,
        None,
    )
    assert [d["event"] for d in wait_settled(live, webhook["id"])] == ["visit.revoked"]


def test_approval_and_revocation_reach_stream_and_webhook_as_one_event(
    live: Live, receiver: Receiver
) -> None:
    register(live, receiver.url, ["visit.approved", "visit.revoked"])
    visit_id, _ = live.submitted_visit()
    with live.stream("acme-viewer") as stream:
        live.review(visit_id, "approve")
        live.review(visit_id, "revoke")
        kinds = {"visit.approved", "visit.revoked"}
        on_stream = [e for e in stream.drain(quiet=0.5) if e.type in kinds]
    posts = sorted(receiver.wait(2), key=lambda p: p.json()["type"] != "visit.approved")
    payloads = [post.json() for post in posts]
    assert [p["type"] for p in payloads] == [e.type for e in on_stream]
    assert [p["type"] for p in payloads] == ["visit.approved", "visit.revoked"]
    # A client that takes both can drop the second copy by its id: the same event, by id and time.
    for payload, event in zip(payloads, on_stream, strict=True):
        streamed = event.data
        assert payload["id"] == event.id == streamed["id"]
        assert payload["at"] == streamed["at"]
        assert (payload["visit_id"], streamed["visit_id"]) == (visit_id, visit_id)
        assert "state" not in payload and streamed["state"] in {"approved", "submitted"}
    assert payloads[0]["id"] != payloads[1]["id"]


def test_refused_decision_and_other_projects_queue_nothing(live: Live, receiver: Receiver) -> None:
    webhook = register(live, receiver.url, ["visit.approved"])
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve", as_="mgr-b", expect=404)
    live.review(visit_id, "reject")
    live.review(visit_id, "approve", expect=409)
    time.sleep(0.3)
    assert deliveries(live, webhook["id"]) == [] and receiver.received == []


def test_webhooks_are_for_the_projects_staff(live: Live, receiver: Receiver) -> None:
    webhook = register(live, receiver.url, ["visit.approved"])
    hooks = f"/projects/{live.project_id}/webhooks"
    body = {"url": receiver.url, "events": ["visit.approved"]}
    live.call("POST", hooks, as_="mgr-b", expect=404, json=body)
    live.call("POST", hooks, as_="acme-viewer", expect=403, json=body)
    live.call("GET", f"/webhooks/{webhook['id']}/deliveries", as_="mgr-b", expect=404)
    live.call("DELETE", f"/webhooks/{webhook['id']}", as_="mgr-b", expect=404)
    bad = live.http.post(
        API + hooks,
        json={"url": "ftp://example.com", "events": ["visit.submitted"]},
        headers=live.headers("mgr-a"),
    )
    assert bad.status_code == 422
    live.call("DELETE", f"/webhooks/{webhook['id']}", as_="mgr-a", expect=204)
    live.call("GET", f"/webhooks/{webhook['id']}/deliveries", as_="mgr-a", expect=404)
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    time.sleep(0.3)
    assert receiver.received == []


def test_appeal_changes_are_posted_to_a_webhook_that_takes_them(
    live: Live, receiver: Receiver
) -> None:
    webhook = register(live, receiver.url, ["appeal.changed"])
    approvals = register(live, receiver.url + "/approvals", ["visit.approved"])
    visit_id = live.approved_visit()
    receiver.wait(1)  # the approval, to the other webhook
    with live.stream("acme-viewer") as stream:
        appeal = live.file_appeal(visit_id)
        live.decide_appeal(appeal["id"])
        on_stream = [e for e in stream.drain(quiet=0.5) if e.type == "appeal.changed"]
    posts = receiver.wait(3)[1:]
    assert {p.headers["X-Fieldwork-Event"] for p in posts} == {"appeal.changed"}
    for post in posts:
        assert verify(
            webhook["secret"],
            int(post.headers["X-Fieldwork-Timestamp"]),
            post.body,
            post.headers["X-Fieldwork-Signature"],
        )
    payloads = sorted((p.json() for p in posts), key=lambda p: p["appeal_status"] != "open")
    assert [p["appeal_status"] for p in payloads] == ["open", "dismissed"]
    for payload in payloads:
        assert payload["type"] == "appeal.changed"
        assert (payload["project_id"], payload["visit_id"], payload["appeal_id"]) == (
            live.project_id,
            visit_id,
            appeal["id"],
        )
        assert payload["result"]["score"] == 100.0  # dismissed: the visit's result as it was
        assert "state" not in payload and "assignment_id" not in payload
        assert not [key for key in json.dumps(payload).split('"') if "shopper" in key]
    # The event the stream carried, by the same id.
    assert [p["id"] for p in payloads] == [e.id for e in on_stream]
    logged = wait_settled(live, webhook["id"])
    assert [(d["event"], d["status"], d["visit_id"]) for d in logged] == [
        ("appeal.changed", "delivered", visit_id)
    ] * 2
    assert [d["event"] for d in wait_settled(live, approvals["id"])] == ["visit.approved"]


def test_webhook_event_types_are_checked(live: Live, receiver: Receiver) -> None:
    hooks = f"/projects/{live.project_id}/webhooks"
    refused = live.http.post(
        API + hooks,
        json={"url": receiver.url, "events": ["appeal.changed", "appeal.filed"]},
        headers=live.headers("mgr-a"),
    )
    assert refused.status_code == 422, refused.text
    assert "appeal.changed" in refused.text  # the answer names the types a webhook may take
    # Every type a webhook may take is one the outbox queues, and the other way round.
    assert set(get_args(WebhookEvent)) == {kind.value for kind in WEBHOOK_EVENTS}


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set FIELDWORK_TEST_DATABASE_URL")
def test_concurrent_claims_take_different_deliveries(live: Live) -> None:
    """Two workers claiming at once (FOR UPDATE SKIP LOCKED) never send one delivery twice."""
    with live.db.session() as session:
        webhook = Webhook(
            project_id=live.project_id, url="http://127.0.0.1:9/", events=[], secret="s"
        )
        session.add(webhook)
        session.flush()
        assert webhook.id is not None
        past = utcnow() - timedelta(seconds=1)
        for n in range(6):
            session.add(
                WebhookDelivery(
                    webhook_id=webhook.id,
                    event_id=f"e{n}",
                    event="visit.approved",
                    payload={"n": n},
                    next_attempt_at=past,
                )
            )
    with live.db.session() as first, live.db.session() as second:
        now = utcnow()
        mine = claim_due(first, now=now, limit=4, lease_seconds=60)
        theirs = claim_due(second, now=now, limit=4, lease_seconds=60)  # no wait on first's locks
        assert len(mine) == 4 and len(theirs) == 2
        assert not {c.id for c in mine} & {c.id for c in theirs}
    with live.db.session() as session:
        rows = session.exec(select(WebhookDelivery)).all()
        assert sorted(r.attempts for r in rows) == [1] * 6
