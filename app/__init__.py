"""Kehai: create_app(config) builds the container, the Quart app and its routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Quart, request
from quart.sessions import SecureCookieSessionInterface

from app import db
from app.config import ROOT, Config
from app.i18n import gettext, ngettext
from app.kehai import Kehai, KehaiApp
from app.migrate import apply_pending
from app.templating import drop_threaded_processors, install_filters
from app.web.render import Renderer


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request itself came over https."""

    def get_cookie_secure(self, app: Quart) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.scheme == "https"


def _configure(app: Quart, config: Config) -> None:
    app.session_interface = _SessionInterface()
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="kehai_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.session_max_s),
        # Quart re-sends a permanent session's cookie on every response by default; only a
        # changed session gets a Set-Cookie (/healthz, /metrics, /static never do).
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        TESTING=config.testing,
    )
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    install_filters(app)


def _register_routes(app: Quart, kehai: Kehai) -> None:
    """Capabilities' routes get their objects here; pages that combine them use kehai()."""
    from app.dashboard.views import DashboardRoutes
    from app.messages.views import MessageRoutes
    from app.presence.views import PresenceRoutes
    from app.receipts.views import ReceiptRoutes
    from app.typists.views import TypingRoutes
    from app.views import auth, conversations, groups, health, settings, stream

    config = kehai.config
    for blueprint in (
        MessageRoutes(kehai.messages, kehai.limits, config.message_limit).blueprint(),
        ReceiptRoutes(kehai.receipts).blueprint(),
        TypingRoutes(kehai.typing, kehai.limits, config.typing_limit).blueprint(),
        PresenceRoutes(kehai.presence, kehai.limits, config.presence_limit).blueprint(),
        DashboardRoutes(kehai.dashboard).blueprint(),
        auth.bp, conversations.bp, groups.bp, stream.bp, health.bp, settings.bp,
    ):
        app.register_blueprint(blueprint)


def create_app(config: Config | None = None) -> KehaiApp:
    """Build the app; `config` defaults to the KEHAI_* environment."""
    config = config or Config.from_env()
    app = KehaiApp(__name__, template_folder=str(ROOT / "templates"),
                   static_folder=str(ROOT / "static"))
    _configure(app, config)
    if config.testing:
        from app.accounts import use_fast_hashing

        use_fast_hashing()
    apply_pending(db.init(config.database_url, config.db_threads))

    kehai = Kehai(config, Renderer(app))
    app.kehai = kehai
    from app.views.access_log import install_access_log
    from app.views.assets import install_assets
    from app.views.hooks import install_hooks

    install_access_log(app)
    install_hooks(app)
    install_assets(app)
    _register_routes(app, kehai)
    drop_threaded_processors(app)

    @app.before_serving
    async def _start() -> None:
        await kehai.start()

    @app.after_serving
    async def _stop() -> None:
        await kehai.stop()

    return app


def lean(app: KehaiApp) -> Any:
    """The ASGI app `run.py` serves: /sse by the lean handler, the composer's messages by
    theirs (when on), everything else by Quart. Both read the cookie through the stream's
    door: one reader, one memory of the cookies it verified."""
    from app.realtime.asgi_sse import LeanSSE
    from app.views.stream import StreamDoor
    from app.web.headers import asgi_headers

    door = StreamDoor(app, app.kehai)
    inner = lean_posts(app, app, door) if app.kehai.config.lean_post else app
    return LeanSSE(inner, app.kehai.hub, door, asgi_headers())


def lean_posts(app: KehaiApp, inner: Any, door: Any) -> Any:
    """The composer's message POST outside Quart, reading the session as `door` (the
    stream's StreamDoor) does; every other request to `inner`."""
    from app.messages.lean import LeanPost
    from app.web.headers import asgi_headers

    kehai, config = app.kehai, app.kehai.config
    return LeanPost(inner, kehai.messages, kehai.limits, config.message_limit, door.cookies,
                    door.lifetime, kehai.database, config.max_body_bytes, asgi_headers())


def served(app: KehaiApp) -> Any:
    """What `run.py` serves: the lean /sse beside the app (when on), behind the edge checks
    that hold for every request, the stream included: trusted proxies, then allowed hosts."""
    from app.web.headers import asgi_headers
    from app.web.hosts import AllowedHosts, allowed
    from app.web.proxy import TrustedProxies, networks

    config = app.kehai.config
    inner: Any = lean(app) if config.lean_sse else app
    hosts = AllowedHosts(inner, allowed(config.allowed_hosts, config.host), asgi_headers())
    return TrustedProxies(hosts, networks(config.trusted_proxies))
