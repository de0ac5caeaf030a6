"""Administrative commands behind run.py; each applies pending migrations first."""

from __future__ import annotations

import logging
import sys

from peewee import IntegrityError

from app import db
from app.config import Config
from app.migrate import apply_pending
from app.models import Conversation, Membership, User
from app.models.user import USERNAME_RE

log = logging.getLogger(__name__)


def _open() -> None:
    config = Config.from_env()
    database = db.init(config.database_url, 1)
    applied = apply_pending(database)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))


def migrate() -> int:
    _open()
    return 0


def create_user(name: str, display_name: str | None, password: str, operator: bool) -> int:
    from argon2 import PasswordHasher

    from app.accounts import clean_name, display_name_problem, password_problem

    _open()
    username = name.strip().lower()
    if not USERNAME_RE.match(username):
        print("error: use 2–32 lower-case letters, digits or underscores", file=sys.stderr)
        return 2
    display_name = clean_name(display_name or name)
    problem = display_name_problem(display_name) or password_problem(password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        with db.database.connection_context():
            User.create(username=username, display_name=display_name,
                        password_hash=PasswordHasher().hash(password),
                        role="operator" if operator else "member")
    except IntegrityError:
        print(f"error: the username {username!r} is taken", file=sys.stderr)
        return 1
    print(f"created {'operator' if operator else 'member'} {username}")
    return 0


def demo() -> int:
    """Three people and a group, to try the app in a minute."""
    from argon2 import PasswordHasher

    _open()
    hashed = PasswordHasher().hash("kehai-demo")
    people = [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")]
    with db.database.connection_context():
        users = []
        for username, display in people:
            user = User.get_or_none(User.username == username) or User.create(
                username=username, display_name=display, password_hash=hashed)
            users.append(user)
        if not Conversation.select().where(Conversation.title == "Tea room").exists():
            room = Conversation.create(kind="group", title="Tea room")
            Membership.insert_many([{"conversation": room, "user": u} for u in users]).execute()
    print("demo users alice, bob, carol — password: kehai-demo")
    return 0
