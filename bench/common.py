"""The benches' throwaway databases and the customers in them: each bench makes its own
database on the PostgreSQL server named by BENCH_DATABASE_URL or DATABASE_URL (else
postgres://postgres@127.0.0.1:5432) and drops it after.

Imported before Django is set up: the benches point DATABASE_URL at their database first.
"""

import datetime
import os
import tempfile
import uuid
from pathlib import Path


def server_config() -> dict:
    """The bench server's connection settings, as Django's DATABASES entry would hold them."""
    import dj_database_url

    server = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres"
    )
    return dj_database_url.parse(server)


def database_url(config: dict, name: str) -> str:
    """The URL of database `name` on the bench server."""
    user = config["USER"] or "postgres"
    auth = f"{user}:{config['PASSWORD']}" if config["PASSWORD"] else user
    return f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"


def connect(config: dict, name: str, *, timeout: int = 5):
    """An autocommit connection to database `name` on the bench server."""
    import psycopg2

    connection = psycopg2.connect(
        dbname=name,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        connect_timeout=timeout,
    )
    connection.autocommit = True
    return connection


def maintenance_connection(config: dict):
    """A connection to the server's `postgres` database, or None if there is no PostgreSQL."""
    import psycopg2

    if not config["ENGINE"].endswith("postgresql"):
        return None
    try:
        return connect(config, "postgres", timeout=3)
    except psycopg2.OperationalError:
        return None


def create_database(config: dict, name: str) -> str:
    """Database `name`, made empty (dropped first if a run left it), and its URL."""
    connection = connect(config, "postgres")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return database_url(config, name)


def use_fresh_database(name: str) -> str | None:
    """Point DATABASE_URL at an empty database `name` on the bench server and return the
    server's version, or, with no PostgreSQL reachable, at a temporary SQLite file and return None."""
    config = server_config()
    connection = maintenance_connection(config)
    if connection is None:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    os.environ["DATABASE_URL"] = create_database(config, name)
    return version


def drop_database(name: str) -> None:
    """Drop database `name` (after closing Django's connections to it), if it is on PostgreSQL."""
    from django.db import connections

    connections.close_all()
    connection = maintenance_connection(server_config())
    if connection is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.close()


def customer_tenants(count: int, products, *, digits: int) -> list:
    """`count` customer tenants, "Customer 0042" with the domain customer0042.example (numbers of
    `digits` digits), each with an active, provisioned subscription to each of `products`."""
    from tenants.models import Domain, Subscription, Tenant

    tenants = Tenant.objects.bulk_create(
        Tenant(tenant_id=uuid.uuid4(), name=f"Customer {n:0{digits}d}", country="FR", time_zone="Europe/Paris")
        for n in range(count)
    )
    Domain.objects.bulk_create(Domain(tenant=t, name=f"customer{n:0{digits}d}.example") for n, t in enumerate(tenants))
    Subscription.objects.bulk_create(
        Subscription(
            subscription_id=uuid.uuid4(),
            tenant=tenant,
            product=product,
            channel="Volume Licensing",
            status="active",
            provisioned=True,
            start_date=datetime.date(2025, 1, 1),
            end_date=datetime.date(2027, 12, 31),
        )
        for tenant in tenants
        for product in products
    )
    return tenants
