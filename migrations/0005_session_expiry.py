"""session.last_seen: when a session was last used, for its idle expiry on the server.

Nullable, and filled from `created` for the sessions that exist now: SQLite cannot add a
column whose default is the current time, and the app reads a missing value as `created`.
"""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("session", "last_seen", DateTimeField(null=True)))
    migrator.database.execute_sql("UPDATE session SET last_seen = created")


def down(migrator, db):
    migrator.migrate(migrator.drop_column("session", "last_seen"))
