"""The console's logged-in clients, for the connectors page."""

from tests.console.conftest import console, make_user  # noqa: F401
