"""The desired journey, the CX map and action plans of a project.

Readers: the project's managers, admins and its client's users. The desired journey is the
agency's to set (like the project's targets); action plans may be written by the client's users
as well, since the client owns the improvements.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.common import Page, paginate
from api.cxmap import actions, desired, service
from api.cxmap.models import (
    ActionImpact,
    ActionPlanCreate,
    ActionPlanPublic,
    ActionPlanUpdate,
    ActionStatus,
    CxMap,
    DesiredJourneyIn,
    DesiredJourneyPublic,
)
from api.deps import PageDep, ProjectReader, SessionDep, StaffUser
from api.projects.access import get_project
from api.results.router import FiltersDep

router = APIRouter(tags=["cx map"])


@router.get("/projects/{project_id}/desired-journey")
def read_desired_journey(
    project_id: int, session: SessionDep, user: ProjectReader
) -> DesiredJourneyPublic:
    """The current desired journey: target per step and per pyramid level."""
    project = get_project(session, user=user, project_id=project_id)
    return desired.current(session, project=project)


@router.put("/projects/{project_id}/desired-journey")
def set_desired_journey(
    project_id: int, data: DesiredJourneyIn, session: SessionDep, user: StaffUser
) -> DesiredJourneyPublic:
    """Save the desired journey as a new version and make it current (gaps follow at once)."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    row = desired.set_desired(session, project=project, data=data, actor_id=user.id)
    return desired.to_public(row)


@router.get("/projects/{project_id}/desired-journey/versions")
def list_desired_journeys(
    project_id: int, session: SessionDep, user: ProjectReader, page: PageDep
) -> Page[DesiredJourneyPublic]:
    """Every version of the desired journey, oldest first."""
    project = get_project(session, user=user, project_id=project_id)
    rows = desired.list_versions(session, project=project, page=page)
    return paginate(rows, page, desired.to_public)


@router.get("/projects/{project_id}/cx-map")
def read_cx_map(
    project_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> CxMap:
    """The journey as a CX map: per step score vs desired, emotions and flags.

    Flags per step: pain point (lowest mean scores below the pass mark, or most negative
    emotion), moment of truth (Pearson r of step score vs visit score over approved visits,
    n ≥ 10, r ≥ 0.5, top 3) and opportunity (neutral emotion though basis and ease are good).
    ``statistics`` states every rule and threshold; docs/cx-map.md explains them.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.cx_map(session, project=project, filters=filters)


@router.post("/projects/{project_id}/action-plans", status_code=status.HTTP_201_CREATED)
def create_action_plan(
    project_id: int, data: ActionPlanCreate, session: SessionDep, user: ProjectReader
) -> ActionPlanPublic:
    """Turn a gap, a pain point or any steps into an action plan (re-check default +182 days)."""
    project = get_project(session, user=user, project_id=project_id)
    return actions.to_public(actions.create(session, project=project, data=data, actor=user))


@router.get("/projects/{project_id}/action-plans")
def list_action_plans(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    status: ActionStatus | None = None,
    due_for_recheck: Annotated[
        bool | None,
        Query(description="true: re-check date passed, not re-checked, not dropped."),
    ] = None,
) -> Page[ActionPlanPublic]:
    """The project's action plans, oldest first; due_for_recheck=true lists those to measure."""
    project = get_project(session, user=user, project_id=project_id)
    today = date.today()
    rows = actions.list_plans(
        session,
        project=project,
        page=page,
        status=status,
        due_for_recheck=due_for_recheck,
        today=today,
    )
    return paginate(rows, page, lambda plan: actions.to_public(plan, today))


@router.get("/action-plans/{action_plan_id}")
def read_action_plan(
    action_plan_id: int, session: SessionDep, user: ProjectReader
) -> ActionPlanPublic:
    """One action plan."""
    plan, _ = actions.get_plan(session, user=user, plan_id=action_plan_id)
    return actions.to_public(plan)


@router.patch("/action-plans/{action_plan_id}")
def update_action_plan(
    action_plan_id: int, data: ActionPlanUpdate, session: SessionDep, user: ProjectReader
) -> ActionPlanPublic:
    """Change owner, dates or status (open, in_progress, done, dropped); record a re-check."""
    plan, _ = actions.get_plan(session, user=user, plan_id=action_plan_id)
    return actions.to_public(actions.update(session, plan=plan, data=data, actor=user))


@router.get("/action-plans/{action_plan_id}/impact")
def action_plan_impact(
    action_plan_id: int, session: SessionDep, user: ProjectReader, filters: FiltersDep
) -> ActionImpact:
    """Targeted steps' mean score before vs from the completion day on, with visits per side.

    verdict: too_few_visits when a side has < 10 visits; else improved / worsened when Welch's
    |t| ≥ 1.96, otherwise no_clear_change.
    """
    plan, project = actions.get_plan(session, user=user, plan_id=action_plan_id)
    return actions.plan_impact(session, plan=plan, project=project, filters=filters)
