"""The console fixtures (`console`, `make_user`) for the playbook page tests."""

from tests.console.conftest import console, make_user

__all__ = ["console", "make_user"]
