"""The first schema: users, sessions, conversations, memberships, messages, user status.

The models here are a frozen copy, deliberately independent of app/models, so later changes
to the app never change what this migration creates.
"""

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        username = CharField(max_length=32, unique=True)
        display_name = CharField(max_length=64)
        password_hash = CharField(max_length=255)
        role = CharField(max_length=16, default="member")
        show_presence = BooleanField(default=True)
        send_read_receipts = BooleanField(default=True)
        created = DateTimeField()

    class Session(Base):
        id = CharField(max_length=64, primary_key=True)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created = DateTimeField()

    class Conversation(Base):
        kind = CharField(max_length=8, default="group")
        title = CharField(max_length=80, null=True)
        direct_key = CharField(max_length=40, null=True, unique=True)
        created = DateTimeField()
        last_activity = DateTimeField(index=True)
        last_message_id = IntegerField(default=0)

    class Membership(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        conversation = ForeignKeyField(Conversation, on_delete="CASCADE")
        joined = DateTimeField()
        last_read_message_id = IntegerField(default=0)
        last_read_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("conversation", "user"), True), (("user", "conversation"), False))

    class Message(Base):
        conversation = ForeignKeyField(Conversation, on_delete="CASCADE")
        author = ForeignKeyField(User, on_delete="CASCADE")
        body = TextField()
        created = DateTimeField()
        client_id = CharField(max_length=64, null=True)

        class Meta:
            indexes = ((("conversation", "id"), False), (("author", "client_id"), True))

    class UserStatus(Base):
        user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
        is_online = BooleanField(default=False, index=True)
        last_seen = DateTimeField(null=True)

    db.create_tables([User, Session, Conversation, Membership, Message, UserStatus])


def down(migrator, db):
    for table in ("user_status", "message", "membership", "conversation", "session", "user"):
        migrator.database.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
