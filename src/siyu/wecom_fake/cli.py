"""`siyu wecom-fake`: the fake WeCom server in its own process."""

from __future__ import annotations

from typing import Annotated

import typer


def wecom_fake(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8300,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    callback_url: Annotated[str | None, typer.Option(
        help="where to post callbacks, e.g. http://127.0.0.1:8000/callbacks/wecom/NAME")] = None,
    token: Annotated[str, typer.Option(help="callback Token")] = "fakeToken",
    aes_key: Annotated[str, typer.Option(help="callback EncodingAESKey (43 characters)")] =
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    corp_id: Annotated[str, typer.Option(help="the corp id (also the callbacks' receive id)")] =
        "wwfakecorp0000000001",
    secret: Annotated[list[str] | None, typer.Option(
        help="an app secret gettoken accepts; repeat for several apps (each edits only its own tags)")] = None,
    agent_id: Annotated[int, typer.Option(help="the first app's AgentID (in callbacks)")] = 1000002,
    group_capacity: Annotated[int, typer.Option(
        help="members per group when people join by QR / join way (200; newer clients 500)")] = 200,
    public_url: Annotated[str | None, typer.Option(
        help="the fake's base URL as others reach it (QR image links); default http://HOST:PORT")] = None,
) -> None:
    """Run a fake WeCom corp (API under /cgi-bin/, inspection and controls under /_fake/). State is in memory."""
    import uvicorn

    from siyu.wecom_fake.app import create_app
    from siyu.wecom_fake.config import App, FakeConfig

    secrets_ = secret or ["fake-secret"]
    apps = [App(secret=s, agent_id=agent_id + i, name="siyu" if i == 0 else f"app{i + 1}")
            for i, s in enumerate(secrets_)]
    if len(aes_key) != 43:
        raise typer.BadParameter("the EncodingAESKey has 43 characters", param_hint="--aes-key")
    config = FakeConfig(corp_id=corp_id, apps=apps, callback_url=callback_url, callback_token=token,
                        callback_aes_key=aes_key, qr_join_capacity=group_capacity,
                        public_url=public_url or f"http://{host}:{port}")
    typer.echo(f"wecom-fake: corp {corp_id} on http://{host}:{port} (API /cgi-bin/, controls /_fake/, "
               f"docs /_fake/docs); secrets: {', '.join(secrets_)}; callbacks: {callback_url or 'none'}")
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
