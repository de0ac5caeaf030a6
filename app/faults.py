"""A test-only fault hook: KEHAI_FAULT=<point> makes the process die at that point.

The fault-injection suite (tests/faults/) uses it to kill a server exactly between two steps
that a real crash could separate, e.g. `after-commit`: the message is stored, nothing is
published yet. Unset (always, outside those tests) it costs one comparison.
"""

from __future__ import annotations

import os

_POINT = os.environ.get("KEHAI_FAULT", "")


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup (as SIGKILL would), if asked to."""
    if _POINT == name:
        os._exit(137)
