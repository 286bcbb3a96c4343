"""Built-in current-source models, the host tables their snippets read, and the host evaluation of
the current they inject (the recorded current).

Timing follows NEST as pyNN.nest drives it (reference/numerics.md section 4): with ``d`` the minimum
delay in steps, a NEST device value of device step ``s`` reaches the neuron in step ``s + d + 1``, and
pyNN.nest moves every time ``t`` to ``max(t - min_delay, 0)``.  Seen from the neuron, the step
``n`` (starting at ``n * dt``) receives:

- ``DCSource``: ``amplitude`` for ``on <= n < off``, with ``on = max(rint(start'/dt) + d, d + 1)`` and
  ``off = rint(stop'/dt) + d`` (``x' = max(x - min_delay, 0)``).  Nothing acts before
  ``min_delay + dt``; for ``start >= min_delay + dt`` the window is ``[start, stop)``.
- ``ACSource``: ``offset + amplitude * sin(2 pi f (n dt - t0) / 1000 + phase)`` in the same window,
  ``t0 = min_delay + start'`` (= ``max(start, min_delay)``): the phase refers to ``start``.
- ``StepCurrentSource``: each amplitude acts from step ``max(rint(t'/dt) + d, d + 1)``, of equal steps
  the last; a step uses the last amplitude whose step is not later, before the first 0.
  (NEST's four stages: shift, clamp of early times to ``dt``, rounding with duplicates dropped,
  switching in device step ``stamp - 1`` -- they net to this.)
- ``NoisyCurrentSource``: in the window, ``mean + stdev * z`` per target, ``z`` standard normal and
  redrawn every ``dt_noise`` (a whole number of steps) counted from ``on``.  ``z`` comes from the
  kernels' Philox4x32-10 keyed by (seed; step of the draw, target's index in its group, the source's
  stream ``SOURCE_STREAM_BIT | source index``, the group's RNG stream): independent of thread and
  network layout, so :func:`noise_current` regenerates the device's draws bit for bit.

All step numbers live in int arrays (extra globals), so onsets stay exact past 2**24 steps in single
precision.  The snippets see only those arrays and the scalar parameters: every rule above is
applied here, on the host, and a parameter change between runs only re-uploads the arrays.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from ..models import CurrentSourceModel

INT_MAX = 2**31 - 1
INT_MIN = -2**31

#: Switches a StepCurrentSource snippet scans after its bucket's first one.
STEP_SCAN = 8
#: Header of a StepCurrentSource's int array: log2(bucket), last bucket, bucket-table offset.
STEP_HEADER = 3
#: Name of the kernel argument holding the normal-deviate table (one per kernel, shared by all sources).
NORMAL_TABLE = "pg_normal_table"
#: High bit of the RNG stream word of a noisy current source: disjoint from the neuron groups' streams.
SOURCE_STREAM_BIT = 0x80000000


# ---- step arithmetic ------------------------------------------------------------------------------

def delay_steps(min_delay: float, dt: float) -> int:
    """The minimum delay in whole steps (``d``)."""
    return int(round(min_delay / dt))


def _clip32(x) -> np.ndarray:
    return np.clip(np.asarray(x, np.float64), INT_MIN, INT_MAX).astype(np.int64)


def _shifted_steps(t, min_delay: float, dt: float) -> np.ndarray:
    """NEST's device step stamps of times ``t`` after pyNN.nest's shift by ``min_delay`` (clamped at 0)."""
    shifted = np.maximum(np.asarray(t, np.float64) - min_delay, 0.0)
    return np.rint(shifted / dt)


def window(start: float, stop: float, dt: float, min_delay: float) -> tuple[int, int]:
    """``(on, off)``: the neuron steps ``on <= n < off`` in which a NEST stimulation device acts."""
    d = delay_steps(min_delay, dt)
    on = max(float(_shifted_steps(start, min_delay, dt)) + d, d + 1)
    off = float(_shifted_steps(stop, min_delay, dt)) + d
    return int(_clip32(on)), int(_clip32(off))


def window_active(steps, on: int, off: int) -> np.ndarray:
    steps = np.asarray(steps)
    return (steps >= on) & (steps < off)


# ---- DCSource -------------------------------------------------------------------------------------

#: Constant ``amplitude`` (nA) in the window ``window[0] <= step < window[1]``.
DC = CurrentSourceModel(name="DCSource", params=("amplitude",), extra_globals=(("window", "int"),),
                        injection_code="(step >= window[0] && step < window[1]) ? amplitude : 0.0")


def dc_arrays(p: dict, dt: float) -> dict:
    return {"window": np.array(window(p["start"], p["stop"], dt, p["min_delay"]), np.int32)}


def dc_current(p: dict, arrays: dict, steps, dt: float) -> np.ndarray:
    on, off = arrays["window"]
    return np.where(window_active(steps, on, off), float(p["amplitude"]), 0.0)


# ---- ACSource -------------------------------------------------------------------------------------

# The phase in cycles is a 32-bit fixed-point number: step * increment (64-bit increment: high word
# times the step plus the high word of the low product) + phase at step 0, all modulo 2**32, so the
# phase keeps full precision however long the run; read as a signed fraction in [-1/2, 1/2).
_AC_PHASE = ("(scalar)(int)((unsigned int)step * (unsigned int)ac[2] + mulhi((unsigned int)step, (unsigned int)ac[3])"
             " + (unsigned int)ac[4]) * 2.3283064365386963e-10")

#: ``offset + amplitude * sin(2 pi phase)`` in the window ``ac[0] <= step < ac[1]``; ``ac[2..4]`` the phase.
AC = CurrentSourceModel(name="ACSource", params=("amplitude", "offset"), extra_globals=(("ac", "int"),),
                        injection_code="(step >= ac[0] && step < ac[1]) ? "
                                       f"offset + amplitude * sin(6.283185307179586 * {_AC_PHASE}) : 0.0")


def _ac_t0(p: dict) -> float:
    """The time (ms) at which the phase is ``phase``: ``min_delay + start'`` as pyNN.nest sets it."""
    return p["min_delay"] + max(p["start"] - p["min_delay"], 0.0)


