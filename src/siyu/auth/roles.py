"""Roles and what they may do. Every endpoint names the permission it needs; nothing is open by default."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    READ = "read"              # communities, groups, codes, dashboards
    READ_CONTACTS = "read_contacts"
    WRITE = "write"            # create / change operational data
    INGEST = "ingest"          # post events
    ADMIN = "admin"            # users, tokens, settings, audit


ROLES: dict[str, frozenset[Perm]] = {
    "admin": frozenset(Perm),
    "operator": frozenset({Perm.READ, Perm.READ_CONTACTS, Perm.WRITE, Perm.INGEST}),
    # Sales see contacts (their leads) and nothing of the operation's set-up or administration.
    "sales": frozenset({Perm.READ_CONTACTS}),
    "viewer": frozenset({Perm.READ, Perm.READ_CONTACTS}),
}
ROLE_NAMES = tuple(ROLES)
# Roles that see only the contacts assigned to them (`contacts.owner_user_id`), not the whole workspace.
OWN_CONTACTS_ONLY = frozenset({"sales"})


def allowed(role: str, perm: Perm) -> bool:
    return perm in ROLES.get(role, frozenset())


def own_contacts_only(role: str) -> bool:
    return role in OWN_CONTACTS_ONLY
