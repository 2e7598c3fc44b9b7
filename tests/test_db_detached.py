"""``api.db.detached``: a table model from a Core row, the same as the ORM would have loaded."""

from __future__ import annotations

import sqlmodel
from sqlalchemy import inspect, select
from sqlmodel import Session

from api.accounts.models import Role, User, UserPublic
from api.db import Database, detached


def test_a_detached_row_is_what_a_closed_session_would_have_loaded(db: Database) -> None:
    with db.session() as session:
        session.add(
            User(
                username="ines",
                email="ines@example.org",
                full_name="Inès",
                role=Role.shopper,
                password_hash="x",
            )
        )
    with Session(db.engine) as session:
        loaded = session.exec(sqlmodel.select(User).where(User.username == "ines")).one()
    with db.engine.connect() as connection:
        row = connection.execute(select(User.__table__).where(User.username == "ines")).one()
    user = detached(User, row)

    assert user.model_dump() == loaded.model_dump()
    assert user.role is Role.shopper and user.created_at.tzinfo is not None
    state = inspect(user)
    assert state.detached and state.key == inspect(loaded).key
    assert not state.modified and not state.expired_attributes
    assert UserPublic.model_validate(user).username == "ines"

    # It can join a session again (as a detached loaded object can) and be changed there.
    with db.session() as session:
        again = session.merge(user)
        again.full_name = "Inès B."
    with db.session() as session:
        assert session.get(User, user.id).full_name == "Inès B."  # type: ignore[union-attr]
