"""Callbacks to siyu, encrypted the way WeCom does it, with WeCom's retries and the controls tests need.

Each event becomes the XML WeCom posts (Doc 92130, 92277, 92694), encrypted with wechatpy's `WeChatCrypto`
(WXBizMsgCrypt: AES-256-CBC, receiveid = corp id) and posted as `<xml><ToUserName/><Encrypt/><AgentID/></xml>` with
`msg_signature`, `timestamp` and `nonce` in the query. An answer other than HTTP 200 within `callback_timeout`
(5 s) counts as not received: the same payload is posted again, `callback_attempts` (3) times in all.

One thread posts them in order. Controls: lose the next N events, hold events and release them in another order,
deliver the next N several times, redeliver one.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx

from siyu.wecom_fake.state import Corp


def event_xml(fields: dict[str, Any]) -> str:
    """WeCom's plaintext event XML: strings in CDATA, numbers bare, lists as <Item> children."""
    parts = ["<xml>"]
    for key, value in fields.items():
        if isinstance(value, list):
            items = "".join(f"<Item><![CDATA[{_cdata(v)}]]></Item>" for v in value)
            parts.append(f"<{key}>{items}</{key}>")
        elif isinstance(value, bool):
            parts.append(f"<{key}>{int(value)}</{key}>")
        elif isinstance(value, int):
            parts.append(f"<{key}>{value}</{key}>")
        else:
            parts.append(f"<{key}><![CDATA[{_cdata(value)}]]></{key}>")
    parts.append("</xml>")
    return "".join(parts)


def _cdata(value: Any) -> str:
    return str(value).replace("]]>", "]]]]><![CDATA[>")


def seal(corp: Corp, plaintext: str) -> tuple[dict[str, str], str]:
    """The query (msg_signature, timestamp, nonce) and the body WeCom posts for one plaintext message."""
    import xmltodict
    from wechatpy.enterprise.crypto import WeChatCrypto

    cfg = corp.config
    crypto = WeChatCrypto(cfg.callback_token, cfg.callback_aes_key, cfg.corp_id)
    nonce, timestamp = str(secrets.randbelow(10**10)), str(corp.now_int())
    sealed = xmltodict.parse(crypto.encrypt_message(plaintext, nonce, timestamp))["xml"]
    agent_id = cfg.apps[0].agent_id if cfg.apps else ""
    body = (f"<xml><ToUserName><![CDATA[{escape(cfg.corp_id)}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt><AgentID><![CDATA[{agent_id}]]></AgentID></xml>")
    return {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce}, body


@dataclass
class Delivery:
    id: int
    event: dict[str, Any]
    plaintext: str
    #: queued → sending → delivered | failed; or held, lost, no_url (no callback URL configured)
    status: str = "queued"
    copies: int = 1
    query: dict[str, str] | None = None
    body: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "event": self.event, "copies": self.copies,
                "attempts": self.attempts, "xml": self.plaintext}


