"""Procedural connectivity: connections drawn anew from the counter-based RNG at every presynaptic spike instead of
stored (GeNN's PROCEDURAL connectivity), and the host's reproduction of the same draws.

Fixed-probability connectivity.  Presynaptic cell ``i`` walks the candidate targets ``j = 0, 1, ...`` by
geometric gaps, ``j <- j + 1 + gap``, ``gap`` being the number of failed Bernoulli(p) trials before the next
success.  A gap is one 32-bit Philox word ``u`` inverted through a table of integer thresholds,
``T[k] = round(2^32 (1 - p)^(k + 1))`` for ``k < K``: the gap is the number of entries above ``u``, so
``P(gap > k) = T[k] / 2^32 = (1 - p)^(k + 1)``.  Where all ``K`` entries are above ``u`` the gap is at least ``K``
and, the distribution having no memory, ``K`` plus a gap drawn from the next word.  Only integer comparisons: the
kernel on any device and the host draw the same connections, bit for bit.

The words: Philox4x32-10 keyed by the network's seed, counter ``(0xFFFFFFFF, i, stream, block)``, the four words
of each block in turn (``pg_philox`` in the kernels' prelude); ``stream`` is the projection's.  Without
self-connections a candidate ``j == i`` (or ``j == i + shift`` for views of one population) is passed over (its
word still used).

Fixed total number, with replacement (GeNN's FixedNumberTotalWithReplacement), and fixed number per presynaptic
cell (FixedNumberPostWithReplacement).  The number of connections of each presynaptic cell (a multinomial split of
the total, drawn on the host by numpy from the seed and the stream; or the fixed number) is uploaded; the ``k``-th
target of cell ``i`` is ``floor(u_k n_post / 2^32)`` (the high word of an integer product), ``u_k`` the ``k``-th
word of the same counter as above.

Random weights and delays.  The weight of the ``k``-th connection of cell ``i`` (in the order drawn) is a function
of the first word of the Philox block at counter ``(0xFFFFFFFE, i, stream, k << 6 | attempt)``, its delay of the
second (one block serves both), drawn in the device's precision with each product rounded on its own (as the kernels
write it), so the host computes the same values:

- ``uniform``: ``low + (high - low) * x``, ``x`` the word's 24 (single precision) or 32 bits in [0, 1);
- ``normal_clipped``: ``mu + sigma * z``, ``z`` the word inverted through the normal table of the noise
  sources (``pg_normal_of``), drawn again (from the next ``attempt``'s block) while outside ``[low, high]``; the
  bounds must keep at least half the distribution, so 64 attempts fail with probability below 2^-64.

A delay in ms becomes ``floor(d / dt + 0.5)`` steps, computed in the device's precision (delay_steps).
"""
from __future__ import annotations

import numpy as np

from .library.current_sources import normal_of_words, philox_block

#: Counter word c0 of connectivity draws: no step of a run reaches it, so they never meet the draws of a run.
CONNECTIVITY_COUNTER = 0xFFFFFFFF
#: Counter word c0 of the draws of weights and delays.
VALUE_COUNTER = 0xFFFFFFFE
#: The word of a connection's block its weight and its delay are drawn from.
WEIGHT_WORD, DELAY_WORD = 0, 1
#: Bits of a connection's counter for its attempts (a clipped normal draws again while out of its bounds).
ATTEMPT_BITS = 6
#: The most entries in a gap table.
MAX_TABLE = 1 << 12


def scalar_type(precision: str):
    """numpy's type for the device's ``scalar`` in ``precision`` ('single' or 'double')."""
    return np.float64 if precision == "double" else np.float32


def _key(seed: int) -> tuple:
    """The Philox key (k0, k1) of the network's 64-bit ``seed``."""
    return seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF


def gap_table(p: float) -> np.ndarray:
    """The thresholds ``T[k] = round(2^32 (1 - p)^(k + 1))`` (uint32) down to the last that is at least 1, at most
    MAX_TABLE of them; empty for p = 1 (every candidate is a target)."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"connection probability {p} must be in (0, 1]")
    if p == 1.0:
        return np.zeros(0, np.uint32)
    log_q = np.log1p(-p)
    # the last k with 2^32 q^(k + 1) >= 0.5, i.e. a threshold that rounds to 1 or more
    length = int(min(MAX_TABLE, np.floor((np.log(0.5) - 32 * np.log(2.0)) / log_q)))
    k = np.arange(max(length, 0), dtype=np.float64)
    table = np.rint(np.exp((k + 1) * log_q + 32 * np.log(2.0)))
    return np.minimum(table, 2.0 ** 32 - 1).astype(np.uint32)


def gaps(words: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The number of entries of ``table`` (decreasing) above each word: the gap a word draws (``len(table)``: at
    least that, with more from the next word)."""
    return len(table) - np.searchsorted(table[::-1], words, side="right")


