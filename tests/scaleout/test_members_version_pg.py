"""On PostgreSQL too, the database itself tells the member cache that a room changed."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from peewee import Database

from app.db import open_database
from app.members import members_of
from app.migrate import apply_pending
from app.models import Conversation, Membership, User
from app.models.base import utcnow


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    """The models bound to a freshly migrated PostgreSQL database."""
    database = open_database(pg_url, threads=1)
    assert "0002_members_version" in apply_pending(database)
    with database.connection_context(), database.bind_ctx([User, Conversation, Membership]):
        yield database
    database.close_all()  # type: ignore[attr-defined]


def as_admin(pg_url: str, sql: str, *params: object) -> None:
    """Raw SQL on a connection of its own, as an administrator would run it."""
    admin = psycopg2.connect(pg_url)
    with admin, admin.cursor() as cur:
        cur.execute(sql, params)
    admin.close()


def room_of(*names: str, title: str = "Tea") -> tuple[Conversation, list[int]]:
    users = [
        User.create(username=n, display_name=n, password_hash="-", created=utcnow()) for n in names
    ]
    room = Conversation.create(title=title)
    Membership.insert_many([{"conversation": room, "user": u} for u in users]).execute()
    return room, [u.id for u in users]


def test_a_raw_sql_delete_on_postgresql_bumps_the_version_and_the_list_follows(pg, pg_url):
    room, (alice, bob) = room_of("alice", "bob")
    before = Conversation.get_by_id(room.id)
    assert before.members_version == 2 and members_of(before) == {alice, bob}
    Membership.advance(room.id, bob, 7)  # a read mark is not a membership change
    assert Conversation.get_by_id(room.id).members_version == 2
    as_admin(
        pg_url, "DELETE FROM membership WHERE conversation_id = %s AND user_id = %s", room.id, bob
    )
    after = Conversation.get_by_id(room.id)
    assert after.members_version == 3 and members_of(after) == {alice}


def test_moving_a_membership_on_postgresql_bumps_both_rooms(pg, pg_url):
    tea, (_alice, bob) = room_of("alice", "bob")
    cake, (carol,) = room_of("carol", title="Cake")
    as_admin(pg_url, "UPDATE membership SET conversation_id = %s WHERE user_id = %s", cake.id, bob)
    tea, cake = Conversation.get_by_id(tea.id), Conversation.get_by_id(cake.id)
    assert (tea.members_version, cake.members_version) == (3, 2)
    assert members_of(cake) == {bob, carol}
