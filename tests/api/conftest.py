"""Fixtures of the console tests, shared here: users of each role, logged-in console clients."""

from tests.console.conftest import console, make_user  # noqa: F401
