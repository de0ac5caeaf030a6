"""POST /presence: a tab says whether it is in use (visible and used, or hidden / idle)."""

from __future__ import annotations

from quart import Blueprint, g, request

from app.i18n import gettext as _
from app.limits import Limits, Rule
from app.presence import Presence
from app.web.guards import login_required


class PresenceRoutes:
    def __init__(self, presence: Presence, limits: Limits, rule: Rule) -> None:
        self.presence = presence
        self.limits = limits
        self.rule = rule

    def blueprint(self) -> Blueprint:
        bp = Blueprint("presence", __name__)
        bp.add_url_rule("/presence", "report", login_required(self.report), methods=["POST"])
        return bp

    async def report(self) -> tuple[str, int]:
        """`state=active|away` from a tab."""
        form = await request.form
        state = form.get("state", "")
        if state not in ("active", "away"):
            return "state must be active or away", 422
        # Each report can reach every contact and operator: a tab only reports on visibility
        # or idle changes, so a burst beyond the rule is a script, not a person.
        await self.limits.enforce(f"presence:{g.user.id}", self.rule, _("Slow down a little."))
        tab = (form.get("tab") or request.headers.get("X-Kehai-Tab", ""))[:64]
        self.presence.tracker.report(g.user.id, tab, state == "active")
        return "", 204
