"""streams.memory: freed heap memory held by glibc's arenas goes back to the system (issue 14).

A real C heap in a child process: a thread allocates 100 KB blocks (below the mmap threshold,
so from its arena) interleaved with small ones, frees the big ones and keeps the small ones,
so the arena cannot shrink from its top, as with the worker's camera threads. RSS stays up
until release_free_memory() runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.memory import trim_supported

CHILD = r"""
import ctypes, ctypes.util, os, threading
from streams.memory import release_free_memory

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
page = os.sysconf("SC_PAGE_SIZE")

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * page / 2**20

kept = []
def churn():
    big = []
    for _ in range(400):
        block = libc.malloc(100 * 1024)
        ctypes.memset(block, 1, 100 * 1024)  # resident
        big.append(block)
        kept.append(libc.malloc(64))  # pins the arena's top
    for block in big:
        libc.free(block)

before = rss_mb()
thread = threading.Thread(target=churn)
thread.start(); thread.join()
held = rss_mb()
took = release_free_memory()
after = rss_mb()
print(before, held, after, took)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not trim_supported(), reason="glibc malloc_trim")
def test_freed_arena_memory_goes_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60).stdout
    before, held, after, took = map(float, out.split())
    assert held - before > 30, "the 40 MB freed stays resident in the thread's arena"
    assert held - after > 30, (before, held, after)  # given back
    assert took < 1.0
