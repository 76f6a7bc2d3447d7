"""Files under a root directory, never outside it: the one containment check for every reader
(evidence and static routes, notification attachments)."""

from __future__ import annotations

from pathlib import Path

from pinewatch.core.messages import check_evidence_path


def safe_file(root: Path, relative: str, suffixes: tuple[str, ...] | None = None) -> Path | None:
    """root/relative if it is a file inside root (no '..', no absolute path, no link out)."""
    try:
        check_evidence_path(relative)
    except ValueError:
        return None
    base = root.resolve()
    candidate = (base / relative).resolve()  # follows links: one pointing out of root fails below
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    if suffixes is not None and candidate.suffix.lower() not in suffixes:
        return None
    return candidate
