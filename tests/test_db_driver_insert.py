"""``api.db.DriverInsert``: rows sent to the driver as they are are stored as Core stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from api.audit.models import AuditEntry
from api.db import Database, DriverInsert

audit = AuditEntry.__table__  # type: ignore[attr-defined]


def test_driver_rows_are_stored_as_core_stores_them(db: Database) -> None:
    rows = [
        {
            "at": datetime(2026, 11, 24, 13, 10, 6, 500, tzinfo=UTC),
            "actor_id": None,
            "entity": "assignment",
            "entity_id": 7,
            "action": "submitted",
            "from_state": None,
            "to_state": "submitted",
            "comment": "Zoë's “quote”",
            "data": {"b": [1, 2.5, None, True], "a": {"ü": "é"}},
        },
        {
            "at": datetime(2026, 11, 24, 15, 10, 6, tzinfo=timezone(timedelta(hours=2))),
            "actor_id": None,
            "entity": "visit",
            "entity_id": 8,
            "action": "returned",
            "from_state": "submitted",
            "to_state": None,
            "comment": "",
            "data": {},
        },
    ]
    inserter = DriverInsert(audit, list(rows[0]))
    with db.engine.begin() as connection:
        prepared = [inserter.prepare(connection.dialect, row) for row in rows]
        assert prepared[0] is not rows[0] and isinstance(rows[0]["data"], dict)  # left as is
        connection.execute(insert(audit), rows)
        inserter.execute(connection, prepared)
        stored = connection.execute(select(audit).order_by(audit.c.id)).mappings().all()
    by_core = [{k: v for k, v in row.items() if k != "id"} for row in stored[:2]]
    by_driver = [{k: v for k, v in row.items() if k != "id"} for row in stored[2:]]
    assert by_driver == by_core
    assert by_driver[1]["at"] == datetime(2026, 11, 24, 13, 10, 6, tzinfo=UTC)
    assert by_driver[0]["data"] == rows[0]["data"]


def test_an_insert_leaving_out_a_column_with_a_default_is_refused(db: Database) -> None:
    """Core would fill in ``at`` and ``comment`` from their defaults; the driver cannot."""
    inserter = DriverInsert(audit, ["entity", "entity_id", "action"])
    with pytest.raises(ValueError, match="audit_log"):
        inserter.prepare(db.engine.dialect, {"entity": "x", "entity_id": 1, "action": "y"})
