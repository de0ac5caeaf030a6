"""conversation.members_version: a counter the database bumps whenever a room's members change.

The app caches each room's member ids in memory and trusts the cache only while this number is
unchanged. Triggers, not app code, bump it, so a member removed with raw SQL by an
administrator also invalidates every process's cache on its next event.

Only a change to who is in which room bumps it: moving a read watermark (an UPDATE of
last_read_message_id, many a second in a busy room) leaves the member list, and the cache, alone.
"""

from peewee import SQL, IntegerField, PostgresqlDatabase

# One function, called for inserts, deletes and updates of (user, conversation).
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION kehai_bump_members_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id
            AND NEW.conversation_id IS NOT DISTINCT FROM OLD.conversation_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE conversation SET members_version = members_version + 1
        WHERE id = OLD.conversation_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
            AND NEW.conversation_id IS DISTINCT FROM OLD.conversation_id) THEN
        UPDATE conversation SET members_version = members_version + 1
        WHERE id = NEW.conversation_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER membership_members_version
AFTER INSERT OR DELETE OR UPDATE OF user_id, conversation_id ON membership
FOR EACH ROW EXECUTE FUNCTION kehai_bump_members_version()
"""

_BUMP = "UPDATE conversation SET members_version = members_version + 1 WHERE id IN ({})"
SQLITE_TRIGGERS = {
    "membership_insert_members_version": f"""
        AFTER INSERT ON membership
        BEGIN {_BUMP.format("NEW.conversation_id")}; END""",
    "membership_delete_members_version": f"""
        AFTER DELETE ON membership
        BEGIN {_BUMP.format("OLD.conversation_id")}; END""",
    # IN (old, new) bumps the room once when it stays the same, both rooms when it moved.
    "membership_update_members_version": f"""
        AFTER UPDATE OF user_id, conversation_id ON membership
        WHEN NEW.user_id IS NOT OLD.user_id OR NEW.conversation_id IS NOT OLD.conversation_id
        BEGIN {_BUMP.format("OLD.conversation_id, NEW.conversation_id")}; END""",
}


def up(migrator, db):
    # A DEFAULT in the schema (not only in peewee) so rows inserted with raw SQL get one too;
    # NOT NULL DEFAULT in one ALTER avoids SQLite's table rebuild.
    column = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    migrator.migrate(
        migrator.add_column("conversation", "members_version", column, allow_not_null=True)
    )
    database = migrator.database
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql(PG_FUNCTION)
        database.execute_sql(PG_TRIGGER)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            database.execute_sql(f"CREATE TRIGGER {name} {body}")


def down(migrator, db):
    database = migrator.database
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql("DROP TRIGGER IF EXISTS membership_members_version ON membership")
        database.execute_sql("DROP FUNCTION IF EXISTS kehai_bump_members_version()")
    else:
        for name in SQLITE_TRIGGERS:
            database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    migrator.migrate(migrator.drop_column("conversation", "members_version"))
