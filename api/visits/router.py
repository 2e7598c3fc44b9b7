"""Field capture endpoints (docs/visit-api.md is the contract with the shopper app)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pydantic_core import to_json
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.accounts.models import Role, User
from api.db import Database
from api.deps import (
    CredentialDep,
    DatabaseDep,
    FieldUser,
    SessionDep,
    ShopperUser,
    bearer_user_id,
    get_app_settings,
    get_current_user,
    get_db,
    signed_in_as,
)
from api.errors import (
    FieldworkError,
    Invalid,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_field,
)
from api.visits import fresh, service
from api.visits.lane import Lane
from api.visits.media import LocalMediaStore, MediaStore
from api.visits.models import (
    BatchRequest,
    BatchResponse,
    BriefingPublic,
    MediaPublic,
    QuizAttemptRequest,
    QuizResultPublic,
    StepObservationPublic,
    StepWrite,
    ValidVisitBatch,
    VisitBatchRequest,
    VisitBatchResponse,
    VisitPublic,
    VisitStart,
    VisitSubmit,
)

# Multipart framing and the form fields beside the file.
UPLOAD_OVERHEAD = 64 * 1024


class VisitRoute(APIRoute):
    """Validation errors name the step (from the path) beside field and message."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                step = request.path_params.get("step_key")
                errors = [
                    {
                        "step": step,
                        "field": error_field(err),
                        "location": str(err.get("loc", ("body",))[0]),
                        "message": err.get("msg", "invalid"),
                    }
                    for err in exc.errors()
                ]
                detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
                raise Invalid(detail or "Invalid request", errors) from None

        return route_handler


Refusal = Callable[[Request, int], PayloadTooLarge | None]


def declared_length(request: Request) -> int | None:
    """The request's Content-Length, if it sends a valid one."""
    length = request.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def length_checked(refusal: Refusal) -> type[VisitRoute]:
    """A route class that refuses a request by its Content-Length before the body is read:
    ``refusal(request, length)`` is the 413 to answer, or None."""

    class LengthCheckedRoute(VisitRoute):
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def route_handler(request: Request) -> Response:
                length = declared_length(request)
                refused = None if length is None else refusal(request, length)
                if refused is not None:
                    raise refused
                return await handler(request)

            return route_handler

    return LengthCheckedRoute


def _upload_refusal(request: Request, length: int) -> PayloadTooLarge | None:
    limit = get_app_settings(request).max_upload_bytes
    return service.too_large(limit) if length > limit + UPLOAD_OVERHEAD else None


MediaUploadRoute = length_checked(_upload_refusal)

router = APIRouter(tags=["visits"], route_class=VisitRoute)

# Client users never see visits (only approved results, without shoppers): 403 before any lookup.


async def media_store(request: Request) -> MediaStore:
    """The app's media store; a deployment may set ``app.state.media_store`` (e.g. S3)."""
    store: MediaStore | None = getattr(request.app.state, "media_store", None)
    if store is None:
        store = LocalMediaStore(get_app_settings(request).data_dir / "media")
        request.app.state.media_store = store
    return store


MediaStoreDep = Annotated[MediaStore, Depends(media_store)]


def _json(
    content: Any, *, created: bool = False, headers: dict[str, str] | None = None
) -> Response:
    """A response serialised once (the route's response_model documents its shape).

    FastAPI would dump a returned model to Python, validate that against the response model and
    serialise it again; on the field-capture routes that was a large part of the work.
    """
    return Response(
        to_json(content),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        media_type="application/json",
        headers=headers,
    )


MINIMAL = "return=minimal"


def wants_minimal(request: Request) -> bool:
    """Whether the request says ``Prefer: return=minimal`` (RFC 7240): the batch's results then
    carry each operation's status (and problem) without the body its single request would have
    answered, which the phone's outbox does not read."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            name, _, value = preference.split(";")[0].partition("=")
            if name.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
                return True
    return False


def _batch_json(content: dict[str, Any], *, minimal: bool) -> Response:
    """A batch's answer; with ``minimal`` its results carry no bodies (Preference-Applied)."""
    if not minimal:
        return _json(content)
    for result in content["results"]:
        result["body"] = None
    return _json(content, headers={"Preference-Applied": MINIMAL})


