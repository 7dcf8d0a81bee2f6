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
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert email == "django.core.mail.backends.filebased.EmailBackend"


def test_ci_refuses_to_test_without_postgresql():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="cpor.settings.test", CI="true", DATABASE_URL="sqlite:///var/never.sqlite3"
    )
    assert result.returncode != 0
    assert "must run on PostgreSQL" in result.stderr
