"""Blueprints, one per feature.

Ids in URLs are bounded to what the databases hold (signed 64-bit): a larger id is a plain 404,
never an overflow inside the database driver (a 500).
"""

from __future__ import annotations

from quart import abort, g

from app.db import run_db
from app.i18n import gettext as _
from app.models import Conversation, Membership

MAX_ID = 2**63 - 1
CONVERSATION = f"/c/<int(max={MAX_ID}):conversation_id>"


async def conversation_or_404(conversation_id: int) -> Conversation:
    """The conversation, if the signed-in user is a member of it; otherwise a 404 that reads
    the same whether it exists or not (an id tells an outsider nothing)."""
    conversation = await run_db(Membership.conversation_for, conversation_id, g.user.id)
    if conversation is None:
        abort(404, _("There is nothing here, or you are not a member of it."))
    return conversation
