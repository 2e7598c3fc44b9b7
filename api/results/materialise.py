"""Write the scores of an approved visit into the results tables, or take them out again.

The review workflow calls ``materialise_visit`` in the transaction that approves a visit (after
the assignment's transition to ``approved``) and ``remove_visit`` in the one that revokes the
approval. Both only flush. Materialising twice replaces the rows, so it is safe to repeat.
Both then recompute the visit's day cell (``result_step_days``, ``result_phase_days``) from the
per-visit rows, holding the project's row lock on PostgreSQL so concurrent approvals in one
project take turns.

Scores come from ``scoring.score_visit`` with the project's pass mark; emotions from
``scoring.step_emotions`` with the shopper's latency baseline taken over the probes of their
visits up to and including this one (``BASELINE_VISITS`` at most), so a later visit never changes
an earlier visit's figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from api.assignments.models import Assignment, AssignmentStatus
from api.errors import Conflict, NotFound
from api.events.service import results_changed
from api.locations.models import Location
from api.projects.models import Project
from api.results.models import PhaseDay, PhaseResult, StepDay, StepResult, VisitResult
from api.visits.models import StepObservation, Visit
from api.visits.service import journey_of
from briefings import PyramidLevel
from scoring import (
    PYRAMID_ORDER,
    LatencyBaseline,
    StepEmotion,
    VisitScore,
    score_visit,
    shopper_latency_baseline,
    step_emotions,
    step_levels,
    visit_probes,
)
from scoring import StepObservation as ObservationData

BASELINE_VISITS = 20


def materialise_visit(session: Session, *, visit_id: int) -> None:
    """Score an approved visit and (re)write its result rows."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"No visit {visit_id}.")
    assignment = session.get(Assignment, visit.assignment_id)
    assert assignment is not None
    if assignment.status != AssignmentStatus.approved:
        raise Conflict(f"Visit {visit_id} is {assignment.status}; only approved visits count.")
    project = session.get(Project, assignment.project_id)
    location = session.get(Location, assignment.location_id)
    assert project is not None and location is not None

    journey = journey_of(session, version_id=assignment.journey_version_id)
    observations = _observations(session, visit_ids=[visit_id])[visit_id]
    scores = score_visit(journey, observations, pass_mark=project.pass_mark)
    emotions = step_emotions(
        journey, observations, baseline=_baseline(session, visit=visit, assignment=assignment)
    )

    _lock(session, project_id=assignment.project_id)
    old_cell = _delete_rows(session, visit_id=visit_id)
    day = visit.started_at.date()
    common: dict[str, Any] = {
        "visit_id": visit_id,
        "project_id": assignment.project_id,
        "location_id": location.id,
        "region": location.region,
        "channel": str(location.kind),
        "wave_id": assignment.wave_id,
        "visit_day": day,
        "week_start": day - timedelta(days=day.weekday()),
        "persona_id": assignment.persona_id,
    }
    session.add(_visit_row(common, scores, assignment))
    session.add_all(_step_rows(common, scores, emotions))
    session.add_all(
        PhaseResult(
            **common,
            phase_key=phase.key,
            position=position,
            weight=phase.weight,
            score=phase.score,
            raw_score=phase.raw_score,
            knocked_out=phase.knocked_out,
        )
        for position, phase in enumerate(scores.phases)
    )
    session.flush()
    cell = Cell(
        assignment.project_id, day, location.region, str(location.kind), assignment.wave_id or 0
    )
    for changed in {cell, old_cell} - {None}:
        _refresh_cell(session, changed)
    results_changed(session, project_id=assignment.project_id, visit_id=visit_id)


def remove_visit(session: Session, *, visit_id: int) -> None:
    """Delete the visit's result rows (none is fine): its approval was revoked."""
    row = session.get(VisitResult, visit_id)
    if row is None:
        return
    project_id = row.project_id
    _lock(session, project_id=project_id)
    cell = _delete_rows(session, visit_id=visit_id)
    if cell is not None:
        _refresh_cell(session, cell)
    results_changed(session, project_id=project_id, visit_id=visit_id)


