"""Rate limits shared by every process: a sliding log per key in Redis, checked atomically."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from redis.exceptions import RedisError

from app.logs import OutageLog

log = logging.getLogger(__name__)

# KEYS: the key   ARGV: now, window, limit, member, count ("1": record the attempt)
SLIDING = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(oldest[2] + ARGV[2] - ARGV[1])
end
if ARGV[5] ~= '1' then return false end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(ARGV[2] * 1000))
return false
"""


class RedisLimiter:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix + "limit:"
        self._script = self.redis.register_script(SLIDING)
        self._outage = OutageLog(log, "Redis for rate limits (checks skipped meanwhile)")

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        return await self._run(key, limit, window, count=True)

    async def peek(self, key: str, limit: int, window: float) -> float | None:
        return await self._run(key, limit, window, count=False)

    async def _run(self, key: str, limit: int, window: float, count: bool) -> float | None:
        try:
            wait = await self._script(keys=[self.prefix + key], args=[
                time.time(), window, limit, uuid.uuid4().hex, "1" if count else "0"])
        except (RedisError, OSError) as error:
            # Fail open: a broker outage must not stop people from sending (and losing) text.
            self._outage.failed(error)
            return None
        self._outage.ok()
        return max(float(wait), 0.001) if wait else None
