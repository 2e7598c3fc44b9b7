"""QC on submit: the visit's stored rows become scoring inputs, ``scoring.run_qc`` flags them.

Every (re)submission is a new run; the flags of earlier runs stay as history and the latest run
is summarised in ``QcSummary`` for the review queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

import scoring
from api.assignments.models import Assignment
from api.common import utcnow
from api.locations.models import Location
from api.projects.models import Project, QcConfig
from api.qc.models import FlagCounts, FlagPublic, QcFlag, QcRun, QcRunPublic
from api.reviews.outcomes import auto_approve
from api.visits.models import Media, StepObservation, Visit
from briefings import JourneyDefinition


def visit_data(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    steps: Iterable[Any] | None = None,
    media: Iterable[tuple[str, str]] | None = None,
) -> scoring.VisitData:
    """The visit as ``scoring`` sees it; ``steps`` (rows with the step columns as attributes)
    and ``media`` ((client_uuid, sha256) pairs) when the caller has loaded them already."""
    assert visit.id is not None and assignment.shopper_id is not None
    rows = steps
    if rows is None:
        rows = session.exec(select(StepObservation).where(StepObservation.visit_id == visit.id))
    observations = [
        scoring.StepObservation(
            step_key=row.step_key,
            answers=row.answers,
            started_at=row.started_at,
            ended_at=row.ended_at,
            conscious=row.conscious,
            probes=row.probes,
            notes=row.notes,
            evidence=row.evidence,
        )
        for row in rows
    ]
    if media is None:
        media = session.exec(
            select(Media.client_uuid, Media.sha256).where(Media.visit_id == visit.id)
        ).all()
    return scoring.VisitData(
        visit_id=visit.id,
        shopper_id=assignment.shopper_id,
        location_id=assignment.location_id,
        observations=observations,
        checkin_at=visit.started_at,
        checkin_lat=visit.checkin_latitude,
        checkin_lon=visit.checkin_longitude,
        checkin_accuracy_m=visit.checkin_accuracy_m,
        submitted_at=visit.submitted_at,
        window_start=assignment.window_start,
        window_end=assignment.window_end,
        media_hashes=dict(media),
    )


_media, _runs, _flags = (
    Media.__table__,  # type: ignore[attr-defined]
    QcRun.__table__,  # type: ignore[attr-defined]
    QcFlag.__table__,  # type: ignore[attr-defined]
)
_projects, _locations = Project.__table__, Location.__table__  # type: ignore[attr-defined]
# Statements built once: QC runs inside every submission's write transaction.
_HASHES_ELSEWHERE = (
    sa.select(_media.c.sha256, sa.func.min(_media.c.visit_id))
    .where(
        _media.c.sha256.in_(sa.bindparam("hashes", expanding=True)),
        _media.c.visit_id != sa.bindparam("visit_id"),
    )
    .group_by(_media.c.sha256)
)
_PROJECT_AND_LOCATION = (
    sa.select(
        _projects.c.qc,
        _locations.c.latitude,
        _locations.c.longitude,
        _locations.c.geofence_radius_m,
        _locations.c.kind,
    )
    .join_from(_locations, _projects, _projects.c.id == _locations.c.project_id)
    .where(_locations.c.id == sa.bindparam("location_id"))
)
_CURRENT_RUN = sa.select(_runs.c.id, _runs.c.run).where(
    _runs.c.visit_id == sa.bindparam("visit_id"), _runs.c.current
)
_NEW_RUN, _NEW_FLAG = sa.insert(_runs), sa.insert(_flags)
_RETIRE_RUN = sa.update(_runs).where(_runs.c.id == sa.bindparam("run_id")).values(current=False)


def hashes_elsewhere(session: Session, *, visit_id: int, hashes: Sequence[str]) -> dict[str, int]:
    """sha256 → the first other visit holding a photo with that hash."""
    if not hashes:
        return {}
    rows = session.execute(_HASHES_ELSEWHERE, {"hashes": sorted(set(hashes)), "visit_id": visit_id})
    return {row[0]: row[1] for row in rows}


def run_qc_on_submit(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    journey: JourneyDefinition,
    steps: Iterable[Any] | None = None,
    media: Iterable[tuple[str, str]] | None = None,
) -> list[scoring.Flag]:
    """Check a just-submitted visit, store the run, and auto-approve it when the project allows.

    ``steps`` and ``media`` as for ``visit_data``.
    """
    assert visit.id is not None
    flags, auto = run_qc_and_store(
        session, visit=visit, assignment=assignment, journey=journey, steps=steps, media=media
    )
    if auto and not scoring.needs_review(flags):
        auto_approve(session, visit_id=visit.id, assignment=assignment)
    return flags


def run_qc_and_store(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    journey: JourneyDefinition,
    steps: Iterable[Any] | None = None,
    media: Iterable[tuple[str, str]] | None = None,
) -> tuple[list[scoring.Flag], bool]:
    """Check the visit as stored now and keep the flags as its new current run; also returns
    whether the project auto-approves clean visits. A submit runs it, and so does an amendment
    on appeal (the corrected answers may raise or clear flags)."""
    assert visit.id is not None
    data = visit_data(session, visit=visit, assignment=assignment, steps=steps, media=media)
    flags, auto = check_visit(session, data=data, journey=journey)
    store_run(session, visit_id=visit.id, flags=flags)
    return flags, auto


def check_visit(
    session: Session,
    *,
    data: scoring.VisitData,
    journey: JourneyDefinition,
    other_visit_hashes: Mapping[str, int] | None = None,
) -> tuple[list[scoring.Flag], bool]:
    """The QC flags of a visit (reads only), and whether its project auto-approves clean
    visits. ``other_visit_hashes``: as ``scoring.run_qc`` takes them, if the caller knows them
    (else they are read)."""
    # On the connection: the project's and location's rows, which no pending change touches,
    # without the session's flush and ORM execution.
    db = session.connection()
    found = db.execute(_PROJECT_AND_LOCATION, {"location_id": data.location_id}).one()
    config = QcConfig.model_validate(found.qc or {})
    location = scoring.LocationData(
        latitude=found.latitude,
        longitude=found.longitude,
        geofence_radius_m=float(found.geofence_radius_m),
        kind=str(found.kind),
    )
    flags = scoring.run_qc(
        journey,
        data,
        location,
        settings=config.settings,
        other_visit_hashes=hashes_elsewhere(
            session, visit_id=data.visit_id, hashes=list(data.media_hashes.values())
        )
        if other_visit_hashes is None
        else other_visit_hashes,
    )
    return flags, config.auto_approve


def store_run(session: Session, *, visit_id: int, flags: list[scoring.Flag]) -> None:
    """Keep ``flags`` as the visit's new current QC run."""
    previous = session.execute(_CURRENT_RUN, {"visit_id": visit_id}).first()
    if previous is not None:
        session.execute(_RETIRE_RUN, {"run_id": previous.id})
    run = previous.run + 1 if previous is not None else 1
    store_runs(session, [(visit_id, run, flags)])


