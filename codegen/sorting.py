"""Stable orderings of small non-negative integer keys (neuron indices), in linear time."""
from __future__ import annotations

import numpy as np


def stable_order(keys, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, bound)``.

    NumPy sorts 16-bit keys by radix (about ten times faster than its merge sort of wider ones), so wider keys go
    through two 16-bit passes: low half, then high half.
    """
    keys = np.asarray(keys)
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if bound <= 1 << 32:
        low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
        return low[np.argsort((keys[low] >> 16).astype(np.uint16), kind="stable")]
    return np.argsort(keys, kind="stable")


def index_dtype(bound: int):
    """The integer type for indices below ``bound``: int32 where it fits, half the memory of NumPy's int64 for the
    arrays kept per connection (indices, orderings, delays)."""
    return np.int32 if bound <= 1 << 31 else np.int64


def compact(values) -> np.ndarray:
    """Integer ``values`` as int32 if they all fit, else as they are."""
    values = np.asarray(values)
    if values.size and values.dtype != np.int32 and (values.min() < -(1 << 31) or values.max() >= 1 << 31):
        return values
    return values.astype(np.int32, copy=False)
