"""Serve one Kehai process with Hypercorn: its own port, or a socket inherited from the
--workers supervisor (app/workers.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from typing import Any

from hypercorn.config import Config as HConfig

from app.config import Config

log = logging.getLogger("kehai")

def listening_socket(config: Config) -> socket.socket:
    """The server's socket. Connections accepted from it inherit TCP_USER_TIMEOUT: data the
    peer has not acknowledged for `write_timeout_s` makes the kernel drop the connection, so
    a client that vanished (no FIN, no RST: a closed laptop, a dead network) ends its stream
    and goes offline within the presence lease instead of after the kernel's ~15 minutes of
    retransmissions. Heartbeats every `heartbeat_s` make sure there is data to acknowledge."""
    sock = socket.create_server((config.host, config.port), backlog=4096)
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                        int(config.write_timeout_s * 1000))
    return sock


def hypercorn_config(config: Config, fd: int) -> HConfig:
    hconfig = HConfig()
    hconfig.bind = [f"fd://{fd}"]
    if config.certfile and config.keyfile:  # HTTPS, and HTTP/2 for browsers that offer it
        hconfig.certfile, hconfig.keyfile = config.certfile, config.keyfile
    hconfig.graceful_timeout = 5
    # Kehai writes its own access lines (with the user id); Hypercorn's errors go through
    # the one handler app/logs.py installs.
    hconfig.accesslog = None
    hconfig.errorlog = logging.getLogger("hypercorn.error")
    return hconfig


def serve_one(config: Config, fd: int | None = None, worker: int | None = None) -> int:
    from app import create_app, served

    app = create_app(config)
    sock = listening_socket(config) if fd is None else None  # held while serving
    hconfig = hypercorn_config(config, fd if sock is None else sock.fileno())
    application: Any = served(app)
    if config.metrics_port_base:
        from app.telemetry import MetricsPort

        # Each worker's own figures on its own port: the shared port answers from any one.
        port = config.metrics_port_base + (worker or 0)
        hconfig.bind.append(f"{config.host}:{port}")
        application = MetricsPort(application, port, app.kehai.registry)
    if fd is None:
        # The one line a person starting the app reads; everything else goes to the log.
        scheme = "https" if config.certfile and config.keyfile else "http"
        print(f"Kehai is running on {scheme}://{config.host}:{config.port}  (Ctrl+C to stop)",
              flush=True)
    if config.host in ("0.0.0.0", "::") and not config.allowed_hosts:
        log.warning("bound to every address but KEHAI_ALLOWED_HOSTS is unset: only localhost "
                    "and 127.0.0.1 are answered, other Host names get 400")
    native = config.native_sse and config.lean_sse and not hconfig.ssl_enabled
    _run(_serve(app, application, hconfig, fd if sock is None else sock.fileno(), native))
    return 0


async def _serve(app: Any, application: Any, hconfig: HConfig, fd: int, native: bool) -> None:
    from hypercorn.asyncio import serve

    from app.heap import trim_forever
    from app.realtime.native_http import fronting

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

    # Plain HTTP: plain HTTP/1.1 requests are served by the native front on the same
    # socket, everything else by Hypercorn (app/realtime/native_http.py says what and why).
    with fronting(application, fd) if native else contextlib.nullcontext():
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
