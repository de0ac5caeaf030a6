"""The order of the operators' list: who is here first, the most recently active next, and
names as people read them ("Test User 2" before "Test User 10"). Pure: no I/O.

The status comes from memory (the presence tracker), not the database, so the list is
ordered in Python over everyone who matches the search; bench/dashboard.py measures it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

_DIGITS = re.compile(r"(\d+)")
RANK = {"online": 0, "away": 1}  # offline and hidden share the last place
FILTERS = {"online": ("online",), "away": ("away",), "offline": ("offline", "hidden")}
# Names change rarely and a key costs more than the whole sort: keep them (bounded).
_KEYS: dict[str, tuple[str | int, ...]] = {}
MAX_KEYS = 200_000
_LATEST = datetime.max


def natural_key(name: str) -> tuple[str | int, ...]:
    """Digits compare as numbers, letters ignoring case. re.split with a group alternates
    text and digits starting with text, so two keys always compare str to str, int to int."""
    key = _KEYS.get(name)
    if key is None:
        parts = _DIGITS.split(name.casefold())
        key = tuple(int(p) if i % 2 else p for i, p in enumerate(parts))
        if len(_KEYS) >= MAX_KEYS:
            _KEYS.clear()
        _KEYS[name] = key
    return key


class Listed(NamedTuple):
    """One person as the list orders them (a tuple: ten thousand are made per page view)."""

    user_id: int
    name: str
    status: str  # online | away | offline | hidden
    active: datetime | None  # last seen: the most recent first, never seen last


def sort_key(person: Listed) -> tuple[object, ...]:
    # The time until the far future: smaller is more recent, and no float conversion.
    recency = _LATEST - person.active if person.active is not None else timedelta.max
    return (RANK.get(person.status, 2), recency, natural_key(person.name), person.user_id)


def arrange(people: Iterable[Listed], status_filter: str = "") -> list[Listed]:
    """Everyone kept by the filter ("" keeps all), in the list's order."""
    keep = FILTERS.get(status_filter)
    chosen = [p for p in people if keep is None or p.status in keep]
    chosen.sort(key=sort_key)
    return chosen
