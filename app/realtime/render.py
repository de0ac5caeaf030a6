"""Render a fragment once per language: the same bytes then go to every recipient."""

from __future__ import annotations

from typing import Any

from quart import render_template

from app.i18n import LANGUAGES, use_locale


async def render_each_language(template: str, **context: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    # Shared by every recipient: nothing in it may depend on who triggered the render.
    context = {"me": None, "csrf_token": "", **context}
    for lang in LANGUAGES:
        with use_locale(lang):
            out[lang] = (await render_template(template, **context)).strip()
    return out
