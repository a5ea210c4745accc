"""Benchmarks of Chairside's hot paths, each a runnable module with a shell entry beside it."""

import os
import sys
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse


def server_url(bench: str) -> str:
    """DATABASE_URL, which must name a PostgreSQL server: each bench makes its own throwaway database there."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chairside")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{bench} needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/anything")
    return url


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def admin_connection(url: str):
    """An autocommit connection to the server's `postgres` database, to create and drop databases."""
    import psycopg2

    parsed = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=parsed.username or "postgres",
        password=parsed.password or None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    connection.autocommit = True
    return connection


# In memory: a bench's writes do not wait for a disk (the file is named by the process, removed after).
SQLITE_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


@contextmanager
def throwaway_database(bench: str, *, engine: str = "postgresql"):
    """Create a database of its own, point DATABASE_URL at it, drop it after.

    `engine="postgresql"` (the default) makes it on DATABASE_URL's server; `engine="sqlite"` makes
    a file of its own in /dev/shm (or the temporary directory), deleted after.
    """
    name = f"chairside_bench_{bench.rsplit('/', 1)[-1]}_{os.getpid()}"
    if engine == "sqlite":
        with _throwaway_sqlite(name):
            yield name
        return
    server = server_url(bench)
    admin = admin_connection(server)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = with_database(server, name)
        yield name
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def _throwaway_sqlite(name: str):
    import tempfile

    path = os.path.join(SQLITE_DIR or tempfile.gettempdir(), f"{name}.sqlite3")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    try:
        yield
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def migrated_django() -> None:
    """Set Django up on the throwaway database and build its tables (regimens seeded by migration)."""
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CONN_MAX_AGE"] = "0"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
