"""
Connectors for pyNN.gpu.

All of PyNN's connectors are re-exported. AllToAll, OneToOne, FixedProbability, FixedNumberPre,
FixedNumberPost, FixedTotalNumber, Array, FromList and FromFile connectors are replaced by subclasses
of the same name whose ``connect()`` builds the connections with whole-array numpy operations and
hands them to the projection in chunks, through ``projection._reserve_connections(n)`` and then
``projection._add_connections(pre_indices, post_indices, **native_params)``.

The result is the same as PyNN's generic path (``MapConnector._standard_connect``, one
``_convergent_connect`` call per postsynaptic cell): the same connections in the same post-major
order, the same parameter values (constant, array, RandomDistribution or function of distance), and
the same use of every ``NumpyRNG``, so a given seed builds the same network as ``pyNN.nest``. Where
that cannot be guaranteed the generic path is used: projections without ``_add_connections``, MPI,
location selectors, RNGs other than ``NumpyRNG``, index-based parameter expressions, distance
expressions on an Assembly, an RNG the connector draws from between columns that a synaptic
parameter (or a pending position draw) also uses, and the argument combinations for which PyNN's own
code fails. ``callback`` is called once, with 1.0, at the end.

:copyright: Copyright 2006-2026 by the PyNN team, see AUTHORS.
:license: CeCILL, see LICENSE for details.
"""

import logging
from copy import deepcopy

import numpy as np
from lazyarray import larray

from pyNN import connectors as _pynn
from pyNN import errors
from pyNN.connectors import *  # noqa: F401,F403
from pyNN.connectors import _get_rng  # noqa: F401  (not exported by the star import)
from pyNN.common.populations import BasePopulation
from pyNN.parameters import LazyArray
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.space import Space
from pyNN.standardmodels import StandardSynapseType

from .codegen.sorting import stable_order
from .rng import NativeRNG

logger = logging.getLogger("PyNN")

#: Upper bound on the number of candidate pairs or connections processed at once.
CHUNK_SIZE = 1 << 20

# numpy's legacy RandomState draws these element by element, so n draws in one call give the
# same numbers as the same n draws split over several calls. "normal_clipped" redraws
# out-of-range values only after the whole call, so its values depend on how draws are split.
_SPLIT_INVARIANT = frozenset(("binomial", "gamma", "exponential", "lognormal", "normal",
                              "normal_clipped_to_boundary", "poisson", "uniform", "uniform_int",
                              "vonmises"))


class _Fallback(Exception):
    """The fast path cannot guarantee PyNN's generic result; the message says why."""


def _numpy_rng(rng):
    """Return the RandomState inside a plain NumpyRNG or pyNN.gpu's NativeRNG (the same generator); other RNGs take
    the generic path."""
    if type(rng) not in (NumpyRNG, NativeRNG):
        raise _Fallback(f"RNG of type {type(rng).__name__}")
    return rng.rng


def _check_fast_path(connector, projection):
    if not hasattr(projection, "_add_connections"):
        raise _Fallback("projection has no _add_connections")
    if projection._simulator.state.num_processes > 1:
        raise _Fallback("MPI")
    if getattr(connector, "location_selector", None) is not None:
        raise _Fallback("location_selector")
    try:
        all_local = bool(np.all(np.asarray(projection.post._mask_local)))
    except Exception:
        all_local = False
    if not all_local:
        raise _Fallback("non-local postsynaptic cells")


def _cell_ids(population):
    return np.asarray(population.all_cells).astype(np.int64)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating, np.bool_))


def _deterministic(arr, shape):
    """True if `arr` can be evaluated at (pre, post) index pairs without drawing random numbers."""
    base = arr.base_value
    if not (_is_number(base) or (isinstance(base, np.ndarray) and base.shape == shape)):
        return False
    return _deterministic_operations(arr, shape)


def _deterministic_operations(arr, shape):
    return all(_deterministic(arg, shape) for _, arg in arr.operations if isinstance(arg, larray))


def _column_counts(post):
    """Run lengths of the (sorted) postsynaptic indices, i.e. connections per column."""
    if post.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.diff(post)) + 1
    return np.diff(np.concatenate(([0], starts, [post.size])))


def _column_chunks(counts, limit=CHUNK_SIZE):
    """Split columns into consecutive ranges of at most about `limit` connections each."""
    ends = np.cumsum(counts)
    c0 = 0
    while c0 < len(counts):
        offset = ends[c0 - 1] if c0 > 0 else 0
        c1 = int(np.searchsorted(ends, offset + limit, side="right"))
        c1 = min(max(c1, c0 + 1), len(counts))
        yield c0, c1
        c0 = c1


def _distance_placeholder(i, j):
    raise AssertionError("placeholder for the distance map, never evaluated")


def _pair_distances(space, pre_positions, post_positions):
    """
    Distances between the cells of each (pre, post) pair, computed element by element exactly as
    `Space.distances` computes them for one postsynaptic cell and many presynaptic cells.
    """
    a = pre_positions
    b = space.scale_factor * (post_positions + space.offset)
    d = np.zeros((len(space.axes), a.shape[0]), dtype=a.dtype)
    for k, axis in enumerate(space.axes):
        diff2 = a[:, axis] - b[:, axis]
        if space.periodic_boundaries is not None:
            boundaries = space.periodic_boundaries[axis]
            if boundaries is not None:
                range_ = boundaries[1] - boundaries[0]
                ad2 = abs(diff2)
                diff2 = np.minimum(ad2, range_ - ad2)
        diff2 **= 2
        d[k] = diff2
    d = np.sum(d, 0)
    np.sqrt(d, d)
    return d


def _pending_position_rngs(population):
    """RandomStates that will be used to generate positions not generated yet."""
    if hasattr(population, "grandparent"):
        population = population.grandparent
    if getattr(population, "_positions", True) is None and hasattr(population.structure, "rng"):
        try:
            return {id(_numpy_rng(population.structure.rng))}
        except _Fallback:
            return {None}
    return set()