class Cell(NamedTuple):
    """The rollup cell a visit falls in (see ``api.results.models._Day``)."""

    project_id: int
    visit_day: date
    region: str
    channel: str
    wave_id: int


def _lock(session: Session, *, project_id: int) -> None:
    """Serialise materialising within a project: a cell is recomputed from the rows it sums,
    so two transactions must not recompute the same cell at once (SQLite's write lock already
    serialises them)."""
    if session.get_bind().dialect.name != "sqlite":
        session.exec(select(Project.id).where(Project.id == project_id).with_for_update())


def _delete_rows(session: Session, *, visit_id: int) -> Cell | None:
    row = session.get(VisitResult, visit_id)
    cell = None
    if row is not None:
        cell = Cell(row.project_id, row.visit_day, row.region, row.channel, row.wave_id or 0)
        session.expunge(row)
    for table in (StepResult, PhaseResult, VisitResult):
        session.exec(delete(table).where(col(table.visit_id) == visit_id))
    return cell


def _refresh_cell(session: Session, cell: Cell) -> None:
    """Recompute one rollup cell's step and phase sums from the per-visit rows."""
    project = session.get(Project, cell.project_id)
    targets = project.targets if project is not None else {}
    for rollup, source in ((StepDay, StepResult), (PhaseDay, PhaseResult)):
        session.exec(delete(rollup).where(*_in_cell(rollup, cell)))
        names, query = rollup_select(rollup, source, _in_cell(source, cell), targets=targets)
        session.exec(insert(rollup).from_select(names, query))


def recount_short(session: Session, *, project: Project) -> None:
    """Rebuild the project's step cells after its targets changed (one pass over its step rows)."""
    _lock(session, project_id=project.id or 0)
    session.exec(delete(StepDay).where(col(StepDay.project_id) == project.id))
    names, query = rollup_select(
        StepDay, StepResult, [col(StepResult.project_id) == project.id], targets=project.targets
    )
    session.exec(insert(StepDay).from_select(names, query))


def _in_cell(table: Any, cell: Cell) -> list[Any]:
    wave = col(table.wave_id)
    return [
        col(table.project_id) == cell.project_id,
        col(table.visit_day) == cell.visit_day,
        col(table.region) == cell.region,
        col(table.channel) == cell.channel,
        wave == cell.wave_id if table in (StepDay, PhaseDay) or cell.wave_id else wave.is_(None),
    ]


def rollup_select(
    rollup: Any, source: Any, where: list[Any], *, targets: Mapping[str, float] | None = None
) -> tuple[list[str], Any]:
    """Column names and the SELECT that sums ``source`` rows into ``rollup`` cells.

    For step cells, ``targets`` (step key → target score) decide which visits count as short.
    """
    key = "step_key" if rollup is StepDay else "phase_key"
    columns: dict[str, Any] = {
        "project_id": source.project_id,
        key: getattr(source, key),
        "visit_day": source.visit_day,
        "region": source.region,
        "channel": source.channel,
        "wave_id": func.coalesce(source.wave_id, 0),
    }
    group = list(columns.values())
    columns |= {
        "position": func.min(source.position),
        "visits": func.count(),
        "scored": func.count(source.score),
        "score_sum": func.coalesce(func.sum(source.score), 0.0),
        "raw_scored": func.count(source.raw_score),
        "raw_sum": func.coalesce(func.sum(source.raw_score), 0.0),
        "knocked": func.sum(case((col(source.knocked_out).is_(True), 1), else_=0)),
    }
    if rollup is StepDay:
        columns |= {"phase_key": func.min(source.phase_key)}
        for name in ("conscious", "implicit", "gap"):
            value = getattr(source, name)
            columns |= {
                f"{name}_n": func.count(value),
                f"{name}_sum": func.coalesce(func.sum(value), 0.0),
            }
        for name in ("basis", "ease"):
            value = getattr(source, name)
            columns |= {
                f"{name}_n": func.count(value),
                f"{name}_sum": func.coalesce(func.sum(value), 0.0),
            }
        x, y = col(source.score), col(source.visit_score)
        both = and_(x.is_not(None), y.is_not(None))
        columns |= {"pair_n": func.sum(case((both, 1), else_=0))}
        for name, value in (("x", x), ("y", y), ("xx", x * x), ("yy", y * y), ("xy", x * y)):
            columns |= {f"pair_{name}": func.coalesce(func.sum(case((both, value))), 0.0)}
        columns |= {
            "probes_valid": func.sum(source.probes_valid),
            "probes_excluded": func.sum(source.probes_excluded),
            "weight_sum": func.coalesce(func.sum(source.weight), 0.0),
        }
        if targets:
            target = case(
                {key: float(value) for key, value in targets.items()}, value=source.step_key
            )
            columns |= {"short": func.sum(case((source.score < target, 1), else_=0))}
    query = sa_select(*(value.label(name) for name, value in columns.items()))
    return list(columns), query.where(*where).group_by(*group)


