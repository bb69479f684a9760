"""siyu: a private-domain community growth engine."""

__version__ = "0.1.0"
