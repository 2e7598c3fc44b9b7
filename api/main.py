"""The ASGI application: routers under /api/v1, problem+json errors, static apps last."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.accounts.router import router as accounts_router
from api.apikeys.limits import RateLimiter
from api.apikeys.router import router as apikeys_router
from api.appeals.router import router as appeals_router
from api.assignments.router import router as assignments_router
from api.assignments.service import expire_overdue
from api.clients.router import router as clients_router
from api.common import cancel_and_wait
from api.config import Settings, get_settings
from api.cxmap.router import router as cxmap_router
from api.db import Database
from api.errors import install_error_handlers
from api.events.bus import Hub
from api.events.router import router as events_router
from api.exports.router import router as exports_router
from api.journeys.router import router as journeys_router
from api.locations.router import router as locations_router
from api.outside_data.router import router as outside_data_router
from api.personas.router import router as personas_router
from api.progress.router import router as progress_router
from api.projects.router import router as projects_router
from api.results.router import router as results_router
from api.reviews.router import router as reviews_router
from api.reviews.service import reject_overdue_returns
from api.shoppers.router import router as shoppers_router
from api.visits.router import router as visits_router
from api.webhooks.delivery import DeliveryLoop
from api.webhooks.router import router as webhooks_router

log = logging.getLogger("fieldwork")
API_PREFIX = "/api/v1"
WEB_DIR = Path(__file__).resolve().parent / "web"


async def _expiry_sweeper(db: Database, interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(_sweep, db)
        except Exception:  # a failed sweep must not stop the next one
            log.exception("expiry sweep failed")


def _sweep(db: Database) -> None:
    with db.session() as session:
        expire_overdue(session)
        reject_overdue_returns(session)


# Each domain router is included straight into the app, in this order: FastAPI matches a request
# against the routes level by level, and one more level of nesting cost more than many endpoints'
# own work. The shopper app's writes, the most frequent requests, are matched first.
# tests/api/test_routes.py checks that no route hides a later one.
ROUTERS: tuple[APIRouter, ...] = (
    visits_router,
    accounts_router,
    clients_router,
    # Before projects_router: its GET /projects/{project_id} would take /projects/progress.
    progress_router,
    projects_router,
    locations_router,
    journeys_router,
    shoppers_router,
    assignments_router,
    results_router,
    reviews_router,
    outside_data_router,
    appeals_router,
    apikeys_router,
    exports_router,
    events_router,
    personas_router,
    cxmap_router,
    webhooks_router,
)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = Hub(
            database_url=app.state.db.engine.url.render_as_string(hide_password=False),
            queue_size=settings.events_queue_size,
            replay_size=settings.events_replay_size,
        )
        await hub.start()
        app.state.events = hub
        deliveries = None
        if settings.webhook_delivery:
            deliveries = DeliveryLoop(database=app.state.db, settings=settings)
            hub.watch(deliveries.notice)
            deliveries.start()
        sweeper = None
        if settings.expiry_interval_seconds:
            sweeper = asyncio.create_task(_expiry_sweeper(db, settings.expiry_interval_seconds))
        yield
        if sweeper is not None:
            await cancel_and_wait(sweeper)
        if deliveries is not None:
            await deliveries.stop()
        await hub.stop()
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Fieldwork",
        version="0.1.0",
        summary="Mystery-shopping and customer-journey research: capped assignments, field capture, QC, results.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.rate_limiter = RateLimiter()
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    if settings.shopper_app_dir.is_dir():
        app.mount(
            "/app", StaticFiles(directory=settings.shopper_app_dir, html=True), name="shopper_app"
        )
    # The manager console and the client dashboard: static pages over the API, sharing /web/common.
    for path, folder in (
        ("/web/common", "common"),
        ("/console", "console"),
        ("/dashboard", "dashboard"),
    ):
        app.mount(path, StaticFiles(directory=WEB_DIR / folder, html=True), name=folder)

    return app


def create_served_app(
    settings: Settings | None = None, *, database: Database | None = None
) -> FastAPI:
    """The app of a serving process (``fieldwork serve``; uvicorn's factory for its workers).

    The objects built so far live as long as the process: modules, models, schemas, the app.
    ``gc.freeze`` moves them out of the garbage collector's sight, so that its full collections,
    which a request's many short-lived objects set off, no longer walk them all
    (docs/visit-api.md, Throughput). Tests build many apps in one process and keep
    ``create_app``, whose objects can be collected."""
    app = create_app(settings, database=database)
    gc.freeze()
    return app
