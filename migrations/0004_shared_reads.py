"""membership.shared_read_message_id / shared_read_at: the read watermark others may see.

The real watermark (last_read_message_id) moves on every read and drives unread counts; this
one moves only while the reader sends read receipts, so reads made with receipts off stay
unknown even after receipts are turned back on.

Existing rows: whether receipts were on at each past read is not recorded. A member who sends
receipts now starts from their real watermark (what senders were already shown); one who does
not starts from nothing, so none of their earlier reads can surface later.
"""

from peewee import SQL, DateTimeField, IntegerField


def up(migrator, db):
    # A DEFAULT in the schema (not only in peewee) so rows inserted with raw SQL get one too;
    # NOT NULL DEFAULT in one ALTER avoids SQLite's table rebuild.
    watermark = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    migrator.migrate(
        migrator.add_column("membership", "shared_read_message_id", watermark,
                            allow_not_null=True),
        migrator.add_column("membership", "shared_read_at", DateTimeField(null=True)),
    )
    migrator.database.execute_sql(
        "UPDATE membership SET shared_read_message_id = last_read_message_id,"
        " shared_read_at = last_read_at"
        " WHERE user_id IN (SELECT id FROM \"user\" WHERE send_read_receipts)")


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("membership", "shared_read_at"),
        migrator.drop_column("membership", "shared_read_message_id"),
    )
