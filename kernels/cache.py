"""On-disk cache of compiled kernel modules.

The key hashes the source, compile options, dialect, device identity (vendor, name, driver,
compute capability), compiler version and package version; an unchanged model never recompiles.
Entries are written atomically (temporary file, then ``os.replace``) with the source beside the
binary, and memoised in process on the same key.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

CACHE_ENV = "PYNN_GPU_CACHE_DIR"
_memory: dict = {}


def cache_dir() -> Path:
    """The cache folder: ``$PYNN_GPU_CACHE_DIR`` or ``~/.cache/pynn-gpu/kernels``."""
    base = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "pynn-gpu", "kernels")
    return Path(base)


def package_version() -> str:
    try:
        from importlib.metadata import version
        return version("pynn-gpu")
    except Exception:  # not installed (source tree): the source hash still keys the entry
        return "dev"


def cache_key(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def load(key: str):
    """Return the cached binary for ``key`` or None."""
    if key in _memory:
        return _memory[key]
    path = cache_dir() / f"{key}.bin"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # the first 64 bytes are the hex digest of the rest: a torn write is detected and ignored
    if len(data) < 64 or hashlib.sha256(data[64:]).hexdigest().encode() != data[:64]:
        return None
    _memory[key] = data[64:]
    return data[64:]


def store(key: str, binary: bytes, source: str):
    """Store ``binary`` (and ``source`` beside it, for reading) under ``key``; failures only cost speed."""
    _memory[key] = binary
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, payload in ((f"{key}.c", source.encode()),
                              (f"{key}.bin", hashlib.sha256(binary).hexdigest().encode() + binary)):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, folder / name)
    except OSError:
        pass
