"""No raw codes in front of people: the console's pages in 中文 (and English) say what happened in words.

Timeline rows, moderation decisions, FAQ answers, playbook steps and results, calendar kinds and warnings, and the
errors of forms and domain rules are rendered and read as a person would (the text outside the "Details"
disclosures); machine codes stay in the API's JSON.
"""

from __future__ import annotations

import ast
import html as htmllib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.console import labels
from siyu.console.labels import ERRORS, Labels
from siyu.engagement.faq import service as faq
from siyu.engagement.faq.schemas import EntryIn
from siyu.kit import i18n
from siyu.playbooks import loader, runner
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.console.conftest import Console
from tests.moderation.world import make_world
from tests.sop.helpers import add_items, make_groups

SRC = Path(__file__).resolve().parents[2] / "src" / "siyu"
EN = {"Accept-Language": "en"}
TAX_Q = "小规模纳税人季度免税额度是多少"
TAX_A = "小规模纳税人季度销售额不超过30万元免征增值税。"


def visible(page: str) -> str:
    """The text a person reads: no scripts, styles, tag attributes, or what sits in a closed <details>."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<details\b.*?</details>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(page))


def zh() -> Labels:
    return labels.of("zh_CN")


# -- the contact timeline ----------------------------------------------------------------------------------------


def test_a_contacts_timeline_reads_as_sentences_in_chinese(rt: Runtime, clock: Any,
                                                           console: Callable[[str], Console]) -> None:
    w = make_world(rt, clock)
    with rt.tx() as s:
        faq.create_entry(s, WS, EntryIn(question=TAX_Q, answer=TAX_A), now=clock.now())
    w.member("老王")
    w.tick(2 * 86400)  # no newcomer any more: the ladder starts at a warning
    w.post("老王", f"请问{TAX_Q}？")
    w.tick(30)
    w.post("老王", "加我看 http://cheap.example.com 更多")
    w.tick(30)
    w.post("老王", "再看 www.cheap-deals.cn")
    assert [d for _, d, _ in w.decisions("老王")] == ["warn", "remove"]

    c = console("operator")
    page = c.get(f"/contacts/{w.contacts['老王']}")
    assert page.status_code == 200
    text = visible(page.text)
    for code in ("moderation.decided", "faq.replied", "action.sent", "message.posted", '"decision"', "entry_id",
                 "post_to_group", "remove_member"):
        assert code not in text, code
    group = "会计圈 1 群"
    assert f"在 {group} 因发链接被警告" in text
    assert f"因发链接被移出 {group}" in text
    assert f"在 {group} 的提问已由问答「{TAX_Q}」自动回复" in text
    assert f"问答自动回复已发到 {group}" in text  # the answer is the FAQ's reply, not a mass message
    assert "群发消息已发送" not in text
    assert "群管警告已发到" in text and f"在 {group} 发言：" in text
    # the raw event is still there for whoever opens "Details"
    assert page.text.count('<details class="ev-raw">') >= 6 and '"decision": "warn"' in page.text

    en = visible(c.get(f"/contacts/{w.contacts['老王']}", headers=EN).text)
    assert f"Warned in {group} for a link" in en and f"Removed from {group} for a link" in en
    assert f"Question answered automatically by the FAQ “{TAX_Q}” in {group}" in en
    assert "moderation.decided" not in en


def test_a_summary_escapes_what_members_wrote() -> None:
    class Ev:
        type = "message.posted"
        payload = {"text": "<script>alert(1)</script>"}
        group_id = 7
        contact_id = 1

    line = str(zh().summary(Ev(), {"groups": {7: "<b>群</b>"}}))
    assert "<script>" not in line and "&lt;script&gt;" in line
    assert '<a href="/groups/7">&lt;b&gt;群&lt;/b&gt;</a>' in line


def test_every_event_type_siyu_records_has_a_label() -> None:
    import importlib

    from siyu.events.schemas import REGISTRY

    for module in ("alerts.tasks", "faq.service", "interaction.schemas", "moderation.service", "sop.gating"):
        importlib.import_module(f"siyu.engagement.{module}")  # the domains register their types on import

    assert set(REGISTRY) - set(labels.EVENT_TYPES) == set()
    z = zh()
    assert z.event("custom.coupon_used") == "自定义事件：coupon used"
    assert z.event("something.new") == "其他事件"


# -- errors --------------------------------------------------------------------------------------------------------


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(isinstance(k.value, ast.Constant) for k in node.keywords):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("EventResult",):
                    continue
                for k in node.keywords:
                    if k.arg == "code" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                        found.add(k.value.value)
            if isinstance(node, ast.ClassDef):  # SiyuError subclasses' own `code = "…"`
                for stmt in node.body:
                    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                            and getattr(stmt.targets[0], "id", "") == "code"
                            and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
                        found.add(stmt.value.value)
    return found


def test_every_error_code_raised_in_siyu_has_a_translated_sentence() -> None:
    codes = _codes_in_source()
    assert "community_name_taken" in codes and "blacklisted" in codes
    missing = sorted(c for c in codes if c not in ERRORS)
    assert missing == [], f"add these codes to console/labels.py ERRORS (and their text to a catalog): {missing}"
    untranslated = sorted(m for pair in ERRORS.values() for m in pair if m and zh().gettext(m) == m)
    assert untranslated == []


def test_every_label_has_a_chinese_translation() -> None:
    tree = ast.parse((SRC / "console" / "labels.py").read_text(encoding="utf-8"))
    msgids = {str(n.args[0].value) for n in ast.walk(tree) if isinstance(n, ast.Call)
              and getattr(n.func, "id", None) == "N_" and n.args and isinstance(n.args[0], ast.Constant)}
    tr = i18n.translations("zh_CN")
    assert sorted(m for m in msgids if tr.ugettext(m) == m) == []


def test_domain_errors_are_translated_by_code_with_their_names() -> None:
    z = zh()
    assert z.error("community_name_taken", "a community named '财税交流群' exists") == "已有名为「财税交流群」的社群。"
    assert z.error("community_name_taken", "no name quoted") == "已有同名社群。"
    assert z.error("forbidden", "role 'viewer' may not do this (write)", role="viewer") == \
        "你的角色（只读）无权执行此操作。"
    assert z.error("blacklisted", "this member is blacklisted and cannot join through codes") == \
        "该成员已被拉黑，不能通过渠道码入群。"
    assert z.error("something_new", "an English sentence", status=409) == "与当前状态冲突，请刷新页面后重试。"
    assert z.error("something_new", "an English sentence", status=418).startswith("操作没有成功")
    assert labels.of("en").error("group_full", "group '1 群' is full") == "The group “1 群” is full."


class _Form(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    title: str = Field(default="x", min_length=2)
    capacity: int = Field(default=1, ge=1, le=100_000)


@pytest.mark.parametrize(("data", "expected"), [
    ({"name": ""}, "名称不能为空。"),
    ({"name": "x" * 101}, "名称最多 100 个字。"),
    ({"name": "a", "title": "b"}, "标题至少 2 个字。"),
    ({"name": "a", "capacity": 0}, "容量不能小于 1。"),
    ({"name": "a", "capacity": "lots"}, "容量须为整数。"),
    ({}, "请填写名称。"),
])
def test_validation_errors_name_the_field_and_the_limit(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _Form.model_validate(data)
    fields = zh().field_errors(labels.plain_errors(exc.value.errors()))
    assert [f.message for f in fields] == [expected]


def test_our_own_validators_sentences_are_translated() -> None:
    z = zh()
    got = z.field_errors(None, "rrule: not a valid RRULE: unknown FREQ; time_of_day: time of day must be HH:MM "
                               "(00:00–23:59)")
    assert [f.message for f in got] == ["重复规则：不是有效的重复规则", "发送时间：时间格式为 时:分（00:00–23:59）"]
    whole = z.error("invalid_sop_item", "give exactly one target: community_id (all its groups) or group_id")
    assert whole == "请只选一个发送对象：一个社群（其下所有群）或一个群"
    assert z.error("validation_error", "once_at must be a date and time") == "日期时间填写有误。"


def test_console_forms_and_rules_answer_in_chinese(rt: Runtime, console: Callable[[str], Console]) -> None:
    c = console("admin")
    with rt.tx() as s:
        communities.create(s, WS, CommunityIn(name="财税交流群"))
    form = {"name": "", "type": "content", "default_capacity": "200"}
    empty = c.post("/communities", form, htmx=True)
    assert empty.status_code == 422
    text = visible(empty.text)
    assert "名称不能为空" in text and "String should have" not in text and "validation_error" not in text
    assert 'data-code="validation_error"' in empty.text

    long = visible(c.post("/communities", {**form, "name": "名" * 101}, htmx=True).text)
    assert "名称最多 100 个字" in long

    dup = c.post("/communities", {**form, "name": "财税交流群"}, htmx=True)
    assert dup.status_code == 409
    assert "已有名为「财税交流群」的社群" in visible(dup.text)
    assert "community_name_taken" not in visible(dup.text) and "exists" not in visible(dup.text)
    en = c.post("/communities", {**form, "name": "财税交流群"}, htmx=True, headers=EN)
    assert "A community named “财税交流群” already exists." in visible(en.text)

    page = c.get("/moderation?cursor=" + "x" * 401)  # a bad query: a page, translated
    assert page.status_code == 422 and "分页位置最多 400 个字" in visible(page.text)
    assert "String should have" not in page.text

    api = c.client.post("/api/v1/communities", json={"name": "财税交流群"},
                        headers={"Accept": "application/json", "X-CSRF-Token": c.csrf})
    assert api.status_code == 409  # the API keeps its English message and the machine code
    assert api.json()["code"] == "community_name_taken" and "exists" in api.json()["message"]


def test_a_viewer_is_told_in_chinese_that_their_role_may_not(console: Callable[[str], Console]) -> None:
    c = console("viewer")
    r = c.post("/communities", {"name": "x", "type": "content", "default_capacity": "200"})
    assert r.status_code == 403
    text = visible(r.text)
    assert "你的角色（只读）无权执行此操作" in text and "没有权限" in text
    assert "may not do this" not in text and "role 'viewer'" not in text and "forbidden" not in text


def test_a_blacklisted_member_scanning_again_is_told_in_chinese(rt: Runtime, clock: Any,
                                                               console: Callable[[str], Console]) -> None:
    w = make_world(rt, clock)
    w.member("广告哥")
    w.tick(2 * 86400)
    w.post("广告哥", "看 http://a.example.com")
    w.tick(30)
    w.post("广告哥", "看 www.b-deals.cn")  # removed from the group
    w.tick(30)
    w.join("广告哥")  # someone invites them back
    w.post("广告哥", "[小程序] 拼团 0 元购")
    assert [d for _, d, _ in w.decisions("广告哥")] == ["warn", "remove", "blacklist"]
    c = console("operator")
    r = c.post(f"/sandbox/members/{w.members['广告哥']}/scan", {"state": w.state}, htmx=True)
    assert r.status_code == 403
    text = visible(r.text)
    assert "该成员已被拉黑，不能通过渠道码入群" in text and "blacklisted" not in text
    timeline = visible(c.get(f"/contacts/{w.contacts['广告哥']}").text)
    assert "被拉黑：已移出所有群，不能再通过渠道码入群" in timeline and "因发小程序" in timeline


# -- playbooks -----------------------------------------------------------------------------------------------------


def test_playbook_pages_name_steps_and_results_in_words(rt: Runtime, clock: Any,
                                                        console: Callable[[str], Console]) -> None:
    clock.set(datetime(2026, 12, 8, 0, 0, tzinfo=UTC))
    with rt.tx() as s:
        com = communities.create(s, WS, CommunityIn(name="双12 闪购群", type="flash"))
        communities.create_group(s, WS, GroupIn(name="闪购 1 群", community_id=com.id), now=clock.now())
        run = runner.apply(s, WS, loader.find("flash-sale"), community_id=com.id, anchor=date(2026, 12, 12),
                           now=clock.now(), actor="test")
        run_id = run.id
    when = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # D-2 20:00 local: two staff tasks and a post are due
    clock.set(when)
    assert runner.tick(rt.sessions, when)["done"] >= 3

    c = console("operator")
    page = c.get(f"/playbooks/runs/{run_id}")
    assert page.status_code == 200
    text = visible(page.text)
    for code in ("staff_task", "alert_id", "action_id", "{'", "draw_winners", "close_group"):
        assert code not in text, code
    assert "员工任务" in text and "已生成员工任务，见 提醒" in text and "消息已排队待发到群" in text
    assert "开奖" in text and "关闭群" in text

    detail = visible(c.get("/playbooks/flash-sale").text)
    assert "staff_task" not in detail and "D0 前 3 天 10:00" in detail and "D0 当天 19:55" in detail
    en = visible(c.get(f"/playbooks/runs/{run_id}", headers=EN).text)
    assert "Task for staff created — see Alerts" in en


def test_a_failed_step_says_why_in_chinese() -> None:
    r = zh().step_result("countdown", "failed", {"error": "Conflict: no interaction 'x' in this run",
                                                 "code": "playbook_ref_missing"})
    assert str(r) == "失败：这一步引用的互动没有发起。"
    assert "Conflict" not in str(zh().step_result("post", "failed", {"error": "RuntimeError: boom"}))


# -- the calendar ------------------------------------------------------------------------------------------------


def test_calendar_kinds_recurrences_and_the_mix_warning_are_words(rt: Runtime,
                                                                   console: Callable[[str], Console]) -> None:
    from siyu.engagement.sop import tasks

    cid, _gids = make_groups(rt, 1)
    add_items(rt, cid)
    add_items(rt, cid, [dict(title="课后答疑", text="答疑", rrule="FREQ=WEEKLY;BYDAY=MO,WE", time_of_day="21:00",
                             kind="q_and_a")])
    tasks.tick(rt)
    c = console("operator")
    page = c.get(f"/calendar?community_id={cid}")
    assert page.status_code == 200
    text = visible(page.text)
    assert 'id="c3-warning"' in page.text and "本周内容配比" in text
    assert "C3" not in text
    for code in ("morning_report", "dry_goods", "FREQ=DAILY", "BYDAY"):
        assert code not in text, code
    assert "早报" in text and "干货" in text and "每天 · 08:00" in text and "每周（周二） · 20:00" in text
    assert "每周（周一、周三）" in text and "q_and_a" in text  # a kind the operator typed shows as typed
    en = visible(c.get(f"/calendar?community_id={cid}", headers=EN).text)
    assert "Morning report" in en and "Every week on Tue" in en and "C3" not in en


def test_recurrences_in_words() -> None:
    z, en = zh(), labels.of("en")
    assert z.recurrence("FREQ=DAILY") == "每天"
    assert z.recurrence("FREQ=WEEKLY;BYDAY=TU,TH") == "每周（周二、周四）"
    assert en.recurrence("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR") == "Every 2 weeks on Fri"
    assert z.recurrence("FREQ=MONTHLY;BYMONTHDAY=1") == "每月 1 日"
    assert en.recurrence("FREQ=DAILY;COUNT=5") == "Every day, 5 times"
    assert z.recurrence("FREQ=WEEKLY;BYDAY=1MO") == "FREQ=WEEKLY;BYDAY=1MO"  # rarer rules as written


def test_calendar_reasons_in_chinese() -> None:
    z = zh()
    assert z.sop_reason("in the quiet hours 22:00–08:00 of 会计 1 群") == "处于 会计 1 群 的免打扰时段 22:00–08:00"
    assert z.sop_reason("daily cap of 1 posts reached in 会计 1 群 on 2026-11-03 (Tue); kept 08:00 早报; rule: x") \
        .startswith("会计 1 群 在 2026-11-03 已达每日 1 条上限")
    assert z.sop_reason("missed by 95 min (scheduler was not running); policy: skip") == \
        "调度程序未运行，错过 95 分钟；按设置跳过"
    assert z.sop_reason("something new") == "something new"



def test_alert_kinds_and_the_missed_window_alert_read_in_chinese(rt: Runtime,
                                                                 console: Callable[[str], Console]) -> None:
    from siyu.engagement.alerts import service as alerts

    with rt.tx() as s:
        alerts.raise_alert(s, WS, kind="missed_sop", key="missed_sop:1:x", now=rt.clock.now(),
                           message="SOP item #1 '每日早报' due 2026-11-03 00:00 UTC was missed in 2 group(s)/member(s) "
                                   "and skipped (missed policy: skip)",
                           detail={"item_id": 1, "count": 2, "policy": "skip"})
    text = visible(console("operator").get("/alerts").text)
    assert "错过 SOP 时间" in text and "missed_sop" not in text
    assert "日历内容「每日早报」在 2 个群或成员处错过了发送时间，已按设置跳过" in text
    assert "was missed" not in text
