"""Shared fixtures: the real database (PostgreSQL when reachable) and factories."""

import os

import pytest
from django.conf import settings
from django.utils import translation

from cpor.models import Role
from cpor.tests.factories import PASSWORD, MpnIdFactory, PartnerFactory, partner_user

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _english():
    """Every test starts in English, and one that switched the language (the middleware
    activates the user's in the test thread) leaves no French behind."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Fabrikam Test")


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Northwind Test")


@pytest.fixture
def mpn(partner):
    """The partner's MPN ID, enrolled in every programme."""
    return MpnIdFactory(partner=partner, mpn_id="1112223")


@pytest.fixture
def incentives_admin(partner):
    return partner_user(partner, Role.INCENTIVES_ADMIN)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def login(client):
    """Sign a user in on the test client and return the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's Chromium (installed by .ci/run), never a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
