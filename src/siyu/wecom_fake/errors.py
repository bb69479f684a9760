"""WeCom's errcodes as the fake answers them.

The numbers come from ../shared/docs/wecom-api.md and WeCom's global errcode page (Doc 90313). A real client must
branch on `errcode`, never on `errmsg`, so the fake's messages are only a hint for a person reading a log.
"""

from __future__ import annotations

SYSTEM_BUSY = -1
INVALID_SECRET = 40001
INVALID_USERID = 40003
INVALID_CORPID = 40013
INVALID_TOKEN = 40014
INVALID_USERID_LIST = 40031
INVALID_CHATID = 40050
INVALID_PARAMETER = 40058
MISSING_PARAMETER = 40063
INVALID_PARTY_LIST = 40066
INVALID_TAG_ID = 40068
TAG_NAME_EXISTS = 40071
INVALID_TAG_NAME = 40072
INVALID_EXTERNAL_USERID = 40096
TOO_MANY_TAGS = 40126
MISSING_TOKEN = 41001
MISSING_CORPID = 41002
MISSING_SECRET = 41004
MISSING_EXTERNAL_USERID = 41035
MISSING_WAY_TYPE = 41037
MISSING_WAY_SCENE = 41038
INVALID_WAY_TYPE = 41039
INVALID_WAY_SCENE = 41040
TOO_MANY_WAY_USERS = 41041
MISSING_CONFIG_ID = 41043
INVALID_CONFIG_ID = 41044
WAY_QUOTA_REACHED = 41045
MISSING_MSGID = 41046
INVALID_MSGID = 41047
NO_RECIPIENT = 41048
MISSING_WELCOME_CODE = 41049
INVALID_WELCOME_CODE = 41050
WELCOME_ALREADY_USED = 41051
TOKEN_EXPIRED = 42001
CONTENT_TOO_LONG = 45002
FREQUENCY_LIMIT = 45009
CONCURRENCY_LIMIT = 45033
GROUP_DISMISSED = 49008
INVALID_CURSOR = 50100
USERID_NOT_FOUND = 60111
NO_TAG_PERMISSION = 81011
TOO_MANY_REQUESTED = 81017
NO_RELATIONSHIP = 84061

MESSAGES: dict[int, str] = {
    SYSTEM_BUSY: "system busy",
    INVALID_SECRET: "invalid secret",
    INVALID_USERID: "invalid userid",
    INVALID_CORPID: "invalid corpid",
    INVALID_TOKEN: "invalid access_token",
    INVALID_USERID_LIST: "invalid userid list",
    INVALID_CHATID: "chatid not found",
    INVALID_PARAMETER: "invalid parameter",
    MISSING_PARAMETER: "parameter is empty",
    INVALID_PARTY_LIST: "invalid party list",
    INVALID_TAG_ID: "invalid tagid",
    TAG_NAME_EXISTS: "tag name already exists",
    INVALID_TAG_NAME: "invalid tag name length",
    INVALID_EXTERNAL_USERID: "invalid external userid",
    TOO_MANY_TAGS: "corp tag count reached the limit of 3000",
    MISSING_TOKEN: "access_token missing",
    MISSING_CORPID: "corpid missing",
    MISSING_SECRET: "secret missing",
    MISSING_EXTERNAL_USERID: "external userid missing",
    MISSING_WAY_TYPE: "contact way type missing",
    MISSING_WAY_SCENE: "contact way scene missing",
    INVALID_WAY_TYPE: "invalid contact way type",
    INVALID_WAY_SCENE: "invalid contact way scene",
    TOO_MANY_WAY_USERS: "contact way has too many users",
    MISSING_CONFIG_ID: "config_id missing",
    INVALID_CONFIG_ID: "invalid config_id",
    WAY_QUOTA_REACHED: "contact ways added by API reached the limit",
    MISSING_MSGID: "msgid missing",
    INVALID_MSGID: "invalid msgid",
    NO_RECIPIENT: "no customer to send to",
    MISSING_WELCOME_CODE: "welcome_code missing",
    INVALID_WELCOME_CODE: "invalid welcome_code",
    WELCOME_ALREADY_USED: "externaluser has started chatting",
    TOKEN_EXPIRED: "access_token expired",
    CONTENT_TOO_LONG: "content size out of limit",
    FREQUENCY_LIMIT: "api freq out of limit",
    CONCURRENCY_LIMIT: "api concurrent out of limit",
    GROUP_DISMISSED: "group chat dismissed",
    INVALID_CURSOR: "invalid cursor",
    USERID_NOT_FOUND: "userid not found",
    NO_TAG_PERMISSION: "no privilege to access/modify tag",
    TOO_MANY_REQUESTED: "too many requested; set owner_filter",
    NO_RELATIONSHIP: "not external contact",
}


class ApiError(Exception):
    """A WeCom answer with a non-zero errcode (HTTP 200, like the real server)."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        self.errcode = errcode
        base = MESSAGES.get(errcode, "error")
        self.errmsg = f"{base}: {detail}" if detail else base
        super().__init__(f"{errcode} {self.errmsg}")

    def body(self) -> dict[str, object]:
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg}, hint: [wecom-fake]"}

EMPTY_CONTENT = 44004
MESSAGES[EMPTY_CONTENT] = "text content is empty"


class ControlError(Exception):
    """A `/_fake/` control that cannot do what it was asked (HTTP 404 / 409 with a machine code)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)
