"""`pinewatch` console script: one subcommand per module in pinewatch.commands.

Each command module defines `register(subparsers)`, which adds its parser and
sets `func` to a callable taking the parsed args and returning an exit code.
Command modules import their heavy dependencies inside `func`, so that
`pinewatch scan` never pays for FastAPI and `pinewatch serve` never loads
onnxruntime.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pinewatch.core.config import ConfigError

COMMANDS = ("demo", "run", "serve", "scan", "bench", "eval", "train", "mine", "export", "export_feedback", "replay_dead_letters")  # modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pinewatch", description="Forest-fire camera early warning.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"pinewatch.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"pinewatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