# ---------------------------------------------------------------- briefing


@router.get("/assignments/{assignment_id}/briefing")
def read_briefing(assignment_id: int, session: SessionDep, user: FieldUser) -> BriefingPublic:
    """The assignment's journey and briefing (quiz without answers), and the quiz status."""
    assignment = service.get_assignment(session, user=user, assignment_id=assignment_id)
    return service.briefing(session, assignment=assignment)


@router.post("/assignments/{assignment_id}/briefing/quiz", status_code=status.HTTP_201_CREATED)
def take_quiz(
    assignment_id: int, data: QuizAttemptRequest, session: SessionDep, user: ShopperUser
) -> QuizResultPublic:
    """Answer the briefing's quiz; the visit can start once it is passed."""
    assignment = service.own_assignment(session, shopper=user, assignment_id=assignment_id)
    return service.attempt_quiz(session, assignment=assignment, shopper=user, answers=data.answers)


# ---------------------------------------------------------------- visit


@router.post(
    "/assignments/{assignment_id}/visit",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitPublic,
)
def start_visit(
    assignment_id: int, data: VisitStart, db: DatabaseDep, user: ShopperUser
) -> Response:
    """Check in: start the visit of an accepted assignment (a resend returns the visit)."""
    with db.session() as session:
        assignment = service.own_assignment(session, shopper=user, assignment_id=assignment_id)
        visit, created = service.start_visit(
            session, assignment=assignment, shopper=user, data=data
        )
        rows = service.VisitRows((), ()) if created else None  # nothing written to it yet
        public = service.visit_public(session, visit=visit, assignment=assignment, rows=rows)
    return _json(public, created=created)


@router.get("/assignments/{assignment_id}/visit")
def read_assignment_visit(assignment_id: int, session: SessionDep, user: FieldUser) -> VisitPublic:
    """The assignment's visit with its steps and media."""
    assignment = service.get_assignment(session, user=user, assignment_id=assignment_id)
    visit = service.visit_of_assignment(session, assignment=assignment)
    return service.visit_public(session, visit=visit, assignment=assignment)


@router.get("/visits/{visit_id}")
def read_visit(visit_id: int, session: SessionDep, user: FieldUser) -> VisitPublic:
    """A visit with its steps and media (its shopper or the project's managers)."""
    visit, assignment = service.get_visit(session, user=user, visit_id=visit_id)
    return service.visit_public(session, visit=visit, assignment=assignment)


@router.put("/visits/{visit_id}/steps/{step_key}", response_model=StepObservationPublic)
def write_step(
    visit_id: int, step_key: str, data: StepWrite, db: DatabaseDep, user: ShopperUser
) -> Response:
    """Write one step's observation (create or replace); a resend changes nothing."""
    write = service.step_input(step_key, data)  # before the write transaction begins
    with db.session() as session:
        visit = service.own_visit_ref(session, shopper=user, visit_id=visit_id)
        row, _ = service.write_step(session, visit=visit, write=write, actor=user)
    return _json(service.step_body(row))


@router.post("/visits/{visit_id}/submit", response_model=VisitPublic)
def submit_visit(visit_id: int, data: VisitSubmit, db: DatabaseDep, user: ShopperUser) -> Response:
    """Check out: submit the complete visit (422 lists everything still missing)."""
    with db.session() as session:
        visit, assignment = service.own_visit(session, shopper=user, visit_id=visit_id)
        service.submit(session, visit=visit, assignment=assignment, data=data, actor=user)
        public = service.visit_public(session, visit=visit, assignment=assignment)
    return _json(public)


