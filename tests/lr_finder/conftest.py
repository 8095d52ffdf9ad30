"""Fixtures of section 2's tests."""
import pytest

from tests.lr_finder.toys import toy_splits


@pytest.fixture(scope="module")
def toy():
    """:func:`tests.lr_finder.toys.toy_splits`, once per test module."""
    return toy_splits()
