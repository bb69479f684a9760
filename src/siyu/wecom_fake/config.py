"""What the fake corp is and how strict it is.

Defaults are WeCom's documented numbers (../shared/docs/wecom-api.md). What that document marks UNCONFIRMED is a
setting here, so a test or an operator can try the other reading; `POST /_fake/config` changes any of them while the
fake runs (a test shrinks a quota or a rate limit instead of making 500,000 calls).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: Mass-message frequency caps (Doc 92135): as many per month as the month has days (current rule), 7 a week,
#: 1 a day (admin choices), or the older 4 a month.
CapRule = Literal["month_days", "week_7", "day_1", "month_4"]


class App(BaseModel):
    """A self-built app listed under 「客户联系-可调用接口的应用」: its secret gets tokens; it edits its own tags."""

    secret: str
    agent_id: int = 1000002
    name: str = "siyu"


class Member(BaseModel):
    """A corp member (员工) who can own contact ways, customers, groups and mass-message tasks."""

    userid: str
    name: str = ""
    department: list[int] = Field(default_factory=lambda: [1])


class FakeConfig(BaseModel):
    corp_id: str = "wwfakecorp0000000001"
    apps: list[App] = Field(default_factory=lambda: [App(secret="fake-secret")])
    members: list[Member] = Field(default_factory=lambda: [
        Member(userid="zhangsan", name="张三"), Member(userid="lisi", name="李四"),
        Member(userid="wangwu", name="王五")])
    #: Where the fake says it lives (QR code images are served from here).
    public_url: str = "http://127.0.0.1:8300"

    # gettoken (Doc 91039)
    token_ttl: int = 7200
    #: About 2,000 failed gettoken calls in an hour block gettoken for an hour (Doc 90454).
    gettoken_error_limit: int = 2000

    # rate limits (Doc 90454): per corp per API, per IP per API; blocks of 60 s / 60 min
    per_corp_per_minute: int = 10_000
    per_corp_per_hour: int = 150_000
    per_ip_per_minute: int = 20_000
    per_ip_per_hour: int = 600_000
    #: Simultaneous calls of one API (45033). WeCom publishes no number: UNCONFIRMED, off by default.
    concurrent_per_api: int | None = None
    #: Seconds every API call takes (so concurrent callers overlap in tests).
    latency: float = 0.0

    # contact ways and join ways (Doc 92228, 92229)
    way_quota: int = 500_000
    way_max_users: int = 100
    join_way_max_chats: int = 5
    #: Members per group when WeChat users join by QR / join way; 500 in newer clients (UNCONFIRMED).
    qr_join_capacity: int = 200
    #: Members per group by direct invitation (UNCONFIRMED).
    group_capacity: int = 500
    #: What happens to an auto-created room in the way's chat list (UNCONFIRMED): it is appended and, past the
    #: limit, the oldest full group leaves the list.
    auto_room_keeps_full: bool = False
    #: `JoinScene` in change_external_chat for a QR join; the doc says 3 (numbering differs from groupchat/get;
    #: UNCONFIRMED).
    callback_join_scene_qr: int = 3
    callback_join_scene_invite: int = 0
    #: More visible members than this and groupchat/list without owner_filter answers 81017.
    groupchat_list_visible_limit: int = 1000

    # welcome messages (Doc 92137)
    welcome_window: float = 20.0
    #: Errcode for a welcome_code past its window or unknown (41050 in Doc 90313's list).
    welcome_expired_errcode: int = 41050

    # mass messages (Doc 92135)
    max_chats_per_task: int = 2000
    max_customers_per_task: int = 10_000
    reminds_per_day: int = 3
    #: Errcode for a fourth reminder within 24 h (WeCom publishes none: UNCONFIRMED).
    remind_limit_errcode: int = 45009
    cap_rule: CapRule = "month_days"
    #: UTC offset of the corp's calendar (months and days of the frequency cap).
    utc_offset_hours: int = 8

    # corp tags (Doc 92117)
    max_corp_tags: int = 3000
    #: Whether tag changes made through the API fire change_external_tag (the doc says API actions fire no
    #: callback for groups; for tags it is UNCONFIRMED).
    tag_callbacks_for_api: bool = False

    # callbacks (Doc 90930)
    callback_url: str | None = None
    callback_token: str = "fakeToken"
    #: 43 characters; the default is the official test vector's key.
    callback_aes_key: str = Field(default="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", min_length=43,
                                  max_length=43)
    #: No HTTP 200 within this many seconds counts as not answered (5 s in the doc).
    callback_timeout: float = 5.0
    #: Deliveries in all, the first one included (3 in the doc).
    callback_attempts: int = 3
    #: Pause between a failed delivery and the next try (not published: UNCONFIRMED).
    callback_retry_interval: float = 1.0

    def app_for(self, secret: str) -> App | None:
        return next((a for a in self.apps if a.secret == secret), None)
