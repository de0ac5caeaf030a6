"""message.system: a line the app writes into a group's history ("Aki added Ben").

Null for what people wrote. Otherwise what happened: "added" or "removed" (the body holds the
people's display names at the time, one per line), "left" (no body), "renamed" (the body is
the new title). The author is who did it, so the line is never unread for them.
"""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("message", "system", CharField(max_length=16,
                                                                        null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("message", "system"))
