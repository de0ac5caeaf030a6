"""Who may try a password now: login limits that stop guessing but never lock the owner out.

Only failures count; a correct password counts toward nothing. Three keys per failure:

- (name, address), `login_limit`: one place guessing one person's password is stopped soon.
- address, `login_address_limit`: one place trying many names (password spraying).
- name, `login_name_limit`, well above the first: guesses for one person spread over many
  addresses (a botnet). When this ceiling is reached, a browser that has signed in as that
  person before (a mark kept in its signed session cookie, which survives sign-out) may
  still try, within its own address's limits; everyone else waits. So nobody can lock the
  owner out from afar, and the botnet still gets no more than the ceiling of guesses.

A name that cannot exist is refused before any of this and counts only for its address:
a limiter key is never made from it.
"""

from __future__ import annotations

from quart import session

from app.config import Config
from app.i18n import gettext as _
from app.limits import Limits
from app.views.sessions import KNOWN


class LoginGuard:
    def __init__(self, limits: Limits, config: Config, name: str | None, address: str) -> None:
        self.limits = limits
        self.config = config
        self.name = name
        self.address = address

    def _rules(self, checking: bool) -> list[tuple[str, tuple[int, float]]]:
        rules = [(f"login:addr:{self.address}", self.config.login_address_limit)]
        if self.name is not None:
            rules.append((f"login:pair:{self.name}:{self.address}", self.config.login_limit))
            # A known browser is not held back by the ceiling, but its failures still count.
            if not (checking and self.name in session.get(KNOWN, [])):
                rules.append((f"login:name:{self.name}", self.config.login_name_limit))
        return rules

    async def check(self) -> None:
        """429 if this attempt may not be tried now; counts nothing."""
        message = _("Too many attempts. Please wait a little and try again.")
        for key, rule in self._rules(checking=True):
            await self.limits.check(key, rule, message)

    async def failed(self) -> None:
        """Count a wrong password (or an impossible name) against every key it touches."""
        for key, rule in self._rules(checking=False):
            await self.limits.wait(key, rule)
