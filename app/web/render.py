"""Render a fragment once per language: the same bytes then go to every recipient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart import Quart

from app.i18n import LANGUAGES, use_locale

Localized = dict[str, dict[str, Any]]  # {language: {name: value}}


class Renderer:
    """Renders streamed fragments from anywhere: a request, a timer or a background task.

    Timers and broker callbacks run outside any request, so the app context is entered here
    rather than by every caller.
    """

    def __init__(self, app: Quart) -> None:
        self.app = app
        # Quart's environment renders asynchronously: every include, macro call and block
        # becomes an async generator. These fragments await nothing, so they are rendered
        # by a synchronous overlay of the same environment (the same loader, filters,
        # globals and gettext), 16 % faster for a message (bench/results/rooms.md).
        self.env = app.jinja_env.overlay(enable_async=False)

    async def each_language(self, template: str, localized: Localized | None = None,
                            languages: Iterable[str] = LANGUAGES, *, quart: bool = True,
                            **context: Any) -> dict[str, str]:
        """{language: HTML}. Shared by every recipient: nothing in it may depend on who
        triggered the render, so the viewer and the token are blanked. `localized` adds
        one language's own values (a part already rendered in that language), and its
        languages are the ones rendered; else `languages` (Hub.languages says which).

        The context processors run once for all languages, and the template is rendered
        by Jinja directly: Quart's render_template ran them, and its two signals, per
        language (bench/rooms.py). `quart=False`, for the fragments a message is made of,
        which use nothing of Quart's (no url_for, g, request or context processor value):
        neither the app context nor the processors, a tenth of such a render."""
        context = {"me": None, "csrf_token": "", **context}
        if not quart:
            return self._each(template, localized, languages, context)
        async with self.app.app_context():
            await self.app.update_template_context(context)
            return self._each(template, localized, languages, context)

    def _each(self, template: str, localized: Localized | None, languages: Iterable[str],
              context: dict[str, Any]) -> dict[str, str]:
        compiled = self.env.get_template(template)
        out: dict[str, str] = {}
        for lang in localized or languages:
            with use_locale(lang):
                values = {**context, **localized[lang]} if localized else context
                out[lang] = compiled.render(values).strip()
        return out

    async def plain(self, template: str, **context: Any) -> str:
        """A fragment that needs nothing from a request's context (no viewer, no token, no
        URL): Jinja renders it directly, without Quart's context processors and signals, so
        it can be rendered outside Quart too (the sender's reply: app/messages/lean.py)."""
        return self.env.get_template(template).render(context)
