"""With Redis, the dashboard's figures are the whole deployment's, whichever process answers."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

from tests.support import ROOT, Person, Server


def create_operator(server: Server, name: str) -> Person:
    env = {**os.environ, **server.extra_env, "KEHAI_INSTANCE_DIR": str(server.instance)}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-user", name,
                           "--operator"], input=b"operator password 1\n", env=env,
                          capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    op = Person(server.url, name, password="operator password 1", register=False)
    assert op.login().status_code == 303
    return op


def signed_in_on(server: Server, person: Person) -> Person:
    there = Person(server.url, person.username, register=False)
    there.http.cookies.update(person.cookies())
    there.refresh_csrf("/")
    return there


def total(page: str, name: str) -> int:
    return int(re.search(rf'data-total="{name}">(\d+)<', page).group(1))


async def test_messages_per_minute_and_streams_count_both_processes(cluster, listen):
    a, b = cluster(2, tuning={"dashboard_sample_s": 0.3})
    alice, bob = Person(a.url, "alice", "Aki"), Person(a.url, "bob", "Ben")
    bob_b = signed_in_on(b, bob)
    dm = alice.start_direct("bob")
    olga_a = create_operator(a, "olga")
    olga_b = signed_in_on(b, olga_a)
    for text in ("one via a", "two via a"):
        assert alice.send(dm, text).status_code == 201
    assert bob_b.send(dm, "three via b").status_code == 201
    streams = [await listen(alice), await listen(bob_b)]  # one on each process
    await asyncio.sleep(1.5)  # a few samples: each process has reported its streams
    for olga in (olga_a, olga_b):
        page = olga.http.get("/dashboard").text
        assert total(page, "messages") == 3
        assert total(page, "streams") == 2
    assert bob_b.post(f"/c/{dm}/typing", {"body": "hel"}).status_code == 204
    await asyncio.sleep(0.5)  # the typing state reaches the other process's copy
    page = olga_a.http.get("/dashboard").text
    assert re.search(r'<tr data-user="bob".*?<span class="typing-in">Aki ↔ Ben</span>', page, re.S)
    for s in streams:
        await s.close()
