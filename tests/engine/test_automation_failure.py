"""An automation that raises never fails the ingest: the batch is stored and acknowledged, the other automations
still act, the failure is recorded and shown, retried with backoff, and can be run again by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.engagement.alerts import failures
from siyu.engagement.faq import service as faq
from siyu.engagement.faq.schemas import EntryIn
from siyu.events import hooks
from siyu.events.hooks import StoredEvent
from siyu.kit.clock import FrozenClock
from siyu.models import Action, Alert, AutomationFailure, Event
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.console.conftest import PASSWORD, Console

WS = DEFAULT_WORKSPACE
BROKEN = {"on": True}
SEEN: list[int] = []


def flaky_automation(session: Any, ev: StoredEvent) -> None:
    SEEN.append(ev.id)
    if BROKEN["on"]:
        raise RuntimeError("the CRM is down")


@pytest.fixture
def flaky() -> Iterator[None]:
    BROKEN["on"] = True
    SEEN.clear()
    hooks.on("message.posted", priority=hooks.REPLIES - 1)(flaky_automation)
    yield
    hooks._HANDLERS["message.posted"] = [(p, h) for p, h in hooks._HANDLERS["message.posted"]
                                         if h is not flaky_automation]


def _group(rt: Runtime) -> int:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="会计圈"))
        faq.create_entry(s, WS, EntryIn(question="季度免税额度是多少", answer="季度 30 万以内免征增值税。",
                                        keywords=["免税"]), now=rt.clock.now())
        return communities.create_group(s, WS, GroupIn(name="会计圈 1", community_id=c.id), now=rt.clock.now()).id


def test_a_raising_automation_is_recorded_and_the_batch_is_stored(rt: Runtime, api: Any, clock: FrozenClock,
                                                                   flaky: None) -> None:
    gid = _group(rt)
    batch = [{"type": "message.posted", "source_key": f"m{i}", "group_id": gid,
              "contact": {"platform": "sandbox", "external_id": f"u{i}"},
              "payload": {"text": "请问季度免税额度是多少？" if i == 0 else f"大家好 {i}"}} for i in range(10)]
    r = api().post("/api/v1/events", json={"events": batch})
    assert r.status_code == 200 and r.json()["stored"] == 10
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "message.posted")) == 10
        # The FAQ (after the broken automation) still answered.
        assert s.scalar(select(func.count()).select_from(Action).where(Action.kind == "post_to_group")) == 1
        rows = list(s.scalars(select(AutomationFailure).order_by(AutomationFailure.event_id)))
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "automation_failed")))
    assert len(rows) == 10 and {f.state for f in rows} == {"pending"}
    assert rows[0].automation.endswith("flaky_automation") and "the CRM is down" in rows[0].error
    assert len(alerts) == 1  # one per automation and hour, not one per event

    # Not yet due: the retry job leaves them; a minute later it tries and they fail again, with a longer pause.
    assert failures.retry_due(rt.sessions, clock.now()) == {"resolved": 0, "failed": 0}
    clock.advance(timedelta(minutes=1))
    assert failures.retry_due(rt.sessions, clock.now()) == {"resolved": 0, "failed": 10}
    with rt.tx() as s:
        f = s.get(AutomationFailure, rows[0].id)
        assert f is not None and f.attempts == 2 and f.next_attempt_at == clock.now() + timedelta(minutes=2)

    # The cause is fixed: the next retry goes through, and nothing else is planned twice.
    BROKEN["on"] = False
    clock.advance(timedelta(minutes=2))
    assert failures.retry_due(rt.sessions, clock.now()) == {"resolved": 10, "failed": 0}
    with rt.tx() as s:
        assert failures.open_failures(s, WS) == []
        assert s.scalar(select(func.count()).select_from(Action).where(Action.kind == "post_to_group")) == 1
    assert api().get("/api/v1/automation-failures").json()["items"] == []


def test_a_failure_is_shown_in_the_console_and_runs_again_by_hand(rt: Runtime, app_client: Any, api: Any,
                                                                   flaky: None) -> None:
    gid = _group(rt)
    api().post("/api/v1/events", json={"type": "message.posted", "source_key": "m1", "group_id": gid,
                                       "contact": {"platform": "sandbox", "external_id": "u1"},
                                       "payload": {"text": "早上好"}})
    from siyu.auth import service as auth

    with rt.tx() as s:
        auth.create_user(s, WS, "ops", PASSWORD, "operator")
        [failure] = failures.open_failures(s, WS)
    app_client.headers.pop("Authorization", None)
    console = Console(app_client)
    assert console.login("ops").status_code == 303
    page = console.get("/alerts").text
    assert "处理失败的自动化" in page and "the CRM is down" in page
    assert "flaky_automation" not in page  # the code name stays in the API
    r = console.post(f"/alerts/automation-failures/{failure.id}/rerun")
    assert r.status_code == 303
    assert "重新运行仍然失败" in console.get("/alerts").text
    BROKEN["on"] = False
    console.post(f"/alerts/automation-failures/{failure.id}/rerun")
    page = console.get("/alerts").text
    assert "已重新运行，处理成功" in page and "处理失败的自动化" not in page
    with rt.tx() as s:
        f = s.get(AutomationFailure, failure.id)
        assert f is not None and f.state == "resolved" and f.attempts == 3
