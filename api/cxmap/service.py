"""The CX map of a project: its journey with scores, targets, emotions and flags per step.

One aggregate per step over the day cells — which keep, besides the means, the sums Pearson's r
needs (n, Σx, Σy, Σx², Σy², Σxy of step score x and visit score y) — or, with a location or
persona filter, over the per-visit step rows (each carries its visit's score); and one over the
visit rows for the pyramid levels. Everything else is ``scoring``'s rules (scoring/_cxmap.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api.cxmap import desired
from api.cxmap.models import (
    CxLevel,
    CxMap,
    CxPhase,
    CxStatistics,
    CxStep,
    MomentOfTruthFlag,
    StepFlags,
)
from api.projects.models import Project
from api.results.models import StepDay, StepResult, VisitResult
from api.results.service import ResultFilters
from api.visits.service import journey_of
from briefings import JourneyDefinition
from scoring import (
    MIN_CORRELATION_VISITS,
    MOMENT_OF_TRUTH_R,
    MOMENTS_OF_TRUTH_MAX,
    NEGATIVE_EMOTION,
    NEUTRAL_EMOTION,
    PAIN_POINTS_MAX,
    PYRAMID_ORDER,
    Moments,
    StepMeans,
    correlations,
    is_opportunity,
    moments_of_truth,
    pain_points,
    step_emotion,
)


def step_rows(session: Session, *, project: Project, filters: ResultFilters) -> list[Any]:
    """Per step: means over the visits and the correlation sums of (step score, visit score)."""
    if filters.by_visit:
        rows = StepResult
        x, y = col(rows.score), col(rows.visit_score)
        both = and_(x.is_not(None), y.is_not(None))

        def paired(value: Any) -> Any:
            return func.coalesce(func.sum(case((both, value))), 0.0)

        query = (
            sa_select(
                rows.step_key,
                func.min(rows.phase_key).label("phase_key"),
                func.min(rows.position).label("position"),
                func.count().label("visits"),
                func.avg(x).label("score"),
                func.avg(rows.weight).label("weight"),
                func.avg(rows.conscious).label("conscious"),
                func.avg(rows.implicit).label("implicit"),
                func.avg(rows.gap).label("emotion_gap"),
                func.avg(rows.basis).label("basis"),
                func.avg(rows.ease).label("ease"),
                func.sum(case((both, 1), else_=0)).label("n"),
                paired(x).label("sum_x"),
                paired(y).label("sum_y"),
                paired(x * x).label("sum_xx"),
                paired(y * y).label("sum_yy"),
                paired(x * y).label("sum_xy"),
            )
            .where(*filters.where(rows, project))
            .group_by(rows.step_key)
        )
        return list(session.exec(query))
    cells = StepDay
    query = (
        sa_select(
            cells.step_key,
            func.min(cells.phase_key).label("phase_key"),
            func.min(cells.position).label("position"),
            func.sum(cells.visits).label("visits"),
            _mean(cells.score_sum, cells.scored).label("score"),
            (func.sum(cells.weight_sum) / func.sum(cells.visits)).label("weight"),
            _mean(cells.conscious_sum, cells.conscious_n).label("conscious"),
            _mean(cells.implicit_sum, cells.implicit_n).label("implicit"),
            _mean(cells.gap_sum, cells.gap_n).label("emotion_gap"),
            _mean(cells.basis_sum, cells.basis_n).label("basis"),
            _mean(cells.ease_sum, cells.ease_n).label("ease"),
            func.sum(cells.pair_n).label("n"),
            func.sum(cells.pair_x).label("sum_x"),
            func.sum(cells.pair_y).label("sum_y"),
            func.sum(cells.pair_xx).label("sum_xx"),
            func.sum(cells.pair_yy).label("sum_yy"),
            func.sum(cells.pair_xy).label("sum_xy"),
        )
        .where(*filters.where(cells, project))
        .group_by(cells.step_key)
    )
    return list(session.exec(query))


def _mean(total: Any, count: Any) -> Any:
    return func.sum(total) / func.nullif(func.sum(count), 0)


def statistics(project: Project) -> CxStatistics:
    return CxStatistics(
        moment_of_truth=(
            "Pearson r between the step score and the visit score (after knock-outs) over the "
            "approved visits that have both; flagged when n ≥ min_correlation_visits, "
            "r ≥ moment_of_truth_r and among the moments_of_truth_max highest r. The step's own "
            "share of the visit score is included (see docs/cx-map.md)."
        ),
        min_correlation_visits=MIN_CORRELATION_VISITS,
        moment_of_truth_r=MOMENT_OF_TRUTH_R,
        moments_of_truth_max=MOMENTS_OF_TRUTH_MAX,
        pain_point=(
            "score: mean step score below the pass mark and among the pain_points_max lowest; "
            "emotion: mean of conscious and implicit below negative_emotion and among the "
            "pain_points_max most negative."
        ),
        pain_points_max=PAIN_POINTS_MAX,
        negative_emotion=NEGATIVE_EMOTION,
        opportunity=(
            "|emotion| < neutral_emotion while the step's mean basis and ease scores (those it "
            "asks about, at least one) are ≥ good_level (the project's focus threshold)."
        ),
        neutral_emotion=NEUTRAL_EMOTION,
        good_level=project.focus_threshold,
        pass_mark=project.pass_mark,
    )


def cx_map(session: Session, *, project: Project, filters: ResultFilters) -> CxMap:
    journey = (
        journey_of(session, version_id=project.journey_version_id)
        if project.journey_version_id is not None
        else None
    )
    wanted = desired.current(session, project=project)
    rows = {row.step_key: row for row in step_rows(session, project=project, filters=filters)}
    means = [
        StepMeans(
            step_key=key,
            position=row.position,
            mean_score=row.score,
            emotion=step_emotion(row.conscious, row.implicit),
            basis=row.basis,
            ease=row.ease,
        )
        for key, row in rows.items()
    ]
    sums = {
        key: Moments(
            n=int(row.n or 0),
            sum_x=float(row.sum_x),
            sum_y=float(row.sum_y),
            sum_xx=float(row.sum_xx),
            sum_yy=float(row.sum_yy),
            sum_xy=float(row.sum_xy),
        )
        for key, row in rows.items()
    }
    pains = pain_points(means, pass_mark=project.pass_mark)
    truths = moments_of_truth(sums)
    rs = correlations(sums)
    by_key = {m.step_key: m for m in means}

    def cx_step(key: str, name: str | None, touchpoint: str | None, channel: str | None) -> CxStep:
        row = rows.get(key)
        target = wanted.step_targets.get(key)
        score = row.score if row is not None else None
        truth = truths.get(key)
        step_means = by_key.get(key)
        return CxStep(
            step_key=key,
            name=name,
            touchpoint=touchpoint,
            channel=channel,
            weight=row.weight if row is not None else None,
            visits=row.visits if row is not None else 0,
            score=score,
            desired=target,
            gap=None if target is None or score is None else target - score,
            conscious=row.conscious if row is not None else None,
            implicit=row.implicit if row is not None else None,
            emotion=step_means.emotion if step_means is not None else None,
            emotion_gap=row.emotion_gap if row is not None else None,
            basis=row.basis if row is not None else None,
            ease=row.ease if row is not None else None,
            r=rs.get(key),
            r_n=sums[key].n if key in sums else 0,
            flags=StepFlags(
                pain_point=key in pains,
                pain_reasons=[str(reason) for reason in pains.get(key, [])],
                moment_of_truth=None
                if truth is None
                else MomentOfTruthFlag(
                    rank=truth.rank, r=truth.r, r_squared=truth.r_squared, n=truth.n
                ),
                opportunity=step_means is not None
                and is_opportunity(step_means, good=project.focus_threshold),
            ),
        )

    phases = _phases(journey, rows, cx_step)
    visits, *level_scores = _visits(session, project=project, filters=filters)
    return CxMap(
        project_id=project.id or 0,
        visits=visits,
        desired_journey_version=wanted.version,
        levels=_levels(level_scores, targets=wanted.level_targets),
        phases=phases,
        statistics=statistics(project),
    )


def _phases(journey: JourneyDefinition | None, rows: dict[str, Any], cx_step: Any) -> list[CxPhase]:
    """The current journey's phases and steps in order; steps measured only under an older
    journey version follow, under their phase key."""
    phases: list[CxPhase] = []
    placed: set[str] = set()
    if journey is not None:
        for phase in journey.phases:
            steps = []
            for step in phase.steps:
                steps.append(cx_step(step.key, step.name, str(step.touchpoint), str(step.channel)))
                placed.add(step.key)
            phases.append(CxPhase(phase_key=phase.key, name=phase.name, steps=steps))
    by_phase = {phase.phase_key: phase for phase in phases}
    for key, row in sorted(rows.items(), key=lambda item: (item[1].position, item[0])):
        if key in placed:
            continue
        group = by_phase.get(row.phase_key)
        if group is None:
            group = by_phase[row.phase_key] = CxPhase(phase_key=row.phase_key, name=None, steps=[])
            phases.append(group)
        group.steps.append(cx_step(key, None, None, None))
    return phases


def _visits(session: Session, *, project: Project, filters: ResultFilters) -> Any:
    return session.exec(
        select(
            func.count(),
            func.avg(VisitResult.basis),
            func.avg(VisitResult.ease),
            func.avg(VisitResult.emotion),
        ).where(*filters.where(VisitResult, project))
    ).one()


def _levels(scores: list[float | None], *, targets: dict[str, float]) -> list[CxLevel]:
    levels = []
    for level, score in zip(PYRAMID_ORDER, scores, strict=True):
        target = targets.get(level.value)
        levels.append(
            CxLevel(
                level=level.value,
                score=score,
                desired=target,
                gap=None if target is None or score is None else target - score,
            )
        )
    return levels
