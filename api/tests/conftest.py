"""API test fixtures: a partner's Global admin, keys they create, and a client that sends one."""

import pytest
from rest_framework.test import APIClient

from api import services
from cpor.models import Role
from cpor.tests.factories import partner_user


@pytest.fixture
def global_admin(partner):
    return partner_user(partner, Role.GLOBAL_ADMIN)


@pytest.fixture
def make_key(global_admin):
    """A key of the partner, created by its Global admin: returns the secret."""
    counter = iter(range(1000))

    def _make(role=Role.INCENTIVES_ADMIN, actor=None, name=None):
        _, secret = services.api_key_create(actor=actor or global_admin, name=name or f"Key {next(counter)}", role=role)
        return secret

    return _make


@pytest.fixture
def api():
    """An API client sending `key` (or none)."""

    def _client(key=None):
        client = APIClient()
        if key:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return _client


@pytest.fixture
def filer(api, make_key):
    """A client with an Incentives admin key: it files claims."""
    return api(make_key(Role.INCENTIVES_ADMIN))
