"""Capture times carried in frame file names."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

# `1532815026_-00600.jpg` (Unix seconds, then anything) as FIgLib/HPWREN name their frames.
_EPOCH_PREFIX = re.compile(r"^(\d{9,11})(?:[_.-]|$)")
# `2019_09_25T12_34_56` anywhere in the name, taken as UTC.
_CALENDAR = re.compile(r"(\d{4})_(\d{2})_(\d{2})T(\d{2})_(\d{2})_(\d{2})")


def timestamp_from_name(name: str | Path) -> datetime | None:
    """The UTC capture time a file name carries, or None when it carries none."""
    stem = Path(name).stem
    calendar = _CALENDAR.search(stem)
    if calendar:
        try:
            return datetime(*map(int, calendar.groups()), tzinfo=timezone.utc)
        except ValueError:
            return None
    epoch = _EPOCH_PREFIX.match(stem)
    if epoch:
        return datetime.fromtimestamp(int(epoch.group(1)), tz=timezone.utc)
    return None
