"""The per-app live objects (hub, limiter, metrics), reachable from any request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quart import current_app

from app.config import Config
from app.metrics import Metrics
from app.ratelimit import Limiter
from app.realtime.hub import Hub


@dataclass
class Services:
    config: Config
    hub: Hub
    limiter: Limiter
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["kehai"]  # type: ignore[no-any-return]
