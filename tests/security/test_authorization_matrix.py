"""Who may do what: every route for every kind of visitor, and every live event for every stream.

Actors: anonymous, a member of the conversation, a signed-in non-member, and an operator (who
is a member of neither conversation: being an operator opens the dashboard, not other people's
chats). A direct chat alice–bob and a group alice+carol.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.security.conftest import create_operator
from tests.security.helpers import first_sse_frame
from tests.stream.conftest import kind_of
from tests.support import Person, Server

PASSWORD = "correct horse battery"
LOGIN = "302 to /login?next=<path>"


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


@dataclass
class Route:
    name: str
    method: str
    path: str  # {cid}: the conversation under test
    data: dict[str, str] = field(default_factory=dict)
    expect: dict[str, int | str] = field(default_factory=dict)
    htmx: bool = False
    conversation: str | None = None  # "direct" | "group" for conversation routes


def _everyone(anonymous: int | str, signed_in: int, **special: int) -> dict[str, int | str]:
    table = {"anonymous": anonymous, "member": signed_in, "non-member": signed_in,
             "operator": signed_in}
    table.update({k.replace("_", "-"): v for k, v in special.items()})
    return table


def _conversation_route(name: str, method: str, path: str, ok: int | str, anonymous: int | str,
                        data: dict[str, str] | None = None, htmx: bool = False) -> list[Route]:
    return [Route(f"{name} [{kind}]", method, path, data or {},
                  {"anonymous": anonymous, "member": ok, "non-member": 404, "operator": 404},
                  htmx, kind) for kind in ("direct", "group")]


ROUTES: list[Route] = [
    Route("GET /", "GET", "/", expect=_everyone(LOGIN, 200)),
    *_conversation_route("GET /c/<id>", "GET", "/c/{cid}", 200, LOGIN),
    *_conversation_route("GET /c/<id>/messages", "GET", "/c/{cid}/messages", 200, LOGIN),
    *_conversation_route("GET /c/<id>/messages (htmx)", "GET", "/c/{cid}/messages", 200, 401,
                         htmx=True),
    Route("GET /sidebar", "GET", "/sidebar", expect=_everyone(LOGIN, 200)),
    Route("GET /sidebar (htmx)", "GET", "/sidebar", htmx=True, expect=_everyone(401, 200)),
    Route("GET /dashboard", "GET", "/dashboard",
          expect=_everyone(LOGIN, 403, operator=200)),
    Route("GET /settings", "GET", "/settings", expect=_everyone(LOGIN, 200)),
    Route("GET /sse", "GET", "/sse", expect=_everyone(401, 200)),
    Route("POST /conversations", "POST", "/conversations",
          {"title": "A new group", "members": "bob,carol"}, _everyone(401, 303)),
    *_conversation_route("POST /c/<id>/messages", "POST", "/c/{cid}/messages", 201, 401,
                         {"body": "hello"}, htmx=True),
    *_conversation_route("POST /c/<id>/typing", "POST", "/c/{cid}/typing", 204, 401,
                         {"body": "hel"}, htmx=True),
    *_conversation_route("POST /c/<id>/read", "POST", "/c/{cid}/read", 204, 401,
                         {"up_to": "{mid}"}, htmx=True),
    # The member is not the author of the message under test: only authors change messages.
    *_conversation_route("POST /c/<id>/messages/<mid>/edit", "POST",
                         "/c/{cid}/messages/{mid}/edit", 403, 401, {"body": "mine now"},
                         htmx=True),
    *_conversation_route("POST /c/<id>/messages/<mid>/delete", "POST",
                         "/c/{cid}/messages/{mid}/delete", 403, 401, htmx=True),
    Route("POST /presence", "POST", "/presence", {"state": "active"}, _everyone(401, 204)),
    Route("POST /settings", "POST", "/settings", {"show_presence": "on"}, _everyone(401, 303)),
    Route("POST /settings/password", "POST", "/settings/password",
          {"current_password": PASSWORD, "new_password": "a brand new secret 9"},
          _everyone(401, 303)),
    # Signing out needs no session, only the page's token (it is harmless when anonymous).
    Route("POST /logout", "POST", "/logout", expect=_everyone(303, 303)),
]


@dataclass
class World:
    actors: dict[str, dict[str, object]]  # conversation kind -> actor -> WebUser
    cid: dict[str, int]
    mid: dict[str, int]
    secret: dict[str, str]


@pytest.fixture
async def world(app, make_user, make_operator) -> World:
    from tests.conftest import WebUser

    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    olga = await make_operator("olga")
    anonymous = WebUser(app.test_client(), "anonymous")
    await anonymous.page("/login")  # an anonymous session has a CSRF token too
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    direct = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await alice.post("/conversations", {"title": "Tea", "members": "carol"}, htmx=False)
    group = int(r.headers["Location"].rsplit("/", 1)[1])
    secrets = {"direct": "the direct secret", "group": "the group secret"}
    mids = {}
    for kind, author, cid in (("direct", bob, direct), ("group", carol, group)):
        r = await author.post(f"/c/{cid}/messages", {"body": secrets[kind]})
        assert r.status_code == 201
        html = await r.get_data(as_text=True)
        mids[kind] = int(html.split('data-message-id="')[1].split('"')[0])
    for user in (alice, bob, carol, olga):
        await user.page("/")
    actors = {
        "direct": {"anonymous": anonymous, "member": alice, "non-member": carol, "operator": olga},
        "group": {"anonymous": anonymous, "member": alice, "non-member": bob, "operator": olga},
    }
    return World(actors, {"direct": direct, "group": group}, mids, secrets)


async def _outcome(user, route: Route, cid: int | None, mid: int | None) -> tuple[int | str, str]:
    path = route.path.format(cid=cid, mid=mid)
    headers = {"HX-Request": "true"} if route.htmx else {}
    if route.path == "/sse":
        status, _headers, _first = await first_sse_frame(user.client)
        return status, ""
    if route.method == "GET":
        r = await user.client.get(path, headers=headers)
    else:
        data = {k: v.format(mid=mid) for k, v in route.data.items()}
        r = await user.post(path, data, htmx=route.htmx)
    body = await r.get_data(as_text=True)
    if r.status_code == 302:
        location = urlsplit(r.headers["Location"])
        if location.path == "/login" and parse_qs(location.query).get("next") == [path]:
            return LOGIN, body
        return f"302 to {r.headers['Location']}", body
    return r.status_code, body


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
async def test_each_actor_gets_exactly_the_status_the_matrix_says(world: World, route: Route):
    kind = route.conversation or "direct"
    cid = world.cid[kind] if route.conversation else None
    got: dict[str, int | str] = {}
    # Members last: their POSTs (logout, a new password) must not change what others see.
    for actor in ("anonymous", "non-member", "operator", "member"):
        status, body = await _outcome(world.actors[kind][actor], route, cid, world.mid[kind])
        got[actor] = status
        if status in (403, 404) and route.conversation:
            assert world.secret[kind] not in body and "Tea" not in body, \
                f"the {status} page for {actor} shows what is in the conversation"
    assert got == route.expect


async def test_a_foreign_conversation_looks_exactly_like_a_missing_one(world: World):
    carol = world.actors["direct"]["non-member"]
    foreign = await carol.client.get(f"/c/{world.cid['direct']}")
    missing = await carol.client.get("/c/999999")
    too_big = await carol.client.get(f"/c/{2**63}")
    assert foreign.status_code == missing.status_code == too_big.status_code == 404

    def without_token(text: str) -> str:
        return text.replace(carol.csrf, "")

    assert without_token(await foreign.get_data(as_text=True)) == \
        without_token(await missing.get_data(as_text=True))
    for path in (f"/c/{world.cid['direct']}/read", "/c/999999/read", f"/c/{2**64}/read"):
        r = await carol.post(path, {"up_to": str(world.mid["direct"])})
        assert r.status_code == 404, path


async def test_a_member_cannot_mark_a_message_of_another_conversation_as_read(world: World):
    alice = world.actors["group"]["member"]
    r = await alice.post(f"/c/{world.cid['group']}/read", {"up_to": str(world.mid["direct"])})
    assert r.status_code == 422


# --------------------------------------------------------------------------------------------
# Streams: who receives each kind of event (a real server; every cell asserted)
# --------------------------------------------------------------------------------------------

OBSERVERS = ("alice", "bob", "carol", "eve", "olga")


@pytest.fixture(scope="module")
def stream_world(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("matrix") / "srv",
                    tuning={"message_limit": [10_000, 10]}).start()
    people = {n: Person(server.url, n) for n in ("alice", "bob", "carol", "eve", "sam")}
    people["olga"] = create_operator(server, "olga")
    rooms = {
        "dm": people["alice"].start_direct("bob"),
        "group": people["alice"].start_group("Tea", ["carol"]),
    }
    # Sentinel rooms: sam (who never opens a stream) can reach each observer on its own.
    sentinel_rooms = {n: people["sam"].start_direct(n) for n in OBSERVERS}
    yield server, people, rooms, sentinel_rooms
    for p in people.values():
        p.close()
    server.stop()


def _presence(kind: str, who: str):
    return lambda e: kind_of(e) == kind and f'data-presence-of="{who}"' in e.data


async def test_every_live_event_reaches_exactly_the_people_allowed_to_see_it(stream_world, listen):
    _server, people, rooms, sentinel_rooms = stream_world
    alice, bob, carol, sam = people["alice"], people["bob"], people["carol"], people["sam"]
    streams = {n: await listen(people[n]) for n in ("bob", "carol", "eve", "olga")}
    for s in streams.values():
        await s.wait_for(lambda e: True)  # the opening resync
    dm, group = rooms["dm"], rooms["group"]
    actual: dict[str, set[str]] = {}
    expected: dict[str, set[str]] = {}
    rounds = 0

    async def step(name: str, trigger, predicate, allowed: set[str], extra: dict | None = None,
                   own: str | None = None):
        """Trigger one event; once the allowed streams have it and every open stream has a
        sentinel sent after it, record who got it (and any extra predicates). `own`: the
        person the event is about, whose own tabs may hear of it too (no leak either way)."""
        nonlocal rounds
        marks = {n: len(s.events) for n, s in streams.items()}
        result = trigger()
        if asyncio.iscoroutine(result):
            await result
        checks = {name: (predicate, allowed), **(extra or {})}
        for check, (pred, who) in checks.items():
            expected[check] = set(who)
            for n in who & set(streams):
                before = {id(e) for e in streams[n].events[:marks.get(n, 0)]}
                try:
                    await streams[n].wait_for(
                        lambda e, pred=pred, before=before: pred(e) and id(e) not in before,
                        timeout=4)
                except TimeoutError:
                    pass  # recorded as missing below
        rounds += 1
        for n in streams:
            text = f"sentinel {rounds} for {n}"
            assert sam.send(sentinel_rooms[n], text).status_code == 201
        for n, s in streams.items():
            await s.wait_text(f"sentinel {rounds} for {n}")
        for check, (pred, _who) in checks.items():
            actual[check] = {n for n, s in streams.items() if n != own
                             and any(pred(e) for e in s.events[marks.get(n, 0):])}

    async def alice_comes_online() -> None:
        streams["alice"] = await listen(alice)

    # Alice's stream opens after the others: her arrival is the first event.
    await step("user-online of alice", alice_comes_online, _presence("user-online", "alice"),
               {"bob", "carol", "olga"},
               {"dashboard row of alice": (lambda e: '<tr data-user="alice"' in e.data,
                                           {"olga"})}, own="alice")
    await step("new-message in the direct chat", lambda: alice.send(dm, "the dm secret"),
               lambda e: "the dm secret" in e.data, {"alice", "bob"})
    await step("new-message in the group", lambda: carol.send(group, "the group secret"),
               lambda e: "the group secret" in e.data, {"alice", "carol"})
    await step("typing-start in the direct chat",
               lambda: alice.post(f"/c/{dm}/typing", {"body": "hel"}),
               lambda e: kind_of(e) == "typing-start" and f'data-conversation-id="{dm}"' in e.data,
               {"bob"},
               {"dashboard row of alice (typing)": (
                   lambda e: '<tr data-user="alice"' in e.data and "typing-in" in e.data,
                   {"olga"})})
    await step("typing-stop in the direct chat",
               lambda: alice.post(f"/c/{dm}/typing", {"state": "stop", "body": ""}),
               lambda e: kind_of(e) == "typing-stop" and f'data-conversation-id="{dm}"' in e.data,
               {"bob"})
    await step("typing-start in the group",
               lambda: carol.post(f"/c/{group}/typing", {"body": "hel"}),
               lambda e: (kind_of(e) == "typing-start"
                          and f'data-conversation-id="{group}"' in e.data),
               {"alice"})
    dm_message = int(next(e for e in streams["bob"].events if "the dm secret" in e.data)
                     .data.split('data-message-id="')[1].split('"')[0])
    await step("message-read: the author's read mark",
               lambda: bob.post(f"/c/{dm}/read", {"up_to": str(dm_message)}),
               lambda e: kind_of(e) == "message-read" and f"read-mark-{dm_message}" in e.data,
               {"alice"},
               {"message-read: the reader's own unread badge": (
                   lambda e: kind_of(e) == "message-read"  # the badge, however quoted
                   and re.search(rf"""data-unread-of=["']{dm}["']""", e.data) is not None,
                   {"bob"})})
    await step("user-away of alice", lambda: alice.post("/presence", {"state": "away"}),
               _presence("user-away", "alice"), {"bob", "carol", "olga"}, own="alice")

    async def alice_leaves() -> None:
        await streams.pop("alice").close()

    await step("user-offline of alice", alice_leaves, _presence("user-offline", "alice"),
               {"bob", "carol", "olga"})

    assert actual == expected
    # Operators alone ever get dashboard rows, and the outsider gets only her own sentinels.
    for name in ("bob", "carol", "eve"):
        assert not any("<tr data-user=" in e.data for e in streams[name].events), name
    def outsider_may_see(e) -> bool:
        about = set(re.findall(r'data-presence-of="([a-z0-9_]+)"', e.data))
        her_room = f'data-conversation-id="{sentinel_rooms["eve"]}"'
        return (kind_of(e) in ("resync", "hello")
                or (kind_of(e) in ("room-joined", "room-changed") and her_room in e.data)
                or (kind_of(e) == "new-message" and "sentinel" in e.data)
                or (kind_of(e).startswith("user-") and about == {"eve"}))

    assert all(outsider_may_see(e) for e in streams["eve"].events)

    # Resuming from the very first id replays one's own events only, never anyone else's.
    epoch = streams["bob"].events[0].id.rsplit("-", 1)[0]
    rounds += 1
    replays = {n: await listen(people[n], last_event_id=f"{epoch}-0") for n in ("eve", "bob")}
    for n, s in replays.items():
        assert sam.send(sentinel_rooms[n], f"sentinel {rounds} for {n}").status_code == 201
        await s.wait_text(f"sentinel {rounds} for {n}")
        assert kind_of(s.events[0]) == "hello", "a resume, not a resync"
    assert all(outsider_may_see(e) for e in replays["eve"].events)
    assert any("the dm secret" in e.data for e in replays["bob"].events)
    assert not any("the group secret" in e.data or "<tr data-user=" in e.data
                   for e in replays["bob"].events)
