"""Exports of a project's approved visits: CSV streamed from a cursor, XLSX through a temp file.

Rows come from the materialised results (``result_visits``, ``result_steps``) and the visits'
answers (``step_observations``), so an export holds exactly the visits the results API counts.
Visits stream from a server-side cursor in chunks of ``CHUNK``; each chunk's step results and
answers are read with one query each. Nothing names a shopper.

Layouts:
- wide: one row per visit — ``VISIT_COLUMNS``, then per step in journey order its score
  (``score.<step>``) followed by its answers (``<step>.<question>``);
- long: one row per answer — ``LONG_COLUMNS``.

conscious_index and implicit_index of a visit are the means of its steps' indices (the steps that
have one), as ``/results/steps`` averages them per step.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any, Literal

from openpyxl import Workbook
from sqlalchemy import Row, select
from sqlmodel import Session, col

from api.db import Database
from api.locations.models import Location
from api.projects.models import Project, Wave
from api.results.models import StepResult, VisitResult
from api.results.service import ResultFilters
from api.visits.models import StepObservation
from api.visits.service import journey_of

Layout = Literal["wide", "long"]
CHUNK = 1000
XLSX_MAX_ROWS = 1_048_576  # rows of one sheet, the header included

VISIT_COLUMNS = (
    "visit_id",
    "location_code",
    "location_name",
    "region",
    "channel",
    "wave",
    "visit_day",
    "score",
    "raw_score",
    "knocked_out",
    "basis",
    "ease",
    "emotion",
    "conscious_index",
    "implicit_index",
)
LONG_COLUMNS = (
    "visit_id",
    "location_code",
    "location_name",
    "region",
    "channel",
    "wave",
    "visit_day",
    "phase_key",
    "step_key",
    "question_key",
    "answer",
    "step_score",
    "conscious_valence",
    "conscious_index",
    "implicit_index",
)


@dataclass
class _Step:
    phase_key: str
    questions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Columns:
    """The journey's steps and their questions, in journey order, over every version exported."""

    steps: dict[str, _Step]

    def header(self, layout: Layout) -> list[str]:
        if layout == "long":
            return list(LONG_COLUMNS)
        names = list(VISIT_COLUMNS)
        for step_key, step in self.steps.items():
            names.append(f"score.{step_key}")
            names += [f"{step_key}.{question}" for question in step.questions]
        return names


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read transaction that sees one state of the database however long the export runs."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        bind = engine.execution_options(sqlite_begin="DEFERRED")  # WAL: a snapshot already
    else:
        bind = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(bind=bind) as session:
        try:
            yield session
        finally:
            session.rollback()


def columns(session: Session, *, project: Project, filters: ResultFilters) -> Columns:
    """Steps and questions of the project's current journey version, then any others that the
    exported visits were made with add."""
    used = session.exec(
        select(VisitResult.journey_version_id)
        .where(*filters.where(VisitResult, project))
        .distinct()
    ).scalars()
    versions = sorted(int(v) for v in used)
    if project.journey_version_id is not None:
        current = project.journey_version_id
        versions = [current] + [v for v in versions if v != current]
    steps: dict[str, _Step] = {}
    for version_id in versions:
        for phase, step in journey_of(session, version_id=version_id).steps():
            entry = steps.setdefault(step.key, _Step(phase.key))
            entry.questions += [q.key for q in step.questions if q.key not in entry.questions]
    return Columns(steps)


def _visits(session: Session, project: Project, filters: ResultFilters) -> Iterator[list[Row[Any]]]:
    query = (
        select(
            VisitResult.visit_id,
            Location.code,
            Location.name,
            VisitResult.region,
            VisitResult.channel,
            Wave.name,
            VisitResult.visit_day,
            VisitResult.score,
            VisitResult.raw_score,
            VisitResult.knocked_out,
            VisitResult.basis,
            VisitResult.ease,
            VisitResult.emotion,
        )
        .join(Location, col(Location.id) == VisitResult.location_id)
        .outerjoin(Wave, col(Wave.id) == VisitResult.wave_id)
        .where(*filters.where(VisitResult, project))
        .order_by(col(VisitResult.visit_id))
        .execution_options(yield_per=CHUNK)  # a server-side cursor, fetched CHUNK rows at a time
    )
    yield from session.exec(query).partitions()


@dataclass
class _StepData:
    score: float | None = None
    conscious: float | None = None
    implicit: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    valence: int | None = None


