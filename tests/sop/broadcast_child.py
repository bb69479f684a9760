"""Run one broadcast in its own process and stop dead (the parent SIGKILLs it) after a number of chunks.

argv: db_url data_dir broadcast_id community_id now_iso stop_after_chunks
After each committed chunk it prints `chunk <n> <created>`; once `stop_after_chunks` chunks are in, it blocks
on stdin (the parent never writes) so the kill lands between two chunks or in the middle of the next one.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from siyu import config
from siyu.engagement.sop import broadcast
from siyu.engagement.sop.schemas import BroadcastIn
from siyu.runtime import Runtime


def main() -> None:
    db_url, data_dir, bid, community_id, now_iso, stop_after = sys.argv[1:7]
    settings = config.Settings(data_dir=Path(data_dir), database_url=db_url,  # type: ignore[arg-type]
                               secret_key="x", base_url="http://testserver")
    rt = Runtime(settings)  # jobs go to the queue file; nobody delivers them in this process

    def on_chunk(n: int, created: int) -> None:
        print(f"chunk {n} {created}", flush=True)
        if n >= int(stop_after):
            sys.stdin.readline()

    broadcast.send(rt.sessions, 1, BroadcastIn(text="今晚 8 点直播，一键群发", community_ids=[int(community_id)]),
                   broadcast_id=bid, now=datetime.fromisoformat(now_iso), on_chunk=on_chunk)
    print("finished", flush=True)


if __name__ == "__main__":
    main()
