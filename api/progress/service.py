"""Counting a project's assignments by fieldwork stage, and each shopper's load against the caps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlmodel import Session, col, func, select

from api.accounts.models import User
from api.assignments.caps import Booking, CapLedger, period_key
from api.assignments.models import Assignment, AssignmentStatus
from api.common import PageParams
from api.locations.models import Location
from api.progress.models import (
    CellProgress,
    ProjectProgress,
    ProjectProgressItem,
    RegionProgress,
    ShopperLoad,
    StageCounts,
    WaveProgress,
)
from api.projects.models import Project, ProjectStatus, Wave
from api.projects.service import list_projects
from api.shoppers.models import ShopperProfile
from api.shoppers.service import list_shoppers

S = AssignmentStatus

# Which state belongs to which stage of StageCounts (the schema documents the same mapping).
STAGES: dict[str, frozenset[AssignmentStatus]] = {
    "open": frozenset({S.open}),
    "assigned": frozenset({S.offered, S.accepted}),
    "in_field": frozenset({S.in_progress}),
    "returned": frozenset({S.returned}),
    "submitted": frozenset({S.submitted}),
    "approved": frozenset({S.approved}),
    "rejected": frozenset({S.rejected}),
    "expired": frozenset({S.expired}),
    "declined": frozenset({S.declined}),
    "cancelled": frozenset({S.cancelled}),
}
NOT_PLANNED = frozenset({S.declined, S.expired, S.cancelled})


def stage_counts(by_status: dict[AssignmentStatus, int]) -> StageCounts:
    full = {status: by_status.get(status, 0) for status in AssignmentStatus}
    stages = {name: sum(full[s] for s in states) for name, states in STAGES.items()}
    total = sum(full.values())
    return StageCounts(
        **stages,
        planned=total - sum(full[s] for s in NOT_PLANNED),
        total=total,
        by_status=full,
    )


def _sum(groups: Iterable[dict[AssignmentStatus, int]]) -> dict[AssignmentStatus, int]:
    out: dict[AssignmentStatus, int] = defaultdict(int)
    for group in groups:
        for status, count in group.items():
            out[status] += count
    return out


# (wave id, region) → state → assignments, of one project
Cells = dict[tuple[int | None, str], dict[AssignmentStatus, int]]


def progress(session: Session, *, project: Project) -> ProjectProgress:
    """The project's assignments by stage, per wave, region and wave × region."""
    return progress_of(session, projects=[project])[0]


def progress_of(session: Session, *, projects: Sequence[Project]) -> list[ProjectProgress]:
    """Each project's progress, from one grouped query (project × wave × region × state →
    count) summed up to waves, regions and totals, and one query for their waves."""
    ids = [project.id for project in projects]
    if not ids:
        return []
    rows = session.exec(
        select(
            Assignment.project_id,
            Assignment.wave_id,
            Location.region,
            Assignment.status,
            func.count(),
        )
        .join(Location, col(Location.id) == Assignment.location_id)
        .where(col(Assignment.project_id).in_(ids))
        .group_by(
            col(Assignment.project_id),
            col(Assignment.wave_id),
            col(Location.region),
            col(Assignment.status),
        )
    ).all()
    cells: dict[int, Cells] = defaultdict(lambda: defaultdict(dict))
    for project_id, wave_id, region, status, count in rows:
        cells[project_id][wave_id, region or ""][AssignmentStatus(status)] = int(count)
    waves: dict[int, list[Wave]] = defaultdict(list)
    for wave in session.exec(
        select(Wave)
        .where(col(Wave.project_id).in_(ids))
        .order_by(col(Wave.starts_on), col(Wave.id))
    ):
        waves[wave.project_id].append(wave)
    return [
        _progress(project, cells[project.id or 0], waves[project.id or 0]) for project in projects
    ]