MAX_BATCH_FILES = 20
# The operations part of a multipart whole-visit batch (200 step writes fit many times over).
MAX_OPERATIONS_BYTES = 4 * 1024 * 1024
_BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/VisitBatchRequest"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["operations"],
                "properties": {
                    "operations": {
                        "type": "string",
                        "description": "VisitBatchRequest as JSON; each media op's `file` names "
                        "one of the other parts, which holds the photo's bytes.",
                    }
                },
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        },
    },
}


@dataclass
class _BatchBody:
    """A whole-visit batch as read from the request, not yet checked (``_batch_request``)."""

    operations: str | bytes | None  # None: the body is neither JSON nor multipart
    files: dict[str, bytes] = field(default_factory=dict)
    stray_field: str | None = None  # a multipart form field other than operations


async def _read_batch(request: Request, limit: int) -> _BatchBody:
    """Read a whole-visit batch's body (JSON or multipart) in the event loop; only a broken
    multipart body, or one with too many parts, is refused here (400, Starlette's message)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return _BatchBody(await request.body())
    if ctype != "multipart/form-data":
        return _BatchBody(None)
    body = _BatchBody("")
    async with request.form(
        max_files=MAX_BATCH_FILES, max_fields=8, max_part_size=MAX_OPERATIONS_BYTES
    ) as form:
        for name, value in form.multi_items():
            if not isinstance(value, str):
                body.files[name] = await value.read(limit + 1)
            elif name == "operations":
                body.operations = value
            else:
                body.stray_field = body.stray_field or name
    return body


def _batch_request(body: _BatchBody) -> ValidVisitBatch | VisitBatchRequest:
    """The batch's operations (415 or 422 when the body does not hold them); CPU only."""
    if body.operations is None:
        raise UnsupportedMediaType(
            "Send the batch as application/json, or as multipart/form-data when it has photos."
        )
    if body.stray_field is not None:
        raise Invalid(
            f"Unexpected form field {body.stray_field!r}: a whole-visit batch has an "
            "operations field and file parts.",
            [{"step": None, "field": body.stray_field, "message": "is not expected"}],
        )
    if not body.operations:
        raise Invalid(
            "A multipart whole-visit batch needs an operations field.",
            [{"step": None, "field": "operations", "message": "is required"}],
        )
    try:
        return ValidVisitBatch.model_validate_json(body.operations)
    except ValidationError:
        pass  # read again, operation by operation, for each one's own refusal
    try:
        return VisitBatchRequest.model_validate_json(body.operations)
    except ValidationError as err:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _batch_refusal(request: Request, length: int) -> PayloadTooLarge | None:
    limit = get_app_settings(request).max_upload_bytes * MAX_BATCH_FILES
    limit += MAX_OPERATIONS_BYTES + UPLOAD_OVERHEAD
    if length <= limit:
        return None
    return PayloadTooLarge(f"A batch may be at most {limit:,} bytes.", limit=limit)


VisitBatchRoute = length_checked(_batch_refusal)


# Whole-visit batches of one process take turns in two lanes, a group at a time (``Lane``): a
# visit's usual batch (its writes and a photo or a few, up to LIGHT_BATCH_BYTES) in one, and
# larger ones (many or large photos to re-encode) in the other, one by one, so that no large one
# holds up the usual ones. One thread a lane: the threads share one interpreter, and each further
# thread parsing and checking at once cost every batch CPU and took the interpreter from the one
# holding the write slot (two threads in one lane: 10-12 ms of server CPU a visit against
# 8.5-9.7 ms with one; docs/visit-api.md, Throughput). A group shares its read transaction and
# the write transaction of its fresh visits. The deployment's processes run batches side by side.
LIGHT_BATCH_BYTES = 1024 * 1024
LIGHT_GROUP = 16  # batches; a group of usual ones takes well under 100 ms of CPU
BatchLane = Lane["_BatchJob", Response]


@dataclass
class _BatchJob:
    """A whole-visit batch whose token and body were read in the event loop."""

    assignment_id: int
    user_id: int
    body: _BatchBody
    minimal: bool
    limit: int
    store: MediaStore


