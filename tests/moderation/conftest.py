from tests.console.conftest import console, make_user  # noqa: F401  (console fixtures for these pages)
