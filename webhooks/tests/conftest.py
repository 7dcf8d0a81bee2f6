import pytest

from cpor.models import Role
from cpor.tests.factories import partner_user

from .receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def global_admin(partner):
    return partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")
