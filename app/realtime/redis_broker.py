"""The Redis broker: events numbered and stored once in a Redis stream, fanned out by pub/sub.

One Lua script numbers, stores and publishes each event, so every process sees events in
id order and a client can resume on any process with its Last-Event-ID. One subscriber
connection per process feeds its local streams; if Redis goes away the subscriber
reconnects with backoff and every local stream is told to resume (replay or resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.config import Config
from app.realtime import control
from app.realtime.broker import Deliver, OnControl, Replay
from app.realtime.events import Event, EventId, new_epoch
from app.realtime.redis_replay import INDEX_MAX_RECIPIENTS, RedisReplay

log = logging.getLogger(__name__)
REDIS_POOL_SIZE = 32  # commands in flight per process; more wait their turn
ONCE_TTL_S = 24 * 3600  # the outbox relay retries within minutes; a day is plenty

# KEYS: seq, log, channel, epoch, once key (or ""), big index, index start
# ARGV: payload, maxlen, new epoch, once ttl, user index prefix, per-user keep, index ttl,
#       recipients ("1,2,3", or "*" for a big audience)
# The per-user index keys are built here from the epoch (they cannot be declared up front):
# fine on one Redis, which is what Kehai uses.
PUBLISH = """
if KEYS[5] ~= '' and not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[4]) then
  return {'', 0}
end
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[4], epoch)
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[6], KEYS[7])
end
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '0-' .. seq, 'p', ARGV[1])
redis.call('SET', KEYS[7], seq, 'NX')
if ARGV[8] == '*' then
  redis.call('ZADD', KEYS[6], seq, seq)
  if seq % 100 == 0 then redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[2]) - 1) end
else
  local keep, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
  for uid in string.gmatch(ARGV[8], '[^,]+') do
    local k = ARGV[5] .. epoch .. ':' .. uid
    redis.call('ZADD', k, seq, seq)
    if redis.call('ZCARD', k) > keep + 64 then
      local old = redis.call('ZRANGE', k, 0, 63)
      redis.call('SET', k .. ':floor', old[#old], 'EX', ttl)
      redis.call('ZREMRANGEBYRANK', k, 0, 63)
    end
    redis.call('EXPIRE', k, ttl)
  end
end
redis.call('PUBLISH', KEYS[3], epoch .. ' ' .. seq .. ' ' .. ARGV[1])
return {epoch, seq}
"""


def connect(url: str) -> Any:
    """The process's Redis client, shared by the broker, presence leases and rate limits.

    A bounded pool that makes callers wait for a free connection: ten thousand tabs dropping
    at once each release a presence lease, and an unbounded pool opened a connection apiece
    (measured: 8,976 at once, near Redis's default maxclients).

    One immediate retry, never a backoff: a pooled connection that Redis dropped (a restart)
    gets one fresh try, but while Redis is away every caller learns it at once. The client's
    default (three retries backing off up to 10 s) held each request ~8 s per Redis call
    during an outage: a POST that checks a limit and renews a lease waited twice that."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_POOL_SIZE, timeout=10, decode_responses=True,
        socket_timeout=5, socket_connect_timeout=2, health_check_interval=10)
    return aioredis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 1))


class RedisBroker:
    single_process = False
    def __init__(self, config: Config, redis: Any) -> None:
        self.config = config
        p = config.redis_prefix
        self.keys = {"seq": f"{p}seq", "log": f"{p}events", "channel": f"{p}events:live",
                     "epoch": f"{p}epoch", "control": f"{p}control", "big": f"{p}big",
                     "index-start": f"{p}index-start", "users": f"{p}u:"}
        self.redis = redis
        self.replayer = RedisReplay(redis, self.keys)
        # The subscriber waits for messages indefinitely: no read timeout on its connection.
        self.sub_redis = aioredis.from_url(config.redis_url, decode_responses=True,
                                           socket_connect_timeout=2, health_check_interval=10,
                                           retry=Retry(NoBackoff(), 1))
        self.epoch = ""
        self.reconnects = 0
        self._epoch_known = False
        self._script = self.redis.register_script(PUBLISH)
        self._deliver: Deliver | None = None
        self._control: OnControl | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self, deliver: Deliver, control: OnControl) -> None:
        self._deliver, self._control = deliver, control
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def _listen(self) -> None:
        delay = 0.2
        first = True
        while True:
            pubsub = self.sub_redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.keys["channel"], self.keys["control"])
                self.epoch = await self.redis.get(self.keys["epoch"]) or self.epoch
                self._connected.set()
                if not first:
                    # Every stream is told to resume below; the next epoch seen is adopted as is.
                    self._epoch_known = False
                    self.reconnects += 1
                    log.warning("redis subscriber reconnected")
                    self._tell(control.ResyncAll())  # events may have been missed meanwhile
                first, delay = False, 0.2
                async for message in pubsub.listen():
                    self._handle(message)
            except (RedisError, OSError) as error:
                log.warning("redis subscriber lost (%s); retrying in %.1fs", error, delay)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _handle(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        if message["channel"] == self.keys["control"]:
            decoded = control.decode(message["data"])
            if decoded is not None:
                self._tell(decoded)
            return
        epoch, seq, payload = message["data"].split(" ", 2)
        if epoch != self.epoch and self._epoch_known:
            # Redis lost its log (a restart without persistence): every id before is void.
            self.epoch = epoch
            self._tell(control.ResyncAll())
        self.epoch, self._epoch_known = epoch, True
        event = Event.from_wire({**json.loads(payload), "s": int(seq), "e": epoch})
        if self._deliver is not None:
            self._deliver(event)

    def _tell(self, message: control.Control) -> None:
        if self._control is not None:
            self._control(message)

    async def publish(self, event: Event) -> None:
        payload = json.dumps({k: v for k, v in event.to_wire().items() if k not in ("s", "e")},
                             separators=(",", ":"))
        once = f"{self.config.redis_prefix}once:{event.once_key}" if event.once_key else ""
        audience = ("*" if len(event.recipients) > INDEX_MAX_RECIPIENTS
                    else ",".join(map(str, event.recipients)))
        k = self.keys
        epoch, seq = await self._script(
            keys=[k["seq"], k["log"], k["channel"], k["epoch"], once, k["big"], k["index-start"]],
            args=[payload, self.config.replay_max_events * 10, new_epoch(), ONCE_TTL_S,
                  k["users"], self.config.replay_max_events, int(self.config.replay_window_s * 6),
                  audience])
        if not int(seq):
            return  # published before (by a process that died before it could say so)
        event.epoch, event.seq = epoch, int(seq)
        event.encode()

    async def head(self) -> EventId:
        epoch, seq = await self.redis.mget(self.keys["epoch"], self.keys["seq"])
        if not epoch:
            epoch = new_epoch()
            if not await self.redis.set(self.keys["epoch"], epoch, nx=True):
                epoch = await self.redis.get(self.keys["epoch"])
        return EventId(epoch, int(seq or 0))

    async def replay(self, user_id: int, after: EventId) -> Replay | None:
        return await self.replayer.replay(user_id, after, await self.head())

    async def send_control(self, message: control.Control) -> None:
        await self.redis.publish(self.keys["control"], control.encode(message))

    async def healthy(self) -> bool:
        try:
            return bool(await self.redis.ping()) and self._connected.is_set()
        except (RedisError, OSError):
            return False

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self.sub_redis.aclose()
