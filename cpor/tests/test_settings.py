"""Settings read the environment with safe local defaults; production refuses unsafe ones.

Each case runs in a fresh interpreter, because settings are read once per process.
"""

import os
import secrets
import subprocess
import sys

from django.conf import settings

BASE_ENV = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}


def run_manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="cpor.settings.production", DJANGO_ALLOWED_HOSTS="cpor.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="cpor.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(60)
    )
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_passes_the_deployment_check_with_no_warning():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level=WARNING",
        DJANGO_SETTINGS_MODULE="cpor.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="cpor.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_local_defaults_need_no_server():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='cpor.settings.base'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=BASE_ENV, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    engine, broker, email = result.stdout.split()
    assert engine == "cpor.sqlite3"
    assert broker == "filesystem://"
    assert email == "django.core.mail.backends.filebased.EmailBackend"


def test_ci_refuses_to_test_without_postgresql():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="cpor.settings.test", CI="true", DATABASE_URL="sqlite:///var/never.sqlite3"
    )
    assert result.returncode != 0
    assert "must run on PostgreSQL" in result.stderr


# --- Entry points: servers and workers default to production; the checkout to development ---


def run_python(code: str, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wsgi_entry_point_defaults_to_production_and_refuses_to_start_without_a_secret():
    result = run_python("import cpor.wsgi")
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in result.stderr


def test_the_celery_entry_point_defaults_to_production_and_refuses_to_start_without_a_secret():
    # A worker reads its configuration first thing; reading it is what starting one does.
    result = run_python("from cpor.celery import app; print(app.conf.broker_url)")
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in result.stderr


def test_the_wsgi_entry_point_runs_production_settings_once_configured():
    result = run_python(
        "import cpor.wsgi; from django.conf import settings as s; print(s.SETTINGS_MODULE, s.DEBUG)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="cpor.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpor.settings.production", "False"]


def test_manage_py_keeps_the_development_settings():
    code = "from django.conf import settings as s; print(s.SETTINGS_MODULE, s.DEBUG)"
    result = run_manage("shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpor.settings.base", "True"]


def test_make_run_starts_every_process_with_the_development_settings_explicitly():
    procfile = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    commands = dict(line.split(": ", 1) for line in procfile if line.strip())
    assert set(commands) == {"web", "worker", "beat"}
    for name, command in commands.items():
        assert command.startswith("DJANGO_SETTINGS_MODULE=cpor.settings.base "), name
    makefile = (settings.BASE_DIR / "Makefile").read_text()
    honcho = next(line for line in makefile.splitlines() if "bin/honcho start" in line)
    assert "DJANGO_SETTINGS_MODULE=cpor.settings.base" in makefile[: makefile.index(honcho)].splitlines()[-1]


def test_time_zones_come_from_the_pinned_tzdata_package_not_from_the_host():
    import importlib.metadata
    import zoneinfo

    pinned = next(
        line.split("==")[1]
        for line in (settings.BASE_DIR / "requirements.txt").read_text().splitlines()
        if line.startswith("tzdata==")
    )
    assert importlib.metadata.version("tzdata") == pinned
    assert zoneinfo.TZPATH == ()
    zoneinfo.ZoneInfo.clear_cache()
    assert str(zoneinfo.ZoneInfo("Europe/Paris")) == "Europe/Paris"  # found in the package alone
