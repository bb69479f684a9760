"""The fake WeCom server: an ASGI app (`create_app`) and a way to run it on a port in a thread (`FakeServer`).

`siyu wecom-fake --port P` runs the same app in its own process. The state lives in memory: a restart of the fake
is a new, empty corp (what a test wants; the real corp's state is what siyu syncs from).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from siyu.wecom_fake import contacts as _contacts  # noqa: F401  (registers its endpoints)
from siyu.wecom_fake import errors as E
from siyu.wecom_fake import groups as _groups  # noqa: F401
from siyu.wecom_fake import messages as _messages  # noqa: F401
from siyu.wecom_fake import tags as _tags  # noqa: F401
from siyu.wecom_fake.api import Api
from siyu.wecom_fake.callbacks import Dispatcher
from siyu.wecom_fake.config import FakeConfig
from siyu.wecom_fake.controls import router as controls_router
from siyu.wecom_fake.state import Corp


class FakeWeCom:
    """Everything one fake corp is made of; `app.state.fake` in the ASGI app."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.corp = Corp(config)
        self.api = Api(self.corp)
        self.callbacks = Dispatcher(self.corp)
        self.corp.set_emitter(self.callbacks.submit)

    def reset(self) -> None:
        self.corp.reset()
        self.api.limiter.reset()
        self.api.faults.clear()
        self.api.calls.clear()
        self.callbacks.reset()


def create_app(config: FakeConfig | None = None) -> FastAPI:
    fake = FakeWeCom(config or FakeConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        fake.callbacks.start()  # the thread that posts callbacks lives as long as the server
        try:
            yield
        finally:
            fake.callbacks.stop()

    app = FastAPI(title="wecom-fake", docs_url="/_fake/docs", openapi_url="/_fake/openapi.json", redoc_url=None,
                  lifespan=lifespan)
    app.state.fake = fake

    @app.api_route("/cgi-bin/{name:path}", methods=["GET", "POST"])
    async def cgi_bin(name: str, request: Request) -> JSONResponse:
        raw = await request.body()
        ip = request.client.host if request.client else "0.0.0.0"
        status, body = await run_in_threadpool(fake.api.handle, name, dict(request.query_params), raw, ip)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(E.ControlError)
    async def _control_error(_: Request, exc: E.ControlError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(E.ApiError)
    async def _api_error_in_control(_: Request, exc: E.ApiError) -> JSONResponse:
        # a control that runs a WeCom rule (an admin's tag with a taken name) answers with WeCom's errcode
        return JSONResponse({"code": f"errcode_{exc.errcode}", "message": exc.errmsg}, status_code=409)

    app.include_router(controls_router, prefix="/_fake")
    return app


class FakeServer:
    """The fake on a free loopback port in a background thread (tests, `siyu demo --wecom-fake`).

    Use as a context manager; `url` is its base (`http://127.0.0.1:PORT`), `fake` its state.
    """

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = config or FakeConfig()
        if "public_url" not in config.model_fields_set:
            config.public_url = self.url
        self.app = create_app(config)
        self.fake: FakeWeCom = self.app.state.fake
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
                                        name=f"wecom-fake:{self.port}")

    def start(self) -> FakeServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("the fake WeCom server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