class _SynapseParameters:
    """
    The projection's native synaptic parameters, evaluated for batches of connections in the way
    `MapConnector._standard_connect` evaluates them one column at a time.

    `connector_rngs`: RNGs the connector draws from between columns; parameters drawing from the
    same generator would interleave with them, which is left to the generic path.
    """

    def __init__(self, connector, projection, connector_rngs=()):
        shape = (projection.pre.size, projection.post.size)
        # a placeholder distance map marks the parameters that are functions of distance
        placeholder = LazyArray(_distance_placeholder, shape=shape)
        space = connector._parameters_from_synapse_type(projection, distance_map=placeholder)
        avoid = {id(_numpy_rng(rng)) for rng in connector_rngs}
        self.projection = projection
        self.positions = None
        self.items = []       # (native name, kind, scalar value or lazy array)
        streams = {}          # id(RandomState) -> names of the parameters that draw from it
        for name, value in space.items():
            if not isinstance(value, larray):
                raise _Fallback(f"parameter {name} is not a lazy array")
            base = value.base_value
            if value.is_homogeneous:
                scalar = value.evaluate(simplify=True)
                if not _is_number(scalar):
                    raise _Fallback(f"parameter {name} is not numeric")
                self.items.append((name, "const", scalar))
            elif isinstance(base, RandomDistribution):
                state = _numpy_rng(base.rng)
                if id(state) in avoid:
                    # the generic path interleaves the connector's draws with this parameter's
                    raise _Fallback(f"parameter {name} shares the connector's RNG")
                if not _deterministic_operations(value, shape):
                    raise _Fallback(f"random operands in parameter {name}")
                streams.setdefault(id(state), []).append(name)
                self.items.append((name, "random", value))
            elif base is _distance_placeholder:
                self._check_distances(projection, value, shape)
                self.items.append((name, "distance", value))
            elif _deterministic(value, shape):
                self.items.append((name, "array", value))
            else:
                raise _Fallback(f"parameter {name} needs index-based evaluation")
        if any(kind == "distance" for _, kind, _ in self.items):
            pending = _pending_position_rngs(projection.pre) | _pending_position_rngs(projection.post)
            if pending & (avoid | set(streams) | {None}):
                # positions drawn lazily in the middle of the generic loop: order not reproducible
                raise _Fallback("positions still to be drawn from an RNG in use")
        # Parameters drawing from one stream are drawn column by column, in parameter order, as
        # the generic path does; so is a distribution whose numbers depend on the split.
        self.sequential = []
        lazy = {name: value for name, kind, value in self.items if kind == "random"}
        for names in streams.values():
            if len(names) > 1 or lazy[names[0]].base_value.name not in _SPLIT_INVARIANT:
                self.sequential.append([(name, lazy[name]) for name in names])

    @staticmethod
    def _check_distances(projection, value, shape):
        if type(projection.space) is not Space:
            raise _Fallback("custom Space class")
        if not all(isinstance(p, BasePopulation) for p in (projection.pre, projection.post)):
            # an Assembly's position generator returns (3, n) arrays, which PyNN's distance code rejects
            raise _Fallback("distance-dependent parameter with an Assembly")
        function, arg = value.operations[0]
        if arg is not None or not _deterministic_operations(value, shape):
            raise _Fallback("unexpected operations on a distance map")

    def _distances(self, pre, post):
        if self.positions is None:
            # as PyNN's distance map: presynaptic positions first (they may be generated on access)
            self.positions = (self.projection.pre.positions.T, self.projection.post.positions.T)
        pre_positions, post_positions = self.positions
        return _pair_distances(self.projection.space, pre_positions[pre], post_positions[post])

    def evaluate(self, pre, post):
        """Values for connections (pre[k], post[k]), which must be whole columns in post-major order."""
        addr = (pre, post)
        raw = {}
        if self.sequential:
            counts = [int(c) for c in _column_counts(post)]
            for group in self.sequential:
                parts = {name: [] for name, _ in group}
                for count in counts:  # only RNG calls here: one per column and parameter
                    for name, value in group:
                        parts[name].append(value.base_value.next(count))
                for name, _ in group:
                    raw[name] = np.concatenate(parts[name])
        values = {}
        for name, kind, value in self.items:
            if kind == "const":
                values[name] = value
            elif kind == "array":
                values[name] = value._partially_evaluate(addr)
            elif kind == "distance":
                # the first operation is the user's function of distance, the rest unit conversions
                values[name] = value._apply_operations(self._distances(pre, post), addr)
            else:
                drawn = raw[name] if name in raw else value.base_value.next(pre.size)
                values[name] = value._apply_operations(drawn, addr)
        return values


#: The connectors that can draw their connections at every spike instead of storing them.
PROCEDURAL_CONNECTORS = ("FixedProbabilityConnector", "FixedTotalNumberConnector", "FixedNumberPostConnector")


