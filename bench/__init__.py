"""Benchmarks of Chairside's hot paths, each a runnable module with a shell entry beside it."""

import os
import sys
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
