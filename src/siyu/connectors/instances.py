"""Connector instances: add, change, remove and read the named connectors an operator set up.

Settings are validated by the kind's config model (`connectors/kinds.py`); the secret fields are sealed with the
installation's key (`connectors/secrets.py`) and never come back out of this module except to build the connector
object (`registry.py`). What the CLI, the console and the API show is `masked(...)`: public settings, and for each
secret only whether it is set. On a change an empty secret keeps the stored one (write-only fields).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.connectors import kinds, secrets
from siyu.connectors.kinds import ConnectorConfig, Kind
from siyu.kit.db import insert_ignore
from siyu.kit.errors import Conflict, Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, ConnectorInstance

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
#: Built-in platforms: an instance may not take their name (groups and identities are keyed by it).
RESERVED = frozenset({"sandbox"})
#: Outbox states in which an action still needs its connector.
BUSY_STATES = ("planned", "retry", "sending", "reconciling")
TABLE = ConnectorInstance.__table__


def kind_named(name: str) -> Kind:
    kind = kinds.get(name)
    if kind is None:
        raise Invalid(f"no connector kind {name!r}; kinds: {', '.join(kinds.names())}",
                      code="unknown_connector_kind", detail={"kinds": kinds.names()})
    return kind


def check_name(name: str, reserved: Collection[str] = ()) -> str:
    if not NAME.match(name):
        raise Invalid(f"{name!r} is not a connector name: 2 to 32 lowercase letters, digits, - or _, starting "
                      "with a letter", code="invalid_connector_name")
    if name in RESERVED or name in reserved:
        raise Conflict(f"{name!r} is the name of a built-in connector", code="connector_name_taken")
    return name


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors without the input (it may be a secret), shaped as the console reads them. A secret's
    length is a string's length (pydantic calls it `too_short` for `SecretStr`, as for a list)."""
    out: list[dict[str, Any]] = []
    for e in exc.errors()[:5]:
        ctx = e.get("ctx") or {}
        kind, msg = str(e.get("type") or ""), str(e.get("msg") or "")
        if kind == "too_short" and ctx.get("field_type") == "Value":
            kind, msg = "string_too_short", f"should have at least {ctx.get('min_length')} characters"
        elif kind == "too_long" and ctx.get("field_type") == "Value":
            kind, msg = "string_too_long", f"should have at most {ctx.get('max_length')} characters"
        out.append({"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                    "type": kind, "msg": msg,
                    "ctx": {str(k): v for k, v in ctx.items() if isinstance(v, str | int | float)}})
    return out


def parse(kind: Kind, values: Mapping[str, Any], *, keep: Mapping[str, str] | None = None) -> ConnectorConfig:
    """Validate settings given as a form, CLI options or JSON. Empty values are unset (the field's default); an
    unset secret keeps its value from `keep` (the stored secrets, on a change)."""
    data = {k: v for k, v in values.items() if v is not None and v != ""}
    for name in kind.config.secret_fields():
        if name not in data and keep and keep.get(name):
            data[name] = keep[name]
    try:
        return kind.config.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
                 for e in _errors(exc)[:3]]
        raise Invalid("; ".join(parts), code="validation_error", detail=_errors(exc)) from None


def add(session: Session, ws: int, kind_name: str, name: str, values: Mapping[str, Any], *, secret_key: str,
        now: datetime, reserved: Collection[str] = ()) -> ConnectorInstance:
    """A new instance; a taken name is a 409 (the unique constraint decides, so two racing adds make one)."""
    kind = kind_named(kind_name)
    check_name(name, reserved)
    config = parse(kind, values)
    row = session.execute(insert_ignore(session, TABLE, ["name"]).returning(TABLE.c.id), [{
        "workspace_id": ws, "name": name, "kind": kind.name, "settings": config.public(),
        "sealed": secrets.seal(secret_key, config.secrets()), "version": 1, "created_at": now, "updated_at": now,
        "last_error": "",
    }]).first()
    if row is None:
        raise Conflict(f"a connector named {name!r} exists", code="connector_name_taken")
    inst = session.get(ConnectorInstance, int(row[0]))
    assert inst is not None
    return inst


