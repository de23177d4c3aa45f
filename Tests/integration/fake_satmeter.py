#!/usr/bin/env python3
"""A stand-in for the satmeter binary that has only its process interface.

It lets test_harness.py exercise the satmeter fixtures (start, wait for the
socket, SIGTERM, stderr capture, `keys create --json`) before the real binary
exists. `serve` answers FastCGI with fastcgi_stub's echo; nothing is metered.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from fastcgi_stub import FastCGIStub

REQUIRED_ENV = ("SATMETER_UPSTREAM_URL", "SATMETER_UPSTREAM_API_KEY", "SATMETER_BTC_USD")


def serve(args: argparse.Namespace) -> int:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing or not args.listen.startswith("unix:"):
        print(f"fake satmeter: missing {missing} or bad --listen {args.listen}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FastCGIStub(Path(args.listen.removeprefix("unix:"))):
        print(f"fake satmeter: serving {args.listen}, state {args.state_dir}", file=sys.stderr, flush=True)
        stop.wait()
    print("fake satmeter: drained", file=sys.stderr)
    return 0


def create_key(args: argparse.Namespace) -> int:
    keys = Path(args.state_dir) / "keys.jsonl"
    number = len(keys.read_text().splitlines()) + 1 if keys.exists() else 1
    key = {"api_key": f"sk-fake-{number:04d}", "id": number, "balance_msat": args.balance_msat}
    with keys.open("a") as out:
        out.write(json.dumps(key) + "\n")
    print(json.dumps(key) if args.json else key["api_key"])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="satmeter")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--listen", required=True)
    keys = commands.add_parser("keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create")
    create.add_argument("--balance-msat", type=int, required=True)
    create.add_argument("--json", action="store_true")
    for sub in (serve_parser, create):
        sub.add_argument("--state-dir", required=True)
        sub.add_argument("--config")
    args = parser.parse_args()
    return serve(args) if args.command == "serve" else create_key(args)


if __name__ == "__main__":
    sys.exit(main())
