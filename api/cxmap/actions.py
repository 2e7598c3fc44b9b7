"""Action plans on the CX map's gaps and pain points: owner, due date, status, re-check date,
and their impact on the targeted steps' scores (scoring/_cxmap.py states the comparison).

Who may write: the project's managers (and admins) and its client's users — the client owns the
improvements; the agency usually drafts them. Every change is in the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import String, case, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api.accounts.models import User
from api.audit.service import record
from api.common import PageParams, utcnow
from api.cxmap.models import (
    ActionImpact,
    ActionPlan,
    ActionPlanCreate,
    ActionPlanPublic,
    ActionPlanUpdate,
    ActionStatus,
    SideFigures,
    SourceKind,
    StepImpact,
)
from api.cxmap.service import cx_map
from api.errors import Invalid, InvalidTransition, NotFound
from api.projects.access import get_project
from api.projects.models import Project
from api.results.models import StepResult
from api.results.service import ResultFilters
from api.visits.service import journey_of
from scoring import MIN_IMPACT_VISITS, SIGNIFICANT_T, Sample, impact, recheck_date

S = ActionStatus
TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    S.open: frozenset({S.in_progress, S.done, S.dropped}),
    S.in_progress: frozenset({S.open, S.done, S.dropped}),
    S.done: frozenset({S.in_progress}),  # reopened: it did not hold
    S.dropped: frozenset({S.open}),
}


def is_due_for_recheck(plan: ActionPlan, today: date) -> bool:
    return plan.status != S.dropped and plan.rechecked_on is None and plan.recheck_on < today


def to_public(plan: ActionPlan, today: date | None = None) -> ActionPlanPublic:
    return ActionPlanPublic.model_validate(
        plan, update={"due_for_recheck": is_due_for_recheck(plan, today or date.today())}
    )


def _names(session: Session, project: Project) -> dict[str, str]:
    if project.journey_version_id is None:
        return {}
    journey = journey_of(session, version_id=project.journey_version_id)
    return {step.key: step.name for _, step in journey.steps()}


def _field_error(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "location": "body", "message": message}


def create(
    session: Session, *, project: Project, data: ActionPlanCreate, actor: User
) -> ActionPlan:
    """A plan on steps of the current journey; a gap needs a desired target for each step."""
    keys = list(dict.fromkeys(data.source.step_keys))
    names = _names(session, project)
    unknown = [key for key in keys if key not in names]
    if unknown:
        raise Invalid(
            f"Not steps of the project's current journey: {', '.join(unknown)}.",
            [_field_error("source.step_keys", f"unknown step {key}") for key in unknown],
        )
    document = cx_map(session, project=project, filters=ResultFilters())
    steps = {step.step_key: step for phase in document.phases for step in phase.steps}
    if data.source.kind == SourceKind.gap:
        untargeted = [key for key in keys if steps[key].desired is None]
        if untargeted:
            raise Invalid(
                f"No desired target for {', '.join(untargeted)}, so no gap to act on.",
                [_field_error("source.step_keys", f"{key} has no target") for key in untargeted],
            )
    baseline = {
        key: {
            "visits": steps[key].visits,
            "score": steps[key].score,
            "desired": steps[key].desired,
            "gap": steps[key].gap,
            "emotion": steps[key].emotion,
            "pain_reasons": steps[key].flags.pain_reasons,
        }
        for key in keys
    }
    today = date.today()
    plan = ActionPlan(
        project_id=project.id or 0,
        title=data.title,
        description=data.description,
        source_kind=data.source.kind,
        step_keys=keys,
        baseline={"desired_journey_version": document.desired_journey_version, "steps": baseline},
        owner=data.owner,
        due_on=data.due_on,
        recheck_on=data.recheck_on or recheck_date(today),
        recheck_auto=data.recheck_on is None,
        created_by=actor.id,
    )
    session.add(plan)
    session.flush()
    record(
        session,
        actor_id=actor.id,
        entity="action_plan",
        entity_id=plan.id or 0,
        action="created",
        to_state=plan.status,
        data={"project_id": project.id, "source": data.source.model_dump(mode="json")},
    )
    return plan


def list_plans(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    status: ActionStatus | None,
    due_for_recheck: bool | None,
    today: date,
) -> list[ActionPlan]:
    query = (
        select(ActionPlan)
        .where(ActionPlan.project_id == project.id)
        .order_by(col(ActionPlan.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(ActionPlan.id) > page.after_id)
    if status is not None:
        query = query.where(ActionPlan.status == status)
    due = (
        (col(ActionPlan.status) != S.dropped)
        & col(ActionPlan.rechecked_on).is_(None)
        & (col(ActionPlan.recheck_on) < today)
    )
    if due_for_recheck is True:
        query = query.where(due)
    elif due_for_recheck is False:
        query = query.where(~due)
    return list(session.exec(query))


def get_plan(session: Session, *, user: User, plan_id: int) -> tuple[ActionPlan, Project]:
    """The plan and its project if ``user`` reads the project; otherwise 404 like a missing id."""
    plan = session.get(ActionPlan, plan_id)
    missing = NotFound(f"No action plan {plan_id}.")
    if plan is None:
        raise missing
    try:
        project = get_project(session, user=user, project_id=plan.project_id)
    except NotFound:
        raise missing from None
    return plan, project


def update(
    session: Session, *, plan: ActionPlan, data: ActionPlanUpdate, actor: User
) -> ActionPlan:
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "status"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be empty.", [_field_error(name, "must not be null")])
    before = to_public(plan).model_dump(mode="json")
    old_status = plan.status
    new_status = changes.pop("status", None) or old_status
    today = date.today()
    if new_status != old_status and new_status not in TRANSITIONS[old_status]:
        raise InvalidTransition(
            f"An action plan that is {old_status} cannot become {new_status}.",
            allowed=sorted(TRANSITIONS[old_status]),
        )
    completed_on = changes.pop("completed_on", None)
    if completed_on is not None and new_status != S.done:
        raise Invalid(
            "completed_on belongs to a done action; set status done with it.",
            [_field_error("completed_on", "the action is not done")],
        )
    if "recheck_on" in changes:
        if changes["recheck_on"] is None:
            plan.recheck_auto = True
            changes.pop("recheck_on")
        else:
            plan.recheck_auto = False
    plan.sqlmodel_update(changes)
    plan.status = new_status
    if new_status == S.done:
        plan.completed_on = completed_on or plan.completed_on or today
    else:
        plan.completed_on = None
    if plan.recheck_auto:
        plan.recheck_on = recheck_date(plan.completed_on or plan.created_at.date())
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    after = to_public(plan).model_dump(mode="json")
    record(
        session,
        actor_id=actor.id,
        entity="action_plan",
        entity_id=plan.id or 0,
        action="updated" if old_status == new_status else str(new_status),
        from_state=old_status,
        to_state=new_status,
        data={
            key: {"before": before[key], "after": after[key]}
            for key in after
            if before[key] != after[key] and key != "updated_at"
        },
    )
    return plan


def plan_impact(
    session: Session, *, plan: ActionPlan, project: Project, filters: ResultFilters
) -> ActionImpact:
    """Targeted steps' scores before vs from the completion day on."""
    step = StepResult
    done_on = plan.completed_on
    side: Any = (
        case((col(step.visit_day) < done_on, "before"), else_="after")
        if done_on is not None
        else literal("before", String)
    )
    score = col(step.score)
    query = (
        sa_select(
            step.step_key,
            side.label("side"),
            func.count().label("n"),
            func.sum(score).label("sum_x"),
            func.sum(score * score).label("sum_xx"),
        )
        .where(
            *filters.where(step, project),
            col(step.step_key).in_(plan.step_keys),
            col(step.score).is_not(None),
        )
        .group_by(step.step_key, *([side] if done_on is not None else []))
    )
    samples: dict[tuple[str, str], Sample] = {
        (row.step_key, row.side): Sample(int(row.n), float(row.sum_x), float(row.sum_xx))
        for row in session.exec(query)
    }
    names = _names(session, project)
    steps = []
    for key in plan.step_keys:
        before = samples.get((key, "before"), Sample())
        after = samples.get((key, "after"), Sample())
        result = impact(before, after)
        steps.append(
            StepImpact(
                step_key=key,
                name=names.get(key),
                before=SideFigures(visits=before.n, mean_score=before.mean, sd=before.sd),
                after=SideFigures(visits=after.n, mean_score=after.mean, sd=after.sd),
                change=result.change,
                t=result.t,
                verdict=str(result.verdict),
                note=result.note,
            )
        )
    return ActionImpact(
        action_plan_id=plan.id or 0,
        completed_on=done_on,
        min_visits=MIN_IMPACT_VISITS,
        significant_t=SIGNIFICANT_T,
        note=None
        if done_on is not None
        else "The action is not done yet: every visit so far counts as 'before'.",
        steps=steps,
    )
