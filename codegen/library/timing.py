"""NEST's conversions from times in ms to steps, computed on 1 us tics as NEST does."""
import numpy as np

TICS_PER_MS = 1000


def _tics(t):
    return np.rint(np.asarray(t, dtype=float) * TICS_PER_MS).astype(np.int64)


def steps_ceil(t, dt):
    """ceil(t / dt) on tics: refractory counts and spike stamps (0.15 ms at dt 0.1 -> 2)."""
    step = _tics(dt)
    return -(-_tics(t) // step)


def steps_round(t, dt):
    """Nearest step, halves up: delays (0.15 ms at dt 0.1 -> 2; 1.04 -> 10)."""
    step = _tics(dt)
    t = np.asarray(t, dtype=float)
    if t.size > 1 and t.min() == t.max():      # one delay for all (usual): converted once
        return np.full(t.shape, (2 * _tics(t.flat[0]) + step) // (2 * step), np.int64)
    return (2 * _tics(t) + step) // (2 * step)
