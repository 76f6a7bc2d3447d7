"""Read the day's fire-danger levels from a configured HTTP(S) CSV feed, every feed_poll_s.

The CSV has a header row with `day` (YYYY-MM-DD), `level` (1-5 or I-V) and `district` or
`camera_id` (a row with a camera id is for that camera, else for its district). Each good row is
stored with source "feed" (an admin's level for the same day and target stands); a bad row is
counted and named in last_error, the rest still apply. The last reading — when, whether it
worked, how many rows — is kept in the store (GET /api/fire-danger/feed).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.danger.levels import LevelError, set_level
from alerting.store.db import write_session
from alerting.store.models import FireDangerFeed, utcnow
from pinewatch.core.config import ROMAN, FireDangerConfig
from pinewatch.core.redact import redact

log = logging.getLogger(__name__)

FEED_USER = "feed"
MAX_BYTES = 1_000_000
_LEVELS = {**{str(n): n for n in ROMAN}, **{roman: n for n, roman in ROMAN.items()}}


class FeedError(ValueError):
    pass


def parse_level(value: str) -> int:
    level = _LEVELS.get(value.strip().upper())
    if level is None:
        raise FeedError(f"level {value!r} is not 1-5 or I-V")
    return level


def parse_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; FeedError when the header lacks the columns."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {name.strip().lower() for name in reader.fieldnames or []}
    if not {"day", "level"} <= columns or not columns & {"district", "camera_id"}:
        raise FeedError(f"the header must name day, level and district or camera_id (got {sorted(columns)})")
    return [(reader.line_num, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}) for row in reader]


class FeedPoller:
    def __init__(self, factory: sessionmaker[Session], config: FireDangerConfig) -> None:
        self.factory = factory
        self.config = config

    def poll_once(self) -> FireDangerFeed:
        """Fetch, apply, record; returns the recorded state (errors are recorded, not raised)."""
        url = self.config.feed_url
        applied, rejected, problems = 0, 0, []
        error = ""
        try:
            response = httpx.get(url, timeout=self.config.feed_timeout_s, follow_redirects=True)
            if not response.is_success:
                raise FeedError(f"HTTP {response.status_code}")
            if len(response.content) > MAX_BYTES:
                raise FeedError(f"the feed is over {MAX_BYTES} bytes")
            for line, row in parse_rows(response.text):
                try:
                    self._apply(row)
                    applied += 1
                except (FeedError, LevelError, ValueError) as exc:
                    rejected += 1
                    problems.append(f"line {line}: {exc}")
        except (httpx.HTTPError, FeedError, UnicodeDecodeError) as exc:
            error = f"{type(exc).__name__}: {exc}" if isinstance(exc, httpx.HTTPError) else str(exc)
        if problems:
            error = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        return self._record(url, error, applied, rejected, fetched=not error or bool(problems))

    def _apply(self, row: dict[str, str]) -> None:
        try:
            day = date.fromisoformat(row.get("day", ""))
        except ValueError:
            raise FeedError(f"day {row.get('day')!r} is not YYYY-MM-DD") from None
        level = parse_level(row.get("level", ""))
        camera_id, district = row.get("camera_id", ""), row.get("district", "")
        if camera_id:
            set_level(self.factory, day, "camera", camera_id, level, "feed", FEED_USER)
        elif district:
            set_level(self.factory, day, "district", district, level, "feed", FEED_USER)
        else:
            raise FeedError("neither district nor camera_id is given")

    def _record(self, url: str, error: str, applied: int, rejected: int, fetched: bool) -> FireDangerFeed:
        now = utcnow()
        with write_session(self.factory, serialize=False) as session:
            state = session.scalar(select(FireDangerFeed).where(FireDangerFeed.url == url))
            if state is None:
                state = FireDangerFeed(url=url)
                session.add(state)
            state.last_fetch_at = now
            state.last_error = redact(error)[:2000]
            if fetched:
                state.last_success_at = now
                state.rows_applied, state.rows_rejected = applied, rejected
            session.flush()
            session.expunge(state)
        if error:
            log.warning("fire-danger feed %s: %s", redact(url), error)
        else:
            log.info("fire-danger feed %s: %d rows applied", redact(url), applied)
        return state

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the database away: try again next time
                log.exception("fire-danger feed: polling failed")
            if stop.wait(self.config.feed_poll_s):
                return


def feed_state(session: Session, url: str) -> FireDangerFeed | None:
    return session.scalar(select(FireDangerFeed).where(FireDangerFeed.url == url)) if url else None
