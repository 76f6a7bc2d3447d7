"""Files under a root directory, never outside it."""

from __future__ import annotations

from pathlib import Path


def safe_file(root: Path, relative: str, suffixes: tuple[str, ...] | None = None) -> Path | None:
    """root/relative if it is a file inside root (no '..', no absolute path, no link out)."""
    if not relative or "\x00" in relative:
        return None
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    if suffixes is not None and candidate.suffix.lower() not in suffixes:
        return None
    return candidate
