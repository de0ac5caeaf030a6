"""Kehai's command line (`kehai`, or `python run.py`): serve (the default), create-user,
migrate, demo. Server options work before or after `serve`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EPILOG = "Settings come from KEHAI_* variables (README, Configuration); options win over them."


def _server_options(suppress: bool) -> argparse.ArgumentParser:
    """The serve options, shared by the top level and `serve`. SUPPRESS keeps an option that
    was not given off the namespace, so `--port` given on one level is not reset by the
    other level's default."""
    default: Any = argparse.SUPPRESS if suppress else None
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--host", default=default,
                         help="address to bind (default 127.0.0.1, or KEHAI_HOST)")
    options.add_argument("--port", type=int, default=default,
                         help="port (default 8000, or KEHAI_PORT)")
    options.add_argument("--workers", type=int, default=default,
                         help="processes sharing the port (needs KEHAI_REDIS_URL when > 1)")
    # A worker's inherited socket and its number, from the --workers supervisor.
    options.add_argument("--fd", type=int, default=default, help=argparse.SUPPRESS)
    options.add_argument("--worker-index", type=int, default=default, help=argparse.SUPPRESS)
    return options


def build_parser(prog: str = "kehai") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Kehai: a live chat.",
                                     parents=[_server_options(False)], epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", parents=[_server_options(True)], epilog=EPILOG,
                   help="serve the app (the default)",
                   description="Serve Kehai over HTTP; applies pending migrations first.")
    cu = sub.add_parser("create-user", help="create a user; the password is read from stdin",
                        description="Create a user. The password is the first line of "
                        "standard input (no prompt).")
    cu.add_argument("name", help="2–32 lower-case letters, digits or underscores")
    cu.add_argument("--display-name", dest="display_name", help="shown to others")
    cu.add_argument("--operator", action="store_true", help="may see the presence dashboard")
    sub.add_parser("migrate", help="apply pending database migrations",
                   description="Apply pending database migrations and exit.")
    sub.add_parser("demo", help="create demo users alice, bob, carol (password: kehai-demo)",
                   description="Create alice, bob and carol (password kehai-demo) and a group.")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from app.config import Config
    from app.serving import serve_one

    overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k, None)}
    config = Config.from_env(**overrides)
    _configure_logging(config)
    workers = getattr(args, "workers", None) or config.workers
    fd = getattr(args, "fd", None)
    if fd is None and workers > 1:
        from app.workers import serve_workers

        return serve_workers(config, workers)
    return serve_one(config, fd, getattr(args, "worker_index", None))


def _configure_logging(config: Any = None) -> None:
    from app import logs
    from app.config import Config

    config = config or Config.from_env()
    logs.configure(config.log_level, config.log_format)


def _create_user(args: argparse.Namespace) -> int:
    from app.commands import create_user

    _configure_logging()
    password = sys.stdin.readline().rstrip("\r\n")
    return create_user(args.name, args.display_name, password, args.operator)


def _migrate(args: argparse.Namespace) -> int:
    from app.commands import migrate

    _configure_logging()
    return migrate()


def _demo(args: argparse.Namespace) -> int:
    from app.commands import demo

    _configure_logging()
    return demo()


def main(argv: list[str] | None = None, prog: str = "kehai") -> int:
    args = build_parser(prog).parse_args(argv)
    handlers = {"create-user": _create_user, "migrate": _migrate, "demo": _demo}
    return handlers.get(args.command or "serve", _serve)(args)


if __name__ == "__main__":  # how --workers starts each worker: python -m app.cli
    raise SystemExit(main())