def _visit_row(common: dict[str, Any], scores: VisitScore, assignment: Assignment) -> VisitResult:
    levels = {level.value: scores.levels.get(level) for level in PYRAMID_ORDER}
    return VisitResult(
        **common,
        **levels,
        shopper_id=assignment.shopper_id,
        journey_version_id=assignment.journey_version_id,
        score=scores.score,
        raw_score=scores.raw_score,
        knocked_out=bool(scores.knocked_out),
        passed=scores.passed,
        band=scores.band,
    )


def _step_rows(
    common: dict[str, Any], scores: VisitScore, emotions: list[StepEmotion]
) -> list[StepResult]:
    by_step = {emotion.step_key: emotion for emotion in emotions}
    rows = []
    for position, step in enumerate(scores.steps):
        emotion = by_step[step.key]
        levels = step_levels(step)
        rows.append(
            StepResult(
                **common,
                basis=levels[PyramidLevel.basis],
                ease=levels[PyramidLevel.ease],
                emotion=levels[PyramidLevel.emotion],
                visit_score=scores.score,
                step_key=step.key,
                phase_key=step.phase_key,
                position=position,
                weight=step.weight,
                score=step.score,
                raw_score=step.raw_score,
                knocked_out=step.knocked_out,
                conscious=emotion.conscious,
                implicit=emotion.implicit.value,
                gap=emotion.gap,
                probes_valid=emotion.implicit.valid,
                probes_excluded=emotion.implicit.excluded,
            )
        )
    return rows


def _observations(session: Session, *, visit_ids: list[int]) -> dict[int, list[ObservationData]]:
    rows = session.exec(
        select(StepObservation)
        .where(col(StepObservation.visit_id).in_(visit_ids))
        .order_by(col(StepObservation.id))
    )
    result: dict[int, list[ObservationData]] = {visit_id: [] for visit_id in visit_ids}
    for row in rows:
        result[row.visit_id].append(
            ObservationData(
                step_key=row.step_key,
                answers=row.answers,
                started_at=row.started_at,
                ended_at=row.ended_at,
                conscious=row.conscious,
                probes=row.probes,
                notes=row.notes,
                evidence=row.evidence,
            )
        )
    return result


def _baseline(session: Session, *, visit: Visit, assignment: Assignment) -> LatencyBaseline:
    """The shopper's latency baseline over their latest visits up to this one."""
    if assignment.shopper_id is None:
        visits = [(visit.id, assignment.journey_version_id)]
    else:
        visits = list(
            session.exec(
                select(Visit.id, Assignment.journey_version_id)
                .join(Assignment, col(Assignment.id) == Visit.assignment_id)
                .where(
                    Assignment.shopper_id == assignment.shopper_id,
                    col(Visit.started_at) <= visit.started_at,
                )
                .order_by(col(Visit.started_at).desc(), col(Visit.id).desc())
                .limit(BASELINE_VISITS)
            )
        )
    observations = _observations(session, visit_ids=[int(v) for v, _ in visits if v is not None])
    probes = [
        probe
        for visit_id, version_id in visits
        if visit_id is not None
        for probe in visit_probes(
            journey_of(session, version_id=version_id), observations[visit_id]
        )
    ]
    return shopper_latency_baseline(probes)