class Dispatcher:
    def __init__(self, corp: Corp) -> None:
        self.corp = corp
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.reset()

    def reset(self) -> None:
        with self._cond:
            self.deliveries: list[Delivery] = []
            self._queue: deque[Delivery] = deque()
            self._busy = False
            self.holding = False
            self.lose_next = 0
            self.duplicate_next = 0
            self.duplicate_times = 2
            self._cond.notify_all()

    # -- the corp's side -------------------------------------------------------------------------------------
    def submit(self, event: dict[str, Any]) -> None:
        with self._cond:
            d = Delivery(id=len(self.deliveries) + 1, event=event, plaintext=event_xml(event))
            self.deliveries.append(d)
            if self.lose_next > 0:
                self.lose_next -= 1
                d.status = "lost"
                return
            if self.duplicate_next > 0:
                self.duplicate_next -= 1
                d.copies = self.duplicate_times
            if self.holding:
                d.status = "held"
                return
            self._queue.append(d)
            self._cond.notify_all()

    # -- controls --------------------------------------------------------------------------------------------
    def hold(self) -> None:
        with self._cond:
            self.holding = True

    def release(self, order: str | list[int] = "fifo", seed: int | None = None) -> list[int]:
        """Send the held events, in arrival order (`fifo`), `reverse`, `shuffle` or the given ids first."""
        with self._cond:
            held = [d for d in self.deliveries if d.status == "held"]
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                random.Random(seed).shuffle(held)
            elif isinstance(order, list):
                rank = {i: n for n, i in enumerate(order)}
                held.sort(key=lambda d: rank.get(d.id, len(rank) + d.id))
            self.holding = False
            for d in held:
                d.status = "queued"
                self._queue.append(d)
            self._cond.notify_all()
            return [d.id for d in held]

    def lose(self, count: int) -> None:
        with self._cond:
            self.lose_next += count

    def drop(self, delivery_id: int) -> Delivery:
        """Lose one held (or still queued) event."""
        with self._cond:
            d = self._find(delivery_id)
            if d.status in ("held", "queued"):
                if d in self._queue:
                    self._queue.remove(d)
                d.status = "lost"
            return d

    def duplicate(self, count: int, times: int) -> None:
        with self._cond:
            self.duplicate_next += count
            self.duplicate_times = times

    def redeliver(self, delivery_id: int) -> Delivery:
        """Post an event again, byte for byte (a lost one gets its first post)."""
        with self._cond:
            d = self._find(delivery_id)
            if d in self._queue:
                return d
            d.status = "queued"
            self._queue.append(d)
            self._cond.notify_all()
            return d

    def _find(self, delivery_id: int) -> Delivery:
        from siyu.wecom_fake.errors import ControlError

        if not 1 <= delivery_id <= len(self.deliveries):
            raise ControlError(404, "unknown_callback", f"no callback {delivery_id}")
        return self.deliveries[delivery_id - 1]

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being posted (held and lost events do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def verify_url(self) -> dict[str, Any]:
        """What WeCom does when an admin saves the callback URL: GET with an encrypted echostr; the answer must
        be the plaintext exactly (no quotes, BOM or newline) within 1 s."""
        import xmltodict
        from wechatpy.enterprise.crypto import WeChatCrypto

        cfg = self.corp.config
        if not cfg.callback_url:
            return {"ok": False, "reason": "no callback_url configured"}
        plain = str(secrets.randbelow(10**19))
        crypto = WeChatCrypto(cfg.callback_token, cfg.callback_aes_key, cfg.corp_id)
        nonce, timestamp = str(secrets.randbelow(10**10)), str(self.corp.now_int())
        sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, timestamp))["xml"]
        query = {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce,
                 "echostr": sealed["Encrypt"]}
        try:
            r = httpx.get(cfg.callback_url, params=query, timeout=1.0)
        except httpx.HTTPError as e:
            return {"ok": False, "reason": f"{type(e).__name__}: {e}"}
        return {"ok": r.status_code == 200 and r.text == plain, "status": r.status_code, "answer": r.text,
                "expected": plain}

    # -- the posting thread ----------------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, daemon=True, name="wecom-fake-callbacks")
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client() as client:
            while True:
                with self._cond:
                    while not self._queue and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        return
                    d = self._queue.popleft()
                    d.status = "sending"
                    self._busy = True
                try:
                    ok = self._post(client, d)
                    status = "delivered" if ok else ("no_url" if ok is None else "failed")
                except Exception as e:  # never let one event kill the thread
                    d.attempts.append({"error": f"{type(e).__name__}: {e}"})
                    status = "failed"
                with self._cond:
                    d.status = status
                    self._busy = False
                    self._cond.notify_all()

    def _post(self, client: httpx.Client, d: Delivery) -> bool | None:
        cfg = self.corp.config
        if not cfg.callback_url:
            return None
        if d.query is None or d.body is None:
            d.query, d.body = seal(self.corp, d.plaintext)
        url = f"{cfg.callback_url}{'&' if '?' in cfg.callback_url else '?'}{urlencode(d.query)}"
        delivered = False
        for _copy in range(d.copies):
            for attempt in range(cfg.callback_attempts):
                if attempt and self._sleep(cfg.callback_retry_interval):
                    return delivered
                started = time.monotonic()
                record: dict[str, Any] = {"at": self.corp.now()}
                try:
                    r = client.post(url, content=d.body.encode(), timeout=cfg.callback_timeout,
                                    headers={"Content-Type": "text/xml"})
                    record["status"] = r.status_code
                except httpx.HTTPError as e:
                    record["error"] = type(e).__name__
                record["seconds"] = round(time.monotonic() - started, 3)
                d.attempts.append(record)
                if record.get("status") == 200:
                    delivered = True
                    break
        return delivered

    def _sleep(self, seconds: float) -> bool:
        """Wait between retries; True when the dispatcher is stopping."""
        with self._cond:
            if seconds > 0:
                self._cond.wait_for(lambda: self._stopping, timeout=seconds)
            return self._stopping

    def summary(self) -> dict[str, int]:
        with self._cond:
            out: dict[str, int] = {}
            for d in self.deliveries:
                out[d.status] = out.get(d.status, 0) + 1
            return out