def _batch_lane(request: Request) -> BatchLane:
    """The lane of this batch (by its declared length), made on first use in each event loop."""
    lanes: dict[str, BatchLane] | None = getattr(request.app.state, "batch_lanes", None)
    if lanes is None or lanes["light"].loop is not asyncio.get_running_loop():
        db, writer = get_db(request), _group_writer(request)

        def run(jobs: list[_BatchJob]) -> list[Response | Exception]:
            return _run_batches(db, writer, jobs)

        lanes = request.app.state.batch_lanes = {
            "light": Lane(run, max_group=LIGHT_GROUP),
            "large": Lane(run, max_group=1),
        }
    length = declared_length(request)
    return lanes["light" if length is None or length <= LIGHT_BATCH_BYTES else "large"]


def _group_writer(request: Request) -> fresh.GroupWriter:
    """The app's writer of fresh visits, made on first use (in the event loop's thread)."""
    writer: fresh.GroupWriter | None = getattr(request.app.state, "fresh_writer", None)
    if writer is None:
        writer = request.app.state.fresh_writer = fresh.GroupWriter(get_db(request))
    return writer


async def run_visit_batch(
    assignment_id: int, request: Request, credential: CredentialDep, store: MediaStoreDep
) -> Response:
    """Apply a visit's queued writes (check-in, steps, photos, submit) in order, in one request.

    JSON, or multipart when it carries photos. Each operation gets its own result, with the
    status its single request would have answered; a step, photo or submit before the visit is
    started is 404. ``Prefer: return=minimal`` leaves out the results' bodies (a smaller
    answer for a phone on a slow network; the outbox sends it)."""
    settings = get_app_settings(request)
    if credential is not None and credential.kind == "key":
        # API keys only read: the general check refuses them (401 or 403).
        await run_in_threadpool(get_current_user, request, settings, credential)
    user_id = bearer_user_id(credential, settings)  # 401 before the body is read
    limit = settings.max_upload_bytes
    body = await _read_batch(request, limit)
    job = _BatchJob(assignment_id, user_id, body, wants_minimal(request), limit, store)
    return await _batch_lane(request).submit(job)


def _run_batches(
    db: Database, writer: fresh.GroupWriter, jobs: list[_BatchJob]
) -> list[Response | Exception]:
    """A lane's group: every batch read, checked and, if it is a fresh visit, planned in one
    read transaction; the fresh visits stored together (``GroupWriter``); the others, and a
    plan that no longer held, the general way, each in a transaction of its own. Each batch
    gets its own answer, or the exception its request raises."""
    refusals: dict[int, Exception] = {}
    readings: dict[int, tuple[User, list[service.Parsed]]] = {}
    plans: dict[int, fresh.FreshVisit] = {}
    pending = deque(range(len(jobs)))
    while pending:
        with db.session(read_only=True) as session:
            while pending:
                index = pending.popleft()
                try:
                    readings[index], plan = _plan_batch(session, jobs[index])
                except (FieldworkError, RequestValidationError) as err:
                    refusals[index] = err  # the batch's own refusal
                    continue
                except Exception as err:
                    # The transaction may be unusable now (PostgreSQL): a new one for the rest.
                    refusals[index] = err
                    session.rollback()
                    break
                if plan is not None:
                    plans[index] = plan
    stored = dict(zip(plans, writer.store_all(list(plans.values())), strict=True))
    outcomes: list[Response | Exception] = []
    for index, job in enumerate(jobs):
        if index in refusals:
            outcomes.append(refusals[index])
            continue
        try:
            visit_id = stored.get(index)
            if visit_id is not None:
                answers = fresh.results(plans[index], visit_id, minimal=job.minimal)
                content: dict[str, Any] = {"visit_id": visit_id, "results": answers}
            else:
                content = _general_batch(db, job, *readings[index])
            outcomes.append(_batch_json(content, minimal=job.minimal))
        except Exception as err:
            outcomes.append(err)
    return outcomes


