"""Run the real delivery of one action in this process and die with os._exit(9) at a chosen point.

    python crash_deliver.py DB_URL DATA_DIR ACTION_ID NOW_ISO after_perform|before_perform

after_perform:  the connector's perform committed (the message is on the platform), `finish` never runs.
before_perform: the claim committed (the action is `sending`, attempts+1), the platform is never called.

Only this throw-away process is patched; siyu's code is untouched. Exit code 9 proves the crash point was reached;
any other code means the delivery path no longer goes where the test thinks it does.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from siyu import config
from siyu.connectors.sandbox.connector import SandboxConnector
from siyu.delivery import service, tasks
from siyu.kit.clock import FrozenClock
from siyu.runtime import Runtime


def _die(*_args: object, **_kwargs: object) -> None:
    os._exit(9)


def main() -> int:
    db_url, data_dir, action_id, now_iso, mode = sys.argv[1:6]
    settings = config.Settings(data_dir=Path(data_dir), database_url=db_url,
                               secret_key=SecretStr("crash-test"))
    rt = Runtime(settings, clock=FrozenClock(datetime.fromisoformat(now_iso)), immediate=True)
    if mode == "after_perform":
        service.finish = _die
    elif mode == "before_perform":
        SandboxConnector.perform = _die  # type: ignore[assignment,method-assign]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    state = tasks.deliver(rt, int(action_id))
    print(f"delivery finished without crashing: {state!r}")
    return 3


if __name__ == "__main__":
    sys.exit(main())
