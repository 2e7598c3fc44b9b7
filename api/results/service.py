"""Results of a project's approved visits: one aggregate query over the materialised rows each.

Every function filters by project plus ``ResultFilters`` on denormalised columns and groups in
SQL; Python only attaches names, ranks and the pyramid focus to the few rows that come back.
Visit figures read ``result_visits``; step and phase figures read the day cells
(``result_step_days``, ``result_phase_days``: sums per day, region, channel and wave) unless a
location or a persona is asked for, which the per-visit rows answer; gaps
compare each visit's step score with its target, so they read ``result_steps``. Means are
Σ value / n over the rows that have the value (a visit without a score leaves the mean, as N/A
leaves a score). Pass rates use the project's current pass mark, so changing it
needs no re-materialising.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlmodel import Session, col

from api.common import Page, PageParams
from api.errors import Invalid
from api.locations.models import Location, LocationKind
from api.projects.models import Project, Wave
from api.results.models import (
    GapPublic,
    LevelScores,
    LocationRank,
    PainPoint,
    PhaseDay,
    PhasePublic,
    PhaseResult,
    RegionPublic,
    StepDay,
    StepPublic,
    StepResult,
    SummaryPublic,
    TrendPoint,
    VisitResult,
)
from api.visits.service import journey_of
from scoring import focus_level, rank_gaps, step_gap

# The same tolerance as scoring's bands: 7 of 10 points reaches a pass mark of 70.
TOLERANCE = 1e-9

Table = type[VisitResult] | type[StepResult] | type[PhaseResult] | type[StepDay] | type[PhaseDay]


@dataclass(frozen=True, slots=True)
class ResultFilters:
    wave_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None
    location_id: int | None = None
    channel: LocationKind | None = None
    persona_id: int | None = None

    @property
    def by_visit(self) -> bool:
        """A location or persona filter reads the per-visit rows (the cells sum over both); the
        rest the day cells."""
        return self.location_id is not None or self.persona_id is not None

    def where(self, table: Table, project: Project) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [col(table.project_id) == project.id]
        if self.wave_id is not None:
            conditions.append(col(table.wave_id) == self.wave_id)
        if self.date_from is not None:
            conditions.append(col(table.visit_day) >= self.date_from)
        if self.date_to is not None:
            conditions.append(col(table.visit_day) <= self.date_to)
        if self.region is not None:
            conditions.append(col(table.region) == self.region)
        if self.location_id is not None:
            assert table not in (StepDay, PhaseDay), "cells have no location"
            conditions.append(col(table.location_id) == self.location_id)  # type: ignore[union-attr]
        if self.channel is not None:
            conditions.append(col(table.channel) == self.channel.value)
        if self.persona_id is not None:
            assert table not in (StepDay, PhaseDay), "cells have no persona"
            conditions.append(col(table.persona_id) == self.persona_id)  # type: ignore[union-attr]
        return conditions


# ---------------------------------------------------------------- SQL building blocks


def _share(condition: ColumnElement[bool], *, among: ColumnElement[Any] | None = None) -> Any:
    """AVG of 1/0 over the rows (or the rows where ``among`` is not NULL): a share 0…1."""
    if among is None:
        return func.avg(case((condition, 1.0), else_=0.0))
    return func.avg(case((among.is_(None), None), (condition, 1.0), else_=0.0))


def _visit_columns(project: Project) -> list[Any]:
    """visits, mean score, pass rate, knock-out pass rate and the level means of VisitResult."""
    score = col(VisitResult.score)
    return [
        func.count().label("visits"),
        func.avg(score).label("mean_score"),
        _share(score >= project.pass_mark - TOLERANCE, among=score).label("pass_rate"),
        _share(col(VisitResult.knocked_out).is_(False)).label("knockout_pass_rate"),
        func.avg(VisitResult.basis).label("basis"),
        func.avg(VisitResult.ease).label("ease"),
        func.avg(VisitResult.emotion).label("emotion"),
    ]


def _levels(row: Any, project: Project) -> LevelScores:
    means = {"basis": row.basis, "ease": row.ease, "emotion": row.emotion}
    focus = focus_level(means, project.focus_threshold)
    return LevelScores(**means, focus=None if focus is None else focus.value)


def _names(session: Session, project: Project) -> dict[str, str]:
    """Phase and step key → name in the project's current journey version."""
    if project.journey_version_id is None:
        return {}
    journey = journey_of(session, version_id=project.journey_version_id)
    names = {phase.key: phase.name for phase in journey.phases}
    names |= {step.key: step.name for _, step in journey.steps()}
    return names


