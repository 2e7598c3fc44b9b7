"""Results of a project's approved visits, for its managers and its client's users.

No response names or identifies a shopper.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.common import Page
from api.deps import PageDep, ProjectReader, SessionDep
from api.locations.models import LocationKind
from api.projects.access import get_project
from api.results import service
from api.results.models import (
    GapPublic,
    LocationRank,
    PainPoint,
    PhasePublic,
    RegionPublic,
    StepPublic,
    SummaryPublic,
    TrendPoint,
)
from api.results.service import ResultFilters

router = APIRouter(prefix="/projects/{project_id}/results", tags=["results"])


def result_filters(
    wave_id: Annotated[int | None, Query(description="Only visits of this wave.")] = None,
    date_from: Annotated[date | None, Query(description="Visits on or after this day.")] = None,
    date_to: Annotated[date | None, Query(description="Visits on or before this day.")] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    location_id: int | None = None,
    channel: Annotated[LocationKind | None, Query(description="The location's kind.")] = None,
    persona_id: Annotated[
        int | None, Query(description="Only visits of assignments that asked for this persona.")
    ] = None,
) -> ResultFilters:
    return ResultFilters(
        wave_id=wave_id,
        date_from=date_from,
        date_to=date_to,
        region=region,
        location_id=location_id,
        channel=channel,
        persona_id=persona_id,
    )


FiltersDep = Annotated[ResultFilters, Depends(result_filters)]


@router.get("/summary")
def summary(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> SummaryPublic:
    """Visits, mean score, pass rates and pyramid levels of the approved visits.

    mean_score = mean visit score (after knock-outs); pass_rate = share of scored visits with
    score ≥ the project's pass mark; knockout_pass_rate = share of visits without a failed
    knock-out; levels = mean basis, ease and emotion score; focus = the first of basis → ease →
    emotion whose mean is below the project's focus threshold.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.summary(session, project=project, filters=filters)


@router.get("/phases")
def phases(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> list[PhasePublic]:
    """Mean score per phase, in journey order.

    mean_score = mean over visits of the phase score (its steps' weighted mean, 0 when a phase
    knock-out failed); mean_raw_score the same without knock-outs; knockout_rate = share of
    visits whose phase was knocked out.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.phases(session, project=project, filters=filters)


@router.get("/steps")
def steps(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> list[StepPublic]:
    """Score and emotion curve per step, in journey order.

    mean_score = mean step score over the visits that scored the step; conscious = mean of
    valence / 3; implicit = mean latency-weighted implicit valence; gap = mean of the per-visit
    implicit − conscious (visits with both); probes_excluded = anticipatory, timed-out or invalid.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.steps(session, project=project, filters=filters)


@router.get("/locations")
def locations(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    page: PageDep,
) -> Page[LocationRank]:
    """Locations ranked by mean visit score, best first (ties by location id).

    Per location: visits, mean score, pass rate (score ≥ pass mark), mean pyramid levels and
    their focus level.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.locations(session, project=project, filters=filters, page=page)


@router.get("/regions")
def regions(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> list[RegionPublic]:
    """Regions ranked by mean visit score, best first.

    Per region (the location's region at approval): locations visited, visits, mean score, pass
    rate, mean pyramid levels and their focus level.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.regions(session, project=project, filters=filters)


@router.get("/trend")
def trend(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    by: Literal["wave", "week"] = "wave",
) -> list[TrendPoint]:
    """Mean score, pass rates and levels per wave (in date order) or per ISO week of the visit.

    The same figures as the summary, grouped by wave (visits without a wave last) or by the ISO
    week of the visit day.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.trend(session, project=project, filters=filters, by=by)


@router.get("/pain-points")
def pain_points(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    by: Literal["score", "emotion"] = "score",
    limit: Annotated[int, Query(ge=1, le=100, description="How many steps.")] = 5,
) -> list[PainPoint]:
    """The worst steps: lowest mean score, or most negative emotion.

    by=score ranks by mean step score, lowest first; by=emotion by the mean of the step's mean
    conscious and mean implicit index (whichever exist), most negative first.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.pain_points(session, project=project, filters=filters, by=by, limit=limit)


@router.get("/gaps")
def gaps(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> list[GapPublic]:
    """Gaps to the desired journey (the project's step targets), highest impact first.

    gap = target − mean step score; share_short = share of visits scoring below the target;
    impact = gap × step weight × share_short.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.gaps(session, project=project, filters=filters)
