"""GET /health/ for load balancers (cpor/health.py): cheap, unauthenticated, and 503 naming
the part that fails."""

import logging

import pytest

from cpor import health
from cpor.tasklog import TaskContextFilter

pytestmark = pytest.mark.django_db

# A load balancer probes the machine by its address, over plain HTTP.
PROBE = {"HTTP_HOST": "10.0.0.7:8000"}


@pytest.fixture(autouse=True)
def _fresh_checks():
    health.forget()
    yield
    health.forget()


def test_health_answers_ok_for_database_broker_and_storage_without_a_session(client):
    response = client.get("/health/", **PROBE)
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies


def test_health_is_never_redirected_to_https_nor_refused_for_an_unknown_host(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["cpor.example"]
    assert client.get("/health/", **PROBE).status_code == 200
    # Every other page still is.
    assert client.get("/accounts/login/", HTTP_HOST="cpor.example").status_code == 301


def test_health_answers_503_naming_the_broker_when_redis_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/", **PROBE)
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "error", "storage": "ok"}


def test_health_answers_503_naming_the_storage_when_proofs_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage expects a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocker}},
    }
    response = client.get("/health/", **PROBE)
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "error"}


def test_health_leaves_nothing_behind_in_the_storage(client, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    assert client.get("/health/", **PROBE).status_code == 200
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_health_polled_every_second_checks_once_per_cache_period(client, settings, django_assert_num_queries):
    settings.HEALTH_CACHE_SECONDS = 60
    assert client.get("/health/", **PROBE).status_code == 200
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with django_assert_num_queries(0):
        for _ in range(5):
            assert client.get("/health/", **PROBE).status_code == 200


def test_only_get_and_head_of_the_exact_path_are_the_health_check(client):
    assert client.head("/health/", **PROBE).status_code == 200
    assert client.post("/health/", **PROBE).status_code != 200
    assert client.get("/health/x", HTTP_HOST="127.0.0.1").status_code == 404


def test_log_lines_name_the_claim_given_by_the_caller():
    record = logging.LogRecord("claims", logging.INFO, __file__, 1, "Validated.", None, None)
    record.claim = 42
    TaskContextFilter().filter(record)
    assert record.context == " claim=42"
    plain = logging.LogRecord("claims", logging.INFO, __file__, 1, "Hello.", None, None)
    TaskContextFilter().filter(plain)
    assert plain.context == ""
