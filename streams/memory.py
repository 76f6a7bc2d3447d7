"""Give the C heap's free pages back to the system, once a minute (the worker's summary tick).

Measured in the 60-minute soak (benchmarks/results/soak-60min-20261207, README "Reliability"):
the worker's RSS rose ~1.7 MB a minute for the whole hour, all of it in glibc's per-thread
malloc arenas, while the bytes actually in use stayed about half of what the arenas held
(malloc_stats: 539 MB held, 266 MB in use). 200 camera threads allocate and free multi-MB
frame buffers across the 16 arenas a 2-core box gets, and glibc returns an arena's free pages
only from its top. `malloc_trim(0)` returns every free page of every arena (madvise), which
costs a few milliseconds here. On a C library without it (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

log = logging.getLogger(__name__)

try:
    _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
except (OSError, AttributeError):
    _trim = None


def trim_supported() -> bool:
    return _trim is not None


def release_free_memory() -> float | None:
    """Return free heap pages to the system; the seconds it took, or None where unsupported."""
    if _trim is None:
        return None
    started = time.perf_counter()
    _trim(0)
    took = time.perf_counter() - started
    log.debug("malloc_trim took %.1f ms", took * 1000)
    return took
