"""Whether an open event stream's reader may still read it: the open check, run again.

A stream outlives the request that opened it by up to ``events_max_stream_seconds``; in that time
an API key may be revoked, an account disabled or a manager taken off the project. The stream asks
this every ``events_access_check_seconds`` and ends when the answer is no longer "yes".
"""

from __future__ import annotations

from sqlmodel import Session

from api.accounts.models import Role, User
from api.apikeys import service as api_keys
from api.deps import KEY_REFUSED, TOKEN_REFUSED, Credential, token_user
from api.errors import FieldworkError, Forbidden, Unauthorized
from api.projects.access import get_project


def access_refusal(
    session: Session, *, credential: Credential, secret: str, project_id: int, role: Role
) -> FieldworkError | None:
    """What opening the project's stream with ``credential`` would answer now (401, 403 or 404),
    or None while it would be let in as the ``role`` it opened with. No rate limit applies."""
    user: User | None
    if credential.kind == "key":
        row = api_keys.find_active_key(session, key=credential.value)
        if row is None:
            return Unauthorized(KEY_REFUSED)
        user = api_keys.principal(row)
    else:
        user = token_user(session.connection(), credential.value, secret=secret)
        if user is None:
            return Unauthorized(TOKEN_REFUSED)
    if user.role != role:  # what the stream sends depends on it (staff or client)
        return Forbidden(f"The account's role is now {user.role.value}; open the stream again.")
    try:
        get_project(session, user=user, project_id=project_id)
    except FieldworkError as refusal:
        return refusal
    return None
