"""`pinewatch demo`: the whole pipeline on one machine with the sample videos."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run everything locally on the sample videos",
        description="Start a private Redis, the alerting API (SQLite) and stream workers on every clip in "
        "sample_videos/, print the API address with an operator token, then each alert as it is raised.",
    )
    parser.add_argument("--port", type=int, default=8000, help="API port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on (0.0.0.0 in a container)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this many seconds")
    parser.add_argument("--no-browser", action="store_true", help="do not open the operator page in a browser")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from pinewatch.demo import DemoOptions, run_demo

    return run_demo(DemoOptions(port=args.port, host=args.host, duration_s=args.duration, open_browser=not args.no_browser))
