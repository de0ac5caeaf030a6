"""read_log: when each shared read happened, so every message keeps the time it was first read;
message.edited / message.deleted: one's own messages can be fixed or taken back.

Before this, a message's read time was the reader's latest read (one timestamp per member):
in a direct chat every read message showed the partner's newest read time after a reload.
Now each move of a member's shared watermark appends (conversation, user, up_to, at); the
first read of message m by a reader is the earliest row of theirs with up_to >= m.id (the
watermark only moves forward, so that is the row with the smallest such up_to).

Existing rows: the one shared watermark each member has becomes their first read_log row,
so earlier reads keep the time they showed before (the best that is known of them).
"""

from peewee import DateTimeField, IntegerField, Model


def up(migrator, db):
    class ReadLog(Model):
        conversation_id = IntegerField()
        user_id = IntegerField()
        up_to = IntegerField()
        at = DateTimeField()

        class Meta:
            database = db
            table_name = "read_log"
            indexes = ((("conversation_id", "up_to"), False),
                       (("conversation_id", "user_id", "up_to"), True))

    ReadLog.create_table()
    db.execute_sql(
        "INSERT INTO read_log (conversation_id, user_id, up_to, at)"
        " SELECT conversation_id, user_id, shared_read_message_id, shared_read_at"
        " FROM membership WHERE shared_read_message_id > 0 AND shared_read_at IS NOT NULL")
    migrator.migrate(
        migrator.add_column("message", "edited", DateTimeField(null=True)),
        migrator.add_column("message", "deleted", DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("message", "deleted"),
        migrator.drop_column("message", "edited"),
    )
    db.execute_sql("DROP TABLE read_log")
