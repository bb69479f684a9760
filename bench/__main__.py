"""`python -m bench ingest [--json] [--events N] [--batch 1000] [--pg-url URL] [--only sqlite|postgresql]`;
`python -m bench match [--json] [--messages N]`;
`python -m bench sop [--json] [--groups 5000] [--days 7] [--pg-url URL] [--only sqlite|postgresql]`;
`python -m bench quality [--json] [--misses]` (FAQ and moderation on the labelled sets of bench/data/)."""

from __future__ import annotations

import argparse
import sys

from bench import ingest, match, quality, sop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="siyu benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest.add_arguments(sub.add_parser("ingest", help="event ingest: in-process, HTTP, raw DB-API baseline"))
    match.add_arguments(sub.add_parser("match", help="moderation + FAQ matching per core, beside a naive loop"))
    sop.add_arguments(sub.add_parser("sop", help="SOP planning: one week for 5,000 groups vs raw executemany"))
    quality.add_arguments(sub.add_parser("quality", help="FAQ and moderation quality on labelled member messages"))
    args = parser.parse_args(argv)
    if args.command == "ingest":
        return ingest.main(args)
    if args.command == "sop":
        return sop.main(args)
    if args.command == "match":
        return match.main(args)
    if args.command == "quality":
        return quality.main(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
