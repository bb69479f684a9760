"""`python -m bench ingest [--json] [--events N] [--batch 1000] [--pg-url URL] [--only sqlite|postgresql]`."""

from __future__ import annotations

import argparse
import sys

from bench import ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="siyu benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest.add_arguments(sub.add_parser("ingest", help="event ingest: in-process, HTTP, raw DB-API baseline"))
    args = parser.parse_args(argv)
    if args.command == "ingest":
        return ingest.main(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
