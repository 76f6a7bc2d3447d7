"""Camera sources behind one interface (base.Source); `open_source` picks one from the URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from detector.media import is_video
from pinewatch.core.config import CameraConfig, StreamsConfig
from streams.sources.base import BadData, Frame, Source, SourceEnded, SourceError, SourceUnavailable

__all__ = ["BadData", "Frame", "Source", "SourceEnded", "SourceError", "SourceUnavailable", "open_source", "source_kind"]


def source_kind(source: str) -> str:
    """'rtsp', 'http', 'video' or 'folder', from the configured source string."""
    scheme = urlparse(source).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "http"
    path = Path(source[len("file://"):] if scheme == "file" else source)
    if path.is_dir() or (not path.exists() and not is_video(path)):
        return "folder"
    return "video"


def open_source(camera: CameraConfig, streams: StreamsConfig) -> Source:
    """A new, not yet connected source for this camera (connections open on the first read)."""
    if camera.presets:  # a PTZ patrol: the camera's own picture source, taken at each preset in turn
        from streams.sources.ptz import open_patrol

        return open_patrol(camera, streams, open_source(camera.model_copy(update={"ptz": None, "presets": []}), streams))
    kind = source_kind(camera.source)
    timeouts = {"open_timeout_s": streams.open_timeout_s, "read_timeout_s": streams.read_timeout_s}
    if kind == "rtsp":
        from streams.sources.rtsp import RtspSource

        keep_alive = camera.interval_s < streams.rtsp_keepalive_below_s
        return RtspSource(camera.id, camera.source, keep_alive=keep_alive, **timeouts)
    if kind == "http":
        from streams.sources.http_snapshot import HttpSnapshotSource

        return HttpSnapshotSource(
            camera.id,
            camera.source,
            retries=streams.http_retries,
            backoff_min_s=streams.reconnect_min_s,
            backoff_max_s=streams.reconnect_max_s,
            **timeouts,
        )
    path = Path(camera.source.removeprefix("file://"))
    if kind == "folder":
        from streams.sources.image_folder import ImageFolderSource

        return ImageFolderSource(camera.id, path, realtime=streams.realtime, loop=streams.loop, **timeouts)
    from streams.sources.video_file import VideoFileSource

    return VideoFileSource(
        camera.id, path, interval_s=camera.interval_s, realtime=streams.realtime, loop=streams.loop, **timeouts
    )
