"""What each member's typing indicator says, and who needs a new one: pure functions.

A member's line is everyone typing except themselves (never "you are typing"); from three
names on it is "several people", so a typing storm costs a handful of renders and, once
everyone reads "several", no events at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Line = tuple[str, ...]  # the names shown, () for nothing, ("*",) for "several people"
SEVERAL: Line = ("*",)
UNKNOWN: Line = ("?",)  # what a member last got is not known (another process sent it)


def line_for(names: list[str]) -> Line:
    """Up to two names, then "several people"."""
    return tuple(names) if len(names) < 3 else SEVERAL


@dataclass
class Changes:
    """Members grouped by the new line they must get, and whether each line grew."""

    groups: dict[Line, list[int]] = field(default_factory=dict)
    grew: dict[Line, bool] = field(default_factory=dict)


def changed_lines(members: Iterable[int], typists: list[int], names: dict[int, str],
                  sent: dict[int, Line], unknown: bool) -> Changes:
    """Who must get which line now; updates `sent` (what each member last got) in place.

    Everyone who is not typing reads the same line; only a typist's own line leaves them
    out. Both are worked out once, not once per member (a room may have 10,000).
    """
    typing_now = set(typists)
    everyone = line_for([names[t] for t in typists])
    own = ({t: line_for([names[o] for o in typists if o != t]) for t in typists}
           if len(typists) <= 3 else dict.fromkeys(typists, everyone))
    changes = Changes()
    for member in members:
        line = own[member] if member in typing_now else everyone
        before = sent.get(member, UNKNOWN if unknown else ())
        if line == before:
            continue
        sent[member] = line
        changes.groups.setdefault(line, []).append(member)
        changes.grew[line] = len(line) > len(before) or (line == SEVERAL and before != SEVERAL)
    return changes
