"""Serve one Kehai process with Hypercorn: its own port, or a socket inherited from the
--workers supervisor (app/workers.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from typing import Any

from hypercorn.config import Config as HConfig

from app.config import Config

log = logging.getLogger("kehai")


def hypercorn_config(config: Config, fd: int | None) -> HConfig:
    hconfig = HConfig()
    hconfig.bind = [f"fd://{fd}"] if fd is not None else [f"{config.host}:{config.port}"]
    hconfig.graceful_timeout = 5
    # Kehai writes its own access lines (with the user id); Hypercorn's errors go through
    # the one handler app/logs.py installs.
    hconfig.accesslog = None
    hconfig.errorlog = logging.getLogger("hypercorn.error")
    return hconfig


def serve_one(config: Config, fd: int | None = None, worker: int | None = None) -> int:
    from app import create_app, lean

    app = create_app(config)
    hconfig = hypercorn_config(config, fd)
    application: Any = lean(app) if config.lean_sse else app
    if config.metrics_port_base:
        from app.telemetry import MetricsPort

        # Each worker's own figures on its own port: the shared port answers from any one.
        port = config.metrics_port_base + (worker or 0)
        hconfig.bind.append(f"{config.host}:{port}")
        application = MetricsPort(application, port, app.kehai.registry)
    if fd is None:
        # The one line a person starting the app reads; everything else goes to the log.
        print(f"Kehai is running on http://{config.host}:{config.port}  (Ctrl+C to stop)",
              flush=True)
    _run(_serve(app, application, hconfig))
    return 0


async def _serve(app: Any, application: Any, hconfig: HConfig) -> None:
    from hypercorn.asyncio import serve

    from app.heap import trim_forever

    _tune_gc()
    loop = asyncio.get_running_loop()
    trimmer = loop.create_task(trim_forever())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def shutdown_trigger() -> None:
        await stop.wait()
        # End every stream first: Hypercorn would otherwise wait for them (issue 308).
        app.kehai.hub.shutdown()

    await serve(application, hconfig, shutdown_trigger=shutdown_trigger)
    trimmer.cancel()


def _tune_gc() -> None:
    """Thousands of long-lived streams mean hundreds of thousands of tracked objects: with
    the default thresholds full collections ran every few seconds and paused the loop for
    up to 1.8 s (measured by bench/fanout.py). Freeze what start-up made and collect the
    oldest generation far less often; young garbage is still collected as usual."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


def _run(coro: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    if sys.version_info >= (3, 12):
        uvloop.run(coro)
    else:
        uvloop.install()
        asyncio.run(coro)
