"""Point an unchanged wechatpy `WeChatClient` at the fake.

Its API calls go to `API_BASE_URL`, which is set to the fake's `/cgi-bin/`. wechatpy 1.8.18 fetches tokens from a
hard-coded `https://qyapi.weixin.qq.com/cgi-bin/gettoken`, so that one URL is routed to the fake by a transport
adapter on the client's own `requests` session; the client's code and its token logic run as they would against
WeCom.
"""

from __future__ import annotations

from typing import Any

WECOM_HOST = "https://qyapi.weixin.qq.com"


def wechatpy_client(base_url: str, corp_id: str, secret: str, **kwargs: Any) -> Any:
    """A `wechatpy.enterprise.WeChatClient` whose every request reaches the fake at `base_url`."""
    import requests
    from wechatpy.enterprise import WeChatClient

    base = base_url.rstrip("/")

    class _ToFake(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kw: Any) -> Any:
            if request.url and request.url.startswith(WECOM_HOST):
                request.url = base + request.url[len(WECOM_HOST):]
            return super().send(request, *args, **kw)

    client = WeChatClient(corp_id, secret, **kwargs)
    client.API_BASE_URL = f"{base}/cgi-bin/"
    client._http.mount(WECOM_HOST, _ToFake())
    return client
