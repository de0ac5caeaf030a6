"""Everyone in the list's order, without sorting ten thousand people on every page view.

Sorting everyone costs more than rendering the page (bench/dashboard.py), and almost all of
it is the offline people, whose order comes only from what is stored (last seen, written at
most once a minute, and the name). So that order is kept for a few seconds; the people online
or away, a few, are taken out of it on each view and ordered live. Status and filters are
therefore always current; a newcomer, or an offline person's stored last seen, may take up
to STORED_ORDER_S to show (someone new who is already online shows at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from app.dashboard.order import Listed, arrange
from app.dashboard.rows import directory

STORED_ORDER_S = 5.0
WHOLE_LIST = ""  # the one query worth keeping: a search matches few people


class Listing:
    def __init__(self, keep_s: float = STORED_ORDER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_s = keep_s
        self.clock = clock
        # (when, everyone's ids, (person as if offline, shows presence) in the stored order)
        self._kept: tuple[float, frozenset[int], list[tuple[Listed, bool]]] | None = None

    def _stored_order(self, query: str, shown: dict[int, str]) -> list[tuple[Listed, bool]]:
        now, kept = self.clock(), self._kept
        if (query == WHOLE_LIST and kept and now - kept[0] < self.keep_s
                and kept[1].issuperset(shown)):
            return kept[2]
        rows = directory(query)
        shows = {uid: flag for uid, _name, flag, _seen in rows}
        people = arrange(Listed(uid, name, "offline", seen) for uid, name, _f, seen in rows)
        order = [(p, shows[p.user_id]) for p in people]
        if query == WHOLE_LIST:
            # Replaced whole: run_db threads may read the old one meanwhile.
            self._kept = (now, frozenset(shows), order)
        return order

    def ordered(self, query: str, status: str, shown: dict[int, str],
                recent: dict[int, datetime | None]) -> list[int]:
        """Everyone matching the search and the filter, in order (call inside run_db).

        `shown` is who is online or away now, `recent` their last seen as this process knows
        it; a hidden person stays among the offline, where they sort."""
        here, rest = [], []
        for person, shows in self._stored_order(query, shown):
            if shows and person.user_id in shown:
                uid = person.user_id
                here.append(person._replace(status=shown[uid],
                                            active=recent.get(uid) or person.active))
            else:
                rest.append(person if shows else person._replace(status="hidden"))
        return [p.user_id for p in arrange(here, status) + arrange_kept(rest, status)]


def arrange_kept(people: list[Listed], status: str) -> list[Listed]:
    """The offline and hidden, already in order: only the filter applies."""
    if status in ("online", "away"):
        return []
    return people
