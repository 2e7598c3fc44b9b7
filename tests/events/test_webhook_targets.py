"""Webhooks reach public addresses only (the default settings): URLs naming another address are
refused when created, and a host that resolves to one is refused at delivery, without a request."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from api.webhooks.models import Webhook
from api.webhooks.targets import host_refusal, non_public
from tests.events.conftest import API, Live
from tests.events.test_webhooks import Receiver, deliveries, receiver, wait_settled

__all__ = ["receiver"]  # the fixture, imported for pytest


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "a non-public address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("64:ff9b::a00:1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_addresses_are_public_or_named_for_what_they_are(address: str, kind: str | None) -> None:
    assert non_public(ipaddress.ip_address(address)) == kind


def test_host_names_are_left_to_resolution_except_localhost() -> None:
    assert host_refusal("hooks.example.com") is None
    assert host_refusal("localhost") == "localhost is this server itself"
    assert host_refusal("API.Localhost.") == "API.Localhost. is this server itself"
    assert host_refusal("[::1]") == "::1 is a loopback address"


def create(live: Live, url: str) -> tuple[int, dict[str, object]]:
    response = live.http.post(
        f"{API}/projects/{live.project_id}/webhooks",
        json={"url": url, "events": ["visit.approved"]},
        headers=live.headers("mgr-a"),
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1 is a loopback address"),
        ("http://localhost/hooks", "localhost is this server itself"),
        ("https://admin.localhost./", "admin.localhost. is this server itself"),
        ("http://[::1]:8080/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),  # 127.0.0.1 as one number
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://0/", "0.0.0.0 is an unspecified address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://10.20.30.40/", "10.20.30.40 is a private address"),
        ("https://192.168.0.10:8443/x", "192.168.0.10 is a private address"),
        ("http://[fd00::5]/", "fd00::5 is a private address"),
        ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
        ("http://100.64.1.1/", "100.64.1.1 is a non-public address"),
        ("https://user:secret@hooks.example.com/", "no user name or password"),
        ("https://token@hooks.example.com/", "no user name or password"),
        ("ftp://hooks.example.com/", "URL scheme should be 'http' or 'https'"),
        ("file:///etc/passwd", "URL scheme should be 'http' or 'https'"),
    ],
)
def test_a_webhook_url_that_is_not_public_is_refused_naming_the_field(
    live: Live, url: str, says: str
) -> None:
    status, problem = create(live, url)
    assert status == 422, problem
    assert problem["type"] == "https://fieldwork.dev/problems/validation-error"
    [error] = problem["errors"]  # type: ignore[misc]
    assert error["field"] == "url" and says in error["message"], error
    assert says in str(problem["detail"])
    assert live.call("GET", f"/projects/{live.project_id}/webhooks", as_="mgr-a")["items"] == []


def test_a_public_url_is_taken_without_resolving_it(live: Live) -> None:
    status, created = create(live, "https://hooks.example.com:8443/fieldwork?source=fw")
    assert status == 201, created
    assert created["url"] == "https://hooks.example.com:8443/fieldwork?source=fw"


def wait_for_attempt(live: Live, webhook_id: int) -> dict[str, object]:
    [logged] = wait_settled(live, webhook_id)
    return logged


def test_a_host_resolving_to_loopback_is_refused_at_delivery_without_a_request(
    live: Live, receiver: Receiver
) -> None:
    """A webhook from before the rule (or from a name): `localhost` resolves to 127.0.0.1, where
    the receiver listens; the delivery fails at once, and the receiver hears nothing."""
    port = receiver.url.split(":")[2].split("/")[0]
    with live.db.session() as session:
        webhook = Webhook(
            project_id=live.project_id,
            url=f"http://localhost:{port}/hooks/fieldwork",
            events=["visit.approved"],
            secret="whsec_test",
        )
        session.add(webhook)
        session.flush()
        webhook_id = webhook.id
    assert webhook_id is not None
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")

    logged = wait_for_attempt(live, webhook_id)
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("failed", 1, None)
    assert logged["next_attempt_at"] is None
    assert str(logged["last_error"]).startswith(
        "refused: localhost resolves to a loopback address ("
    ), logged
    time.sleep(0.5)  # no retry follows
    [again] = deliveries(live, webhook_id)
    assert again["attempts"] == 1
    assert receiver.received == []


def _private_host_name() -> str | None:
    """This machine's name, if it is not `localhost` and resolves to a non-public address."""
    name = socket.gethostname()
    if not name or host_refusal(name):
        return None
    try:
        found = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
    except OSError:
        return None
    if any(non_public(ipaddress.ip_address(info[4][0])) for info in found):
        return name
    return None


def test_a_name_created_through_the_api_is_refused_when_it_resolves_to_a_private_address(
    live: Live, receiver: Receiver
) -> None:
    name = _private_host_name()
    if name is None:
        pytest.skip("this machine's name does not resolve to a non-public address")
    port = receiver.url.split(":")[2].split("/")[0]
    status, created = create(live, f"http://{name}:{port}/hooks/fieldwork")
    assert status == 201, created  # a name is judged by what it resolves to, when sending
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    logged = wait_for_attempt(live, int(str(created["id"])))
    assert (logged["status"], logged["attempts"]) == ("failed", 1)
    assert str(logged["last_error"]).startswith(f"refused: {name} resolves to "), logged
    assert receiver.received == []
