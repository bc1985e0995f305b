import pytest

from tests.recommendations.catalogs import build_small_catalog


@pytest.fixture
def small_catalog(db):
    return build_small_catalog()
