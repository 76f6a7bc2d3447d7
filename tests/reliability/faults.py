"""Tools the fault-injection tests share: a TCP proxy that can freeze, the store's counts,
and waiting for a condition."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select as sql_select

from alerting.store.models import Alert, AlertFrame, ProcessedEvent
from pinewatch.core.messages import BoxDetection, DetectionEvent


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        time.sleep(every_s)


def store_counts(factory) -> tuple[int, int, int]:
    """(processed event ids, alert frames, alerts) in the store."""
    with factory() as session:
        return tuple(
            session.scalar(sql_select(func.count()).select_from(table)) for table in (ProcessedEvent, AlertFrame, Alert)
        )


def detections(camera_id: str, count: int, start: datetime | None = None) -> list[DetectionEvent]:
    """`count` detections one second apart on one camera, in the recent past (one alert)."""
    start = start or datetime.now(timezone.utc) - timedelta(minutes=30)
    return [
        DetectionEvent(
            event_id=f"{camera_id}_{i:05d}", camera_id=camera_id, captured_at=start + timedelta(seconds=i),
            detections=[BoxDetection(label="smoke", score=0.8, box=[0.4, 0.3, 0.5, 0.45])],
            evidence_path=f"{camera_id}/{i:05d}.jpg", frame_width=640, frame_height=480, model="fault-test",
        )
        for i in range(count)
    ]


class FreezableProxy:
    """127.0.0.1:port forwards TCP to `upstream`; `freeze()` makes it a black hole that still
    accepts connections and bytes (as a stopped server's kernel does) but passes nothing on
    until `thaw()`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        for sock in list(self._sockets):
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pair, args=(client,), daemon=True).start()

    def _pair(self, client: socket.socket) -> None:
        self._flowing.wait()  # frozen: the connection is accepted, the server never hears of it
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self._sockets += [client, server]
        ends = {client: server, server: client}
        try:
            while not self._closed.is_set():
                self._flowing.wait()
                readable, _, _ = select.select(list(ends), [], [], 0.1)
                for sock in readable:
                    if not self._flowing.is_set():
                        break  # froze meanwhile: hold the bytes in the kernel's buffers
                    data = sock.recv(65536)
                    if not data:
                        return
                    ends[sock].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()
