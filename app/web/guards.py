"""Route guards: who may call a route, and the conversation a route is about.

Ids in URLs are bounded to what the databases hold (signed 64-bit): a larger id is a plain 404,
never an overflow inside the database driver (a 500).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from quart import abort, g, redirect, request, url_for

from app.db import read_now
from app.hot_reads import member_room
from app.i18n import gettext as _
from app.models import Conversation
from app.web.params import MAX_ID

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
CONVERSATION = f"/c/<int(max={MAX_ID}):conversation_id>"
NOT_A_MEMBER = "There is nothing here, or you are not a member of it."


def not_found() -> NoReturn:
    """The one 404 for conversations: it reads the same whether the room exists or not."""
    abort(404, _(NOT_A_MEMBER))


async def conversation_or_404(conversation_id: int) -> Conversation:
    """The conversation, if the signed-in user is a member of it (an id tells an outsider
    nothing)."""
    conversation = await read_now(member_room, conversation_id, g.user.id)
    if conversation is None:
        not_found()
    return conversation


def _wants_html_redirect() -> bool:
    return request.method == "GET" and "HX-Request" not in request.headers


def login_required(view: F) -> F:
    """Anonymous GETs go to the login page; anything else gets 401."""

    @functools.wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if _wants_html_redirect():
                return redirect(url_for("auth.login", next=request.path))
            abort(401, _("Please sign in again."))
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def operator_required(view: F) -> F:
    """Signed-in operators only; everyone else signed in gets 403."""

    @functools.wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = g.get("user")
        if user is None:
            return await login_required(view)(*args, **kwargs)
        if not user.is_operator:
            abort(403, _("Only operators can see this page."))
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
