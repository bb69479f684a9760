"""What an admin does to connectors, from the REST API or the console: one function per act, each auditing itself
inside the request's unit of work (`edge/work.py`).

Audit entries name the settings that changed, never a secret's value. Testing a connector calls the platform,
which must not happen inside a transaction: `test` runs on a route that is no unit of work and opens `w.unit()`
itself, briefly, before and after the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from siyu.connectors import instances
from siyu.connectors.base import Check, SelfTest
from siyu.edge.work import Work
from siyu.models import ConnectorInstance


def _key(w: Work) -> str:
    return w.rt.settings.secret_key.get_secret_value()


def add(w: Work, kind: str, name: str, values: Mapping[str, Any]) -> ConnectorInstance:
    inst = instances.add(w.s, w.ws, kind, name, values, secret_key=_key(w), now=w.now,
                         reserved=w.rt.connectors.built_in())
    w.audit("connector.add", "connector", inst.name, {"kind": inst.kind, "settings": inst.settings})
    return inst


def change(w: Work, name: str, values: Mapping[str, Any]) -> ConnectorInstance:
    """New settings; an empty secret keeps the stored one. The audit entry lists the fields that changed
    (secrets by name only)."""
    inst = instances.get(w.s, w.ws, name)
    before, sealed = dict(inst.settings), inst.sealed
    instances.change(w.s, inst, values, secret_key=_key(w), now=w.now)
    changed = sorted(k for k in set(before) | set(inst.settings) if before.get(k) != inst.settings.get(k))
    secret_names = instances.kind_named(inst.kind).config.secret_fields()
    given = [k for k in secret_names if values.get(k)]
    w.audit("connector.change", "connector", inst.name,
            {"changed": changed, "secrets_replaced": given if inst.sealed != sealed else []})
    return inst


def remove(w: Work, name: str) -> None:
    inst = instances.get(w.s, w.ws, name)
    instances.remove(w.s, inst)
    w.audit("connector.remove", "connector", name, {"kind": inst.kind})


def test(w: Work, name: str) -> Check:
    """The connector's self-check, with no transaction open around it (it may wait seconds on the network)."""
    with w.unit(write=False):
        connector = w.rt.connectors.of(instances.get(w.s, w.ws, name))
    if isinstance(connector, SelfTest):
        check = connector.self_test(w.now)
    else:
        check = Check(True, "no_self_test", "this kind of connector has no self-check")
    with w.unit(write=True):
        w.audit("connector.test", "connector", name, {"ok": check.ok, "outcome": check.outcome})
    return check
