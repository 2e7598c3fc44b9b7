"""What a shopper does in the app, step by step, for the browser tests."""

from __future__ import annotations

import struct
import zlib
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from tests.helpers import PASSWORD


def png(width: int = 2400, height: int = 1200) -> bytes:
    """A real PNG (a colour gradient), larger than the app's 1600 px limit so it is downscaled."""
    row = bytes(b for x in range(width) for b in (x * 255 // width, 80, 255 - x * 255 // width))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


def wait_for_service_worker(page: Page) -> None:
    """Until the service worker controls the page (its shell is cached by then)."""
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def login(page: Page, username: str = "shopper-1") -> None:
    page.goto("/app/#/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#today")).to_be_visible()


def card(page: Page, assignment_id: int) -> Any:
    return page.locator(f'li.assignment[data-id="{assignment_id}"]')


def accept(page: Page, assignment_id: int) -> None:
    card(page, assignment_id).get_by_role("button", name="Accept").click()
    expect(card(page, assignment_id)).to_have_attribute("data-status", "accepted")


def pass_quiz(page: Page, assignment_id: int) -> None:
    card(page, assignment_id).get_by_role("link", name="Start").click()
    quiz = page.locator("#quiz")
    quiz.get_by_text("Under 300 euros").click()
    quiz.get_by_text("No, never").click()
    quiz.get_by_role("button", name="Check my answers").click()
    expect(quiz).to_contain_text("Quiz passed")


def check_in(page: Page) -> None:
    page.get_by_role("link", name="Start the visit").click()
    page.locator("#checkin").click()
    expect(page.locator("#progress")).to_have_attribute("data-step", "1")


def begin_visit(page: Page, assignment_id: int) -> None:
    """Sign in, accept the assignment, pass its quiz and check in: the visit's first step is up."""
    login(page)
    accept(page, assignment_id)
    pass_quiz(page, assignment_id)
    check_in(page)


def probe(page: Page, choice: str | None) -> None:
    """Run the step's gut reaction: tap `choice`, or let it time out when None."""
    page.get_by_role("button", name="Start gut reaction").click()
    page.get_by_role("button", name="Ready").click()
    if choice is not None:
        overlay = page.locator('.probe[data-phase="stimulus"]')
        overlay.locator(f'[data-choice="{choice}"]').click()
    expect(page.locator(".probe")).to_have_count(0, timeout=5000)
    expect(page.locator('[data-widget="probes"]')).to_have_attribute("data-done", "true")


def feel(
    page: Page, valence: int, *, arousal: int | None = None, emotion: str | None = None
) -> None:
    box = page.locator('[data-widget="conscious"]')
    box.locator(f'label.face[data-valence="{valence}"]').click()
    if arousal is not None or emotion is not None:
        box.locator("summary").click()
    if arousal is not None:
        box.locator(f'[name$="-arousal"][value="{arousal}"]').locator("..").click()
    if emotion is not None:
        box.locator("select").select_option(emotion)


def question(page: Page, key: str) -> Any:
    return page.locator(f'fieldset.question[data-question="{key}"]').first


def next_step(page: Page, expected_step: int | None) -> None:
    page.locator("#next").click()
    if expected_step is None:
        expect(page.get_by_role("heading", name="Review")).to_be_visible()
    else:
        expect(page.locator("#progress")).to_have_attribute("data-step", str(expected_step))


def entrance_step(page: Page) -> None:
    question(page, "greeted").locator('label.seg[data-value="yes"]').click()
    question(page, "friendliness").get_by_text("Not applicable").click()
    question(page, "seconds_waited").locator("input").fill("45")
    probe(page, "1")
    feel(page, 2, arousal=4, emotion="joy")


def advice_step(page: Page) -> None:
    question(page, "alternatives").get_by_text("One or more").click()
    question(page, "topics").get_by_text("Battery life").click()
    question(page, "topics").get_by_text("Warranty").click()
    question(page, "employee").locator("textarea").fill("Tall man, badge 'Sam', blue shirt.")
    probe(page, "happy")
    feel(page, -1)


def till_step(page: Page, photo: bytes) -> None:
    question(page, "receipt_photo").locator("input[type=file]").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": photo}]
    )
    expect(question(page, "receipt_photo").locator(".thumb img")).to_have_count(1)
    question(page, "served_at").get_by_role("button", name="Now").click()
    probe(page, None)  # 300 ms deadline: let it time out, it is recorded anyway
    feel(page, 3)


def submit(page: Page) -> None:
    page.locator("#submit").click()
    expect(page.get_by_role("heading", name="Visit submitted")).to_be_visible()


def walk_and_submit(page: Page, *, from_step: int = 1) -> None:
    """Answers the steps from ``from_step`` on (the till's with a photo), then submits."""
    if from_step <= 1:
        entrance_step(page)
        next_step(page, 2)
    advice_step(page)
    next_step(page, 3)
    till_step(page, png())
    next_step(page, None)
    submit(page)


def outbox(page: Page) -> list[dict[str, Any]]:
    """The app's outbox, as the page sees it (without the photo blobs)."""
    return list(
        page.evaluate(
            """async () => (await (await import("./outbox.js")).all())
                .map(({blob, ...op}) => ({...op, blobSize: blob ? blob.size : null}))"""
        )
    )


def wait_saved(page: Page, text: str) -> None:
    """Until the visit kept in IndexedDB holds ``text`` (saving on input is asynchronous)."""
    # The predicate must answer synchronously: each poll starts a read and checks the last one.
    page.wait_for_function(
        """(text) => {
            import("./db.js").then((db) => db.getAll("visits"))
                .then((rows) => { window.__fieldworkSaved = JSON.stringify(rows); });
            return (window.__fieldworkSaved || "").includes(text);
        }""",
        arg=text,
        polling=100,
    )


def wait_all_sent(page: Page, timeout: float = 15_000) -> None:
    """Until the outbox is empty and nothing was refused."""
    sync = page.locator("#sync")
    try:
        expect(sync).to_have_attribute("data-state", "online", timeout=timeout)
    except AssertionError as error:
        raise AssertionError(f"outbox not drained: {outbox(page)}") from error
    expect(sync).to_have_attribute("data-pending", "0")


def record_requests(page: Page) -> list[Request]:
    """Every request the page makes from now on, in order."""
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    return requests


def visit_writes(requests: list[Request]) -> list[tuple[str, str]]:
    """The visit writes among ``requests``: (method, path under /api/v1) of each, in order."""
    paths = [(r.method, urlsplit(r.url).path.removeprefix("/api/v1")) for r in requests]
    return [(method, path) for method, path in paths if method != "GET" and "/visit" in path]


def batch_response(request: Request) -> dict[str, Any]:
    """What the server answered a whole-visit batch request: its visit id and a result per op."""
    # Playwright holds no body for a request with file parts, so the answer shows what was sent.
    response = request.response()
    assert response is not None and response.status == 200
    return dict(response.json())
