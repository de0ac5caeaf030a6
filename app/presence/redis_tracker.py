"""Presence shared by every process: leases in Redis that expire, no counters that drift.

Each open stream holds a lease (a sorted-set member scored by its expiry) renewed every
`lease_renew_s`; a killed process simply stops renewing, and its users go offline once the
leases lapse. Redis decides each user's status in one script, so exactly one process sees
a change and announces it; every process keeps a local copy of who is shown as what.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

from redis.exceptions import RedisError

from app.config import Config
from app.logs import OutageLog
from app.presence.tracker import OnChange, PresenceTracker, tab_report
from app.realtime.connection import Connection
from app.realtime.control import Control, PresenceChanged
from app.realtime.hub import Hub
from app.tasks import TaskSet

log = logging.getLogger(__name__)

# KEYS: leases zset, active set, shown hash, expiry index   ARGV: now, user id
DECIDE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local status = 'offline'
if #live > 0 then
  status = 'away'
  for _, c in ipairs(live) do
    if redis.call('SISMEMBER', KEYS[2], c) == 1 then status = 'online' break end
  end
else
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[4], ARGV[2])
end
local prev = redis.call('HGET', KEYS[3], ARGV[2]) or 'offline'
if prev == status then return {status, 0} end
if status == 'offline' then redis.call('HDEL', KEYS[3], ARGV[2])
else redis.call('HSET', KEYS[3], ARGV[2], status) end
return {status, 1}
"""


class RedisPresenceTracker(PresenceTracker):
    def __init__(self, hub: Hub, config: Config, on_change: OnChange, redis: Any) -> None:
        super().__init__(hub, config, on_change)
        self.redis = redis
        self.p = config.redis_prefix
        self.node = f"{os.getpid()}-{os.urandom(3).hex()}"
        self._decide = redis.register_script(DECIDE)
        self._tasks = TaskSet(__name__)
        self._renewer: asyncio.Task[None] | None = None
        self._outage = OutageLog(log, "Redis for presence leases")

    def _failed(self, what: str, error: Exception) -> None:
        if isinstance(error, RedisError | OSError):
            self._outage.failed(error)  # expected while Redis restarts: said once
        else:
            log.error(what, exc_info=error)

    def _keys(self, user_id: int) -> list[str]:
        return [f"{self.p}lease:{user_id}", f"{self.p}active:{user_id}", f"{self.p}shown",
                f"{self.p}lease-expiry"]

    def _member(self, conn: Connection) -> str:
        return f"{self.node}:{conn.id}"

    async def start(self) -> None:
        shown = await self.redis.hgetall(f"{self.p}shown")
        self.shown = {int(k): v for k, v in shown.items()}
        self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
        await self._tasks.cancel_all()

    # -- the hub's listeners -------------------------------------------------------------

    def opened(self, conn: Connection, streams: int) -> None:
        self.last_seen[conn.user_id] = self.clock()
        self._tasks.spawn(self._lease_then_decide(conn))

    def closed(self, conn: Connection, streams: int) -> None:
        self.last_seen[conn.user_id] = self.clock()
        if self.hub.stopping:
            return  # leases lapse by themselves if nobody takes these users over
        self._tasks.spawn(self._unlease(conn))
        # Decide only after the grace: a reload elsewhere keeps the user online meanwhile.
        asyncio.get_running_loop().call_later(self.config.presence_grace_s, self._settle,
                                              conn.user_id)
        self.on_change(conn.user_id, self.status_of(conn.user_id), False)

    def _settle(self, user_id: int) -> None:
        self._tasks.spawn(self._decide_and_tell(user_id))

    def report(self, user_id: int, tab: str, active: bool | None, session_id: str = "",
               n: int = 0) -> list[Connection]:
        self.last_seen[user_id] = self.clock()
        conns = tab_report(self.hub.connections_of(user_id), tab, active, session_id, n)
        self._tasks.spawn(self._report(user_id, conns))
        return conns

    # -- Redis ---------------------------------------------------------------------------

    async def _lease(self, conns: list[Connection]) -> None:
        if not conns:
            return
        expiry = time.time() + self.config.lease_s
        pipe = self.redis.pipeline(transaction=False)
        for conn in conns:
            leases, active, _shown, index = self._keys(conn.user_id)
            pipe.zadd(leases, {self._member(conn): expiry})
            pipe.expire(leases, int(self.config.lease_s) + 5)
            if conn.active:
                pipe.sadd(active, self._member(conn))
            else:
                pipe.srem(active, self._member(conn))
            pipe.expire(active, int(self.config.lease_s) + 5)
            pipe.zadd(index, {str(conn.user_id): expiry}, gt=True)
        await pipe.execute()

    async def _lease_then_decide(self, conn: Connection) -> None:
        try:
            await self._lease([conn])
            await self._decide_and_tell(conn.user_id)
        except Exception as error:
            self._failed(f"could not lease a stream of user {conn.user_id}", error)

    async def _report(self, user_id: int, conns: list[Connection]) -> None:
        try:
            await self._lease(conns)
            await self._decide_and_tell(user_id)
        except Exception as error:
            self._failed(f"could not record activity of user {user_id}", error)

    async def _unlease(self, conn: Connection) -> None:
        leases, active, _shown, _index = self._keys(conn.user_id)
        with contextlib.suppress(Exception):
            await self.redis.zrem(leases, self._member(conn))
            await self.redis.srem(active, self._member(conn))

    async def _decide_and_tell(self, user_id: int) -> None:
        try:
            status, changed = await self._decide(keys=self._keys(user_id),
                                                  args=[time.time(), user_id])
        except Exception as error:
            self._failed(f"could not decide presence of user {user_id}", error)
            return
        self._remember(user_id, status)
        if int(changed):
            await self.hub.send_control(PresenceChanged(user_id, status))
        self.on_change(user_id, status, bool(int(changed)))

    async def _renew_forever(self) -> None:
        """Renew this process's leases, and settle users whose leases lapsed (crashes)."""
        while True:
            await asyncio.sleep(self.config.lease_renew_s)
            try:
                await self._lease(list(self.hub.connections()))
                lapsed = await self.redis.zrangebyscore(f"{self.p}lease-expiry", "-inf",
                                                        time.time())
                for user_id in lapsed:
                    await self._decide_and_tell(int(user_id))
            except Exception as error:
                self._failed("lease renewal failed", error)
            else:
                self._outage.ok()

    def control(self, message: Control) -> None:
        if isinstance(message, PresenceChanged):
            self._remember(message.user_id, message.status)