def _cycles(x: float) -> Fraction:
    return Fraction(x) - math.floor(Fraction(x))


def ac_arrays(p: dict, dt: float) -> dict:
    on, off = window(p["start"], p["stop"], dt, p["min_delay"])
    increment = int(_cycles(p["frequency"] * dt / 1000.0) * 2**64) % 2**64
    phase0 = _cycles(p["phase"] / 360.0 - p["frequency"] * _ac_t0(p) / 1000.0)
    words = [on, off, increment >> 32, increment & 0xFFFFFFFF, round(phase0 * 2**32) % 2**32]
    return {"ac": _as_int32(words)}


def _as_int32(words) -> np.ndarray:
    """Signed or unsigned 32-bit words as int32 (the bit pattern is kept)."""
    return np.array([int(w) % 2**32 for w in words], np.uint32).view(np.int32)


def ac_current(p: dict, arrays: dict, steps, dt: float) -> np.ndarray:
    on, off = arrays["ac"][:2]
    steps = np.asarray(steps)
    omega = 2.0 * np.pi * p["frequency"] / 1000.0
    value = p["offset"] + p["amplitude"] * np.sin(omega * (steps * dt - _ac_t0(p)) + np.deg2rad(p["phase"]))
    return np.where(window_active(steps, on, off), value, 0.0)


# ---- StepCurrentSource ----------------------------------------------------------------------------

def _step_segment_expr() -> str:
    """The snippet expression for the index of the amplitude in force at ``step``.

    ``sched`` holds the header, then the switch steps of segments 0..S (segment 0 is 'before the
    first time', at INT_MIN) padded with STEP_SCAN INT_MAX sentinels, then a bucket table: for the
    bucket of ``step`` (2**sched[0] steps wide) the segment in force at the bucket's first step.
    At most STEP_SCAN switches follow within a bucket, so a fixed scan finishes the look-up.
    """
    first = "sched[sched[2] + min(step >> sched[0], sched[1])]"
    scan = " + ".join(f"(sched[{STEP_HEADER} + {first} + {m}] <= step)" for m in range(1, STEP_SCAN + 1))
    return f"{first} + {scan}"


#: The amplitude of the last switch not after ``step`` (segment 0, before the first switch: 0).
STEP = CurrentSourceModel(name="StepCurrentSource", extra_globals=(("sched", "int"), ("amps", "scalar")),
                          injection_code=f"amps[{_step_segment_expr()}]")


def step_switches(times, amplitudes, dt: float, min_delay: float) -> tuple[np.ndarray, np.ndarray]:
    """The neuron steps from which the amplitudes act, and those amplitudes (NEST's four stages).

    ``times`` (ms, increasing) act from ``rint(max(t - min_delay, 0)/dt) + d``, but not before
    ``d + 1``; of several amplitudes switching at one step the last is kept.
    """
    times = np.asarray(times, np.float64)
    amplitudes = np.asarray(amplitudes, np.float64)
    d = delay_steps(min_delay, dt)
    steps = np.maximum(_clip32(_shifted_steps(times, min_delay, dt) + d), d + 1)
    keep = np.append(steps[1:] != steps[:-1], True) if len(steps) else np.zeros(0, bool)
    return steps[keep], amplitudes[keep]


