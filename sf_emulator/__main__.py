"""``python -m sf_emulator serve --port P --state-dir D [--seed N] [--traffic N] ...``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import socket
from pathlib import Path

from aiohttp import web

from sf_emulator.app import build_app, server_ssl_context
from sf_emulator.org import DEFAULT_DAILY_LIMIT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sf_emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an emulated org over HTTPS on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    serve.add_argument("--state-dir", type=Path, required=True, help="credentials and org data")
    serve.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    serve.add_argument("--traffic", type=float, default=0.0, help="synthetic leads per minute")
    serve.add_argument("--api-latency-ms", type=int, default=0, help="latency added to API calls")
    serve.add_argument("--api-limit", type=int, default=DEFAULT_DAILY_LIMIT, help="daily API calls")
    serve.add_argument(
        "--session-timeout-s", type=int, default=7200, help="idle seconds before a session expires"
    )
    serve.add_argument("--log-level", default="WARNING")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    app = build_app(
        state_dir=args.state_dir,
        port=port,
        seed=args.seed,
        session_timeout=dt.timedelta(seconds=args.session_timeout_s),
        daily_api_limit=args.api_limit,
        api_latency_ms=args.api_latency_ms,
    )
    org = app["org"]
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=server_ssl_context(org)).start()
    if args.traffic and org.traffic is not None:
        org.traffic.start(leads_per_min=args.traffic)
    print(f"sf_emulator ready {org.instance_url} state={org.state_dir}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
