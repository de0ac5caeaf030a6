"""Render a fragment once per language: the same bytes then go to every recipient."""

from __future__ import annotations

from typing import Any

from quart import Quart, render_template

from app.i18n import LANGUAGES, use_locale


class Renderer:
    """Renders streamed fragments from anywhere: a request, a timer or a background task.

    Timers and broker callbacks run outside any request, so the app context is entered here
    rather than by every caller.
    """

    def __init__(self, app: Quart) -> None:
        self.app = app

    async def each_language(self, template: str, **context: Any) -> dict[str, str]:
        """{language: HTML}. Shared by every recipient: nothing in it may depend on who
        triggered the render, so the viewer and the token are blanked."""
        context = {"me": None, "csrf_token": "", **context}
        out: dict[str, str] = {}
        async with self.app.app_context():
            for lang in LANGUAGES:
                with use_locale(lang):
                    out[lang] = (await render_template(template, **context)).strip()
        return out