def _steps_of(session: Session, visit_ids: list[int]) -> dict[int, dict[str, _StepData]]:
    """visit id → step key → its score, indices and answers."""
    data: dict[int, dict[str, _StepData]] = {visit_id: {} for visit_id in visit_ids}
    for visit_id, step_key, score, conscious, implicit in session.exec(
        select(
            StepResult.visit_id,
            StepResult.step_key,
            StepResult.score,
            StepResult.conscious,
            StepResult.implicit,
        ).where(col(StepResult.visit_id).in_(visit_ids))
    ):
        data[visit_id][step_key] = _StepData(score, conscious, implicit)
    for visit_id, step_key, answers, emotion in session.exec(
        select(
            StepObservation.visit_id,
            StepObservation.step_key,
            StepObservation.answers,
            StepObservation.conscious,
        ).where(col(StepObservation.visit_id).in_(visit_ids))
    ):
        step = data[visit_id].setdefault(step_key, _StepData())
        step.answers = answers or {}
        step.valence = (emotion or {}).get("valence")
    return data


def cell(value: Any) -> Any:
    """An answer as one cell: lists joined by ';', other structures as JSON."""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def rows(
    session: Session, *, project: Project, filters: ResultFilters, layout: Layout, cols: Columns
) -> Iterator[list[list[Any]]]:
    """The export's rows (plain values), in chunks, ordered by visit id."""
    for chunk in _visits(session, project, filters):
        steps = _steps_of(session, [row[0] for row in chunk])
        out: list[list[Any]] = []
        for visit in chunk:
            by_step = steps[visit[0]]
            if layout == "wide":
                out.append(_wide(visit, by_step, cols))
            else:
                out += _long(visit, by_step, cols)
        yield out


def _wide(visit: Row[Any], by_step: dict[str, _StepData], cols: Columns) -> list[Any]:
    values = list(visit)
    values.append(_mean([step.conscious for step in by_step.values()]))
    values.append(_mean([step.implicit for step in by_step.values()]))
    empty = _StepData()
    for step_key, step in cols.steps.items():
        data = by_step.get(step_key, empty)
        values.append(data.score)
        values += [cell(data.answers.get(question)) for question in step.questions]
    return values


def _long(visit: Row[Any], by_step: dict[str, _StepData], cols: Columns) -> list[list[Any]]:
    where = list(visit[:7])
    out = []
    ordered = [key for key in cols.steps if key in by_step]
    ordered += sorted(key for key in by_step if key not in cols.steps)
    for step_key in ordered:
        data = by_step[step_key]
        step = cols.steps.get(step_key)
        known = step.questions if step else []
        questions = [q for q in known if q in data.answers]
        questions += sorted(q for q in data.answers if q not in known)
        for question in questions:
            out.append(
                [
                    *where,
                    step.phase_key if step else None,
                    step_key,
                    question,
                    cell(data.answers[question]),
                    data.score,
                    data.valence,
                    data.conscious,
                    data.implicit,
                ]
            )
    return out


# ---------------------------------------------------------------- file formats


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_chunks(
    db: Database, *, project: Project, filters: ResultFilters, layout: Layout
) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK visits: for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with snapshot(db) as session:
        cols = columns(session, project=project, filters=filters)
        writer.writerow(cols.header(layout))
        for chunk in rows(session, project=project, filters=filters, layout=layout, cols=cols):
            writer.writerows([_csv_value(v) for v in row] for row in chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(db: Database, *, project: Project, filters: ResultFilters, layout: Layout) -> str:
    """Write the export to a new temporary .xlsx file and return its path (the caller deletes
    it). Write-only mode keeps one row in memory at a time; long exports beyond one sheet's
    rows continue on the next sheet."""
    handle, path = tempfile.mkstemp(prefix="fieldwork-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        with snapshot(db) as session:
            cols = columns(session, project=project, filters=filters)
            header = cols.header(layout)
            base = "visits" if layout == "wide" else "answers"
            sheets = 1
            sheet = workbook.create_sheet(base)
            sheet.append(header)
            filled = 1
            for chunk in rows(session, project=project, filters=filters, layout=layout, cols=cols):
                for row in chunk:
                    if filled == XLSX_MAX_ROWS:
                        sheets += 1
                        sheet = workbook.create_sheet(f"{base} {sheets}")
                        sheet.append(header)
                        filled = 1
                    sheet.append(row)
                    filled += 1
        workbook.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def filename(project: Project, layout: Layout, extension: str, *, today: date) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", project.name.lower()).strip("-") or "project"
    return f"{slug}-visits-{layout}-{today.isoformat()}.{extension}"
