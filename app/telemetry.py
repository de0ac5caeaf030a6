"""Prometheus for operators: every family Kehai exposes, declared with its help text and its
known labels, plus the process and garbage-collector metrics, on one registry.

With `--workers N` each process counts for itself. Each worker n also serves its own
/metrics on `KEHAI_METRICS_PORT_BASE + n` (README, "Metrics"), so Prometheus scrapes every
worker and sums them; the shared port's /metrics is whichever worker took the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from app.metrics import Metrics
from app.realtime import kinds

# Every kind the hub publishes (resync and close are written by the stream, never published).
PUBLISHED = tuple(sorted(kinds.DROPPABLE | kinds.DURABLE))
OUTCOMES = {
    "delivered": "Events queued to a stream.",
    "dropped": "Typing and presence events a slow stream's full queue lost.",
    "coalesced": "Queued events replaced by a newer one with the same key.",
    "overflow": "Messages and read marks that found a full queue (the stream then resumes).",
}


def declare(metrics: Metrics, broker_reconnects: Callable[[], float]) -> None:
    metrics.counter("kehai_events_published_total", "Events published to the broker.",
                    "kind", PUBLISHED)
    metrics.counter("kehai_publish_failures_total",
                    "Publishes that failed (the outbox relay retries messages and read marks).",
                    "kind", PUBLISHED)
    for outcome, text in OUTCOMES.items():
        metrics.counter(f"kehai_events_{outcome}_total", text, "kind", PUBLISHED)
    metrics.counter("kehai_replay_total",
                    "Resuming streams: hit = missed events replayed, miss = sent a resync.",
                    "result", ("hit", "miss"))
    metrics.counter("kehai_streams_cut_total",
                    "Streams ended because their client stopped reading (write timeout).",
                    "reason", ("write-timeout",))
    metrics.counter("kehai_broker_reconnects_total", "Reconnections to Redis after a loss.",
                    read=broker_reconnects)
    metrics.gauge("kehai_open_streams", lambda: 0, "Streams open on this process.")


def registry(metrics: Metrics) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=True)
    reg.register(metrics.collector())
    ProcessCollector(registry=reg)
    GCCollector(registry=reg)
    return reg


def render(reg: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(reg), CONTENT_TYPE_LATEST


class MetricsPort:
    """The ASGI app in front: requests that came in on this worker's own metrics port get
    /metrics and nothing else; everything else goes on to the app."""

    def __init__(self, app: Any, port: int, reg: CollectorRegistry) -> None:
        self.app, self.port, self.reg = app, port, reg

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        server = scope.get("server") or (None, None)
        if scope["type"] != "http" or server[1] != self.port:
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics" and scope["method"] in ("GET", "HEAD"):
            body, content_type = render(self.reg)
            status = 200
        else:
            body, content_type, status = b"only /metrics here\n", "text/plain", 404
        headers = [(b"content-type", content_type.encode()),
                   (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})
