"""Messages sent through this process in the last minute, for the dashboard totals."""

from __future__ import annotations

import time
from collections import deque


class RecentMessages:
    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def add(self) -> None:
        self.times.append(time.monotonic())

    def count(self) -> int:
        horizon = time.monotonic() - 60
        while self.times and self.times[0] < horizon:
            self.times.popleft()
        return len(self.times)
