"""The conversation list, starting chats, and a conversation's page and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import IntegrityError
from quart import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WResponse

from app.db import database, run_db
from app.groups.store import announce_start
from app.i18n import gettext as _
from app.kehai import kehai
from app.models import DIRECT, GROUP, Conversation, Membership, Message, User, UserStatus
from app.models.inbox import conversation_view, first_unread, inbox, unread_counts
from app.presence.audience import SHOWN_MEMBERS
from app.receipts.state import read_state
from app.views.group_forms import FormProblem, clean_title, people, usernames
from app.web.guards import CONVERSATION, conversation_or_404, login_required, not_found
from app.web.params import MAX_ID, bounded_int

bp = Blueprint("conversations", __name__)
MAX_PAGE = 10_000


async def sidebar_context(*also: User) -> dict[str, Any]:
    """The page of the viewer's conversation list asked for (`?page=`), the next page's
    number if there is one, and the status of everyone it (or `also`) shows."""
    page = bounded_int(request.args, "page", 1, MAX_PAGE, default=1) or 1
    # Every conversation's count, listed or not: the tab title's total (static/js/unread.js).
    unread = await run_db(unread_counts, g.user.id)
    items, more = await run_db(inbox, g.user.id, page, unread=unread)
    presence = kehai().presence.statuses_for([*also, *[i.partner for i in items if i.partner]])
    return {"items": items, "presence": presence, "next_page": page + 1 if more else None,
            "unread_counts": unread}


async def _index_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    page = await render_template("conversations/index.html", error=error, active_id=None,
                                 **await sidebar_context())
    return page, status


@bp.get("/")
@login_required
async def index() -> tuple[str, int]:
    return await _index_page()


@bp.get("/sidebar")
@login_required
async def sidebar() -> str:
    active = bounded_int(request.args, "active", 1, MAX_ID)
    return await render_template("conversations/_list.html", active_id=active,
                                 **await sidebar_context())


def _start_direct(me: User, other: User) -> tuple[Conversation, list[int]]:
    """The pair's direct chat, and the outbox rows announcing it if it is new."""
    key = Conversation.direct_key_for(me.id, other.id)
    existing = Conversation.get_or_none(Conversation.direct_key == key)
    if existing:
        return existing, []
    try:
        with database.atomic():
            conversation = Conversation.create(kind=DIRECT, direct_key=key)
            Membership.insert_many(
                [{"conversation": conversation, "user": u} for u in (me, other)]
            ).execute()
            rows = announce_start(conversation.id, me.id, [me.id, other.id])
    except IntegrityError:  # both people started it at the same moment
        return Conversation.get(Conversation.direct_key == key), []
    return conversation, rows


def _start_group(me: User, title: str, members: list[User]) -> tuple[Conversation, list[int]]:
    with database.atomic():
        conversation = Conversation.create(kind=GROUP, title=title)
        ids = list(dict.fromkeys(u.id for u in [me, *members]))
        Membership.insert_many(
            [{"conversation": conversation, "user": uid} for uid in ids]
        ).execute()
        rows = announce_start(conversation.id, me.id, ids)
    return conversation, rows


async def _limit_creation(me: User) -> None:
    """After validation, as for every POST: a burst of new rooms would push someone's real
    chats down their list (paged, so never out of reach, but buried)."""
    await kehai().limits.enforce(f"conversations:{me.id}", kehai().config.conversation_limit,
                                 _("You are starting conversations too fast. Wait a little."))


@bp.post("/conversations")
@login_required
async def create() -> WResponse | tuple[str, int]:
    form = await request.form
    me: User = g.user
    if form.get("with", "").strip():
        name = form["with"].strip().lower()
        if name == me.username:
            return await _index_page(_("You cannot start a direct chat with yourself."), 422)
        other = await run_db(User.by_username, name)
        if other is None:
            return await _index_page(_("Nobody is called “%(name)s”.", name=name), 422)
        await _limit_creation(me)
        conversation, rows = await run_db(_start_direct, me, other)
    else:
        try:
            title = clean_title(form.get("title", ""))
            members = await people(usernames(form.get("members", ""), me))
        except FormProblem as problem:
            return await _index_page(str(problem), 422)
        await _limit_creation(me)
        conversation, rows = await run_db(_start_group, me, title, members)
    # The other members see it in their lists at once, before its first message.
    await kehai().groups.publish(rows)
    return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)


async def _membership_or_404(conversation_id: int) -> tuple[Conversation, Membership, list[User]]:
    found = await run_db(conversation_view, conversation_id, g.user.id)
    if found is None:
        not_found()
    return found


def _title(conversation: Conversation, members: list[User], me: User) -> str:
    if conversation.is_direct:
        others = [m for m in members if m.id != me.id]
        return others[0].display_name if others else me.display_name
    return conversation.title or ""


@bp.get(CONVERSATION)
@login_required
async def show(conversation_id: int) -> str:
    conversation, membership, members = await _membership_or_404(conversation_id)
    messages, has_older = await run_db(Message.latest, conversation_id)
    listed = await sidebar_context(*members)
    reads = await read_state(conversation, messages)
    seen = await _last_seen(members) if conversation.is_direct else {}
    # Where "new messages" starts, as of opening: static/js/reading.js draws the line there
    # and keeps it through resyncs and "load older".
    unread_from, unread_count = await run_db(
        first_unread, conversation_id, g.user.id, membership.last_read_message_id)
    return await render_template(
        "conversations/show.html", last_seen_by_id=seen,
        typing_names=_typing_names(conversation.id, members),
        conversation=conversation, membership=membership, members=members,
        title=_title(conversation, members, g.user), messages=messages, has_older=has_older,
        active_id=conversation.id, reads=reads, **listed,
        shown_members=SHOWN_MEMBERS, unread_from=unread_from, unread_count=unread_count,
    )


@bp.get(f"{CONVERSATION}/header")
@login_required
async def header(conversation_id: int) -> str:
    """The chat header alone: a page that resynced may have missed a rename or new members."""
    conversation, _membership, members = await _membership_or_404(conversation_id)
    seen = await _last_seen(members) if conversation.is_direct else {}
    return await render_template(
        "conversations/_header.html", conversation=conversation, members=members,
        title=_title(conversation, members, g.user), last_seen_by_id=seen,
        presence=kehai().presence.statuses_for(list(members)), shown_members=SHOWN_MEMBERS)


@bp.get(f"{CONVERSATION}/messages")
@login_required
async def history(conversation_id: int) -> str:
    """Older messages for "load older" (`before`), or the latest page (after a resync)."""
    conversation = await conversation_or_404(conversation_id)
    # Beyond any id: the latest page; below every id: nothing older. Never a driver overflow.
    before = bounded_int(request.args, "before", 0, MAX_ID)
    messages, has_older = await run_db(Message.latest, conversation_id, before)
    reads = await read_state(conversation, messages)  # from watermarks and the read log
    return await render_template(
        "messages/_history.html", conversation=conversation, messages=messages,
        has_older=has_older, reads=reads,
    )


async def _last_seen(members: list[User]) -> dict[int, datetime | None]:
    """When each member was last seen, as others may read it (never for hidden ones)."""
    stored = await run_db(UserStatus.last_seen_of, [m.id for m in members])
    presence = kehai().presence
    return {m.id: presence.shown_last_seen(m, stored.get(m.id)) for m in members}


def _typing_names(conversation_id: int, members: list[User]) -> list[str]:
    typists = kehai().typing.typists(conversation_id)
    return [m.display_name for m in members if m.id in typists and m.id != g.user.id]
