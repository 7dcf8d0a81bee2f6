"""The documented deployment works: README "Running on several machines", steps 3 and 4.

Each step runs as its own process with the production settings, as an operator runs it:
`migrate` on a fresh database, `collectstatic` with the production storage (hashed,
compressed, manifest-strict), then gunicorn serving the site and its static files through
WhiteNoise. The requests carry `X-Forwarded-Proto: https`, as the TLS proxy in front does.
"""

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

ADMIN_EMAIL = "admin@deploy.example"
ADMIN_PASSWORD = secrets.token_urlsafe(16)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """A database nobody has migrated yet: a new PostgreSQL database beside the test one when
    the suite runs on PostgreSQL, otherwise a new SQLite file."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        yield f"sqlite:///{tmp_path_factory.mktemp('deploy-db') / 'cpor.sqlite3'}"
        return
    name = f"test_{db['NAME'].removeprefix('test_')}_deploy"
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
        "password": db["PASSWORD"] or "",
    }

    def run_on_server(statement):
        connection = psycopg2.connect(dbname="postgres", **server)
        connection.autocommit = True  # CREATE / DROP DATABASE cannot run inside a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL(statement).format(sql.Identifier(name)))
        finally:
            connection.close()

    run_on_server("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run_on_server("CREATE DATABASE {}")
    credentials = server["user"] + (f":{server['password']}" if server["password"] else "")
    yield f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
    run_on_server("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def production_env(tmp_path_factory, database_url):
    """The environment README step 1 lists, with everything under a temporary var/."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CPOR_", "PYTEST_"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "cpor.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        # STATIC_ROOT is var/staticfiles: collected files land in this temporary folder.
        "CPOR_VAR_DIR": str(tmp_path_factory.mktemp("deploy-var")),
    }


def manage(env, *args, **extra_env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def collectstatic(production_env):
    return manage(production_env, "collectstatic", "--noinput")


@pytest.fixture(scope="module")
def migrated(production_env):
    result = manage(production_env, "migrate", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    result = manage(
        production_env,
        "createsuperuser",
        "--noinput",
        "--email",
        ADMIN_EMAIL,
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class Site:
    def __init__(self, port: int):
        self.port = port

    def request(self, method, path, *, https=True, headers=None, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            sent = {"X-Forwarded-Proto": "https"} if https else {}
            connection.request(method, path, body=body, headers={**sent, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode("utf-8", "replace")
        finally:
            connection.close()


@pytest.fixture(scope="module")
def site(production_env, collectstatic, migrated):
    assert collectstatic.returncode == 0, collectstatic.stdout + collectstatic.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cpor.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR,
        env=production_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    site = Site(port)
    deadline = time.monotonic() + 60
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited with {server.returncode}:\n{server.stdout.read()}")
            try:
                site.request("GET", "/accounts/login/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 60 seconds")
                time.sleep(0.25)
        yield site
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_collectstatic_succeeds_with_the_production_storage(collectstatic, production_env):
    assert collectstatic.returncode == 0, collectstatic.stdout + collectstatic.stderr
    static_root = Path(production_env["CPOR_VAR_DIR"]) / "staticfiles"
    manifest = (static_root / "staticfiles.json").read_text()
    # The vendored Bootstrap names its source maps; they ship beside it and get hashed names too.
    for name in (
        "vendor/bootstrap/bootstrap.bundle.min.js",
        "vendor/bootstrap/bootstrap.bundle.min.js.map",
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/bootstrap/bootstrap.min.css.map",
        "cpor.css",
    ):
        assert f'"{name}"' in manifest


def test_gunicorn_with_production_settings_serves_the_sign_in_page(site):
    status, _headers, page = site.request("GET", "/accounts/login/")

    assert status == 200
    assert 'id="sign-in-form"' in page
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_gunicorn_serves_the_hashed_static_files_the_page_names(site):
    _status, _headers, page = site.request("GET", "/accounts/login/")
    hashed = re.findall(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"', page)
    assert len(hashed) == 3, hashed  # bootstrap.min.css, cpor.css, bootstrap.bundle.min.js

    for path in hashed:
        status, headers, _body = site.request("GET", path)
        assert status == 200, path
        # A hashed name never changes content, so WhiteNoise lets browsers keep it for good.
        assert "immutable" in headers["Cache-Control"], path


def test_production_sends_plain_http_to_https(site):
    status, headers, _page = site.request("GET", "/accounts/login/", https=False)

    assert status == 301
    assert headers["Location"] == f"https://127.0.0.1:{site.port}/accounts/login/"


def test_a_user_signs_in_on_the_freshly_migrated_database(site):
    _status, headers, _page = site.request("GET", "/accounts/login/")
    cookies = SimpleCookie()
    for header in headers.get_all("Set-Cookie"):
        cookies.load(header)
    token = cookies["csrftoken"].value
    assert cookies["csrftoken"]["secure"]

    status, headers, _page = site.request(
        "POST",
        "/accounts/login/",
        headers={
            "Cookie": f"csrftoken={token}",
            "Origin": f"https://127.0.0.1:{site.port}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=urlencode({"csrfmiddlewaretoken": token, "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )

    assert status == 302
    assert headers["Location"] == "/"
    assert any(header.startswith("sessionid=") for header in headers.get_all("Set-Cookie"))
