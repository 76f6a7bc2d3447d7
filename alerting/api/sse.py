"""Server-Sent Events: `alert` (new or updated alert) and `camera` (health change).

One poller per app reads what changed from the store and fans it out to the
connected clients. Reading the store, rather than listening inside the
consumer, means every replica's changes reach every API process. An alert or
camera counts as changed when its revision grew; the window re-read on each
poll (OVERLAP) covers transactions that commit a little out of order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerting.api.auth import READ, requires_header_or_query
from alerting.api.context import context
from alerting.api.schemas import CameraOut
from alerting.liveness import CameraLiveOut, reader_for
from alerting.store.models import Alert, Camera, utcnow
from alerting.store.tokens import Principal
from alerting.views import alert_payload, camera_view

log = logging.getLogger(__name__)

PING_S = 15.0  # the API contract's keep-alive comment
OVERLAP = timedelta(seconds=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_QUEUE_LIMIT = 1000  # a client this far behind is dropped; EventSource reconnects


class _Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self.dropped = False


class ChangeFeed:
    def __init__(self, factory: sessionmaker[Session], poll_s: float):
        self._factory = factory
        self._poll_s = poll_s
        self.liveness = None  # an alerting.liveness.LivenessReader, set by the events route
        self._subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._reset()

    def _reset(self) -> None:
        self._cursor: datetime | None = None
        self._alert_revisions: dict[int, tuple[int, datetime]] = {}
        self._camera_revisions: dict[str, tuple[int, str | None]] = {}  # revision, liveness

    # --- subscribers (event loop) --------------------------------------------

    def subscribe(self) -> _Subscriber:
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        self._reset()
        while True:
            try:
                events = await asyncio.to_thread(self.poll)
            except Exception:
                log.exception("live feed: reading the store failed")
                events = []
            for event in events:
                for subscriber in list(self._subscribers):
                    if subscriber.queue.qsize() >= _QUEUE_LIMIT:
                        subscriber.dropped = True
                    else:
                        subscriber.queue.put_nowait(event)
            await asyncio.sleep(self._poll_s)

    # --- reading the store (worker thread) ------------------------------------

    def poll(self) -> list[tuple[str, dict]]:
        """Changes since the last poll; the first poll only takes a baseline."""
        with self._factory() as session:
            baseline = self._cursor is None
            if baseline:
                self._cursor = session.scalar(select(func.max(Alert.updated_at))) or _EPOCH
            events = self._alert_changes(session, emit=not baseline)
            events += self._camera_changes(session, emit=not baseline)
        return events

    def _alert_changes(self, session: Session, emit: bool) -> list[tuple[str, dict]]:
        rows = session.scalars(
            select(Alert)
            .options(selectinload(Alert.camera))
            .where(Alert.updated_at >= self._cursor - OVERLAP)
            .order_by(Alert.updated_at, Alert.id)
        ).all()
        events = []
        for alert in rows:
            known = self._alert_revisions.get(alert.id)
            if known is None or alert.revision > known[0]:
                self._alert_revisions[alert.id] = (alert.revision, alert.updated_at)
                if emit:
                    events.append(("alert", alert_payload(alert)))
            self._cursor = max(self._cursor, alert.updated_at)
        horizon = self._cursor - OVERLAP
        self._alert_revisions = {k: v for k, v in self._alert_revisions.items() if v[1] >= horizon}
        return events

    def _camera_changes(self, session: Session, emit: bool) -> list[tuple[str, dict]]:
        events = []
        cameras = session.scalars(select(Camera).options(selectinload(Camera.masks))).all()
        live = self.liveness.read([c.id for c in cameras], utcnow()) if self.liveness is not None else {}
        for camera in cameras:
            state = live.get(camera.id)
            # a camera counts as changed when its row did or its liveness did (a dead worker changes no row)
            key = (camera.revision, state.liveness if state is not None else None)
            if key != self._camera_revisions.get(camera.id):
                self._camera_revisions[camera.id] = key
                if emit:
                    view = camera_view(camera, state)
                    model = CameraLiveOut if state is not None else CameraOut
                    events.append(("camera", model.model_validate(view).model_dump(mode="json")))
        return events


def format_event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


router = APIRouter(tags=["live"])


@router.get(
    "/api/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Live feed of alert and camera changes (also ?token=)",
)
async def events(request: Request, _: Principal = Depends(requires_header_or_query(READ))) -> StreamingResponse:
    ctx = context(request)
    feed: ChangeFeed = ctx.feed
    if feed.liveness is None:
        feed.liveness = reader_for(request.app.state, ctx)
    return StreamingResponse(
        _stream(feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(feed: ChangeFeed) -> AsyncIterator[str]:
    subscriber = feed.subscribe()
    try:
        yield ": connected\n\n"
        while not subscriber.dropped:
            try:
                name, data = await asyncio.wait_for(subscriber.queue.get(), timeout=PING_S)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            yield format_event(name, data)
    finally:
        feed.unsubscribe(subscriber)
