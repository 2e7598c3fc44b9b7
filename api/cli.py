"""The ``fieldwork`` command: serve, db upgrade, create-user, load-journey, demo, expire."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from api.config import get_settings
from api.db import Database
from api.errors import FieldworkError


def _database() -> Database:
    return Database(get_settings().resolved_database_url)


def _upgrade(db: Database) -> None:
    from api.migrate import upgrade

    upgrade(db.engine)


# Open event streams never end by themselves: give them a few seconds on shutdown.
GRACEFUL_SHUTDOWN_SECONDS = 3


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_served_app

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    _upgrade(db)
    if args.demo:
        cmd_demo_into(db)
    workers = args.workers or settings.workers
    print(
        f"Fieldwork on http://{args.host}:{args.port}/  (API docs: /docs, data: {settings.data_dir.resolve()}"
        f"{f', {workers} worker processes' if workers > 1 else ''})"
    )
    if workers == 1:
        uvicorn.run(
            create_served_app(settings, database=db),
            host=args.host,
            port=args.port,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        return 0
    # Each worker builds its app from the same environment; the secret key file is written here
    # first, so that the workers do not race to generate it.
    assert settings.resolved_secret_key
    db.dispose()
    uvicorn.run(
        "api.main:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


def cmd_demo_into(db: Database) -> None:
    from api.demo import DEMO_LOGINS, load_demo

    with db.session() as session:
        created = load_demo(session)
    print("Demo project " + ("created." if created else "already present."))
    for role, (username, password) in DEMO_LOGINS.items():
        print(f"  {role:8} {username} / {password}")


def cmd_demo(_: argparse.Namespace) -> int:
    db = _database()
    _upgrade(db)
    cmd_demo_into(db)
    return 0


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    db = _database()
    _upgrade(db)
    print("Database is at the newest schema.")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from api.accounts.models import Role, UserCreate
    from api.accounts.service import create_user

    password = args.password or getpass.getpass("Password (8+ characters): ")
    data = UserCreate(
        username=args.username,
        password=password,
        role=Role(args.role),
        full_name=args.full_name,
        email=args.email,
        client_id=args.client_id,
    )
    db = _database()
    _upgrade(db)
    with db.session() as session:
        user = create_user(session, data=data, actor=None)
        print(f"Created {user.role} {user.username} (id {user.id}).")
    return 0


def cmd_load_journey(args: argparse.Namespace) -> int:
    from api.journeys.service import load_version
    from api.projects.models import Project

    path = Path(args.file)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"Cannot read {path}: {err}", file=sys.stderr)
        return 2
    db = _database()
    _upgrade(db)
    with db.session() as session:
        project = session.get(Project, args.project)
        if project is None:
            print(f"No project {args.project}.", file=sys.stderr)
            return 2
        version = load_version(
            session,
            project=project,
            source=source,
            filename=str(path),
            publish=args.publish,
            actor=None,
        )
        print(f"Loaded {path} as version {version.version} ({version.status}), id {version.id}.")
    return 0


def cmd_expire(_: argparse.Namespace) -> int:
    from api.assignments.service import expire_overdue

    db = _database()
    with db.session() as session:
        print(f"Expired {expire_overdue(session)} assignment(s).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldwork", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and start the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the demo project (once)")
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="server processes (default: FIELDWORK_WORKERS, else 1); SQLite writers of all "
        "processes queue on one lock, the rest runs in parallel",
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations").set_defaults(func=cmd_db_upgrade)

    user = sub.add_parser("create-user", help="create an account")
    user.add_argument("username")
    user.add_argument("--role", choices=["admin", "manager", "client"], default="admin")
    user.add_argument("--password", help="prompted for when left out")
    user.add_argument("--full-name", default="")
    user.add_argument("--email")
    user.add_argument("--client-id", type=int, help="for client users")
    user.set_defaults(func=cmd_create_user)

    journey = sub.add_parser("load-journey", help="load a journey + briefing file into a project")
    journey.add_argument("file")
    journey.add_argument("--project", type=int, required=True)
    journey.add_argument("--publish", action="store_true")
    journey.set_defaults(func=cmd_load_journey)

    sub.add_parser("demo", help="load the demo project (once)").set_defaults(func=cmd_demo)
    sub.add_parser("expire", help="expire assignments whose window ended").set_defaults(
        func=cmd_expire
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FieldworkError as err:
        print(f"error: {err.detail}", file=sys.stderr)
        for item in err.extra.get("errors", []):
            where = ":".join(
                str(item[k]) for k in ("file", "line", "column") if item.get(k) is not None
            )
            print(
                f"  {where + ': ' if where else ''}{item.get('field') or ''}: {item.get('message')}",
                file=sys.stderr,
            )
        return 1
    except ValueError as err:  # pydantic validation of CLI input
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
