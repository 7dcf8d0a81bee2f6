import pytest

from claims.tests.factories import directory_world


@pytest.fixture
def world(partner):
    return directory_world(partner)