def _bucket_log2(steps: np.ndarray) -> int:
    """The widest bucket (a power of two steps) that holds at most STEP_SCAN switches after its start."""
    for log2 in range(30, -1, -1):
        bucket = steps >> log2
        inside = steps != (bucket << log2)
        if not inside.any() or np.bincount(bucket[inside]).max() <= STEP_SCAN:
            return log2
    return 0


def step_arrays(p: dict, dt: float) -> dict:
    steps, amps = step_switches(p["times"], p["amplitudes"], dt, p["min_delay"])
    log2 = _bucket_log2(steps)
    n_buckets = int(steps[-1] >> log2) + 1 if len(steps) else 1
    first = np.searchsorted(steps, np.arange(n_buckets, dtype=np.int64) << log2, side="right")
    table_at = STEP_HEADER + 1 + len(steps) + STEP_SCAN
    sched = np.concatenate([[log2, n_buckets - 1, table_at, INT_MIN], steps, [INT_MAX] * STEP_SCAN, first])
    return {"sched": sched.astype(np.int32), "amps": np.concatenate([[0.0], amps])}


def step_current(p: dict, arrays: dict, steps, dt: float) -> np.ndarray:
    sched, amps = arrays["sched"], np.asarray(arrays["amps"], np.float64)
    switches = sched[STEP_HEADER + 1:STEP_HEADER + len(amps)].astype(np.int64)
    return amps[np.searchsorted(switches, np.asarray(steps, np.int64), side="right")]


# ---- NoisyCurrentSource ---------------------------------------------------------------------------

#: ``mean + stdev * z`` in the window ``noise[0] <= step < noise[1]``, ``z`` drawn at ``noise[0]`` and every
#: ``noise[2]`` steps after it, per target; ``noise[3]`` is the RNG stream of the source.  With a draw every step
#: (PyNN's default dt) the step itself is the draw's: the integer division is skipped (20,000 targets: 19 -> 14.6
#: ns a cell-step).
NOISY = CurrentSourceModel(
    name="NoisyCurrentSource", params=("mean", "stdev"), extra_globals=(("noise", "int"),),
    injection_code="(step >= noise[0] && step < noise[1]) ? "
                   "normal_at(noise[3], noise[2] == 1 ? step : noise[0] + (step - noise[0]) / noise[2] * noise[2], "
                   "mean, stdev) : 0.0")


def noise_arrays(p: dict, dt: float) -> dict:
    on, off = window(p["start"], p["stop"], dt, p["min_delay"])
    interval = max(int(round(p["dt"] / dt)), 1)
    return {"noise": _as_int32([on, off, interval, SOURCE_STREAM_BIT | int(p["stream"])])}


def noise_draw_steps(arrays: dict, steps) -> np.ndarray:
    """The step of the draw in force at each of ``steps`` (the RNG counter), -1 outside the window."""
    on, off, interval = (int(x) for x in arrays["noise"][:3])
    steps = np.asarray(steps, np.int64)
    draw = on + (steps - on) // interval * interval
    return np.where(window_active(steps, on, off), draw, -1)


