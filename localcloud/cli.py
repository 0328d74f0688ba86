"""``localcloud serve``: run the local cloud until SIGTERM or SIGINT.

Prints exactly one JSON line on stdout when ready (endpoint, region_id, access keys, registry,
control_url); logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from localcloud.app import LocalCloud
from localcloud.registry.process import Notifications

# The header value goes through the environment, not the command line, where any user could read it.
NOTIFY_AUTHORIZATION = "LOCALCLOUD_NOTIFY_AUTHORIZATION"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localcloud", description="A local Alibaba Cloud (ESS, ECI, OOS, ACR).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Alibaba API and the control endpoint")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    serve.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    serve.add_argument("--control-port", type=int, default=0, help="control endpoint port (0: any free port)")
    serve.add_argument("--state-dir", help="keep state (and registry storage) here across restarts")
    serve.add_argument(
        "--instances",
        choices=("docker", "simulated"),
        default="docker",
        help="run ECI instances as real Docker containers, or simulate them",
    )
    serve.add_argument(
        "--registry", default="auto", help="'auto' starts a docker-registry; HOST:PORT attaches to a running one"
    )
    serve.add_argument(
        "--notify",
        metavar="URL",
        help=f"send the registry's push events to URL, with the Authorization header from ${NOTIFY_AUTHORIZATION}",
    )
    serve.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    notifications = None
    if args.notify:
        authorization = os.environ.get(NOTIFY_AUTHORIZATION)
        if not authorization:
            print(f"localcloud: --notify needs ${NOTIFY_AUTHORIZATION} (e.g. 'Bearer <token>')", file=sys.stderr)
            return 2
        notifications = Notifications(url=args.notify, authorization=authorization)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    cloud = LocalCloud(
        host=args.host,
        port=args.port,
        control_port=args.control_port,
        state_dir=args.state_dir,
        instances=args.instances,
        registry=args.registry,
        notifications=notifications,
    )
    try:
        info = cloud.start()
    except Exception as exc:
        print(f"localcloud: could not start: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(info.model_dump()), flush=True)
        stop.wait()
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
