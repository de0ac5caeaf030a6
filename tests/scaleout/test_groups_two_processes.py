"""Group changes across two processes on PostgreSQL + Redis: a member removed on one
process gets nothing more of the room from the other, whose member cache follows the
database's members_version."""

from __future__ import annotations

from tests.stream.conftest import kind_of
from tests.support import Person


def signed_in_on(server, person: Person) -> Person:
    other = Person(server.url, person.username, register=False)
    assert other.login().status_code == 303
    return other


async def test_someone_removed_on_a_gets_nothing_more_of_the_room_sent_on_b(cluster, listen):
    a, b = cluster(2)
    aki, ben, cara = Person(a.url, "aki"), Person(a.url, "ben"), Person(a.url, "cara")
    cid = aki.start_group("Choir", ["ben", "cara"])
    ben_b = signed_in_on(b, ben)
    assert ben_b.send(cid, "warming the cache on b").status_code == 201
    with_cara = ben_b.start_direct("cara")
    cara_b = await listen(signed_in_on(b, cara))

    r = aki.post(f"/c/{cid}/members/remove", {"username": "cara"}, htmx=False)
    assert r.status_code == 303
    await cara_b.wait_for(lambda e: kind_of(e) == "room-left")
    assert ben_b.send(cid, "after cara left").status_code == 201
    assert ben_b.send(with_cara, "the sentinel").status_code == 201
    await cara_b.wait_text("the sentinel")
    assert not any("after cara left" in e.data for e in cara_b.events)
    assert not any(kind_of(e) == "room-changed" for e in cara_b.events)