def change(session: Session, inst: ConnectorInstance, values: Mapping[str, Any], *, secret_key: str,
           now: datetime) -> ConnectorInstance:
    """New settings over the current ones: fields left out keep their value, an empty secret keeps the stored
    one, and an empty public field goes back to its default (e.g. no outbound URL)."""
    kind = kind_named(inst.kind)
    merged = {**inst.settings, **values}
    try:
        keep = secrets.unseal(secret_key, inst.sealed)
    except secrets.SealedSecretError:  # sealed under an earlier key: the change must give the secrets again
        keep = {}
    config = parse(kind, merged, keep=keep)
    inst.settings = config.public()
    inst.sealed = secrets.seal(secret_key, config.secrets())
    inst.version = inst.version + 1
    inst.updated_at = now
    return inst


def busy(session: Session, name: str) -> int:
    """Actions of the outbox that still need this connector."""
    return int(session.scalar(select(func.count()).select_from(Action).where(
        Action.connector == name, Action.state.in_(BUSY_STATES))) or 0)


def remove(session: Session, inst: ConnectorInstance) -> None:
    """Forget an instance (its counters and seen signatures go with it). Refused while the outbox still has
    actions for it: they would have no connector to go through."""
    waiting = busy(session, inst.name)
    if waiting:
        raise Conflict(f"{waiting} action(s) are still waiting to go out through {inst.name!r}; let them finish "
                       "or fail first", code="connector_busy", detail={"n": waiting})
    session.delete(inst)
    session.flush()


def get(session: Session, ws: int, name: str) -> ConnectorInstance:
    inst = session.scalar(select(ConnectorInstance).where(ConnectorInstance.name == name,
                                                          ConnectorInstance.workspace_id == ws))
    if inst is None:
        raise NotFound(f"no connector named {name!r}", code="unknown_connector")
    return inst


def by_name(session: Session, name: str, kind: str | None = None) -> ConnectorInstance | None:
    """An instance by its name alone (the callback URLs name no workspace)."""
    q = select(ConnectorInstance).where(ConnectorInstance.name == name)
    if kind is not None:
        q = q.where(ConnectorInstance.kind == kind)
    return session.scalar(q)


def page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[ConnectorInstance]:
    """The workspace's instances, by name."""
    q = select(ConnectorInstance).where(ConnectorInstance.workspace_id == ws)
    return keyset(session, q, [ConnectorInstance.name], cursor=cursor, limit=limit, key=lambda i: [i.name],
                  desc=False)


def names(session: Session) -> list[str]:
    return list(session.scalars(select(ConnectorInstance.name).order_by(ConnectorInstance.name)))


def config_of(inst: ConnectorInstance, secret_key: str) -> ConnectorConfig:
    """The full settings, secrets in the clear: only to build the connector object."""
    kind = kind_named(inst.kind)
    return kind.config.model_validate({**inst.settings, **secrets.unseal(secret_key, inst.sealed)})


@dataclass(frozen=True)
class Setting:
    """One field as it may be shown: a secret shows only whether it is set."""

    name: str
    title: str
    value: Any
    secret: bool


def masked(inst: ConnectorInstance, secret_key: str) -> list[Setting]:
    """The instance's settings for the CLI, the console and the API: secrets as set / not set, never a value
    (secrets sealed under another key count as not set: they cannot be used either)."""
    kind = kind_named(inst.kind)
    secret_names = set(kind.config.secret_fields())
    try:
        sealed_names = set(secrets.unseal(secret_key, inst.sealed))
    except secrets.SealedSecretError:
        sealed_names = set()
    out: list[Setting] = []
    for name, field in kind.config.model_fields.items():
        title = field.title or name
        if name in secret_names:
            out.append(Setting(name, title, name in sealed_names, True))
        else:
            out.append(Setting(name, title, inst.settings.get(name, field.default), False))
    return out
