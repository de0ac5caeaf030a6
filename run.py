"""Kehai's command line: serve (default), create-user, migrate, demo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HConfig

    from app import create_app
    from app.config import Config

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    config = Config.from_env(**overrides)
    if args.fd is None and (args.workers or config.workers) > 1:
        from app.workers import serve_workers

        return serve_workers(config, args.workers or config.workers)
    app = create_app(config)
    hconfig = HConfig()
    hconfig.bind = [f"fd://{args.fd}"] if args.fd is not None else [f"{config.host}:{config.port}"]
    hconfig.graceful_timeout = 5
    hconfig.accesslog = None
    scheme = "http"
    if config.certfile and config.keyfile:  # HTTPS, and HTTP/2 for browsers that offer it
        hconfig.certfile, hconfig.keyfile = config.certfile, config.keyfile
        scheme = "https"
    if args.fd is None:
        print(f"Kehai is running on {scheme}://{config.host}:{config.port}  (Ctrl+C to stop)",
              flush=True)

    async def main() -> None:
        from app.heap import trim_forever

        _tune_gc()
        trimmer = asyncio.get_running_loop().create_task(trim_forever())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def shutdown_trigger() -> None:
            await stop.wait()
            # End every stream first: Hypercorn would otherwise wait for them (issue 308).
            app.extensions["kehai"].hub.shutdown()

        application: Any = app
        if config.lean_sse:
            from app.realtime.asgi_sse import LeanSSE

            application = LeanSSE(app)
        await serve(application, hconfig, shutdown_trigger=shutdown_trigger)
        trimmer.cancel()

    _run(main())
    return 0


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


def _create_user(args: argparse.Namespace) -> int:
    from app.commands import create_user

    password = sys.stdin.readline().rstrip("\r\n")
    return create_user(args.name, args.display_name, password, args.operator)


def _migrate(args: argparse.Namespace) -> int:
    from app.commands import migrate

    return migrate()


def _demo(args: argparse.Namespace) -> int:
    from app.commands import demo

    return demo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description="Kehai: a live chat.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, or KEHAI_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000, or KEHAI_PORT)")
    parser.add_argument("--workers", type=int, help="processes (needs KEHAI_REDIS_URL when > 1)")
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # a worker's inherited socket
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the app (the default)")
    cu = sub.add_parser("create-user", help="create a user; the password is read from stdin")
    cu.add_argument("name")
    cu.add_argument("--display-name", dest="display_name")
    cu.add_argument("--operator", action="store_true", help="may see the presence dashboard")
    sub.add_parser("migrate", help="apply pending database migrations")
    sub.add_parser("demo", help="create demo users alice, bob, carol (password: kehai-demo)")
    args = parser.parse_args(argv)
    handlers = {"create-user": _create_user, "migrate": _migrate, "demo": _demo}
    return handlers.get(args.command or "serve", _serve)(args)


if __name__ == "__main__":
    raise SystemExit(main())
