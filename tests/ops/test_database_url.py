"""KEHAI_DATABASE_URL keeps every parameter an operator writes into it."""

from __future__ import annotations

import pytest
from playhouse.pool import PooledPostgresqlDatabase

from app.db import open_database

FULL = ("postgresql://kehai:p%40ss%2Fword@db.example:6543/chat?sslmode=require"
        "&application_name=kehai-web&connect_timeout=5"
        "&options=-c%20statement_timeout%3D5000")


def test_every_postgresql_parameter_reaches_the_driver():
    db = open_database(FULL, threads=8)
    assert isinstance(db, PooledPostgresqlDatabase)  # still the pool
    assert db.database == "chat"
    assert db.connect_params == {
        "host": "db.example", "port": 6543, "user": "kehai", "password": "p@ss/word",
        "sslmode": "require", "application_name": "kehai-web", "connect_timeout": 5,
        "options": "-c statement_timeout=5000"}
    assert db._max_connections == 10  # threads + 2 unless the URL says otherwise


def test_the_url_may_size_the_pool():
    db = open_database("postgres+pool://u@h/chat?max_connections=3&stale_timeout=60", threads=8)
    assert db._max_connections == 3 and db._stale_timeout == 60
    assert "max_connections" not in db.connect_params


def test_a_url_without_a_database_name_is_refused():
    with pytest.raises(ValueError, match="database name"):
        open_database("postgresql://u@h:5432")


def test_application_name_and_options_reach_a_real_server(pg_url):
    db = open_database(pg_url + "?application_name=kehai-ops-test&connect_timeout=5"
                       "&options=-c%20statement_timeout%3D4321", threads=1)
    try:
        with db.connection_context():
            name, timeout = db.execute_sql(
                "SELECT current_setting('application_name'), "
                "current_setting('statement_timeout')").fetchone()
    finally:
        db.close_all()
    assert name == "kehai-ops-test"
    assert timeout == "4321ms"


def test_sqlite_keeps_its_pragmas(tmp_path):
    db = open_database(f"sqlite:///{tmp_path}/k.db")
    with db.connection_context():
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert (tmp_path / "k.db").exists()  # four slashes: an absolute path


def test_unknown_schemes_are_refused():
    with pytest.raises(ValueError, match="unsupported"):
        open_database("mysql://u@h/db")