class _VectorisedConnect:
    """Helpers shared by the vectorised connectors."""

    def __init__(self, *args, procedural=False, **kwargs):
        if procedural:      # (the connectors that can are the ones whose own __init__ takes it)
            raise NotImplementedError(f"{type(self).__name__}: procedural connections are drawn by "
                                      f"{', '.join(PROCEDURAL_CONNECTORS)} only")
        super().__init__(*args, **kwargs)

    def _fallback(self, projection, reason):
        logger.debug("%s: using PyNN's generic connect (%s)", type(self).__name__, reason)
        try:
            return self._generic_connect(projection)
        except Exception as error:      # the user's error, without "during handling of _Fallback" before it
            error.__suppress_context__ = True
            raise

    def _generic_connect(self, projection):
        return super().connect(projection)

    @staticmethod
    def _reserve(projection, n):
        if hasattr(projection, "_reserve_connections"):
            projection._reserve_connections(int(n))

    def _done(self):
        if self.callback:
            self.callback(1.0)

    def _emit(self, projection, params, pre, post):
        """Evaluate, check and add the connections (pre[k], post[k]) (whole columns, post-major)."""
        if pre.size == 0:
            return
        pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        values = params.evaluate(pre, post)
        if self.safe:
            self._check(projection, pre, post, values)
        self._add(projection, pre, post, values)

    @staticmethod
    def _add(projection, pre, post, values, stop=None):
        n = pre.size if stop is None else stop
        native = {}
        for name, value in values.items():
            if np.ndim(value) == 0:
                native[name] = np.full(n, value, dtype=np.float64)
            else:
                native[name] = np.asarray(value[:n], dtype=np.float64)
        projection._add_connections(pre[:n], post[:n], **native)

    def _check(self, projection, pre, post, values):
        syn = projection.synapse_type
        checks = []
        for parameter_name, check in getattr(syn, "parameter_checks", {}).items():
            native_name = syn.translations[parameter_name]["translated_name"]
            if native_name in values:
                checks.append((native_name, check))
        try:
            for name, check in checks:
                check(values[name], projection)
            return
        except Exception:
            pass
        # PyNN checks one column at a time, and not every check that fails on the union of columns
        # fails on a single column, so replay the per-column checks to raise (or not) the same error
        # for the same column, after adding the columns before it as the generic path would have.
        bounds = np.concatenate(([0], np.cumsum(_column_counts(post))))
        for a, b in zip(bounds[:-1], bounds[1:]):
            try:
                for name, check in checks:
                    value = values[name]
                    check(value if np.ndim(value) == 0 else value[a:b], projection)
            except Exception:
                if a > 0:
                    self._add(projection, pre, post, values, stop=a)
                raise


def _same_population(projection):
    from pyNN.common import Population
    return (isinstance(projection.pre, Population) and isinstance(projection.post, Population)
            and projection.pre == projection.post)


def _exclusion_mask(pre_ids, post_ids):
    """Boolean (n_post, n_pre) array, False where the pre and post cells are the same cell."""
    return pre_ids[np.newaxis, :] != post_ids[:, np.newaxis]


def _count_shared(pre_ids, post_ids):
    """Number of (pre, post) pairs that are the same cell."""
    sorted_pre = np.sort(pre_ids)
    return int((np.searchsorted(sorted_pre, post_ids, "right")
                - np.searchsorted(sorted_pre, post_ids, "left")).sum())


