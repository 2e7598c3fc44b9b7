"""Browser tests: the shopper app in Debian's headless Chromium on a phone-sized screen.

Each test gets a live server on a fresh database, a project whose journey covers every question
type and both emotion measures, a shopper with an assignment, and a fresh browser context (its
own IndexedDB, cache and service worker) with geolocation granted near the shop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.db import Database
from api.journeys.service import load_version
from api.projects.models import Project
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, World

CHROMIUM = Path(os.environ.get("FIELDWORK_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1440, "height": 900}
SHOP = {"latitude": 52.0, "longitude": 4.0}


try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - the test extra installs it
    sync_api = None

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() or sync_api is None,
    reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium) and Playwright for Python",
)

# Three steps in two phases: every question type, N/A, evidence, a valence and a face probe.
JOURNEY = """\
key: browser_visit
name: Phone shop visit
phases:
  - key: orientation
    name: Orientation
    steps:
      - key: entrance
        name: Enter the shop
        touchpoint: store
        channel: physical
        questions:
          - {key: greeted, text: "Greeted within a minute?", text_nl: "Binnen een minuut begroet?", type: yes_no}
          - key: friendliness
            text: How friendly was the greeting?
            type: scale
            allow_na: true
            scale: {min: 1, max: 5, labels: {1: not at all, 5: very}}
          - {key: seconds_waited, text: "Seconds waited?", type: number, weight: 0, number: {min: 0, max: 600}}
        emotions:
          probes: [{stimulus: step, kind: valence}]
  - key: purchase
    name: Purchase
    steps:
      - key: advice
        name: Ask for advice
        touchpoint: store
        channel: physical
        questions:
          - key: alternatives
            text: How many alternatives were shown?
            type: single_choice
            options: [{key: none, label: None, score: 0}, {key: some, label: One or more, score: 1}]
          - key: topics
            text: Which topics came up unasked?
            type: multi_choice
            options: [{key: battery, label: Battery life, score: 0.5}, {key: warranty, label: Warranty, score: 0.5}]
          - {key: employee, text: "Describe the employee.", type: text, min_length: 10}
        emotions:
          conscious: true
          probes: [{stimulus: "word:helpful", kind: face, deadline_ms: 2000}]
      - key: till
        name: Pay at the till
        touchpoint: store
        channel: physical
        questions:
          - {key: receipt_photo, text: "Photo of the receipt", type: photo, evidence_required: true}
          - {key: served_at, text: "Served at what time?", type: time}
        emotions:
          probes: [{stimulus: step_photo, kind: valence, deadline_ms: 300}]
briefing:
  scenario: You want a new phone for under 300 euros.
  persona: {name: Careful buyer, description: Asks about battery life.}
  dos: [Pay with your own card.]
  donts: [Never photograph staff.]
  step_instructions: {till: Keep the receipt.}
  quiz:
    pass_mark: 100
    max_attempts: 5
    questions:
      - key: budget
        text: What is your budget?
        options: [{key: low, label: Under 300 euros}, {key: high, label: Over 300 euros}]
        correct: low
      - key: photos
        text: May you photograph staff?
        options: [{key: "yes", label: "Yes"}, {key: "no", label: "No, never"}]
        correct: "no"
"""

STEPS = ("entrance", "advice", "till")


@dataclass
class Field:
    """The seeded world of one test, and an API client on the live server."""

    url: str
    db: Database
    world: World
    assignment_id: int

    def token(self, username: str) -> dict[str, str]:
        response = httpx.post(
            f"{self.url}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def api(self, method: str, path: str, user: str = "mgr-a", **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=self.token(user), timeout=10, **kwargs
        )

    def assign(self, *, job_board: bool = False, location: int = 0) -> int:
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "location_id": self.world.ids[f"Alpha/loc{location}"],
            "window_start": (now - timedelta(hours=1)).isoformat(),
            "window_end": (now + timedelta(days=2)).isoformat(),
            "notes": "Ask for the Pixel and the iPhone.",
        }
        if not job_board:
            body["shopper_id"] = self.world.ids["shopper-1"]
        response = self.api("POST", f"/projects/{self.world.ids['Alpha']}/assignments", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def visit(self) -> dict[str, Any]:
        response = self.api("GET", f"/assignments/{self.assignment_id}/visit")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def field(db: Database, live_server: LiveServer) -> Field:
    world = World(db)
    world.project("Alpha", client="Acme", manager="mgr-a")
    with db.session() as session:
        project = session.get(Project, world.ids["Alpha"])
        assert project is not None
        version = load_version(
            session,
            project=project,
            source=JOURNEY,
            filename="browser.yaml",
            publish=True,
            actor=None,
        )
        # A second journey does not take over by itself; this project measures this one.
        project.journey_version_id = version.id
        session.add(project)
    world.shopper("shopper-1")
    field = Field(url=live_server.url, db=db, world=world, assignment_id=0)
    field.assignment_id = field.assign()
    return field


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    assert sync_api is not None
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def phone_context(browser: Any, field: Field, *, locale: str = "en-GB") -> Any:
    context = browser.new_context(
        base_url=field.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        geolocation={**SHOP, "accuracy": 12},
        permissions=["geolocation"],
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Any, field: Field) -> Iterator[Any]:
    context = phone_context(browser, field)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


@contextmanager
def desktop_page(
    browser: Any, base_url: str, *, timeout_ms: int = 15_000, **options: Any
) -> Iterator[Any]:
    """A page in a fresh desktop-sized context; an uncaught error in the page fails the test."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, **options)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
