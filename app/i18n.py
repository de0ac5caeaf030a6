"""UI text in English and Japanese from a gettext catalogue, chosen by Accept-Language.

The catalogue is a plain .po file read with Babel at start-up, so there is no compile step.
The language lives in a context variable: requests set it from their headers, and the stream
renders each fragment once per language by setting it explicitly.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("en", "ja")
DEFAULT = "en"
_DIR = Path(__file__).parent / "translations"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("kehai_locale", default=DEFAULT)


def _load(lang: str) -> dict[str, str | tuple[str, ...]]:
    path = _DIR / f"{lang}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    table: dict[str, str | tuple[str, ...]] = {}
    for msg in catalog:
        if not msg.id or not msg.string:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        table[key] = tuple(msg.string) if isinstance(msg.string, tuple) else msg.string
    return table


_CATALOGS = {lang: _load(lang) for lang in LANGUAGES}


def negotiate(header: str | None) -> str:
    """Pick the best supported language from an Accept-Language header."""
    best, best_q = DEFAULT, 0.0
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= index * 1e-6  # earlier wins a tie
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def current() -> str:
    return _current.get()


def set_locale(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else DEFAULT)


@contextlib.contextmanager
def use_locale(lang: str) -> Iterator[None]:
    token = _current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str, **variables: object) -> str:
    found = _CATALOGS.get(_current.get(), {}).get(message)
    text = found if isinstance(found, str) else message
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    found = _CATALOGS.get(_current.get(), {}).get(singular)
    if isinstance(found, tuple):
        text = found[0] if len(found) == 1 or n == 1 else found[1]
    else:
        text = singular if n == 1 else plural
    variables.setdefault("num", n)
    return text % variables


_ = gettext
