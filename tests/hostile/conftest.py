import pytest

from wsgi_world import World


@pytest.fixture(scope="module")
def world():
    """One server per module: cases that need fresh objects make their own."""
    return World()
