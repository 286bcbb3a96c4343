"""NEST's conversions from times in ms to steps, computed on 1 us tics as NEST does."""
import numpy as np

TICS_PER_MS = 1000


#: Times beyond this (ms, about 290 years) are all "never": their tics would not fit 64 bits.
NEVER_MS = 2.0 ** 62 / TICS_PER_MS


def _tics(t):
    return np.rint(np.minimum(np.asarray(t, dtype=float), NEVER_MS) * TICS_PER_MS).astype(np.int64)


def steps_ceil(t, dt):
    """ceil(t / dt) on tics: refractory counts and spike stamps (0.15 ms at dt 0.1 -> 2)."""
    step = _tics(dt)
    return -(-_tics(t) // step)


def ms_per_step(dt) -> float:
    """NEST's ``Range::MS_PER_STEP``: the timestep rounded to whole tics, in ms."""
    return float(np.floor(float(dt) * TICS_PER_MS + 0.5)) / TICS_PER_MS


def steps_round(t, dt):
    """Delays in steps as NEST's ``Time::delay_ms_to_steps``: ``floor(t * STEPS_PER_MS + 0.5)`` in double
    precision, with ``STEPS_PER_MS = 1 / MS_PER_STEP``; no rounding to tics first, so at dt 0.1 0.1499 -> 1,
    0.15 -> 2, 0.2497 -> 2, 1.0496 -> 10."""
    return np.floor(np.asarray(t, dtype=float) * (1.0 / ms_per_step(dt)) + 0.5).astype(np.int64)


def steps_to_ms(steps, dt):
    """Delays in steps back to ms as NEST reports them (``Time::delay_steps_to_ms``: 3 steps of 0.1 -> 3 * 0.1)."""
    return np.asarray(steps, dtype=float) * ms_per_step(dt)


def on_grid(value: float, dt: float) -> bool:
    """Is ``value`` (ms) a whole number of steps (to rounding)?  NEST refuses device times that are not."""
    k = np.asarray(value, dtype=float) / dt
    return bool(np.all(np.abs(k - np.rint(k)) <= 1e-9 * np.maximum(1.0, np.abs(k))))
