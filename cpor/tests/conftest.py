"""Fixtures of the cpor tests."""

import pytest

from cpor.celery import app


@pytest.fixture
def eager_tasks():
    """Tasks queued in the test run at once in its own process, as a worker would run them
    (the account emails are sent by the worker). The real broker and worker are exercised by
    claims/tests/test_worker.py."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
