"""UTCDateTime on SQLite writes the same text SQLAlchemy's DATETIME would, in one step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import sqlite

from api.common import UTCDateTime
from api.db import make_engine

_stock = DateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
_ours = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9))])


def _stock_text(value: datetime) -> str:
    """What ``process_bind_param`` followed by SQLite's DATETIME processor gave."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    assert _stock is not None
    return str(_stock(value.astimezone(UTC).replace(tzinfo=None)))


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones))
def test_the_text_is_sqlalchemys_storage_format(value: datetime) -> None:
    assert _ours is not None
    assert _ours(value) == _stock_text(value)


def test_values_round_trip_as_aware_utc_and_compare_in_order(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'times.sqlite3'}")
    table = Table("times", MetaData(), Column("id", Integer, primary_key=True))
    table.append_column(Column("at", UTCDateTime))
    table.metadata.create_all(engine)
    amsterdam = timezone(timedelta(hours=2))
    values = [
        datetime(2026, 11, 24, 13, 10, 6, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 11, 24, 15, 10, 6, 500, tzinfo=amsterdam),  # 13:10:06.000500 UTC
        datetime(2026, 11, 24, 13, 10, 7),  # naive: taken as UTC
        None,
    ]
    with engine.begin() as db:
        db.execute(insert(table), [{"at": value} for value in values])
        texts = db.exec_driver_sql("SELECT at FROM times ORDER BY id").scalars().all()
        back = db.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        later = db.execute(
            select(table.c.id).where(
                table.c.at > datetime(2026, 11, 24, 15, 10, 6, 100, tzinfo=amsterdam)
            )
        )
        assert later.scalars().all() == [2, 3]
    engine.dispose()
    assert texts == [
        "2026-11-24 13:10:06.000000",
        "2026-11-24 13:10:06.000500",
        "2026-11-24 13:10:07.000000",
        None,
    ]
    assert back == [
        datetime(2026, 11, 24, 13, 10, 6, tzinfo=UTC),
        datetime(2026, 11, 24, 13, 10, 6, 500, tzinfo=UTC),
        datetime(2026, 11, 24, 13, 10, 7, tzinfo=UTC),
        None,
    ]
    assert all(value is None or value.tzinfo is UTC for value in back)
