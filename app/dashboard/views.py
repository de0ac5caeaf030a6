"""GET /dashboard: the operators' live presence dashboard, paged and searchable; and
GET /dashboard/table, the list alone, which the page re-fetches when its order changes."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, render_template, request

from app.dashboard import Dashboard
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
        bp.add_url_rule("/dashboard/table", "table", operator_required(self.table))
        return bp

    async def _listing(self) -> dict[str, Any]:
        query = request.args.get("q", "").replace("\0", "").strip()[:64]  # PostgreSQL refuses NUL
        status = request.args.get("status", "")
        status = status if status in FILTERS else ""
        page = bounded_int(request.args, "page", 1, MAX_PAGE, default=1) or 1
        rows, total = await self.dashboard.page(query, status, page, PER_PAGE)
        return {"rows": rows, "query": query, "status": status, "page": page, "total": total,
                "pages": max(1, -(-total // PER_PAGE)), "filters": FILTERS}

    async def index(self) -> str:
        return await render_template(
            "dashboard/index.html", totals=await self.dashboard.totals(),
            charts=self.dashboard.charts(), **await self._listing())

    async def table(self) -> str:
        return await render_template("dashboard/_table.html", **await self._listing())
