"""Settings from KEHAI_* environment variables, with safe embedded defaults."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance: Path) -> str:
    """Generate the secret once and keep it in instance/, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when several workers start together only one key wins; the others read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The fields an operator sets with KEHAI_* variables (README "Configuration")."""
    return {
        "instance_dir": Path(env.get("KEHAI_INSTANCE_DIR", str(ROOT / "instance"))),
        "database_url": env.get("KEHAI_DATABASE_URL", ""),
        "redis_url": env.get("KEHAI_REDIS_URL", ""),
        "redis_prefix": env.get("KEHAI_REDIS_PREFIX", "kehai:"),
        "secret_key": env.get("KEHAI_SECRET_KEY", ""),
        "host": env.get("KEHAI_HOST", "127.0.0.1"),
        "port": int(env.get("KEHAI_PORT", "8000")),
        "workers": int(env.get("KEHAI_WORKERS", "1")),
        "certfile": env.get("KEHAI_CERTFILE", ""),
        "keyfile": env.get("KEHAI_KEYFILE", ""),
        "session_idle_s": float(env.get("KEHAI_SESSION_IDLE_S", 14 * 86400)),
        "session_max_s": float(env.get("KEHAI_SESSION_MAX_S", 30 * 86400)),
        "trusted_proxies": _listed(env.get("KEHAI_TRUSTED_PROXIES", "")),
        "allowed_hosts": _listed(env.get("KEHAI_ALLOWED_HOSTS", "")),
        "metrics_token": env.get("KEHAI_METRICS_TOKEN", ""),
        "log_level": env.get("KEHAI_LOG_LEVEL", "info"),
        "log_format": env.get("KEHAI_LOG_FORMAT", "text"),
        "metrics_port_base": int(env.get("KEHAI_METRICS_PORT_BASE", "0")),
    }


def _listed(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    """Everything tunable in one place; tests shorten the intervals."""

    instance_dir: Path = ROOT / "instance"
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = "kehai:"
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # TLS: with both set, Hypercorn serves HTTPS and offers HTTP/2 (ALPN), where a browser's
    # tabs share one connection instead of six per host
    certfile: str = ""
    keyfile: str = ""
    # TLS: with both set, Hypercorn serves HTTPS and offers HTTP/2 (ALPN), where a browser's
    # tabs share one connection instead of six per host
    certfile: str = ""
    keyfile: str = ""
    db_threads: int = 8
    testing: bool = False
    # the edge: proxies whose X-Forwarded-Proto/-For count, the Host names served (empty:
    # local names and `host`), and the bearer token /metrics requires (empty: none)
    trusted_proxies: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    metrics_token: str = ""
    log_level: str = "info"
    log_format: str = "text"  # or "json": one object per line
    metrics_port_base: int = 0  # with --workers N, worker n also serves /metrics on base + n

    # the live stream (docs/ARCHITECTURE.md "Parameters")
    heartbeat_s: float = 20.0
    stream_lifetime_s: float = 30 * 60.0
    write_timeout_s: float = 30.0  # a client that takes nothing for this long is cut
    queue_size: int = 256
    max_streams_per_user: int = 10
    replay_window_s: float = 600.0
    replay_min_events: int = 1000
    replay_max_events: int = 5000
    session_check_s: float = 5.0  # how often open streams' sessions are checked to still exist
    outbox_relay_s: float = 1.0  # how often any process publishes what others left behind
    outbox_grace_s: float = 2.0  # a row younger than this is its own request's to publish
    lean_sse: bool = True  # serve /sse outside Quart's request machinery (measured faster)
    native_sse: bool = True  # plain HTTP/1.1 requests outside Hypercorn (realtime/native_http.py)
    lean_post: bool = True  # the composer's message POST outside Quart (app/messages/lean.py)

    # sessions end on the server too: after this long unused, and this long after sign-in
    session_idle_s: float = 14 * 86400.0
    session_max_s: float = 30 * 86400.0

    # presence and typing
    presence_grace_s: float = 15.0
    lease_s: float = 60.0
    lease_renew_s: float = 20.0
    away_s: float = 300.0
    last_seen_write_s: float = 60.0
    typing_expiry_s: float = 6.0
    dashboard_sample_s: float = 10.0  # how often the dashboard's charts take their figures

    # limits: (count, window seconds)
    message_limit: tuple[int, float] = (20, 10.0)
    login_limit: tuple[int, float] = (10, 180.0)  # failures per (name, address)
    login_address_limit: tuple[int, float] = (100, 180.0)  # failures per address, any names
    login_name_limit: tuple[int, float] = (100, 180.0)  # failures per name, any addresses
    typing_limit: tuple[int, float] = (1, 1.0)
    presence_limit: tuple[int, float] = (30, 10.0)  # a tab reports on visibility/idle changes
    register_limit: tuple[int, float] = (10, 3600.0)
    conversation_limit: tuple[int, float] = (60, 3600.0)  # new conversations per user
    stream_limit: tuple[int, float] = (120, 60.0)
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        """Read KEHAI_* variables; keyword overrides win (used by tests and run.py)."""
        env = os.environ
        base = cls(**_from_environment(env))
        tuning = json.loads(env.get("KEHAI_TUNING", "{}"))  # tests and the bench shorten timers
        for key, value in tuning.items():
            if isinstance(getattr(base, key, None), tuple):
                tuning[key] = tuple(value)
        cfg = replace(base, **{**tuning, **overrides})  # type: ignore[arg-type]
        if not cfg.database_url:
            cfg.instance_dir.mkdir(parents=True, exist_ok=True)
            cfg = replace(cfg, database_url=f"sqlite:///{cfg.instance_dir / 'kehai.sqlite3'}")
        if not cfg.secret_key:
            cfg = replace(cfg, secret_key=_secret_key(cfg.instance_dir))
        return cfg
