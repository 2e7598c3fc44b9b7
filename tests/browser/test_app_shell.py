"""The app shell: installable, served offline by its service worker, small, bilingual, with a job board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import flows
from tests.browser.conftest import Field, needs_chromium, phone_context, shot
from tests.helpers import PASSWORD

APP = Path(__file__).resolve().parents[2] / "shopper_app"
SHELL_BUDGET = 150 * 1024
SHELL_SUFFIXES = {".html", ".css", ".js", ".webmanifest"}


def test_app_shell_stays_under_150_kb() -> None:
    files = sorted(p for p in APP.rglob("*") if p.suffix in SHELL_SUFFIXES)
    size = sum(p.stat().st_size for p in files)
    print(
        f"\napp shell: {size / 1024:.1f} KiB in {len(files)} files (budget 150 KiB, icons excluded)"
    )
    assert {p.name for p in files} >= {"index.html", "sw.js", "app.js", "styles.css"}
    assert size < SHELL_BUDGET, f"the app shell is {size} bytes"


def test_service_worker_precaches_every_shell_file() -> None:
    sw = (APP / "sw.js").read_text()
    shell = [
        p for p in APP.rglob("*") if p.suffix in SHELL_SUFFIXES | {".png"} and p.name != "sw.js"
    ]
    missing = [
        p.relative_to(APP).as_posix()
        for p in shell
        if f'"{p.relative_to(APP).as_posix()}"' not in sw
    ]
    assert not missing, f"sw.js does not precache {missing}"


@pytest.mark.browser
@needs_chromium
def test_service_worker_serves_the_app_shell_offline(
    page: Page, context: Any, field: Field
) -> None:
    flows.login(page)
    flows.wait_for_service_worker(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/app/sw.js")
    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
    )
    assert manifest["scope"] == "/app/"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}

    context.set_offline(True)
    page.reload()
    expect(page.locator("#sync")).to_have_attribute("data-state", "offline")
    expect(page.locator("#today")).to_be_visible()
    expect(page.locator(".banner")).to_contain_text("offline")
    expect(flows.card(page, field.assignment_id)).to_be_visible()  # the copy kept on the phone
    shot(page, "10-offline-shell")

    page.goto("/app/#/board")  # a navigation while offline is answered from the cache too
    expect(page.get_by_role("heading", name="Job board")).to_be_visible()


@pytest.mark.browser
@needs_chromium
def test_job_board_claim_in_dutch(browser: Any, field: Field) -> None:
    open_visit = field.assign(job_board=True, location=1)
    context = phone_context(browser, field, locale="nl-NL")
    try:
        page = context.new_page()
        page.goto("/app/#/login")
        page.get_by_label("Gebruikersnaam").fill("shopper-1")
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        expect(page.locator("#today")).to_contain_text("Vandaag")
        page.get_by_role("link", name="Vacaturebord").click()
        board_card = flows.card(page, open_visit)
        expect(board_card).to_be_visible()
        shot(page, "11-job-board-nl")
        board_card.get_by_role("button", name="Claimen").click()
        expect(flows.card(page, open_visit)).to_have_attribute("data-status", "accepted")
        assert (
            field.api("GET", f"/assignments/{open_visit}").json()["shopper_id"]
            == (field.world.ids["shopper-1"])
        )
    finally:
        context.close()
