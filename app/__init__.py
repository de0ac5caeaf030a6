"""Kehai: create_app(config) wires settings, database, blueprints and the live hub."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Quart, g, request
from quart.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from app import db
from app.auth import load_user
from app.config import ROOT, Config
from app.i18n import gettext, negotiate, ngettext, set_locale
from app.metrics import Metrics
from app.migrate import apply_pending
from app.ratelimit import MemoryLimiter
from app.realtime.hub import Hub
from app.realtime.memory_broker import MemoryBroker
from app.security import add_headers, check_csrf, check_post, csrf_token
from app.services import Services, services
from app.templating import install_filters


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request itself came over https."""

    def get_cookie_secure(self, app: Quart) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.scheme == "https"


def _make_broker(config: Config) -> Any:
    if config.redis_url:
        from app.realtime.redis_broker import RedisBroker

        return RedisBroker(config)
    return MemoryBroker(config)


def _make_limiter(config: Config, broker: Any) -> Any:
    if config.redis_url:
        from app.realtime.redis_limiter import RedisLimiter

        return RedisLimiter(broker)
    return MemoryLimiter()


def create_app(config: Config | None = None) -> Quart:
    """Build the app; `config` defaults to the KEHAI_* environment."""
    config = config or Config.from_env()
    app = Quart(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.session_interface = _SessionInterface()
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="kehai_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        TESTING=config.testing,
    )
    if config.testing:
        from app.auth import use_fast_hashing

        use_fast_hashing()
    database = db.init(config.database_url, config.db_threads)
    apply_pending(database)

    metrics = Metrics()
    broker = _make_broker(config)
    hub = Hub(broker, config, metrics)
    kehai = Services(config, hub, _make_limiter(config, broker), metrics)
    metrics.gauge("kehai_broker_reconnects_total", lambda: getattr(broker, "reconnects", 0))
    app.extensions["kehai"] = kehai

    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    install_filters(app)
    _register_hooks(app)
    _register_blueprints(app)

    from app.presence import install as install_presence

    install_presence(app, kehai)
    from app.typing import install as install_typing

    install_typing(app, kehai)

    @app.before_serving
    async def _start() -> None:
        await hub.start()
        for hook in kehai.extras.get("start_hooks", []):
            await hook()

    @app.after_serving
    async def _stop() -> None:
        hub.shutdown()
        for hook in kehai.extras.get("stop_hooks", []):
            await hook()
        await broker.stop()

    return app


def _register_hooks(app: Quart) -> None:
    @app.before_request
    async def _before() -> None:
        set_locale(negotiate(request.headers.get("Accept-Language")))
        g.csrf_token = csrf_token()
        check_post()
        await check_csrf()
        await load_user()
        if g.user is not None and request.method == "GET" and "HX-Request" not in request.headers:
            # Taken before the page's queries: the stream resumes from here, so nothing that
            # happens while the page renders falls between the page and the stream.
            try:
                g.stream_since = str(await services().hub.head())
            except Exception:  # broker away: the stream will start with a resync instead
                g.stream_since = ""

    @app.after_request
    async def _after(response: Any) -> Any:
        return add_headers(response)

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Any:
        from app.views.errors import render_error

        return await render_error(error)

    @app.context_processor
    async def _context() -> dict[str, Any]:
        return {
            "csrf_token": g.get("csrf_token", ""),
            "me": g.get("user"),
            "stream_since": g.get("stream_since", ""),
            "away_after": services().config.away_s,
            "heartbeat_s": services().config.heartbeat_s,  # the page's stream watchdog
        }


def _register_blueprints(app: Quart) -> None:
    from app.views import (
        auth,
        conversations,
        dashboard,
        health,
        messages,
        password,
        presence,
        receipts,
        stream,
        typing,
    )

    for module in (auth, conversations, messages, stream, health, presence, dashboard, typing,
                   receipts, password):
        app.register_blueprint(module.bp)