def _column_ranges(n_rows, n_cols):
    step = max(1, CHUNK_SIZE // max(n_rows, 1))
    for c0 in range(0, n_cols, step):
        yield c0, min(n_cols, c0 + step)


class AllToAllConnector(_VectorisedConnect, _pynn.AllToAllConnector):
    __doc__ = _pynn.AllToAllConnector.__doc__

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            params = _SynapseParameters(self, projection)
        except _Fallback as err:
            return self._fallback(projection, err)
        n_pre, n_post = projection.shape
        if self.allow_self_connections:
            self._reserve(projection, n_pre * n_post)
        else:
            pre_ids, post_ids = _cell_ids(projection.pre), _cell_ids(projection.post)
            self._reserve(projection, n_pre * n_post - _count_shared(pre_ids, post_ids))
        for c0, c1 in _column_ranges(n_pre, n_post):
            if self.allow_self_connections:
                pre = np.tile(np.arange(n_pre), c1 - c0)
                post = np.repeat(np.arange(c0, c1), n_pre)
            else:
                cols, pre = np.nonzero(_exclusion_mask(pre_ids, post_ids[c0:c1]))
                post = cols + c0
            self._emit(projection, params, pre, post)
        self._done()


class OneToOneConnector(_VectorisedConnect, _pynn.OneToOneConnector):
    __doc__ = _pynn.OneToOneConnector.__doc__

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            params = _SynapseParameters(self, projection)
        except _Fallback as err:
            return self._fallback(projection, err)
        n = min(projection.shape)
        self._reserve(projection, n)
        for start in range(0, n, CHUNK_SIZE):
            idx = np.arange(start, min(n, start + CHUNK_SIZE))
            self._emit(projection, params, idx, idx)
        self._done()


def _procedural_flag(connector: str, procedural, rng) -> bool:
    """A connector's ``procedural`` keyword, checked: connections drawn by the device's generator take no rng."""
    if procedural not in (True, False):
        raise errors.InvalidParameterValueError(f"{connector}: procedural must be True or False (got {procedural!r})")
    if procedural and rng is not None:
        raise errors.InvalidParameterValueError(
            f"{connector}: procedural connections are drawn by the device's generator, keyed by setup(rng_seed=...); "
            "leave out rng")
    return bool(procedural)


def _procedural_with_replacement(connector: str, procedural, rng, n, with_replacement,
                                 allow_self_connections) -> bool:
    """The ``procedural`` flag of a connector drawing with replacement (FixedTotalNumber, FixedNumberPost), checked:
    procedural connections take a whole number n, with_replacement=True and allow_self_connections=True."""
    flag = _procedural_flag(connector, procedural, rng)
    if flag:
        _check_procedural_with_replacement(connector, n, with_replacement, allow_self_connections)
    return flag


def _check_procedural_with_replacement(connector: str, n, with_replacement, allow_self_connections):
    """Procedural connections drawn with replacement take a whole number n, with_replacement=True and
    allow_self_connections=True."""
    if with_replacement is not True or allow_self_connections is not True or isinstance(n, bool) \
            or not isinstance(n, (int, np.integer)) or not 0 <= n < 2 ** 31:
        raise errors.InvalidParameterValueError(
            f"{connector}: procedural connections take a whole number n from 0 to 2**31 - 1 (a row's count is a "
            "32-bit integer on the device), drawn with replacement and "
            f"self-connections allowed (with_replacement=True, allow_self_connections=True; got n={n!r}, "
            f"with_replacement={with_replacement!r}, allow_self_connections={allow_self_connections!r})")


class FixedProbabilityConnector(_VectorisedConnect, _pynn.FixedProbabilityConnector):
    __doc__ = _pynn.FixedProbabilityConnector.__doc__ + """
    pyNN.gpu: `procedural` -- if True, the connections are not stored: the kernels draw each presynaptic cell's
        targets again at each of its spikes, from the device's counter-based generator keyed by
        ``setup(rng_seed=...)`` (GeNN's procedural connectivity; no `rng`).  The projection must join populations
        or slices of them (views of consecutive cells) with a StaticSynapse of one weight and one delay, or
        weights and delays drawn on the device (a 'uniform', 'normal' or 'normal_clipped' RandomDistribution with
        ``rng=sim.NativeRNG()``); ``get``, ``size`` and iteration draw the same connections, weights and delays on
        the host.  See README.md, 'Procedural connectivity'.
    """

    def __init__(self, p_connect, allow_self_connections=True, location_selector=None, rng=None, safe=True,
                 callback=None, procedural=False):
        # (PyNN's own checks are bare asserts)
        if isinstance(p_connect, bool) or not isinstance(p_connect, (int, float, np.integer, np.floating)) \
                or not 0 <= p_connect <= 1:
            raise errors.InvalidParameterValueError(
                f"FixedProbabilityConnector: p_connect must be a probability, from 0 to 1 (got {p_connect!r})")
        _check_self_connections("FixedProbabilityConnector", allow_self_connections)
        self.procedural = _procedural_flag("FixedProbabilityConnector", procedural, rng)
        if procedural:
            if allow_self_connections == "NoMutual":
                raise errors.InvalidParameterValueError(
                    "FixedProbabilityConnector: procedural connections allow_self_connections True or False, "
                    "not 'NoMutual'")
        super().__init__(p_connect, allow_self_connections, location_selector=location_selector, rng=rng, safe=safe,
                         callback=callback)

    def _procedural_rule(self) -> dict:
        """How a procedural projection draws its connections (see Projection._procedural_spec)."""
        return {"p": float(self.p_connect)}

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            _numpy_rng(self.rng)
            mode = self.allow_self_connections
            if mode == "NoMutual" and not _same_population(projection):
                raise _Fallback("NoMutual between different populations")
            params = _SynapseParameters(self, projection)
        except _Fallback as err:
            return self._fallback(projection, err)
        n_pre, n_post = projection.shape
        # The generic path draws from a copy of the RNG (LazyArray operations deep-copy their
        # operand), leaving self.rng untouched; so do we.
        uniform = deepcopy(RandomDistribution("uniform", (0, 1), rng=self.rng))
        if not mode:
            pre_ids, post_ids = _cell_ids(projection.pre), _cell_ids(projection.post)
            n_candidates = n_pre * n_post - _count_shared(pre_ids, post_ids)
        elif mode == "NoMutual":
            n_candidates = n_pre * (n_pre - 1) // 2
        else:
            n_candidates = n_pre * n_post
        p = min(max(self.p_connect, 0.0), 1.0)
        expected = p * n_candidates + 5 * np.sqrt(n_candidates * p * (1 - p))
        self._reserve(projection, min(n_candidates, int(np.ceil(expected))))
        for c0, c1 in _column_ranges(n_pre, n_post):
            connected = uniform.next(n_pre * (c1 - c0)).reshape(c1 - c0, n_pre) < self.p_connect
            if not mode:
                connected &= _exclusion_mask(pre_ids, post_ids[c0:c1])
            elif mode == "NoMutual":
                connected &= np.arange(n_pre)[np.newaxis, :] > np.arange(c0, c1)[:, np.newaxis]
            cols, pre = np.nonzero(connected)
            self._emit(projection, params, pre, cols + c0)
        self._done()


class ArrayConnector(_VectorisedConnect, _pynn.ArrayConnector):
    __doc__ = _pynn.ArrayConnector.__doc__

    def connect(self, projection):
        kind = np.asarray(self.array).dtype.kind
        if kind not in "biu":     # PyNN would read the values of a column as indices of cells (NaN as -2**63)
            raise errors.ConnectionError(
                f"ArrayConnector of projection '{projection.label}': the array must be boolean (True where a "
                f"presynaptic cell connects to a postsynaptic one) of shape {projection.shape} (got an array of "
                f"{np.asarray(self.array).dtype})")
        if kind == "b" and np.shape(self.array) != projection.shape:
            raise errors.InvalidDimensionsError(
                f"ArrayConnector of projection '{projection.label}': the array has shape {np.shape(self.array)}; it "
                f"needs one entry per (presynaptic, postsynaptic) pair of cells: shape {projection.shape}")
        try:
            _check_fast_path(self, projection)
            if not (isinstance(self.array, np.ndarray) and self.array.dtype == bool
                    and self.array.shape == projection.shape):
                # e.g. integer arrays, whose columns PyNN reads as lists of indices
                raise _Fallback("array is not a boolean array of the projection's shape")
            params = _SynapseParameters(self, projection)
        except _Fallback as err:
            return self._fallback(projection, err)
        n_pre, n_post = projection.shape
        self._reserve(projection, np.count_nonzero(self.array))
        for c0, c1 in _column_ranges(n_pre, n_post):
            cols, pre = np.nonzero(self.array[:, c0:c1].T)
            self._emit(projection, params, pre, cols + c0)
        self._done()


def _check_self_connections(connector: str, value):
    if not (isinstance(value, bool) or value == "NoMutual"):
        raise errors.InvalidParameterValueError(
            f"{connector}: allow_self_connections must be True, False or 'NoMutual' (got {value!r})")


class _FixedNumberMixin(_VectorisedConnect):
    """Vectorised versions of the sampling done by PyNN's FixedNumber*Connector classes."""

    def __init__(self, n, allow_self_connections=True, with_replacement=False, location_selector=None, rng=None,
                 safe=True, callback=None, procedural=False):
        # (PyNN's own checks are bare asserts)
        name = type(self).__name__
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            if n < 0:
                raise errors.InvalidParameterValueError(f"{name}: n must be a number of connections >= 0 (got {n})")
            n = int(n)
        elif not isinstance(n, RandomDistribution):
            raise TypeError(f"{name}: n must be a whole number of connections or a RandomDistribution (got {n!r})")
        _check_self_connections(name, allow_self_connections)
        super().__init__(n, allow_self_connections=allow_self_connections, with_replacement=with_replacement,
                         location_selector=location_selector, rng=rng, safe=safe, callback=callback,
                         procedural=procedural)

    def _draw_counts(self, size, rngs):
        """
        The numbers of connections for `size` cells, as PyNN draws them. Returns the counts and a
        function that undoes the draws (to hand over to the generic path after all).
        """
        if isinstance(self.n, int) and not isinstance(self.n, bool):
            return np.full(size, self.n, dtype=np.int64), lambda: None
        if not isinstance(self.n, RandomDistribution):
            raise _Fallback("n is neither an int nor a RandomDistribution")
        state = _numpy_rng(self.n.rng)
        if any(state is _numpy_rng(rng) for rng in rngs) and self._interleaved_counts:
            raise _Fallback("n shares the connector's RNG")
        saved = state.get_state()

        def restore():
            state.set_state(saved)

        counts = np.asarray(self.n.next(size))
        if counts.dtype.kind not in "iu" or np.any(counts < 0):
            restore()
            raise _Fallback("n produced non-integer or negative numbers")
        return counts.astype(np.int64), restore

    def _draw_with_replacement(self, rng, size, counts):
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        return rng.next(total, "uniform_int", {"low": 0, "high": size}, mask=None)

    def _draw_excluding(self, rng, size, counts, excluded):
        """
        Concatenated results of ``self._rng_uniform_int_exclude(counts[k], size, excluded[k])``.

        A cell's draws only differ from plain uniform_int draws if one of them hits the excluded
        index, so blocks are drawn in one go, up to the first cell with such a hit; that cell is
        redrawn through PyNN's own method (with its redraw logic, quirks included).
        """
        state = rng.rng
        out = []
        ends = np.cumsum(counts)
        block = max(size, 1024)
        k, n_cells = 0, len(counts)
        while k < n_cells:
            offset = ends[k - 1] if k > 0 else 0
            m = min(max(int(np.searchsorted(ends, offset + block, "right")), k + 1), n_cells)
            total = int(ends[m - 1] - offset)
            if total == 0:
                k = m
                continue
            saved = state.get_state()
            drawn = rng.next(total, "uniform_int", {"low": 0, "high": size}, mask=None)
            hits = np.flatnonzero(drawn == np.repeat(excluded[k:m], counts[k:m]))
            if hits.size == 0:
                out.append(drawn)
                k = m
                continue
            j = k + int(np.searchsorted(ends[k:m] - offset, hits[0], "right"))
            prefix = int(ends[j - 1] - offset) if j > k else 0
            state.set_state(saved)
            if prefix:
                out.append(rng.next(prefix, "uniform_int", {"low": 0, "high": size}, mask=None))
            out.append(self._rng_uniform_int_exclude(int(counts[j]), size, int(excluded[j])))
            k = j + 1
        if not out:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(out).astype(np.int64)

    @staticmethod
    def _draw_without_replacement(rng, size, counts, excluded=None):
        """Per cell: whole copies of the allowed cells, then the start of a permutation of them."""
        all_cells = np.arange(size)
        parts = []
        # The legacy shuffle draws a data-dependent number of values per permutation, so the
        # permutations cannot be batched; this loop makes only the RNG calls.
        for k, n in enumerate(counts):
            cells = all_cells if excluded is None else all_cells[all_cells != excluded[k]]
            full_sets, remainder = divmod(int(n), cells.size)
            parts.extend([cells] * full_sets)
            if remainder > 0:
                parts.append(rng.permutation(cells)[:remainder].copy())   # keep the slice, not the permutation
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(parts).astype(np.int64)

    def _sample(self, rng, size, counts, excluded, mode):
        if mode == "replace":
            return self._draw_with_replacement(rng, size, counts)
        if mode == "replace-exclude":
            return self._draw_excluding(rng, size, counts, excluded)
        if mode == "unique":
            return self._draw_without_replacement(rng, size, counts)
        return self._draw_without_replacement(rng, size, counts, excluded)

    def _validate_counts(self, counts, size, mode, restore):
        """Hand cases in which PyNN's own sampling fails over to it, undoing our draws of n."""
        allowed = size - 1 if mode.endswith("exclude") else size
        if mode.startswith("unique") and (allowed == 0 or np.any(counts == 0)):
            restore()
            raise _Fallback("sampling without replacement with n == 0 or no allowed cells")
        if mode == "replace-exclude" and allowed == 0 and np.any(counts > 0):
            restore()
            raise errors.ConnectionError(
                "Cannot choose cells other than the cell itself from a population of one cell")


class FixedNumberPreConnector(_FixedNumberMixin, _pynn.FixedNumberPreConnector):
    __doc__ = _pynn.FixedNumberPreConnector.__doc__
    _interleaved_counts = False  # all n are drawn before any source

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            rng = self.rng
            _numpy_rng(rng)
            exclude = not (self.allow_self_connections or projection.pre != projection.post)
            if exclude and not (rng.parallel_safe
                                or projection.synapse_type.native_parameters.parallel_safe):
                raise _Fallback("PyNN raises NotImplementedError")
            mode = ("replace" if self.with_replacement else "unique") + ("-exclude" if exclude else "")
            # created before any draw, as in _standard_connect (parameter RNGs are copied here)
            params = _SynapseParameters(self, projection, connector_rngs=[rng])
            n_pre, n_post = projection.shape
            counts, restore = self._draw_counts(n_post, [rng])
            self._validate_counts(counts, n_pre, mode, restore)
        except _Fallback as err:
            return self._fallback(projection, err)
        self._reserve(projection, counts.sum())
        excluded = np.arange(n_post)
        for c0, c1 in _column_chunks(counts):
            pre = self._sample(rng, n_pre, counts[c0:c1], excluded[c0:c1], mode)
            post = np.repeat(np.arange(c0, c1), counts[c0:c1])
            self._emit(projection, params, pre, post)
        self._done()


class FixedNumberPostConnector(_FixedNumberMixin, _pynn.FixedNumberPostConnector):
    __doc__ = (_pynn.FixedNumberPostConnector.__doc__ or "") + """
    pyNN.gpu: `procedural` -- if True, the connections are not stored: each presynaptic cell's `n` targets
        (uniform, with replacement) are drawn again at each of its spikes from the device's counter-based
        generator (GeNN's FixedNumberPostWithReplacement).  Needs a whole number `n`, ``with_replacement=True``
        and ``allow_self_connections=True``; otherwise as FixedProbabilityConnector's `procedural`.
    """
    _interleaved_counts = True  # n and the targets of each source are drawn in turn

    def __init__(self, n, allow_self_connections=True, with_replacement=False, location_selector=None, rng=None,
                 safe=True, callback=None, procedural=False):
        self.procedural = _procedural_with_replacement("FixedNumberPostConnector", procedural, rng, n,
                                                       with_replacement, allow_self_connections)
        super().__init__(n, allow_self_connections=allow_self_connections, with_replacement=with_replacement,
                         location_selector=location_selector, rng=rng, safe=safe, callback=callback)

    def _procedural_rule(self) -> dict:
        return {"n_per_pre": int(self.n)}

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            rng = self.rng
            _numpy_rng(rng)
            exclude = not self.allow_self_connections and projection.pre == projection.post
            mode = ("replace" if self.with_replacement else "unique") + ("-exclude" if exclude else "")
            if not (rng.parallel_safe or projection.synapse_type.native_parameters.parallel_safe):
                raise _Fallback("PyNN's masked iteration over ragged lists")
            # dry run: the real parameters are created after the draws, as in the generic path
            _SynapseParameters(self, projection, connector_rngs=[rng])
            n_pre, n_post = projection.shape
            counts, restore = self._draw_counts(n_pre, [rng])
            self._validate_counts(counts, n_post, mode, restore)
        except _Fallback as err:
            return self._fallback(projection, err)
        self._reserve(projection, counts.sum())
        post = self._sample(rng, n_post, counts, np.arange(n_pre), mode)
        pre = np.repeat(np.arange(n_pre), counts)
        order = stable_order(post, n_post)
        pre, post = pre[order], post[order]
        params = _SynapseParameters(self, projection, connector_rngs=[rng])
        _emit_in_chunks(self, projection, params, pre, post)
        self._done()


def _bounded_mask(high):
    """The bit mask numpy's legacy masked-rejection sampler uses for integers in [0, high)."""
    mask = high - 1
    for shift in (1, 2, 4, 8, 16):
        mask |= mask >> shift
    return mask


def _alternating_randint(state, highs, n_pairs, length=None):
    """
    Reproduce ``n_pairs`` rounds of ``state.randint(0, highs[0], 1)``, ``state.randint(0, highs[1], 1)``
    (``RandomState.choice`` draws the same way), advancing `state` exactly as those calls would.

    Each legacy bounded draw takes 32-bit outputs of the generator until one, masked, is in range
    (none if the range has one value). Which draw an output serves depends on the outputs before it; see
    :func:`_rounds`. `length`: initial guess of the number of outputs needed.
    """
    if n_pairs == 0:
        return [np.zeros(0, dtype=np.int64)] * 2
    accept_rate = [(h / (_bounded_mask(h) + 1) if h > 1 else np.inf) for h in highs]
    if length is None:
        length = int(n_pairs * sum(1 / a for a in accept_rate) * 1.1) + 64
    saved = state.get_state()
    while True:
        found = _rounds(state.randint(0, 2 ** 32, size=length, dtype=np.uint32), highs, n_pairs)
        if found is not None:
            break
        length *= 2  # ran out of generator output: start again with more
        state.set_state(saved)
    state.set_state(saved)
    state.randint(0, 2 ** 32, size=found[1], dtype=np.uint32)  # consume exactly what was used
    return found[0]


def _rounds(raw, highs, n_pairs):
    """The values of ``n_pairs`` alternating bounded draws (first from [0, highs[0]), then [0, highs[1])) taken
    from the generator outputs ``raw``, and how many outputs they use; None if ``raw`` is too short.

    Which draw is due at an output is a two-state machine run along ``raw``: an output accepted by both draws
    switches the state, one accepted by neither keeps it, and one accepted by a single draw leaves the machine
    in a known state whatever it was (only the first accepts: the second is due next; only the second: the
    first).  So the state at each output is the state set by the last such output, switched once per output
    accepted by both since: a running maximum and a running sum instead of a walk along the stream.
    """
    masked = [raw & np.uint32(_bounded_mask(h)) for h in highs]
    out = [np.zeros(n_pairs, np.int64), np.zeros(n_pairs, np.int64)]
    takes = [h > 1 for h in highs]
    if not any(takes):
        return out, 0
    if not all(takes):  # a draw from one value takes nothing from the generator
        k = takes.index(True)
        pos = np.flatnonzero(masked[k] < highs[k])
        if len(pos) < n_pairs:
            return None
        out[k] = masked[k][pos[:n_pairs]].astype(np.int64)
        return out, int(pos[n_pairs - 1]) + 1
    first, second = masked[0] < highs[0], masked[1] < highs[1]
    last = np.maximum.accumulate(np.where(first ^ second, np.arange(len(raw), dtype=np.int32), np.int32(-1)))
    odd = np.logical_xor.accumulate(first & second)         # an odd number of switches so far
    seen, at = last >= 0, np.maximum(last, 0)
    second_next = odd ^ (seen & (first[at] ^ odd[at]))      # after each output
    second_due = np.empty_like(second_next)       # at each output
    second_due[0] = False
    second_due[1:] = second_next[:-1]
    pos_first, pos_second = np.flatnonzero(first & ~second_due), np.flatnonzero(second & second_due)
    if len(pos_second) < n_pairs:
        return None
    out[0] = masked[0][pos_first[:n_pairs]].astype(np.int64)
    out[1] = masked[1][pos_second[:n_pairs]].astype(np.int64)
    return out, int(pos_second[n_pairs - 1]) + 1


class FixedTotalNumberConnector(_VectorisedConnect, _pynn.FixedTotalNumberConnector):
    __doc__ = (_pynn.FixedTotalNumberConnector.__doc__ or "") + """
    pyNN.gpu: `procedural` -- if True, the connections are not stored: each presynaptic cell's number of
        connections (a multinomial split of `n`) is drawn on the host, its targets (uniform, with replacement)
        again at each of its spikes from the device's counter-based generator (GeNN's
        FixedNumberTotalWithReplacement).  Needs ``with_replacement=True`` and ``allow_self_connections=True``;
        otherwise as FixedProbabilityConnector's `procedural`.
    """

    def __init__(self, n, allow_self_connections=True, with_replacement=True, location_selector=None, rng=None,
                 safe=True, callback=None, procedural=False):
        self.procedural = _procedural_with_replacement("FixedTotalNumberConnector", procedural, rng, n,
                                                       with_replacement, allow_self_connections)
        super().__init__(n, allow_self_connections, with_replacement, location_selector=location_selector, rng=rng,
                         safe=safe, callback=callback)

    def _procedural_rule(self) -> dict:
        return {"n_total": int(self.n)}

    def connect(self, projection):
        try:
            _check_fast_path(self, projection)
            state = _numpy_rng(self.rng)
            if not isinstance(self.n, int) or isinstance(self.n, bool):
                raise _Fallback("n is not an int")
            if max(projection.shape) > 2 ** 32:
                raise _Fallback("population too large for 32-bit draws")
            if not (self.rng.parallel_safe or projection.synapse_type.native_parameters.parallel_safe):
                raise _Fallback("PyNN's masked iteration over ragged lists")
            # dry run: the real parameters are created after the draws, as in the generic path
            _SynapseParameters(self, projection, connector_rngs=[self.rng])
        except _Fallback as err:
            return self._fallback(projection, err)
        n_pre, n_post = projection.shape
        # with one MPI process PyNN's partitioning reduces to a single binomial(n, 1.0) draw
        bino = RandomDistribution('binomial', [self.n, 1.0], rng=self.rng)
        total = int(bino.next())
        self._reserve(projection, total)
        pre, post = [], []
        for start in range(0, total, CHUNK_SIZE):
            sources, targets = _alternating_randint(state, (n_pre, n_post), min(CHUNK_SIZE, total - start))
            pre.append(sources)
            post.append(targets)
        pre = np.concatenate(pre) if pre else np.zeros(0, dtype=np.int64)
        post = np.concatenate(post) if post else np.zeros(0, dtype=np.int64)
        order = stable_order(post, n_post)
        pre, post = pre[order], post[order]
        params = _SynapseParameters(self, projection, connector_rngs=[self.rng])
        _emit_in_chunks(self, projection, params, pre, post)
        self._done()


def _emit_in_chunks(connector, projection, params, pre, post):
    counts = _column_counts(post)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    for c0, c1 in _column_chunks(counts):
        a, b = bounds[c0], bounds[c1]
        connector._emit(projection, params, pre[a:b], post[a:b])


class FromListConnector(_VectorisedConnect, _pynn.FromListConnector):
    __doc__ = _pynn.FromListConnector.__doc__

    def _generic_connect(self, projection):
        # explicit, because for FromFileConnector the next class in the MRO would re-read the file
        return _pynn.FromListConnector.connect(self, projection)

    def _check_indices(self, projection):
        """Every source and target must be a cell of the projection: PyNN would wrap a negative source around and
        drop a non-integer or out-of-range target without a word (pyNN.nest fails on a negative source)."""
        conn_list = self.conn_list
        if conn_list.dtype.kind in "USO" and conn_list.size:    # (PyNN's checks failed in numpy on strings)
            raise errors.ConnectionError(
                f"{type(self).__name__} of projection '{projection.label}': the connection list must hold numbers "
                f"(source index, target index, then the values of {list(self.column_names)}); got "
                f"{conn_list.ravel()[0]!r} among them")
        if conn_list.ndim != 2 or conn_list.dtype.kind not in "iufb":
            return          # PyNN's own code words the error
        for col, side, cells in ((0, "source", projection.pre), (1, "target", projection.post)):
            index = conn_list[:, col].astype(float)
            bad = ~((index >= 0) & (index < cells.size) & (index == np.trunc(index)))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise errors.ConnectionError(
                    f"{type(self).__name__} of projection '{projection.label}': {side} index {index[row]:g} "
                    f"(row {row}) is not a cell of {cells.label!r}; {side} indices must be whole numbers in "
                    f"[0, {cells.size - 1}]")

    def connect(self, projection):
        # the same validation, in the same order, as PyNN; then the indices (ConnectionError)
        synapse_parameter_names = projection.synapse_type.get_parameter_names()
        for name in self.column_names:
            if name not in synapse_parameter_names:
                raise ValueError("%s is not a valid parameter for %s" % (
                                 name, projection.synapse_type.__class__.__name__))
        if self.conn_list.size == 0:
            return
        self._check_indices(projection)
        try:
            _check_fast_path(self, projection)
            conn_list = self.conn_list
            if conn_list.ndim != 2 or conn_list.dtype.kind not in "iuf":
                raise _Fallback("connection list is not a 2D numeric array")
            ps = deepcopy(projection.synapse_type.parameter_space)
            for name, value in ps.items():
                if name not in self.column_names and not (isinstance(value, larray)
                                                          and value.is_homogeneous):
                    raise _Fallback(f"parameter {name} is neither constant nor in the list")
        except _Fallback as err:
            return self._fallback(projection, err)
        # PyNN sorts by target with the default (unstable) argsort and keeps the sorted list
        idx = np.argsort(conn_list[:, 1])
        self.conn_list = rows = conn_list[idx]
        n = rows.shape[0]
        self._reserve(projection, n)
        ps.shape = (n,)
        for col, name in enumerate(self.column_names, 2):
            ps.update(**{name: rows[:, col]})
        if isinstance(projection.synapse_type, StandardSynapseType):
            ps = projection.synapse_type.translate(ps)
        ps.evaluate()
        values = {name: ps[name] for name in ps.keys()}
        # PyNN applies no parameter checks here, whatever `safe` says
        self._add(projection, rows[:, 0].astype(int).astype(np.int64),
                  rows[:, 1].astype(int).astype(np.int64), values)


class FromFileConnector(FromListConnector, _pynn.FromFileConnector):
    __doc__ = _pynn.FromFileConnector.__doc__

    def connect(self, projection):
        if self.distributed:
            self.file.rename("%s.%d" % (self.file.name, projection._simulator.state.mpi_rank))
        self.column_names = self.file.get_metadata().get('columns', ('weight', 'delay'))
        for ignore in "ij":
            if ignore in self.column_names:
                self.column_names.remove(ignore)
        self.conn_list = self.file.read()
        FromListConnector.connect(self, projection)


class CloneConnector(_VectorisedConnect, _pynn.CloneConnector):
    __doc__ = _pynn.CloneConnector.__doc__

    def connect(self, projection):
        ref = self.reference_projection
        if projection.pre != ref.pre or projection.post != ref.post:
            return self._generic_connect(projection)          # PyNN's ConnectionError
        try:
            _check_fast_path(self, projection)
            params = _SynapseParameters(self, projection)
        except _Fallback as err:
            return self._fallback(projection, err)
        # as PyNN: one connection for every pair of cells the reference connects (however many times), column
        # by column; the pairs taken from the reference's connections, not from its dense weight matrix (3.2 GB
        # and 11-18 s at 20,000 x 20,000 cells)
        if hasattr(ref, "_pre"):
            ref._finalise()
            pre, post = np.asarray(ref._pre, np.int64), np.asarray(ref._post, np.int64)
        else:
            rows = np.asarray(ref.get(["weight"], format="list", gather="all", with_address=True), float)
            pre, post = (rows[:, :2].astype(np.int64).T if rows.size else np.zeros((2, 0), np.int64))
        post, pre = np.divmod(np.unique(post * projection.pre.size + pre), projection.pre.size)
        self._reserve(projection, len(pre))
        _emit_in_chunks(self, projection, params, pre, post)
        self._done()

class DistanceDependentProbabilityConnector(_pynn.DistanceDependentProbabilityConnector):
    __doc__ = _pynn.DistanceDependentProbabilityConnector.__doc__

    def __init__(self, d_expression, allow_self_connections=True, location_selector=None, rng=None, safe=True,
                 callback=None):
        # PyNN's own checks are bare asserts and the raw errors of eval()
        if isinstance(d_expression, str):
            where = f"DistanceDependentProbabilityConnector({d_expression!r})"
            try:
                probabilities = [eval(d_expression, vars(_pynn), {"d": d}) for d in (0.0, 1e12)]
            except Exception as err:
                raise errors.InvalidParameterValueError(
                    f"{where}: the expression must be Python giving a probability from the distance d, e.g. "
                    f"'exp(-d / 100.0)' ({type(err).__name__}: {err})") from None
            bad = [p for p in probabilities if not p >= 0]      # (above 1: a certain connection, as in PyNN)
            if bad:
                raise errors.InvalidParameterValueError(
                    f"{where}: the expression must give a probability, a number >= 0 (got {bad[0]!r} at d = "
                    f"{(0.0, 1e12)[probabilities.index(bad[0])]:g})")
        elif not callable(d_expression):
            raise errors.InvalidParameterValueError(
                f"DistanceDependentProbabilityConnector: d_expression must be a string such as 'exp(-d / 100.0)' or a "
                f"function of the distance (got {d_expression!r})")
        _check_self_connections("DistanceDependentProbabilityConnector", allow_self_connections)
        super().__init__(d_expression, allow_self_connections, location_selector=location_selector, rng=rng,
                         safe=safe, callback=callback)


class IndexBasedProbabilityConnector(_pynn.IndexBasedProbabilityConnector):
    __doc__ = _pynn.IndexBasedProbabilityConnector.__doc__

    def __init__(self, index_expression, allow_self_connections=True, location_selector=None, rng=None, safe=True,
                 callback=None):
        if not isinstance(index_expression, _pynn.IndexBasedExpression):     # (PyNN: a bare AssertionError)
            raise TypeError(f"IndexBasedProbabilityConnector takes an IndexBasedExpression (a subclass of "
                            f"pyNN.connectors.IndexBasedExpression), not {type(index_expression).__name__}")
        _check_self_connections("IndexBasedProbabilityConnector", allow_self_connections)
        super().__init__(index_expression, allow_self_connections, location_selector=location_selector, rng=rng,
                         safe=safe, callback=callback)


__all__ = sorted(name for name, obj in globals().items()
                 if isinstance(obj, type) and issubclass(obj, _pynn.Connector))
