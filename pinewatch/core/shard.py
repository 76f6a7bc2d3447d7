"""Splitting the cameras of one config across N worker processes (`pinewatch run --shard I/N`).

Camera k of the enabled cameras, in config order, belongs to shard k mod N: deterministic for a
given config, every enabled camera in exactly one shard, and shard sizes differ by at most one.
In a Kubernetes StatefulSet each pod passes `--shard ordinal/N`: `ordinal` is the number its
hostname ends with (pods are named <set>-0, <set>-1, ...).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_ORDINAL = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, cameras: list[T]) -> list[T]:
        """This shard's part of `cameras` (already filtered to the enabled ones, in config order)."""
        return [camera for k, camera in enumerate(cameras) if k % self.count == self.index]


def parse_shard(text: str, hostname: str | None = None) -> Shard:
    """`I/N` with 0 <= I < N, or `ordinal/N` where I is the number ending the hostname."""
    index_text, sep, count_text = text.partition("/")
    if not sep or not count_text.strip().isdigit() or int(count_text) < 1:
        raise ValueError(f"--shard wants I/N with N >= 1 (e.g. 0/4 or ordinal/4), not {text!r}")
    count = int(count_text)
    if index_text.strip() == "ordinal":
        host = hostname if hostname is not None else socket.gethostname()
        found = _ORDINAL.search(host)
        if found is None:
            raise ValueError(f"--shard ordinal/{count}: hostname {host!r} does not end with -<number> (a StatefulSet pod's does)")
        index = int(found.group(1))
    elif index_text.strip().isdigit():
        index = int(index_text)
    else:
        raise ValueError(f"--shard wants I/N with I a number or 'ordinal', not {text!r}")
    if index >= count:
        raise ValueError(f"--shard {index}/{count}: I must be below N (more workers than shards?)")
    return Shard(index, count)
