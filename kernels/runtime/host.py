"""The host's memory: what is free now, so that what would not fit is refused before it is allocated."""
from __future__ import annotations

import ctypes
import os

#: Share of the host's available memory one request may take (the rest stays for Python, Neo and the OS).
HOST_MEMORY_FRACTION = 0.8


def available_host_bytes() -> int | None:
    """Bytes of memory the host can give without swapping (Linux ``MemAvailable``), else free physical pages;
    None where neither is known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def short_of_host_memory(need: int) -> int | None:
    """The host's available bytes when ``need`` bytes would take more than its share of them (the caller then
    refuses, naming what needs the memory); None when they fit or the host cannot tell."""
    free = available_host_bytes()
    return free if free is not None and need > HOST_MEMORY_FRACTION * free else None


_malloc_trim = None


def release_freed_memory() -> None:
    """Give the pages freed inside the heap back to the OS (glibc's ``malloc_trim``; nothing elsewhere).

    A big projection is drawn in many chunk-sized arrays; once they are joined, the heap they leave is fragmented
    and its free pages stay with the process, out of reach of the memory checks and of the next large allocation
    (20 M connections: 650 MB more at the peak of the first run)."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)
