"""The outbox: every message and read mark leaves a row, in the same transaction, until it
has been published. A process that dies between commit and publish leaves the row behind,
and the relay (app/outbox.py) publishes it from any process.

Also: a client_id is unique per (author, conversation), not per author, so reusing one in
another conversation stores the new message instead of answering with the old one.
"""

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class Outbox(Model):
        kind = CharField(max_length=32)
        data = TextField()
        created = DateTimeField()
        published = DateTimeField(null=True)
        claimed_until = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "outbox"
            indexes = ((("published", "id"), False),)

    Outbox.create_table()
    migrator.migrate(
        migrator.drop_index("message", "message_author_id_client_id"),
        migrator.add_index("message", ("author_id", "conversation_id", "client_id"), True),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("message", "message_author_id_conversation_id_client_id"),
        migrator.add_index("message", ("author_id", "client_id"), True),
    )
    db.execute_sql("DROP TABLE outbox")