def noise_current(p: dict, arrays: dict, steps, targets, seed: int, precision: str) -> np.ndarray:
    """The device's draws, averaged over ``targets`` as NEST records them: ``targets`` is a list of
    ``(group rng stream, local indices)``; bit-exact with the kernel (same Philox counter, same table,
    same rounding)."""
    dtype = np.float64 if precision == "double" else np.float32
    draws = noise_draw_steps(arrays, steps)
    out = np.zeros(len(draws))
    active = draws >= 0
    keys, where = np.unique(draws[active], return_inverse=True)
    n_targets = sum(len(idx) for _, idx in targets)
    if not len(keys) or not n_targets:
        return out
    stream = int(arrays["noise"][3]) % 2**32
    total = np.zeros(len(keys))
    for group_stream, idx in targets:
        idx = np.asarray(idx, np.int64)
        rows = max(1, 2**20 // len(idx))          # bounded memory: ~1e6 draws at a time
        for k in range(0, len(keys), rows):
            values = normal_values(seed, keys[k:k + rows, None], idx[None, :], stream, group_stream,
                                   p["mean"], p["stdev"], dtype)
            total[k:k + rows] += values.astype(np.float64).sum(axis=1)
    out[active] = (total / n_targets)[where]
    return out


# ---- the normal deviate: table and host reproduction ----------------------------------------------

@lru_cache(maxsize=None)
def _normal_table64() -> np.ndarray:
    """Means of the standard normal over the bins of the inversion in ``pg_normal`` (kernels prelude).

    Entries 0..65535: the mean over each 2**-16 bin of the uniform; 65536..131071: over each 2**-32
    sub-bin of the lowest bin (the highest mirrors it).  The mean over a bin [a, b] of the normal is
    (phi(a) - phi(b)) / (Phi(b) - Phi(a)), so the discrete deviate has mean 0 and variance 1 - 1.5e-7
    (the spread inside the bins); its smallest and largest values are -/+6.4.
    """
    nd = NormalDist()

    def bin_means(edges_p, width):
        x = np.array([-math.inf if q <= 0 else nd.inv_cdf(q) for q in edges_p])
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (pdf[:-1] - pdf[1:]) / width

    half = bin_means([k * 2.0**-16 for k in range(32769)], 2.0**-16)
    centre = np.concatenate([half, -half[::-1]])
    tail = bin_means([k * 2.0**-32 for k in range(65537)], 2.0**-32)
    return np.concatenate([centre, tail])


@lru_cache(maxsize=None)
def normal_table(precision: str) -> np.ndarray:
    """The table in the device's precision ('single' or 'double'); read-only."""
    table = _normal_table64().astype(np.float64 if precision == "double" else np.float32)
    table.flags.writeable = False
    return table


_M0, _M1, _W0, _W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def philox_block(c0, c1, c2, c3, k0, k1) -> tuple:
    """The four output words of Philox4x32-10 for counters (c0, c1, c2, c3) and key (k0, k1), in the order
    ``pg_philox`` returns them (as uint64 arrays)."""
    c0, c1, c2, c3 = (np.asarray(c, np.uint64) & _MASK for c in np.broadcast_arrays(c0, c1, c2, c3))
    k0, k1 = np.uint64(k0 & 0xFFFFFFFF), np.uint64(k1 & 0xFFFFFFFF)
    for _ in range(10):
        p0, p1 = np.uint64(_M0) * c0, np.uint64(_M1) * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK
        k0, k1 = (k0 + np.uint64(_W0)) & _MASK, (k1 + np.uint64(_W1)) & _MASK
    return c0, c1, c2, c3


def philox(c0, c1, c2, c3, k0, k1) -> np.ndarray:
    """First output word of Philox4x32-10 for counters (c0, c1, c2, c3) and key (k0, k1), as ``pg_philox``."""
    return philox_block(c0, c1, c2, c3, k0, k1)[0]


def normal_values(seed: int, step, element, stream: int, group: int, mu: float, sigma: float,
                  dtype=np.float32) -> np.ndarray:
    """``mu + sigma * z`` exactly as ``pg_normal(table, seed_lo, seed_hi, element, group, stream, step, mu, sigma)``:
    the device rounds sigma * z on its own, then adds mu, as numpy's float32 (float64) operations do."""
    seed = int(seed) % 2**64
    return normal_of_words(philox(step, element, stream, group, seed & 0xFFFFFFFF, seed >> 32), mu, sigma, dtype)


def normal_of_words(r, mu: float, sigma: float, dtype=np.float32) -> np.ndarray:
    """``mu + sigma * z`` for the 32-bit words ``r``, exactly as ``pg_normal_of(table, r, mu, sigma)``."""
    hi, lo = (r >> np.uint64(16)).astype(np.int64), (r & np.uint64(0xFFFF)).astype(np.int64)
    table = normal_table("double" if dtype == np.float64 else "single")
    z = np.where(hi == 0, table[65536 + lo], np.where(hi == 0xFFFF, -table[65536 + 0xFFFF - lo], table[hi]))
    return dtype(mu) + (dtype(sigma) * z.astype(dtype)).astype(dtype)


# ---- per model ------------------------------------------------------------------------------------

#: Model name -> function(params, dt) -> the model's extra-global arrays.
ARRAYS = {DC.name: dc_arrays, AC.name: ac_arrays, STEP.name: step_arrays, NOISY.name: noise_arrays}
#: The library's own models: their injection code may call the internal helpers mulhi() and normal_at().
LIBRARY_SOURCES = (DC, AC, STEP, NOISY)
#: Model name -> function(params, arrays, steps, dt) -> the current (nA) each step receives (not NOISY).
CURRENT = {DC.name: dc_current, AC.name: ac_current, STEP.name: step_current}