def _progress(project: Project, cells: Cells, waves: list[Wave]) -> ProjectProgress:
    assert project.id is not None
    wave_rows = [
        WaveProgress(
            wave_id=wave.id,
            name=wave.name,
            starts_on=wave.starts_on,
            ends_on=wave.ends_on,
            counts=stage_counts(_sum(c for (w, _), c in cells.items() if w == wave.id)),
        )
        for wave in waves
    ]
    if any(w is None for w, _ in cells):
        wave_rows.append(
            WaveProgress(
                wave_id=None,
                name=None,
                starts_on=None,
                ends_on=None,
                counts=stage_counts(_sum(c for (w, _), c in cells.items() if w is None)),
            )
        )
    regions = sorted({region for _, region in cells})
    return ProjectProgress(
        project_id=project.id,
        totals=stage_counts(_sum(cells.values())),
        waves=wave_rows,
        regions=[
            RegionProgress(
                region=region,
                counts=stage_counts(_sum(c for (_, r), c in cells.items() if r == region)),
            )
            for region in regions
        ],
        cells=[
            CellProgress(wave_id=wave_id, region=region, counts=stage_counts(counts))
            for (wave_id, region), counts in sorted(
                cells.items(), key=lambda item: (item[0][0] is None, item[0][0] or 0, item[0][1])
            )
        ],
        targets=dict(project.targets or {}),
    )


def list_progress(
    session: Session,
    *,
    user: User,
    page: PageParams,
    client_id: int | None = None,
    status: ProjectStatus | None = None,
) -> list[ProjectProgressItem]:
    """A page of the projects ``user`` may see (as ``GET /projects`` lists them: by id, one more
    than the page for the next cursor), each with its progress."""
    projects = list_projects(session, user=user, page=page, client_id=client_id, status=status)
    return [
        ProjectProgressItem(
            **found.model_dump(),
            name=project.name,
            status=project.status,
            client_id=project.client_id,
        )
        for project, found in zip(projects, progress_of(session, projects=projects), strict=True)
    ]


def _current_wave(session: Session, project: Project, today: date) -> Wave | None:
    return session.exec(
        select(Wave)
        .where(Wave.project_id == project.id, Wave.starts_on <= today, Wave.ends_on >= today)
        .order_by(col(Wave.starts_on))
    ).first()


def _period_label(key: tuple[object, ...], wave: Wave | None) -> str:
    if key[0] == "wave" and wave is not None:
        return f"wave {wave.name}"
    if key[0] == "week":
        return f"week {key[1]}-W{int(str(key[2])):02d}"
    return f"month {key[1]}-{int(str(key[2])):02d}"


def shopper_load(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    region: str | None = None,
    qualified: bool | None = None,
    search: str | None = None,
    today: date | None = None,
) -> tuple[list[tuple[User, ShopperProfile]], list[ShopperLoad]]:
    """A page of shoppers, each counted the way the caps count them (api/assignments/caps.py)."""
    today = today or date.today()
    rows = list_shoppers(session, page=page, region=region, qualified=qualified, search=search)
    ids = [user.id for user, _ in rows[: page.limit]]
    bookings = session.exec(
        select(
            Assignment.location_id,
            Assignment.visit_day,
            Assignment.status,
            Assignment.shopper_id,
            Assignment.wave_id,
            Assignment.id,
        ).where(
            Assignment.project_id == project.id,
            col(Assignment.shopper_id).in_(ids),
            col(Assignment.status).not_in(list(NOT_PLANNED)),
        )
    ).all()
    caps = project.cap_rules
    ledger = CapLedger.of(caps, (Booking(*row) for row in bookings))
    wave = _current_wave(session, project, today)
    key = period_key(caps, today, wave.id if wave else None)
    label = _period_label(key, wave)
    loads = []
    for user, profile in rows[: page.limit]:
        assert user.id is not None
        open_count = ledger.open_by_shopper[user.id]
        in_period = ledger.by_shopper_period[user.id, key]
        loads.append(
            ShopperLoad(
                shopper_id=user.id,
                username=user.username,
                name=user.full_name or user.username,
                region=profile.region,
                is_active=user.is_active,
                qualified=profile.qualified,
                rating=profile.rating,
                approved_visits=profile.approved_visits,
                open_assignments=open_count,
                max_open=caps.max_open_per_shopper,
                period=label,
                visits_in_period=in_period,
                max_per_period=caps.max_visits_per_shopper_per_period,
                at_cap=open_count >= caps.max_open_per_shopper
                or in_period >= caps.max_visits_per_shopper_per_period,
            )
        )
    return rows, loads
