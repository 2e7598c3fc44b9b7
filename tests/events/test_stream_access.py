"""An open event stream checks its reader's access again while it runs (every 0.3 s here) and
ends, with an ``error`` event, once a key is revoked, an account disabled or a manager removed."""

from __future__ import annotations

import time

import pytest

from api.config import Settings
from tests.events.conftest import Live, Stream

CHECK_SECONDS = 0.3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"events_access_check_seconds": CHECK_SECONDS})


def ended_with(stream: Stream, status: int, since: float) -> dict[str, object]:
    """The stream's final ``error`` event (arrived within two check intervals of ``since``)."""
    error = stream.wait_for("error", timeout=5)
    assert stream.ended.wait(2), "the stream stayed open after its error event"
    took = time.monotonic() - since
    assert took < 2 * CHECK_SECONDS + 1, f"ended {took:.2f}s after access was taken away"
    assert error.data["status"] == status, error.data
    assert error.id is None  # not an event to resume from
    return error.data


def still_streaming(live: Live, stream: Stream) -> None:
    """After several checks the stream is open and delivers the next approval."""
    time.sleep(4 * CHECK_SECONDS)
    assert not stream.ended.is_set()
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    stream.wait_for("visit.approved", visit_id=visit_id)


def test_a_revoked_api_keys_stream_ends_within_the_check_interval(live: Live) -> None:
    client_id = live.world.ids["Acme"]
    created = live.call(
        "POST", f"/clients/{client_id}/api-keys", as_="mgr-a", expect=201, json={"name": "BI"}
    )
    with live.stream_with({"X-API-Key": created["key"]}) as stream:
        still_streaming(live, stream)
        revoked_at = time.monotonic()
        live.call("POST", f"/api-keys/{created['id']}/revoke", as_="mgr-a")
        problem = ended_with(stream, 401, revoked_at)
    assert problem["detail"] == "The API key is unknown or revoked."
    assert problem["type"] == "https://fieldwork.dev/problems/unauthorized"


def test_a_disabled_users_stream_ends(live: Live) -> None:
    with live.stream("acme-viewer") as stream:
        still_streaming(live, stream)
        disabled_at = time.monotonic()
        live.call(
            "PATCH",
            f"/users/{live.world.ids['acme-viewer']}",
            as_="admin",
            json={"is_active": False},
        )
        ended_with(stream, 401, disabled_at)


def test_a_manager_taken_off_the_project_stops_receiving_its_events(live: Live) -> None:
    with live.stream("mgr-a") as stream, live.stream("admin") as admin_stream:
        removed_at = time.monotonic()
        live.call(
            "DELETE",
            f"/projects/{live.project_id}/members/{live.world.ids['mgr-a']}",
            as_="admin",
            expect=204,
        )
        ended_with(stream, 404, removed_at)
        # Everyone else's stream goes on.
        time.sleep(2 * CHECK_SECONDS)
        assert not admin_stream.ended.is_set()
