"""A tiny callback receiver that decrypts what the fake posts with wechatpy's own WeChatCrypto."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto


class Receiver:
    """Answers POSTs with `answers` in turn (HTTP status, seconds to wait), then 200; records each decrypted event.

    GET is WeCom's URL check: verify and decrypt echostr, answer the plaintext (plus `echo_suffix`, to get it wrong).
    """

    def __init__(self, token: str, aes_key: str, corp_id: str, answers: list[tuple[int, float]] | None = None,
                 echo_suffix: str = "") -> None:
        self.crypto = WeChatCrypto(token, aes_key, corp_id)
        self.answers = list(answers or [])
        self.echo_suffix = echo_suffix
        self.events: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                plain = outer.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
                self._answer(200, (plain.decode() if isinstance(plain, bytes) else plain) + outer.echo_suffix)

            def do_POST(self) -> None:
                q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    status, delay = outer.answers.pop(0) if outer.answers else (200, 0.0)
                    outer.bodies.append(body)
                try:
                    plain = outer.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
                    event = xmltodict.parse(plain)["xml"]
                    with outer.lock:
                        outer.events.append(event)
                except Exception as e:  # a forged or broken callback
                    with outer.lock:
                        outer.errors.append(f"{type(e).__name__}: {e}")
                    status = 403
                if delay:
                    time.sleep(delay)
                self._answer(status, "")

            def _answer(self, status: int, text: str) -> None:
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the fake gave up waiting
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks/wecom/test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
