"""The operators' live presence dashboard: paged, searchable, updated row by row."""

from __future__ import annotations

from quart import Blueprint, render_template, request

from app.auth import operator_required
from app.db import run_db
from app.presence.rows import last_seen_of, page_of_users, unread_backlog
from app.services import services

bp = Blueprint("dashboard", __name__)
PER_PAGE = 50
FILTERS = ("online", "away", "offline")


@bp.get("/dashboard")
@operator_required
async def index() -> str:
    kehai = services()
    tracker = kehai.extras["presence"]
    announcer = kehai.extras["announcer"]
    query = request.args.get("q", "").replace("\0", "").strip()[:64]  # PostgreSQL refuses NUL
    status = request.args.get("status", "")
    status = status if status in FILTERS else ""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    restrict = None
    if status in ("online", "away"):
        restrict = ("in", [uid for uid, s in tracker.shown.items() if s == status])
    elif status == "offline":
        restrict = ("not_in", list(tracker.shown))
    users, total = await run_db(page_of_users, query, restrict, page, PER_PAGE)
    ids = [u.id for u in users]
    unread = await run_db(unread_backlog, ids)
    seen = await run_db(last_seen_of, ids)
    rows = [await announcer.row_for(u, unread.get(u.id, 0), seen.get(u.id)) for u in users]
    pages = max(1, -(-total // PER_PAGE))
    return await render_template(
        "dashboard/index.html", rows=rows, totals=announcer.totals(), query=query,
        status=status, page=page, pages=pages, total=total, filters=FILTERS,
    )
