"""Run the playbook tick in this process and die with os._exit(9) in the middle of the first step it takes.

    python crash_step.py DB_URL DATA_DIR NOW_ISO

The step is taken (planned → running, committed), its body runs (it plans its keyed outbox action inside the
step's transaction), and the process dies before that transaction commits — what `kill -9` or a power cut does
there. Only this throw-away process is patched. Exit code 9 proves the crash point was reached.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from siyu import config
from siyu.kit.clock import FrozenClock
from siyu.playbooks import runner
from siyu.runtime import Runtime


def main() -> int:
    db_url, data_dir, now_iso = sys.argv[1:4]
    settings = config.Settings(data_dir=Path(data_dir), database_url=db_url, secret_key=SecretStr("crash-test"))
    now = datetime.fromisoformat(now_iso)
    rt = Runtime(settings, clock=FrozenClock(now), immediate=True)
    real = runner.run_step

    def run_then_die(*args: Any, **kwargs: Any) -> dict[str, Any]:
        real(*args, **kwargs)
        os._exit(9)

    runner.run_step = run_then_die
    result = runner.tick(rt.sessions, now)
    print(f"the tick finished without crashing: {result!r}")
    return 3


if __name__ == "__main__":
    sys.exit(main())