def _mean(total: Any, count: Any) -> Any:
    """Σ / n over rollup cells; NULL when no value was counted."""
    return func.sum(total) / func.nullif(func.sum(count), 0)


def _row_scores(rows: type[StepResult] | type[PhaseResult]) -> list[Any]:
    """Visits, mean scores and knock-out rate over per-visit result rows."""
    return [
        func.count().label("visits"),
        func.avg(rows.score).label("mean_score"),
        func.avg(rows.raw_score).label("mean_raw_score"),
        _share(col(rows.knocked_out).is_(True)).label("knockout_rate"),
    ]


def _cell_scores(cells: type[StepDay] | type[PhaseDay]) -> list[Any]:
    """The same figures over rollup cells."""
    return [
        func.sum(cells.visits).label("visits"),
        _mean(cells.score_sum, cells.scored).label("mean_score"),
        _mean(cells.raw_sum, cells.raw_scored).label("mean_raw_score"),
        (func.sum(cells.knocked) * 1.0 / func.sum(cells.visits)).label("knockout_rate"),
    ]


def _step_query(project: Project, filters: ResultFilters) -> Select[Any]:
    if filters.by_visit:
        rows = StepResult
        return (
            select(
                rows.step_key,
                func.min(rows.phase_key).label("phase_key"),
                func.min(rows.position).label("position"),
                *_row_scores(rows),
                func.avg(rows.conscious).label("conscious"),
                func.avg(rows.implicit).label("implicit"),
                func.avg(rows.gap).label("gap"),
                func.coalesce(func.sum(rows.probes_valid), 0).label("probes_valid"),
                func.coalesce(func.sum(rows.probes_excluded), 0).label("probes_excluded"),
            )
            .where(*filters.where(rows, project))
            .group_by(rows.step_key)
        )
    cells = StepDay
    return (
        select(
            cells.step_key,
            func.min(cells.phase_key).label("phase_key"),
            func.min(cells.position).label("position"),
            *_cell_scores(cells),
            _mean(cells.conscious_sum, cells.conscious_n).label("conscious"),
            _mean(cells.implicit_sum, cells.implicit_n).label("implicit"),
            _mean(cells.gap_sum, cells.gap_n).label("gap"),
            func.sum(cells.probes_valid).label("probes_valid"),
            func.sum(cells.probes_excluded).label("probes_excluded"),
        )
        .where(*filters.where(cells, project))
        .group_by(cells.step_key)
    )


def _phase_query(project: Project, filters: ResultFilters) -> Select[Any]:
    if filters.by_visit:
        rows = PhaseResult
        return (
            select(
                rows.phase_key,
                func.min(rows.position).label("position"),
                *_row_scores(rows),
            )
            .where(*filters.where(rows, project))
            .group_by(rows.phase_key)
        )
    cells = PhaseDay
    return (
        select(
            cells.phase_key,
            func.min(cells.position).label("position"),
            *_cell_scores(cells),
        )
        .where(*filters.where(cells, project))
        .group_by(cells.phase_key)
    )


# ---------------------------------------------------------------- endpoints


def summary(session: Session, *, project: Project, filters: ResultFilters) -> SummaryPublic:
    query = select(
        *_visit_columns(project), func.avg(VisitResult.raw_score).label("mean_raw_score")
    ).where(*filters.where(VisitResult, project))
    row = session.exec(query).one()
    return SummaryPublic(
        visits=row.visits,
        mean_score=row.mean_score,
        mean_raw_score=row.mean_raw_score,
        pass_mark=project.pass_mark,
        pass_rate=row.pass_rate,
        knockout_pass_rate=row.knockout_pass_rate,
        levels=_levels(row, project),
        focus_threshold=project.focus_threshold,
    )


