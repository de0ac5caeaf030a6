"""Integers from the client, bounded both ways before anything else sees them.

Python's int is unbounded but the databases' are not: SQLite raises OverflowError beyond
signed 64 bits and PostgreSQL an out-of-range error — both a 500. Every route that reads a
number from a query string or a form goes through `bounded_int`, so no value outside
[lo, hi] ever reaches a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_ID = 2**63 - 1  # the largest id either database holds (signed 64-bit)
# ASCII digits only, at most 19 of them: int() also takes "١", "1_000" and " 7 ", and parses
# thousands of digits before it can say the number is too large.
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def parse_int(raw: str | None) -> int | None:
    """A plain decimal integer (optional minus, ASCII digits), or None."""
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        return None
    return int(raw.strip())


def bounded_int(values: Mapping[str, str], name: str, lo: int, hi: int,
                default: int | None = None, clamp: bool = True) -> int | None:
    """`values[name]` within [lo, hi]; `default` when absent or not an integer.

    Out of range, a position in a list (a page, a cursor) is clamped: page 10**30 is simply
    the last one. With `clamp=False` it is `default` instead, for a value that names one
    thing (a message id) and must not silently become another.
    """
    number = parse_int(values.get(name))
    if number is None:
        return default
    if lo <= number <= hi:
        return number
    return max(lo, min(number, hi)) if clamp else default
