"""POST /presence: a tab says whether it is in use (visible and used, or hidden / idle)."""

from __future__ import annotations

from quart import Blueprint, g, request, session

from app.i18n import gettext as _
from app.limits import Limits, Rule
from app.presence import Presence
from app.web.guards import login_required
from app.web.params import bounded_int

STATES = {"active": True, "away": False, "gone": None}


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
        """`state=active|away|gone` from a tab (visible and used; hidden or idle for 5
        minutes; closed), with `n` ordering that tab's reports (a reload's "gone" may arrive
        late)."""
        form = await request.form
        state = form.get("state", "")
        if state not in STATES:
            return "state must be active, away or gone", 422
        # Each report can reach every contact and operator: a tab only reports on visibility
        # or idle changes, so a burst beyond the rule is a script, not a person.
        await self.limits.enforce(f"presence:{g.user.id}", self.rule, _("Slow down a little."))
        tab = (form.get("tab") or request.headers.get("X-Kehai-Tab", ""))[:64]
        order = bounded_int(form, "n", 0, 10**18) or 0
        self.presence.tracker.report(g.user.id, tab, STATES[state],
                                     session_id=session.get("sid", ""), n=order)
        return "", 204