def phases(session: Session, *, project: Project, filters: ResultFilters) -> list[PhasePublic]:
    query = _phase_query(project, filters)
    rows = sorted(session.exec(query), key=lambda row: (row.position, row.phase_key))
    names = _names(session, project)
    return [
        PhasePublic(
            phase_key=row.phase_key,
            name=names.get(row.phase_key),
            visits=row.visits,
            mean_score=row.mean_score,
            mean_raw_score=row.mean_raw_score,
            knockout_rate=row.knockout_rate,
        )
        for row in rows
    ]


def steps(session: Session, *, project: Project, filters: ResultFilters) -> list[StepPublic]:
    rows = sorted(
        session.exec(_step_query(project, filters)), key=lambda row: (row.position, row.step_key)
    )
    names = _names(session, project)
    return [
        StepPublic(
            step_key=row.step_key,
            phase_key=row.phase_key,
            name=names.get(row.step_key),
            visits=row.visits,
            mean_score=row.mean_score,
            mean_raw_score=row.mean_raw_score,
            knockout_rate=row.knockout_rate,
            conscious=row.conscious,
            implicit=row.implicit,
            gap=row.gap,
            probes_valid=row.probes_valid,
            probes_excluded=row.probes_excluded,
        )
        for row in rows
    ]


def locations(
    session: Session, *, project: Project, filters: ResultFilters, page: PageParams
) -> Page[LocationRank]:
    offset = _decode_offset(page.cursor)
    mean = func.avg(VisitResult.score)
    query = (
        select(VisitResult.location_id, *_visit_columns(project))
        .where(*filters.where(VisitResult, project))
        .group_by(VisitResult.location_id)
        .order_by(func.coalesce(mean, -1.0).desc(), VisitResult.location_id)
        .offset(offset)
        .limit(page.limit + 1)
    )
    rows = list(session.exec(query))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    places = {
        place.id: place
        for place in session.exec(
            select(Location).where(col(Location.id).in_([row.location_id for row in rows]))
        ).scalars()
    }
    items = []
    for index, row in enumerate(rows):
        place = places[row.location_id]
        items.append(
            LocationRank(
                rank=offset + index + 1,
                location_id=row.location_id,
                code=place.code,
                name=place.name,
                region=place.region,
                channel=str(place.kind),
                visits=row.visits,
                mean_score=row.mean_score,
                pass_rate=row.pass_rate,
                levels=_levels(row, project),
            )
        )
    next_cursor = _encode_offset(offset + len(rows)) if more else None
    return Page(items=items, next_cursor=next_cursor)


def regions(session: Session, *, project: Project, filters: ResultFilters) -> list[RegionPublic]:
    query = (
        select(
            VisitResult.region,
            func.count(func.distinct(VisitResult.location_id)).label("locations"),
            *_visit_columns(project),
        )
        .where(*filters.where(VisitResult, project))
        .group_by(VisitResult.region)
    )
    rows = sorted(session.exec(query), key=_best_first)
    return [
        RegionPublic(
            rank=index + 1,
            region=row.region,
            locations=row.locations,
            visits=row.visits,
            mean_score=row.mean_score,
            pass_rate=row.pass_rate,
            levels=_levels(row, project),
        )
        for index, row in enumerate(rows)
    ]


def trend(
    session: Session, *, project: Project, filters: ResultFilters, by: Literal["wave", "week"]
) -> list[TrendPoint]:
    key = col(VisitResult.wave_id) if by == "wave" else col(VisitResult.week_start)
    query = (
        select(key.label("key"), *_visit_columns(project))
        .where(*filters.where(VisitResult, project))
        .group_by(key)
    )
    rows = list(session.exec(query))
    points = []
    if by == "week":
        for row in sorted(rows, key=lambda row: row.key):
            year, week, _ = row.key.isocalendar()
            points.append(_point(row, project, week=f"{year}-W{week:02d}", starts_on=row.key))
        return points
    waves = {
        wave.id: wave
        for wave in session.exec(
            select(Wave).where(col(Wave.id).in_([row.key for row in rows if row.key is not None]))
        ).scalars()
    }
    # Waves in date order; visits outside any wave last.
    for row in sorted(
        rows,
        key=lambda row: (row.key is None, waves[row.key].starts_on if row.key else date.min),
    ):
        wave = waves.get(row.key) if row.key is not None else None
        points.append(
            _point(
                row,
                project,
                wave_id=row.key,
                wave_name=wave.name if wave else None,
                starts_on=wave.starts_on if wave else None,
            )
        )
    return points


