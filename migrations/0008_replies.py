"""message.reply_to_id: the message this one answers (a reply quotes it), or null.

A plain integer column, no foreign key: a message is never hard-deleted on its own (a delete
blanks its body and keeps its place), and a conversation's messages go together, replies and
what they quote alike, so there is nothing for a constraint to guard; SQLite would rebuild the
whole table to add one.
"""

from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("message", "reply_to_id", IntegerField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("message", "reply_to_id"))
