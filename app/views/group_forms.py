"""What a group form may hold: one set of rules for creating a group and for managing it."""

from __future__ import annotations

from app.db import run_db
from app.i18n import gettext as _
from app.models import User

MAX_TITLE = 80
MAX_NAMES = 100  # usernames in one request: a paste of a whole directory is refused, not run
MAX_NAMES_FIELD = 4_000


class FormProblem(Exception):
    """A form value that cannot be used; its text is shown to the person (422)."""


def clean_title(raw: str) -> str:
    """A group title as stored: runs of whitespace become one space, 1–80 characters."""
    title = " ".join(raw.split())
    if not title or len(title) > MAX_TITLE:
        raise FormProblem(_("Give the group a title of 1–80 characters."))
    return title


def usernames(raw: str, me: User) -> set[str]:
    """The other people a comma-separated field names (lower-case, never oneself)."""
    if len(raw) > MAX_NAMES_FIELD:
        raise FormProblem(_("That is too many people for one go: add at most %(n)s at a time.",
                            n=MAX_NAMES))
    names = {n.strip().lower() for n in raw.split(",") if n.strip()}
    names.discard(me.username)
    if not names:
        raise FormProblem(_("Add at least one other member."))
    if len(names) > MAX_NAMES:
        raise FormProblem(_("That is too many people for one go: add at most %(n)s at a time.",
                            n=MAX_NAMES))
    return names


async def people(names: set[str]) -> list[User]:
    """The users `names` name; every unknown name is named back."""
    found = await run_db(User.by_usernames, sorted(names))
    missing = sorted(names - {u.username for u in found})
    if missing:
        raise FormProblem(_("Nobody is called “%(name)s”.", name=", ".join(missing)))
    return found