def pain_points(
    session: Session,
    *,
    project: Project,
    filters: ResultFilters,
    by: Literal["score", "emotion"],
    limit: int,
) -> list[PainPoint]:
    names = _names(session, project)
    candidates = []
    for row in session.exec(_step_query(project, filters)):
        felt = [value for value in (row.conscious, row.implicit) if value is not None]
        emotion = sum(felt) / len(felt) if felt else None
        measure = row.mean_score if by == "score" else emotion
        if measure is not None:
            candidates.append((measure, row.position, row.step_key, row, emotion))
    candidates.sort(key=lambda item: item[:3])
    return [
        PainPoint(
            rank=index + 1,
            step_key=row.step_key,
            phase_key=row.phase_key,
            name=names.get(row.step_key),
            visits=row.visits,
            mean_score=row.mean_score,
            conscious=row.conscious,
            implicit=row.implicit,
            emotion=emotion,
        )
        for index, (_, _, _, row, emotion) in enumerate(candidates[:limit])
    ]


def gaps(session: Session, *, project: Project, filters: ResultFilters) -> list[GapPublic]:
    targets = {key: float(value) for key, value in (project.targets or {}).items()}
    if not targets:
        return []
    if not filters.by_visit:
        # Step cells keep the short counts against the current targets (recounted on change).
        query = (
            select(
                StepDay.step_key,
                func.sum(StepDay.scored).label("visits"),
                func.sum(StepDay.score_sum).label("score_sum"),
                func.sum(StepDay.short).label("short"),
                func.sum(StepDay.weight_sum).label("weight_sum"),
                func.sum(StepDay.visits).label("rows"),
            )
            .where(*filters.where(StepDay, project), col(StepDay.step_key).in_(list(targets)))
            .group_by(StepDay.step_key)
        )
    else:
        score = col(StepResult.score)
        target = case(targets, value=col(StepResult.step_key))
        query = (
            select(
                StepResult.step_key,
                func.count(score).label("visits"),
                func.coalesce(func.sum(score), 0.0).label("score_sum"),
                func.sum(case((score < target, 1), else_=0)).label("short"),
                func.sum(StepResult.weight).label("weight_sum"),
                func.count().label("rows"),
            )
            .where(*filters.where(StepResult, project), col(StepResult.step_key).in_(list(targets)))
            .group_by(StepResult.step_key)
        )
    found = [
        step_gap(
            row.step_key,
            target=targets[row.step_key],
            weight=float(row.weight_sum) / row.rows,
            mean_score=float(row.score_sum) / row.visits,
            share_short=row.short / row.visits,
            visits=row.visits,
        )
        for row in session.exec(query)
        if row.visits
    ]
    names = _names(session, project)
    return [
        GapPublic(
            rank=index + 1,
            step_key=gap.step_key,
            name=names.get(gap.step_key),
            target=gap.target,
            mean_score=gap.mean_score,
            gap=gap.gap,
            share_short=gap.share_short,
            weight=gap.weight,
            impact=gap.impact,
            visits=gap.visits,
        )
        for index, gap in enumerate(rank_gaps(found))
    ]


# ---------------------------------------------------------------- helpers


def _point(row: Any, project: Project, **fields: Any) -> TrendPoint:
    return TrendPoint(
        **fields,
        visits=row.visits,
        mean_score=row.mean_score,
        pass_rate=row.pass_rate,
        knockout_pass_rate=row.knockout_pass_rate,
        levels=_levels(row, project),
    )


def _best_first(row: Any) -> tuple[bool, float, Any]:
    return (row.mean_score is None, -(row.mean_score or 0.0), row[0])


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"rank:{offset}".encode()).decode().rstrip("=")


def _decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
        if kind != "rank" or offset < 0:
            raise ValueError(kind)
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not one this API handed out.",
            [{"field": "cursor", "location": "query", "message": "unknown cursor"}],
        ) from None
