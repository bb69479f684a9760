"""Connector instances: an operator adds named connectors of a kind, their secrets sealed with the installation's
key, and the outbox finds them by name (from any process) with capabilities computed from their settings."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from siyu.communities import service as communities
from siyu.communities.schemas import GroupIn
from siyu.connectors import instances, secrets
from siyu.connectors.registry import capabilities_for, config_for
from siyu.connectors.webhook.connector import WebhookConnector
from siyu.delivery import service as outbox
from siyu.kit.errors import Conflict, Invalid
from siyu.models import Action, ConnectorInstance
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.conftest import SECRET
from tests.racing import race

HMAC_KEY = "whsec-0123456789abcdef"


def add(rt: Runtime, name: str = "tg", **values: Any) -> ConnectorInstance:
    values = {"secret": HMAC_KEY, **values}
    with rt.tx() as s:
        return instances.add(s, WS, "webhook", name, values, secret_key=SECRET, now=rt.clock.now())


def test_secrets_are_sealed_and_only_their_presence_is_shown(rt: Runtime) -> None:
    add(rt, outbound_url="https://hooks.example.com/siyu", outbound_secret="out-0123456789abcdef")
    with rt.read() as s:
        inst = instances.get(s, WS, "tg")
        assert HMAC_KEY not in inst.sealed and "out-0123456789abcdef" not in inst.sealed
        assert "secret" not in inst.settings and "outbound_secret" not in inst.settings
        assert inst.settings["outbound_url"] == "https://hooks.example.com/siyu"
        shown = {f.name: f.value for f in instances.masked(inst, SECRET)}
        assert shown["secret"] is True and shown["outbound_secret"] is True
        assert HMAC_KEY not in repr(shown)
        # the key of the installation opens them; another key does not
        assert secrets.unseal(SECRET, inst.sealed)["secret"] == HMAC_KEY
        with pytest.raises(secrets.SealedSecretError):
            secrets.unseal("another-installation-key", inst.sealed)
        assert {f.name: f.value for f in instances.masked(inst, "another-key")}["secret"] is False


def test_settings_are_validated_by_the_kinds_model(rt: Runtime) -> None:
    with pytest.raises(Invalid) as bad:
        add(rt, secret="tiny-key", outbound_url="not a url")
    assert bad.value.code == "validation_error"
    fields = {tuple(e["loc"]) for e in bad.value.detail}
    assert fields == {("secret",), ("outbound_url",)}
    assert "tiny-key" not in repr(bad.value.detail)  # the input (maybe a secret) is not echoed back
    with pytest.raises(Invalid) as unknown:
        add(rt, colour="blue")
    assert unknown.value.detail[0]["type"] == "extra_forbidden"
    with pytest.raises(Invalid) as name:
        add(rt, name="Bad Name!")
    assert name.value.code == "invalid_connector_name"
    with pytest.raises(Conflict):
        add(rt, name="sandbox")
    with rt.tx() as s, pytest.raises(Invalid) as kind:
        instances.add(s, WS, "fax", "fax1", {}, secret_key=SECRET, now=rt.clock.now())
    assert kind.value.code == "unknown_connector_kind"
    with rt.read() as s:
        assert instances.names(s) == []


def test_two_racing_adds_of_one_name_make_one_connector(rt: Runtime) -> None:
    outcomes: list[str] = []

    def one(n: int) -> None:
        try:
            add(rt, name="shop")
            outcomes.append("added")
        except Conflict as exc:
            outcomes.append(exc.code)

    assert race(4, one) == []
    assert sorted(outcomes) == ["added"] + ["connector_name_taken"] * 3
    with rt.read() as s:
        assert instances.names(s) == ["shop"]


def test_a_change_keeps_unset_secrets_and_the_registry_rebuilds_the_connector(rt: Runtime) -> None:
    add(rt)
    first = rt.connectors.get("tg")
    assert isinstance(first, WebhookConnector) and first.config.outbound_url is None
    assert rt.connectors.get("tg") is first  # built once per version
    with rt.tx() as s:
        inst = instances.get(s, WS, "tg")
        instances.change(s, inst, {"outbound_url": "https://hooks.example.com/in", "secret": ""},
                         secret_key=SECRET, now=rt.clock.now())
    second = rt.connectors.get("tg")
    assert second is not first
    assert isinstance(second, WebhookConnector)
    assert str(second.config.outbound_url) == "https://hooks.example.com/in"
    assert second.config.secret.get_secret_value() == HMAC_KEY  # the empty secret kept the stored one
    with rt.tx() as s:  # an empty public field goes back to its default
        instances.change(s, instances.get(s, WS, "tg"), {"outbound_url": ""}, secret_key=SECRET,
                         now=rt.clock.now())
    third = rt.connectors.get("tg")
    assert isinstance(third, WebhookConnector) and third.config.outbound_url is None


def test_capabilities_come_from_the_instances_settings(rt: Runtime) -> None:
    add(rt, name="inbound")
    add(rt, name="twoway", outbound_url="https://hooks.example.com/siyu")
    with rt.read() as s:
        inbound = capabilities_for(s, "inbound", WS)
        twoway = capabilities_for(s, "twoway", WS)
        assert inbound is not None and inbound.post_to_group == "none" and inbound.direct_message == "none"
        assert twoway is not None and twoway.post_to_group == "auto" and twoway.direct_message == "auto"
        assert capabilities_for(s, "nobody", WS) is None
        assert "secret" not in config_for(s, "twoway", WS)  # what snapshots carry: public settings only
    assert rt.connectors.names() == ["inbound", "sandbox", "twoway"]


def test_a_connector_added_by_another_process_is_used_without_a_restart(rt: Runtime, settings: Any) -> None:
    assert "tg" not in rt.connectors.names()
    other = Runtime(settings, clock=rt.clock, immediate=True)  # e.g. `siyu connector add` beside a serve
    try:
        add(other)
    finally:
        other.close()
    assert isinstance(rt.connectors.get("tg"), WebhookConnector)


def test_secrets_sealed_under_another_key_make_actions_wait_with_the_reason(rt: Runtime) -> None:
    with rt.tx() as s:
        instances.add(s, WS, "webhook", "tg", {"secret": HMAC_KEY, "outbound_url": "https://h.example.com/x"},
                      secret_key="the-key-of-another-installation", now=rt.clock.now())
        g = communities.create_group(s, WS, GroupIn(name="TG 1", platform="tg", external_id="-100"),
                                     now=rt.clock.now())
        aid = outbox.plan(s, WS, key="post:1", kind="post_to_group", connector="tg", now=rt.clock.now(),
                          group_id=g.id, payload={"text": "hi"})
    with rt.read() as s:
        a = s.get(Action, aid)
        assert a is not None and a.state == "retry"
        assert "unusable" in a.last_error and "another secret key" in a.last_error


def test_a_connector_with_actions_waiting_cannot_be_removed(rt: Runtime) -> None:
    add(rt, name="tg", outbound_url="http://127.0.0.1:9/never")
    with rt.tx() as s:
        g = communities.create_group(s, WS, GroupIn(name="TG 1", platform="tg", external_id="-100"),
                                     now=rt.clock.now())
        s.add(Action(workspace_id=WS, idempotency_key="k", kind="post_to_group", connector="tg", group_id=g.id,
                     payload={}, state="retry", attempts=1, next_attempt_at=rt.clock.now(), last_error="",
                     result={}, created_at=rt.clock.now(), updated_at=rt.clock.now()))
    with rt.tx() as s, pytest.raises(Conflict) as busy:
        instances.remove(s, instances.get(s, WS, "tg"))
    assert busy.value.code == "connector_busy" and busy.value.detail == {"n": 1}
    with rt.tx() as s:
        s.execute(Action.__table__.update().values(state="failed"))
        instances.remove(s, instances.get(s, WS, "tg"))
    with rt.read() as s:
        assert s.scalar(select(ConnectorInstance.id)) is None


def test_stored_settings_that_no_longer_validate_never_echo_a_secret(rt: Runtime) -> None:
    """A setting an older siyu wrote (or a hand edit) makes the connector unusable with the field named, and the
    reason — shown on the outbox and the health page — holds no secret."""
    add(rt)
    with rt.tx() as s:
        inst = instances.get(s, WS, "tg")
        inst.settings = {**inst.settings, "tolerance_seconds": "soon"}
        inst.version += 1
    connector = rt.connectors.get("tg")
    reason = getattr(connector, "reason", "")
    assert "tolerance_seconds" in reason and HMAC_KEY not in reason
