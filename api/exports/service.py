"""Exports of a project's approved visits: CSV streamed from a cursor, XLSX through a temp file.

Rows come from the materialised results (``result_visits``, ``result_steps``) and the visits'
answers (``step_observations``), so an export holds exactly the visits the results API counts.
Two server-side cursors, both ordered by visit id and filtered alike, are read side by side in
chunks and merged: the visits (``result_visits`` with location and wave) and their steps
(``result_steps`` joined to their answers). Memory holds one chunk, whatever the export's size.
Nothing names a shopper.

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
from sqlalchemy import Connection, Row, Text, and_, cast, select
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
STEPS_PER_CHUNK = 20  # step rows are read CHUNK × this at a time
BOOLEAN_COLUMNS = frozenset({"knocked_out"})  # CSV: true/false

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


def _visits(conn: Connection, project: Project, filters: ResultFilters) -> Iterator[list[Row[Any]]]:
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
    )
    # A server-side cursor (stream_results), fetched CHUNK rows at a time.
    yield from conn.execution_options(yield_per=CHUNK).execute(query).partitions()


@dataclass(slots=True)
class _StepData:
    score: float | None = None
    conscious: float | None = None
    implicit: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    valence: int | None = None


def _step_groups(
    conn: Connection, project: Project, filters: ResultFilters
) -> Iterator[tuple[int, dict[str, _StepData]]]:
    """(visit id, step key → its score, indices and answers) in visit id order: one ordered
    stream, read CHUNK × 20 rows at a time alongside the visits' stream."""
    joined = and_(
        col(StepObservation.visit_id) == StepResult.visit_id,
        col(StepObservation.step_key) == StepResult.step_key,
    )
    query = (
        select(
            StepResult.visit_id,
            StepResult.step_key,
            StepResult.score,
            StepResult.conscious,
            StepResult.implicit,
            # As text, parsed a chunk at a time below: per-row JSON parsing costs more.
            cast(StepObservation.answers, Text),
            col(StepObservation.conscious)["valence"].as_integer(),
        )
        .outerjoin(StepObservation, joined)
        .where(*filters.where(StepResult, project))
        .order_by(col(StepResult.visit_id))
    )
    result = conn.execution_options(yield_per=CHUNK * STEPS_PER_CHUNK).execute(query)
    current: int | None = None
    steps: dict[str, _StepData] = {}
    for part in result.partitions():
        answers = json.loads("[" + ",".join(row[5] or "{}" for row in part) + "]")
        for row, answered in zip(part, answers, strict=True):
            visit_id = row[0]
            if visit_id != current:
                if current is not None:
                    yield current, steps
                current, steps = visit_id, {}
            steps[row[1]] = _StepData(row[2], row[3], row[4], answered, row[6])
    if current is not None:
        yield current, steps


def cell(value: Any) -> Any:
    """An answer as one cell: lists joined by ';', other structures as JSON."""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


_PLAIN = (str, int, float, type(None))


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def rows(
    conn: Connection, *, project: Project, filters: ResultFilters, layout: Layout, cols: Columns
) -> Iterator[list[list[Any]]]:
    """The export's rows (plain values), in chunks, ordered by visit id."""
    groups = _step_groups(conn, project, filters)
    group: tuple[int, dict[str, _StepData]] | None = next(groups, None)
    for chunk in _visits(conn, project, filters):
        out: list[list[Any]] = []
        for visit in chunk:
            # Both streams are ordered by visit id and filtered alike: merge them.
            while group is not None and group[0] < visit[0]:
                group = next(groups, None)
            by_step = group[1] if group is not None and group[0] == visit[0] else {}
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
        answers = data.answers
        for question in step.questions:
            value = answers.get(question)
            values.append(value if type(value) in _PLAIN else cell(value))
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


def csv_chunks(
    db: Database, *, project: Project, filters: ResultFilters, layout: Layout
) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK visits: for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # None is written as an empty field
    with snapshot(db) as session:
        cols = columns(session, project=project, filters=filters)
        header = cols.header(layout)
        writer.writerow(header)
        flags = [i for i, name in enumerate(header) if name in BOOLEAN_COLUMNS]
        conn = session.connection()
        for chunk in rows(conn, project=project, filters=filters, layout=layout, cols=cols):
            for row in chunk:
                for i in flags:
                    row[i] = "true" if row[i] else "false"
            writer.writerows(chunk)
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
            conn = session.connection()
            for chunk in rows(conn, project=project, filters=filters, layout=layout, cols=cols):
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
