"""Evidence retention: the pictures of old alerts that were not fires are deleted.

Evidence is most of the disk a site uses (one JPEG per detection, plus the frame before the
smoke). An alert dismissed or marked "other smoke" (terminal statuses) and last seen more than
`alerting.evidence_retention_days` ago loses its files; the alert, its frames and verdicts stay
in the store, marked with `evidence_deleted_at`. Open alerts, active (confirmed) fires and fires
marked out keep their pictures: they are the record of a fire and the positives of
`pinewatch export-feedback`. A file that a kept alert also refers to is never deleted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.api.files import safe_file
from alerting.store.db import write_session
from alerting.store.models import Alert, AlertFrame, utcnow

log = logging.getLogger(__name__)

SWEPT_STATUSES = ("dismissed", "other_smoke")  # terminal, and not a wildfire
SWEEP_EVERY_S = 3600.0
BATCH = 200  # alerts per round: bounded memory and short transactions


@dataclass
class SweepResult:
    alerts: int = 0
    files: int = 0


def _paths(alert: Alert) -> set[str]:
    found = {alert.evidence_path, alert.before_path, *(frame.evidence_path for frame in alert.frames)}
    return {p for p in found if p}


def _still_referenced(session: Session, paths: set[str], swept_ids: set[int]) -> set[str]:
    """Paths among `paths` that an alert outside this round also uses."""
    if not paths:
        return set()
    used = set(
        session.scalars(
            select(AlertFrame.evidence_path).where(AlertFrame.evidence_path.in_(paths), AlertFrame.alert_id.not_in(swept_ids))
        )
    )
    for column in (Alert.evidence_path, Alert.before_path):
        used |= set(session.scalars(select(column).where(column.in_(paths), Alert.id.not_in(swept_ids))))
    return used


def _delete(evidence_dir: Path, relative: str) -> bool:
    found = safe_file(evidence_dir, relative)  # contained: a stored path never reaches outside the directory
    if found is None:
        return False
    found.unlink(missing_ok=True)
    for folder in (found.parent, found.parent.parent):  # <camera>/<date>/ once empty
        if folder.resolve() == evidence_dir.resolve():
            break
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (or gone): keep it
    return True


def sweep(factory: sessionmaker[Session], evidence_dir: Path, retention_days: float, now: datetime | None = None) -> SweepResult:
    """Delete the files of swept alerts last seen before now - retention_days; 0 days: nothing."""
    result = SweepResult()
    if retention_days <= 0:
        return result
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    due = (Alert.status.in_(SWEPT_STATUSES), Alert.last_seen < cutoff, Alert.evidence_deleted_at.is_(None))
    after_id = 0
    while True:
        # Read, delete the files outside any transaction (no write lock held while the disk works), then mark.
        with factory() as session:
            alerts = session.scalars(
                select(Alert).options(selectinload(Alert.frames)).where(*due, Alert.id > after_id).order_by(Alert.id).limit(BATCH)
            ).all()
            if not alerts:
                return result
            ids = {alert.id for alert in alerts}
            paths = set().union(*(_paths(alert) for alert in alerts))
            paths -= _still_referenced(session, paths, ids)
        after_id = max(ids)
        result.files += sum(_delete(Path(evidence_dir), path) for path in sorted(paths))
        with write_session(factory, serialize=False) as session:
            result.alerts += session.execute(update(Alert).where(Alert.id.in_(ids), *due).values(evidence_deleted_at=now)).rowcount


class RetentionSweeper:
    """Runs `sweep` now and then every SWEEP_EVERY_S until stopped (the service's thread)."""

    def __init__(self, factory: sessionmaker[Session], evidence_dir: Path, retention_days: float, every_s: float = SWEEP_EVERY_S):
        self._factory = factory
        self._evidence_dir = Path(evidence_dir)
        self._retention_days = retention_days
        self._every_s = every_s

    def run(self, stop: threading.Event) -> None:
        log.info("evidence retention: files of dismissed alerts older than %g days are deleted", self._retention_days)
        while not stop.is_set():
            try:
                result = sweep(self._factory, self._evidence_dir, self._retention_days)
                if result.alerts:
                    log.info("evidence retention: %d files of %d alerts deleted", result.files, result.alerts)
            except Exception:  # the database may be away for a while; try again next round
                log.exception("evidence retention: the sweep failed")
            stop.wait(self._every_s)