def fixed_probability(n_pre: int, n_post: int, p: float, seed: int, stream: int, self_shift: int | None = None):
    """``(pre, post)``: the connections the kernels draw for a fixed-probability projection of ``n_pre`` x
    ``n_post`` cells, by presynaptic cell and then target (``self_shift``: without ``j == i + self_shift``, the
    cell itself where pre and post are views of one population)."""
    table = gap_table(p)
    size = len(table)
    k0, k1 = _key(seed)
    rows = np.arange(n_pre, dtype=np.int64)
    position = np.full(n_pre, -1, np.int64)     # each row's last candidate
    pending = np.zeros(n_pre, np.int64)         # gap drawn so far, where it continues into the next word
    pre, post = [], []
    words = None
    n = 0                                        # words used by every row still active
    while rows.size:
        if n % 4 == 0:
            words = philox_block(CONNECTIVITY_COUNTER, rows, stream, n // 4, k0, k1)
        gap = gaps(words[n % 4].astype(np.uint32), table) if size else np.zeros(rows.size, np.int64)
        pending += gap
        # a gap complete (or already past every candidate); with no table (p = 1) every gap is 0
        done = (gap < size) | (size == 0) | (pending >= n_post)
        position[done] += 1 + pending[done]
        pending[done] = 0
        hit = done & (position < n_post)
        if self_shift is not None:
            hit &= position != rows + self_shift
        pre.append(rows[hit])
        post.append(position[hit])
        keep = ~(done & (position >= n_post))
        rows, position, pending = rows[keep], position[keep], pending[keep]
        words = [w[keep] for w in words]
        n += 1
    pre = np.concatenate(pre) if pre else np.zeros(0, np.int64)
    post = np.concatenate(post) if post else np.zeros(0, np.int64)
    order = np.lexsort((post, pre))
    return pre[order], post[order]


def row_lengths(n_pre: int, n_total: int, seed: int, stream: int) -> np.ndarray:
    """How many of ``n_total`` connections (each from a presynaptic cell drawn uniformly) each cell has."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([*_key(seed), stream])))
    return rng.multinomial(n_total, np.full(n_pre, 1.0 / n_pre)).astype(np.int64)


def procedural_rows(group, seed: int) -> np.ndarray:
    """The row lengths of a procedural group whose rows are drawn with replacement (network.ProceduralGroup)."""
    if group.n_per_pre is not None:
        return np.full(group.n_pre, group.n_per_pre, np.int64)
    return row_lengths(group.n_pre, group.n_total, seed, group.stream)


def fixed_total_number(n_pre: int, n_post: int, n_total: int, seed: int, stream: int):
    """``(pre, post)``: the connections the kernels draw for a fixed-total-number projection with replacement, by
    presynaptic cell and then in the order drawn."""
    return with_replacement(row_lengths(n_pre, n_total, seed, stream), n_post, seed, stream)


def with_replacement(lengths: np.ndarray, n_post: int, seed: int, stream: int):
    """``(pre, post)``: ``lengths[i]`` targets of each presynaptic cell ``i`` drawn uniformly with replacement (a
    fixed total number, or a fixed number per cell), by presynaptic cell and then in the order drawn."""
    n_pre = len(lengths)
    pre = np.repeat(np.arange(n_pre, dtype=np.int64), lengths)
    k = row_ranks(pre)
    k0, k1 = _key(seed)
    post = np.empty(len(pre), np.int64)
    chunk = 1 << 22
    for a in range(0, len(pre), chunk):          # bounded memory: the four words of every block in turn
        words = philox_block(CONNECTIVITY_COUNTER, pre[a:a + chunk], stream, k[a:a + chunk] >> 2, k0, k1)
        word = np.choose((k[a:a + chunk] & 3).astype(np.int64), words)
        post[a:a + chunk] = ((word * np.uint64(n_post)) >> np.uint64(32)).astype(np.int64)
    return pre, post


def row_ranks(pre: np.ndarray) -> np.ndarray:
    """For connections sorted by presynaptic cell, each one's place ``k`` in its cell's row."""
    pre = np.asarray(pre, np.int64)
    if not len(pre):
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, pre[1:] != pre[:-1]])
    return np.arange(len(pre)) - np.repeat(starts, np.diff(np.r_[starts, len(pre)]))


def uniform_spread(params: dict, precision: str) -> float:
    """``high - low`` of a uniform weight, as the device's precision computes it (a literal of the kernels)."""
    dtype = scalar_type(precision)
    return float(dtype(dtype(params["high"]) - dtype(params["low"])))


def values(pre: np.ndarray, kind: str, params: dict, seed: int, stream: int, precision: str,
           word: int = WEIGHT_WORD) -> np.ndarray:
    """The values the kernels draw (weights, or with DELAY_WORD delays in ms) for connections ``pre`` (sorted by
    presynaptic cell, each row in the order drawn) of a projection, from ``kind`` ('uniform': low, high;
    'normal_clipped': mu, sigma, low, high), in the device's ``precision``."""
    dtype = scalar_type(precision)
    pre = np.asarray(pre, np.int64)
    place = row_ranks(pre) << ATTEMPT_BITS
    k0, k1 = _key(seed)
    if kind == "uniform":
        r = philox_block(VALUE_COUNTER, pre, stream, place, k0, k1)[word]
        x = (r.astype(np.float64) * 2.0 ** -32) if dtype == np.float64 else \
            ((r >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24))
        low, spread = dtype(params["low"]), dtype(uniform_spread(params, precision))
        return (low + (spread * x.astype(dtype)).astype(dtype)).astype(np.float64)
    out = np.empty(len(pre), dtype)
    todo = np.arange(len(pre))
    for attempt in range(1 << ATTEMPT_BITS):
        r = philox_block(VALUE_COUNTER, pre[todo], stream, place[todo] | attempt, k0, k1)[word]
        v = normal_of_words(r, params["mu"], params["sigma"], dtype)
        out[todo] = v
        todo = todo[(v < dtype(params["low"])) | (v > dtype(params["high"]))]
        if not len(todo):
            break
    return out.astype(np.float64)


def delay_steps(delays, dt: float, precision: str) -> np.ndarray:
    """Drawn delays (ms) in steps as the kernels round them: ``floor(d * (1 / dt) + 0.5)`` in the device's
    precision (so on the host too), each operation rounded on its own."""
    dtype = scalar_type(precision)
    scaled = (np.asarray(delays).astype(dtype) * dtype(1.0 / dt)).astype(dtype)
    return np.floor((scaled + dtype(0.5)).astype(dtype)).astype(np.int64)
