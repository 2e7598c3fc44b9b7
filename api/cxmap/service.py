"""The CX map of a project: its journey with scores, targets, emotions and flags per step.

One aggregate over the per-visit step rows joined to their visit rows (the correlation needs
each visit's own pair of scores, which the day cells do not keep) and one over the visit rows for
the pyramid levels; everything else is ``scoring``'s rules (scoring/_cxmap.py) on those figures.
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
from api.results.models import StepResult, VisitResult
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
    step, visit = StepResult, VisitResult
    both = and_(col(step.score).is_not(None), col(visit.score).is_not(None))

    def paired(value: Any) -> Any:
        return func.coalesce(func.sum(case((both, value), else_=None)), 0.0)

    score, other = col(step.score), col(visit.score)
    query = (
        sa_select(
            step.step_key,
            func.min(step.phase_key).label("phase_key"),
            func.min(step.position).label("position"),
            func.count().label("visits"),
            func.avg(step.score).label("score"),
            func.avg(step.weight).label("weight"),
            func.avg(step.conscious).label("conscious"),
            func.avg(step.implicit).label("implicit"),
            func.avg(step.gap).label("emotion_gap"),
            func.avg(step.basis).label("basis"),
            func.avg(step.ease).label("ease"),
            func.sum(case((both, 1), else_=0)).label("n"),
            paired(step.score).label("sum_x"),
            paired(visit.score).label("sum_y"),
            paired(score * score).label("sum_xx"),
            paired(other * other).label("sum_yy"),
            paired(score * other).label("sum_xy"),
        )
        .join(visit, col(visit.visit_id) == step.visit_id)
        .where(*filters.where(step, project))
        .group_by(step.step_key)
    )
    return list(session.exec(query))


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
