"""The CLI tests act as a user holding every role but admin (UMS_ACTOR, tests/conftest.py
``cli_actor``) whenever they use a store: the role checks are test_access.py's and
test_roles_cli.py's; here each command's own behaviour is under test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _acting_user(request: pytest.FixtureRequest) -> None:
    # Only store tests: asking for the store here would run every pure test on both backends.
    if "store_url" in request.fixturenames:
        request.getfixturevalue("cli_actor")
