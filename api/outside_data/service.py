"""Importing per-location figures from CSV, listing them, and correlating them with the scores."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.accounts.models import User
from api.common import PageParams
from api.errors import Invalid, NotFound
from api.locations.models import Location
from api.outside_data.models import (
    METRIC_LENGTH,
    PERIOD_LENGTH,
    CorrelationPublic,
    CorrelationRow,
    MetricPublic,
    OutsideFigure,
    OutsideImport,
    OutsideImportReport,
)
from api.projects.models import Project
from api.results.models import VisitResult
from api.results.service import ResultFilters
from scoring import correlate

CSV_COLUMNS = ("location_code", "metric", "value", "period")
REQUIRED_COLUMNS = ("location_code", "metric", "value")

Key = tuple[int, str, str]  # location id, metric, period


def _error(line: int | None, field: str | None, message: str) -> dict[str, Any]:
    return {"line": line, "field": field, "message": message}


def _number(raw: str) -> float | None:
    """The value as a float; a lone decimal comma is accepted (semicolon-separated files)."""
    text = raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_figures_csv(content: bytes, *, codes: dict[str, int]) -> dict[Key, float]:
    """(location id, metric, period) → value for every row, or Invalid listing every bad row.

    ``codes`` maps the project's location codes to their ids. Line numbers count the header as 1.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text.", [_error(None, None, str(exc))]) from None
    if not text.strip():
        raise Invalid("The file is empty.", [_error(1, None, "no header row")])
    first_line = text.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    errors = [
        _error(1, name, f"unknown column; known: {', '.join(CSV_COLUMNS)}")
        for name in header
        if name not in CSV_COLUMNS
    ]
    errors += [
        _error(1, name, "required column missing")
        for name in REQUIRED_COLUMNS
        if name not in header
    ]
    if errors:
        raise Invalid("The header row is wrong; nothing was imported.", errors)

    figures: dict[Key, float] = {}
    seen: dict[Key, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(_error(line, None, "more values than columns"))
            continue
        cells = {name: (value or "").strip() for name, value in row.items()}
        if not any(cells.values()):
            continue
        row_errors = []
        code, metric, period = cells["location_code"], cells["metric"], cells.get("period", "")
        location_id = codes.get(code)
        if not code:
            row_errors.append(_error(line, "location_code", "is required"))
        elif location_id is None:
            row_errors.append(_error(line, "location_code", f"no location {code!r} in the project"))
        if not metric:
            row_errors.append(_error(line, "metric", "is required"))
        elif len(metric) > METRIC_LENGTH:
            row_errors.append(_error(line, "metric", f"longer than {METRIC_LENGTH} characters"))
        if len(period) > PERIOD_LENGTH:
            row_errors.append(_error(line, "period", f"longer than {PERIOD_LENGTH} characters"))
        value = _number(cells["value"])
        if value is None:
            row_errors.append(_error(line, "value", f"{cells['value']!r} is not a number"))
        if row_errors:
            errors += row_errors
            continue
        assert location_id is not None and value is not None
        key = (location_id, metric, period)
        if key in seen:
            errors.append(
                _error(
                    line, "location_code", f"same location, metric and period as line {seen[key]}"
                )
            )
            continue
        seen[key] = line
        figures[key] = value
    if errors:
        bad_lines = sorted({e["line"] for e in errors if e["line"] is not None})
        raise Invalid(
            f"{len(bad_lines)} bad row(s) (lines {', '.join(map(str, bad_lines))}); "
            "nothing was imported.",
            errors,
        )
    if not figures:
        raise Invalid("The file has a header but no rows.", [_error(2, None, "no rows")])
    return figures


def import_figures(
    session: Session, *, project: Project, content: bytes, filename: str, actor: User
) -> OutsideImportReport:
    """Store every figure of the file in one batch, all or nothing; a known key is replaced."""
    codes = {
        code: location_id
        for code, location_id in session.exec(
            select(Location.code, Location.id).where(Location.project_id == project.id)
        )
        if location_id is not None
    }
    figures = parse_figures_csv(content, codes=codes)
    batch = OutsideImport(
        project_id=project.id or 0, imported_by=actor.id, filename=filename[:200], rows=len(figures)
    )
    session.add(batch)
    session.flush()
    assert batch.id is not None
    metrics = sorted({metric for _, metric, _ in figures})
    existing = {
        (row.location_id, row.metric, row.period): row
        for row in session.exec(
            select(OutsideFigure).where(
                OutsideFigure.project_id == project.id, col(OutsideFigure.metric).in_(metrics)
            )
        )
    }
    imported = replaced = 0
    for key, value in figures.items():
        row = existing.get(key)
        if row is None:
            location_id, metric, period = key
            row = OutsideFigure(
                project_id=project.id or 0,
                location_id=location_id,
                metric=metric,
                period=period,
                value=value,
                import_id=batch.id,
                imported_at=batch.imported_at,
            )
            imported += 1
        else:
            row.value = value
            row.import_id = batch.id
            row.imported_at = batch.imported_at
            replaced += 1
        session.add(row)
    session.flush()
    return OutsideImportReport(
        import_id=batch.id, imported=imported, replaced=replaced, metrics=metrics
    )


def list_figures(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    metric: str | None,
    period: str | None,
    location_id: int | None,
) -> list[tuple[OutsideFigure, str]]:
    """Figures with their location code, by id."""
    query = (
        select(OutsideFigure, Location.code)
        .join(Location, col(Location.id) == OutsideFigure.location_id)
        .where(OutsideFigure.project_id == project.id)
        .order_by(col(OutsideFigure.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(OutsideFigure.id) > page.after_id)
    if metric is not None:
        query = query.where(OutsideFigure.metric == metric)
    if period is not None:
        query = query.where(OutsideFigure.period == period)
    if location_id is not None:
        query = query.where(OutsideFigure.location_id == location_id)
    return [(figure, code) for figure, code in session.exec(query)]


def list_metrics(session: Session, *, project: Project) -> list[MetricPublic]:
    rows = session.exec(
        select(
            OutsideFigure.metric,
            OutsideFigure.period,
            func.count().label("figures"),
        )
        .where(OutsideFigure.project_id == project.id)
        .group_by(col(OutsideFigure.metric), col(OutsideFigure.period))
    ).all()
    locations = dict(
        session.exec(
            select(OutsideFigure.metric, func.count(func.distinct(OutsideFigure.location_id)))
            .where(OutsideFigure.project_id == project.id)
            .group_by(col(OutsideFigure.metric))
        ).all()
    )
    by_metric: dict[str, MetricPublic] = {}
    for metric, period, figures in rows:
        entry = by_metric.setdefault(
            metric, MetricPublic(metric=metric, locations=locations[metric], figures=0, periods=[])
        )
        entry.figures += figures
        if period:
            entry.periods.append(period)
    for entry in by_metric.values():
        entry.periods.sort()
    return [by_metric[name] for name in sorted(by_metric)]


def correlation(
    session: Session,
    *,
    project: Project,
    metric: str,
    period: str | None,
    filters: ResultFilters,
) -> CorrelationPublic:
    """Each location's metric value beside its mean visit score, and r and rho across them."""
    query = (
        select(
            OutsideFigure.location_id,
            func.avg(OutsideFigure.value).label("value"),
            func.count().label("periods"),
        )
        .where(OutsideFigure.project_id == project.id, OutsideFigure.metric == metric)
        .group_by(col(OutsideFigure.location_id))
    )
    if period is not None:
        query = query.where(OutsideFigure.period == period)
    values = {row.location_id: row for row in session.exec(query)}
    if not values:
        raise NotFound(
            f"No figures of metric {metric!r}"
            + (f" for period {period!r}" if period is not None else "")
            + " in this project."
        )
    scores = {
        row.location_id: row
        for row in session.exec(
            select(
                VisitResult.location_id,
                func.count().label("visits"),
                func.avg(VisitResult.score).label("mean_score"),
            )
            .where(*filters.where(VisitResult, project), col(VisitResult.location_id).in_(values))
            .group_by(col(VisitResult.location_id))
        )
    }
    places = {
        place.id: place
        for place in session.exec(select(Location).where(col(Location.id).in_(values)))
    }
    rows = []
    for location_id in sorted(values, key=lambda i: (places[i].code, i)):
        score = scores.get(location_id)
        rows.append(
            CorrelationRow(
                location_id=location_id,
                code=places[location_id].code,
                name=places[location_id].name,
                visits=score.visits if score else 0,
                mean_score=score.mean_score if score else None,
                value=float(values[location_id].value),
                periods=values[location_id].periods,
            )
        )
    result = correlate((row.mean_score, row.value) for row in rows)
    return CorrelationPublic(
        metric=metric,
        period=period,
        n=result.n,
        pearson=result.pearson,
        spearman=result.spearman,
        note=result.note,
        locations=rows,
    )
