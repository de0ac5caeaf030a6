"""Which languages an event must be rendered in: those its recipients' streams use.

Every event is rendered once per language and every stream gets its own language's bytes. A
room whose members all read English need not pay for the Japanese rendering too (one of a
message's largest costs, bench/rooms.py). With the in-memory broker this process holds every
stream there is, so it knows each user's languages: the ones their streams and pages used
since start. Any recipient it has never seen, or a shared broker (other processes hold
streams it cannot see), means every language. A stream that asks for a language an event
lacks still gets the event, in another language (Event.frame_for): only its labels differ.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.i18n import LANGUAGES

MAX_USERS = 100_000  # past this, forget everyone (every language again) rather than track age
_SHARED: dict[frozenset[str], frozenset[str]] = {}


class SeenLanguages:
    def __init__(self, complete: bool) -> None:
        self.complete = complete  # this process sees every stream (the in-memory broker)
        self._of: dict[int, frozenset[str]] = {}

    def saw(self, user_id: int, lang: str) -> None:
        """A stream or a page of this user's, in `lang`."""
        known = self._of.get(user_id)
        if known is None or lang not in known:
            if len(self._of) >= MAX_USERS:
                self._of.clear()
            combined = (known or frozenset()) | {lang}
            # one shared set per combination: a set per user cost 200 bytes a stream
            self._of[user_id] = _SHARED.setdefault(combined, combined)

    def needed(self, recipients: Iterable[int], also: str | None = None) -> tuple[str, ...]:
        """The languages to render for these recipients (and `also`: the sender's reply)."""
        if not self.complete:
            return LANGUAGES
        wanted = {also} if also else set()
        of = self._of
        for user_id in recipients:
            known = of.get(user_id)
            if known is None:
                return LANGUAGES
            wanted |= known
            if len(wanted) == len(LANGUAGES):
                return LANGUAGES
        return tuple(lang for lang in LANGUAGES if lang in wanted) or LANGUAGES