def _general_batch(
    db: Database, job: _BatchJob, user: User, operations: list[service.Parsed]
) -> dict[str, Any]:
    """A batch applied operation by operation, in a transaction of its own."""
    with db.session() as session:
        assignment = service.own_assignment(session, shopper=user, assignment_id=job.assignment_id)
        visit, results = service.run_visit_batch(
            session, assignment=assignment, operations=operations, actor=user, store=job.store
        )
    return {"visit_id": visit.id if visit else None, "results": results}


def _plan_batch(
    session: Session, job: _BatchJob
) -> tuple[tuple[User, list[service.Parsed]], fresh.FreshVisit | None]:
    """The batch's shopper and operations, and its plan if it is a fresh visit (else None)."""
    user = signed_in_as(session.connection(), job.user_id, Role.shopper)
    data = _batch_request(job.body)
    operations = service.parse_visit_operations(data.operations, job.body.files, limit=job.limit)
    planned = None
    if fresh.looks_fresh(operations):
        assignment = fresh.own_assignment(session, shopper=user, assignment_id=job.assignment_id)
        if assignment is not None:
            planned = fresh.plan(
                session, assignment=assignment, operations=operations, actor=user, store=job.store
            )
    return (user, operations), planned


router.add_api_route(
    "/assignments/{assignment_id}/visit/batch",
    run_visit_batch,
    methods=["POST"],
    response_model=VisitBatchResponse,
    route_class_override=VisitBatchRoute,
    openapi_extra={"requestBody": _BATCH_BODY},
    responses={
        413: {"description": "The request is larger than any batch may be."},
        415: {"description": "Neither JSON nor multipart."},
    },
)


@router.post("/visits/{visit_id}/batch", response_model=BatchResponse)
def run_batch(
    visit_id: int, data: BatchRequest, request: Request, db: DatabaseDep, user: ShopperUser
) -> Response:
    """Apply several queued writes of one visit in order, each with its own result
    (``Prefer: return=minimal``: without the bodies)."""
    operations = service.parse_operations(data.operations)  # before the write transaction
    with db.session() as session:
        visit, assignment = service.own_visit(session, shopper=user, visit_id=visit_id)
        results = service.run_batch(
            session, visit=visit, assignment=assignment, operations=operations, actor=user
        )
    return _batch_json({"results": results}, minimal=wants_minimal(request))


# ---------------------------------------------------------------- media


def upload_media(
    visit_id: int,
    request: Request,
    user: ShopperUser,
    store: MediaStoreDep,
    file: Annotated[UploadFile, File(description="The photo; its type is read from its bytes.")],
    client_uuid: Annotated[UUID, Form()],
    step_key: Annotated[str, Form(max_length=64)],
    question_key: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Upload a photo of a step (multipart); it is verified, re-encoded and stored by SHA-256."""
    limit = get_app_settings(request).max_upload_bytes
    upload_sha256, image = service.read_photo(file.file.read(limit + 1), limit=limit)
    with get_db(request).session() as session:
        visit, assignment = service.own_visit(session, shopper=user, visit_id=visit_id)
        media, created = service.store_media(
            session,
            visit=visit,
            assignment=assignment,
            client_uuid=str(client_uuid),
            step_key=step_key,
            question_key=question_key or None,
            upload_sha256=upload_sha256,
            image=image,
            store=store,
        )
        public = service.media_public(media)
    return _json(public, created=created)


router.add_api_route(
    "/visits/{visit_id}/media",
    upload_media,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=MediaPublic,
    route_class_override=MediaUploadRoute,
    responses={413: {"description": "The file is larger than FIELDWORK_MAX_UPLOAD_BYTES."}},
)


@router.get(
    "/media/{client_uuid}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def download_media(
    client_uuid: UUID, session: SessionDep, user: FieldUser, store: MediaStoreDep
) -> Response:
    """A stored photo (the visit's shopper and the project's managers)."""
    media = service.media_for_download(session, user=user, client_uuid=str(client_uuid))
    return Response(
        store.get(media.storage_key),
        media_type=media.content_type,
        headers={
            "ETag": f'"{media.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
