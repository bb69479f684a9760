"""Substring search that an index answers, on both backends, for "find the contact whose name or platform id
contains this" (operators type a fragment of a nickname, a phone number or an email).

- PostgreSQL: pg_trgm GIN indexes on `contacts.display_name` and `identities.external_id`; ILIKE uses them.
- SQLite: FTS5 tables with the trigram tokenizer over the same columns (external content, kept by triggers);
  their LIKE uses the index when the pattern has 3+ characters and no wildcard of its own. Shorter fragments, or
  ones with `%` / `_`, are matched by a scan (`ESCAPE` turns the FTS index off, and a fragment under 3 characters
  finds nothing through it), which stays correct.

Both are case-insensitive for ASCII, as `lower()` and LIKE are; Chinese has no case. The objects are made by the
migration `7d1e0c0d0001`; the models do not describe them, so schema comparison skips them (`include_object`).
"""

from __future__ import annotations

from typing import Any

#: Tables and indexes that exist for search only (FTS5 shadow tables start with these names too).
SEARCH_TABLES = ("contacts_search", "identities_search")
SEARCH_INDEXES = ("ix_contacts_display_name_trgm", "ix_identities_external_id_trgm")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: the search objects are not in the models on purpose."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLES):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


def like_pattern(fragment: str) -> str:
    """`%fragment%` with the fragment's own `%`, `_` and `\\` matched literally (ESCAPE '\\')."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def indexable_on_sqlite(fragment: str) -> bool:
    return len(fragment) >= 3 and not any(ch in fragment for ch in "%_\\")
