"""GET /dashboard: the operators' live presence dashboard, paged and searchable."""

from __future__ import annotations

from quart import Blueprint, render_template, request

from app.dashboard import Dashboard
from app.dashboard.rows import page_of_users
from app.db import run_db
from app.web.guards import operator_required
from app.web.params import bounded_int

PER_PAGE = 50
MAX_PAGE = 10_000
FILTERS = ("online", "away", "offline")


class DashboardRoutes:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def blueprint(self) -> Blueprint:
        bp = Blueprint("dashboard", __name__)
        bp.add_url_rule("/dashboard", "index", operator_required(self.index))
        return bp

    def _restrict(self, status: str) -> tuple[str, list[int]] | None:
        shown = self.dashboard.presence.shown()
        if status in ("online", "away"):
            return "in", [uid for uid, s in shown.items() if s == status]
        if status == "offline":
            return "not_in", list(shown)
        return None

    async def index(self) -> str:
        query = request.args.get("q", "").replace("\0", "").strip()[:64]  # PostgreSQL refuses NUL
        status = request.args.get("status", "")
        status = status if status in FILTERS else ""
        page = bounded_int(request.args, "page", 1, MAX_PAGE, default=1) or 1
        users, total = await run_db(page_of_users, query, self._restrict(status), page, PER_PAGE)
        rows = await self.dashboard.rows_for(users)
        pages = max(1, -(-total // PER_PAGE))
        return await render_template(
            "dashboard/index.html", rows=rows, totals=self.dashboard.totals(), query=query,
            status=status, page=page, pages=pages, total=total, filters=FILTERS,
        )
