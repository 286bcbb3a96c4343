"""The host's memory: freed heap pages go back to the OS."""
import ctypes.util
import os
import sys

import numpy as np
import pytest

from pynn_gpu.kernels.runtime.host import release_freed_memory


def _resident_bytes():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux") or "libc" not in (ctypes.util.find_library("c") or ""),
                    reason="malloc_trim is glibc's")
def test_release_freed_memory_returns_a_fragmented_heap():
    """Arrays small enough to live in the heap (64 kB), nine in ten freed: the pages stay with the process until
    released (a big projection drawn in chunks leaves its heap so)."""
    arrays = [np.ones(8192) for _ in range(3000)]        # 3000 x 64 kB = 188 MB, touched
    kept = arrays[::10]
    del arrays
    before = _resident_bytes()
    release_freed_memory()
    released = before - _resident_bytes()
    assert released > 100e6, f"{released / 1e6:.0f} MB released of ~170 MB freed"
    assert all(a.sum() == 8192 for a in kept)
