"""The named interfaces through which capabilities see each other.

Capabilities (messages, receipts, typists, presence, dashboard) never import one another;
what one needs of another is written here as a Protocol, and app/kehai.py hands over the
real object. The import contracts in pyproject.toml hold the packages to this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.models import User


class PresenceReader(Protocol):
    def status_of(self, user_id: int) -> str:
        """online | away | offline, as tracked (whatever the user's privacy setting)."""

    def shows(self, user: User) -> bool:
        """Whether others may see anything of the user's presence."""

    def shown_status(self, user: User) -> str:
        """What others may see: hidden users look offline."""

    def shown_last_seen(self, user: User, stored: datetime | None = None) -> datetime | None:
        """When others may read the user was last here: never for a hidden user."""

    def last_seen_at(self, user_id: int) -> datetime | None:
        """When this process last saw the user (naive UTC), if it did."""

    def status_since(self, user_id: int) -> datetime | None:
        """When this process saw the user's shown status last change (naive UTC), if it did."""

    def online_count(self) -> int:
        """People online right now (away ones not counted)."""

    def shown(self) -> dict[int, str]:
        """user id -> online | away for everyone not offline."""


class TypingReader(Protocol):
    def typing_in(self, user_id: int) -> int | None:
        """The conversation the user is typing in, if any."""

    def typists(self, conversation_id: int) -> tuple[int, ...]:
        """Who is typing in the conversation now, in the order they started."""


class RowListener(Protocol):
    def row_changed(self, user_id: int) -> None:
        """Something an operator's row shows about the user changed."""
