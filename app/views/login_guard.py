"""Who may try a password now: login limits that stop guessing but never lock the owner out.

Only failures count; a correct password counts toward nothing. Three keys per failure:

- (name, address), `login_limit`: one place guessing one person's password is stopped soon.
- address, `login_address_limit`: one place trying many names (password spraying).
- name, `login_name_limit`, well above the first: guesses for one person spread over many
  addresses (a botnet). When this ceiling is reached, only an address this person has
  signed in from in the last KNOWN_S may still try (within its own limits above); everyone
  else waits. So nobody can lock the owner out from afar, and a botnet still gets no more
  than the ceiling of guesses per window. (The mark is kept beside the limits, not in the
  cookie, which holds only the session id and the CSRF token.)

A name that cannot exist is refused before any of this and counts only for its address:
no limiter key is ever made from it.
"""

from __future__ import annotations

from app.config import Config
from app.i18n import gettext as _
from app.limits import Limits, Rule

KNOWN_S = 30 * 86400.0  # how long a successful sign-in makes its address "known"


class LoginGuard:
    def __init__(self, limits: Limits, config: Config, name: str | None, address: str) -> None:
        self.limits = limits
        self.config = config
        self.name = name
        self.address = address

    def _rules(self) -> list[tuple[str, Rule]]:
        rules = [(f"login:addr:{self.address}", self.config.login_address_limit)]
        if self.name is not None:
            rules.append((f"login:pair:{self.name}:{self.address}", self.config.login_limit))
        return rules

    @property
    def _known(self) -> str:
        return f"login:known:{self.name}:{self.address}"

    async def check(self) -> None:
        """429 if this attempt may not be tried now; counts nothing."""
        message = _("Too many attempts. Please wait a little and try again.")
        for key, rule in self._rules():
            await self.limits.check(key, rule, message)
        if self.name is None:
            return
        wait = await self.limits.over(f"login:name:{self.name}", self.config.login_name_limit)
        if wait is not None and await self.limits.over(self._known, (1, KNOWN_S)) is None:
            self.limits.refuse(wait, message)

    async def failed(self) -> None:
        """Count a wrong password (or an impossible name) against every key it touches."""
        rules = self._rules()
        if self.name is not None:
            rules.append((f"login:name:{self.name}", self.config.login_name_limit))
        for key, rule in rules:
            await self.limits.wait(key, rule)

    async def succeeded(self) -> None:
        """Remember this address for this name: past the ceiling it may still sign in."""
        if self.name is not None:
            await self.limits.wait(self._known, (1, KNOWN_S))
