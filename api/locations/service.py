from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.common import PageParams
from api.errors import Conflict, Invalid, NotFound, error_field
from api.locations.models import (
    ImportReport,
    Location,
    LocationCreate,
    LocationKind,
    LocationUpdate,
)
from api.projects.models import Project

CSV_COLUMNS = tuple(LocationCreate.model_fields)
REQUIRED_COLUMNS = ("code", "name")


def create_location(session: Session, *, project: Project, data: LocationCreate) -> Location:
    clash = session.exec(
        select(Location.id).where(Location.project_id == project.id, Location.code == data.code)
    ).first()
    if clash is not None:
        raise Conflict(f"The project has a location with code {data.code!r}.", field="code")
    location = Location.model_validate(data, update={"project_id": project.id})
    session.add(location)
    session.flush()
    return location


def get_location(session: Session, *, project: Project, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None or location.project_id != project.id:
        raise NotFound(f"No location {location_id} in project {project.id}.")
    return location


def list_locations(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    region: str | None,
    kind: LocationKind | None,
    tag: str | None,
    search: str | None,
) -> list[Location]:
    query = (
        select(Location)
        .where(Location.project_id == project.id)
        .order_by(col(Location.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(Location.id) > page.after_id)
    if region:
        query = query.where(Location.region == region)
    if kind:
        query = query.where(Location.kind == kind)
    if search:
        pattern = f"%{search}%"
        query = query.where(
            col(Location.name).ilike(pattern)
            | col(Location.code).ilike(pattern)
            | col(Location.city).ilike(pattern)
        )
    if not tag:
        return list(session.exec(query))
    # Tags live in a JSON list; filtering in Python keeps the query portable across databases.
    # The page is cut after filtering, else matches beyond the first limit + 1 rows are lost.
    rows = (row for row in session.exec(query.limit(None)) if tag in row.tags)
    return list(itertools.islice(rows, page.limit + 1))


def update_location(session: Session, *, location: Location, data: LocationUpdate) -> Location:
    try:
        merged = LocationCreate.model_validate(
            location.model_dump() | data.model_dump(exclude_unset=True)
        )
    except ValidationError as exc:
        raise Invalid(
            "The change would leave the location invalid.",
            [
                {
                    "field": error_field(err) or "body",
                    "location": "body",
                    "message": err["msg"],
                }
                for err in exc.errors()
            ],
        ) from None
    location.sqlmodel_update(merged.model_dump())
    session.add(location)
    session.flush()
    return location


def _row_to_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, raw in row.items():
        value = (raw or "").strip()
        if value == "":
            continue
        if name == "tags":
            fields[name] = [t.strip() for t in value.replace(",", ";").split(";") if t.strip()]
        elif name in {"latitude", "longitude"}:
            fields[name] = value.replace(",", ".") if value.count(",") == 1 else value
        elif name == "active":
            fields[name] = value.lower() in {"1", "true", "yes", "y", "ja", "j"}
        else:
            fields[name] = value
    return fields


def parse_locations_csv(
    content: bytes, existing: Mapping[str, Location] | None = None
) -> list[LocationCreate]:
    """Every row as a LocationCreate, or Invalid listing every bad row with its line number.

    A row whose code is in ``existing`` updates that location: the file's columns replace its
    values (a blank cell clears one), the columns the file leaves out keep theirs.
    """
    existing = existing or {}
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            "The file is not UTF-8 text.", [{"line": None, "field": None, "message": str(exc)}]
        ) from None
    if not text.strip():
        raise Invalid(
            "The file is empty.", [{"line": 1, "field": None, "message": "no header row"}]
        )
    first_line = text.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    errors: list[dict[str, Any]] = []
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    for name in unknown:
        errors.append(
            {
                "line": 1,
                "field": name,
                "message": f"unknown column; known: {', '.join(CSV_COLUMNS)}",
            }
        )
    for name in missing:
        errors.append({"line": 1, "field": name, "message": "required column missing"})
    if errors:
        raise Invalid("The header row is wrong; nothing was imported.", errors)

    parsed: list[LocationCreate] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append({"line": line, "field": None, "message": "more values than columns"})
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        fields = _row_to_fields(row)
        kept = existing.get(fields.get("code", ""))
        if kept is not None:
            fields = {
                name: getattr(kept, name) for name in CSV_COLUMNS if name not in header
            } | fields
        try:
            location = LocationCreate.model_validate(fields)
        except ValidationError as exc:
            for err in exc.errors():
                field = error_field(err) or None
                errors.append({"line": line, "field": field, "message": err["msg"]})
            continue
        if location.code in seen:
            errors.append(
                {
                    "line": line,
                    "field": "code",
                    "message": f"duplicate of line {seen[location.code]}",
                }
            )
            continue
        seen[location.code] = line
        parsed.append(location)
    if errors:
        bad_lines = sorted({e["line"] for e in errors if e["line"] is not None})
        raise Invalid(
            f"{len(bad_lines)} bad row(s) (lines {', '.join(map(str, bad_lines))}); nothing was imported.",
            errors,
        )
    if not parsed:
        raise Invalid(
            "The file has a header but no rows.", [{"line": 2, "field": None, "message": "no rows"}]
        )
    return parsed


def import_locations(session: Session, *, project: Project, content: bytes) -> ImportReport:
    """Insert new codes and update existing ones, all or nothing."""
    existing = {
        loc.code: loc
        for loc in session.exec(select(Location).where(Location.project_id == project.id))
    }
    rows = parse_locations_csv(content, existing)
    imported = updated = 0
    for data in rows:
        current = existing.get(data.code)
        if current is None:
            session.add(Location.model_validate(data, update={"project_id": project.id}))
            imported += 1
        else:
            current.sqlmodel_update(data.model_dump())
            session.add(current)
            updated += 1
    session.flush()
    return ImportReport(imported=imported, updated=updated)