def run_rows(
    visit_id: int | None, run: int, flags: list[scoring.Flag], now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A QC run's row (the visit's current one) and its flags' rows."""
    counts = Counter(flag.severity for flag in flags)
    run_row = {
        "visit_id": visit_id,
        "run": run,
        "current": True,
        "worst_severity": scoring.worst_severity(flags),
        "info_count": counts[scoring.Severity.info],
        "warn_count": counts[scoring.Severity.warn],
        "fail_count": counts[scoring.Severity.fail],
        "created_at": now,
    }
    flag_rows = [
        {
            "visit_id": visit_id,
            "run": run,
            "rule": str(flag.rule),
            "severity": flag.severity,
            "step_key": flag.step_key,
            "question_key": flag.question_key,
            "message": flag.message[:2000],
            "created_at": now,
        }
        for flag in flags
    ]
    return run_row, flag_rows


def store_runs(
    session: Session | sa.Connection, runs: Sequence[tuple[int, int, list[scoring.Flag]]]
) -> None:
    """Insert QC runs, each (visit id, run number, flags), as their visits' current ones (the
    caller has retired any earlier run)."""
    now = utcnow()
    new_runs, new_flags = [], []
    for visit_id, run, flags in runs:
        run_row, flag_rows = run_rows(visit_id, run, flags, now)
        new_runs.append(run_row)
        new_flags += flag_rows
    if new_runs:
        session.execute(_NEW_RUN, new_runs)
    if new_flags:
        session.execute(_NEW_FLAG, new_flags)


def _public(row: QcFlag) -> FlagPublic:
    return FlagPublic.model_validate(row, from_attributes=True)


def flag_runs(session: Session, *, visit_id: int) -> list[QcRunPublic]:
    """Every QC run of the visit with its flags, the latest first."""
    runs = session.exec(
        select(QcRun).where(QcRun.visit_id == visit_id).order_by(col(QcRun.run).desc())
    ).all()
    flags = session.exec(
        select(QcFlag).where(QcFlag.visit_id == visit_id).order_by(col(QcFlag.id))
    ).all()
    by_run: dict[int, list[FlagPublic]] = {}
    for row in flags:
        by_run.setdefault(row.run, []).append(FlagPublic.model_validate(row, from_attributes=True))
    return [
        QcRunPublic(
            run=run.run,
            checked_at=run.created_at,
            worst_severity=run.worst_severity,
            counts=FlagCounts(info=run.info_count, warn=run.warn_count, fail=run.fail_count),
            flags=by_run.get(run.run, []),
        )
        for run in runs
    ]
