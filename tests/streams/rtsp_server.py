"""A tiny RTSP server for the stream tests and benchmarks: GStreamer's gst-rtsp-server.

Run it with Debian's /usr/bin/python3 (python3-gi), not the project's virtualenv:

    /usr/bin/python3 tests/streams/rtsp_server.py --port 8554 --file clip.mp4 [--mount /cam]

It serves an H.264 MP4 at rtsp://127.0.0.1:PORT/MOUNT without re-encoding (cheap on a small
box); --encode decodes any clip and re-encodes it with x264 instead. Each client gets its
own pipeline from the start of the file, paced in real time. It prints "ready" once listening.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(path: str, encode: bool, keyframe_interval: int) -> str:
    if encode:
        return (
            f'( filesrc location="{path}" ! decodebin ! videoconvert ! '
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyframe_interval} ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
    return f'( filesrc location="{path}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )'


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--encode", action="store_true")
    parser.add_argument("--keyframe-interval", type=int, default=25)
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.file, args.encode, args.keyframe_interval))
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
