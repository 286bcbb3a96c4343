"""
The vectorised connectors of pynn_gpu.connectors must build exactly the connections (same order, same
parameter values, same random numbers) that PyNN's generic connector code builds.

Both run on pyNN.mock: the generic path through the plain mock Projection (one `_convergent_connect`
per postsynaptic cell), the fast path through a mock Projection that records `_add_connections`.
"""
import os
import sys

import numpy as np
import pytest

import pyNN.connectors as generic
import pyNN.mock as mock
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.space import Cuboid, Grid2D, RandomStructure, Space

try:
    import pynn_gpu.connectors as fast
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    import pynn_gpu.connectors as fast

mock.setup(timestep=0.1, min_delay=0.1, max_delay=10.0)


class RecordingProjection(mock.Projection):
    """A mock Projection offering pyNN.gpu's bulk connection interface."""

    def __init__(self, *args, **kwargs):
        self.batches = []
        self.reserved = []
        super().__init__(*args, **kwargs)

    def _reserve_connections(self, n):
        assert not self.batches, "reserve must come before the connections"
        self.reserved.append(n)

    def _add_connections(self, pre, post, **params):
        assert pre.dtype == np.int64 and post.dtype == np.int64
        assert pre.shape == post.shape and pre.ndim == 1
        for value in params.values():
            assert value.dtype == np.float64 and value.shape == pre.shape
        self.batches.append((pre.copy(), post.copy(), {k: v.copy() for k, v in params.items()}))

    def table(self):
        if not self.batches:
            return np.zeros((0, 4))
        pre = np.concatenate([b[0] for b in self.batches])
        post = np.concatenate([b[1] for b in self.batches])
        weight = np.concatenate([b[2]["WEIGHT"] for b in self.batches])
        delay = np.concatenate([b[2]["DELAY"] for b in self.batches])
        return np.column_stack((pre, post, weight, delay))


def generic_table(projection):
    return np.array([(c.presynaptic_index, c.postsynaptic_index, c.WEIGHT, c.DELAY)
                     for c in projection.connections], dtype=float).reshape(-1, 4)


def static(weight=0.5, delay=1.0):
    return lambda: mock.StaticSynapse(weight=weight() if callable(weight) else weight,
                                      delay=delay() if callable(delay) else delay)


def uniform_weights(seed, low=0.1, high=0.9):
    return lambda: RandomDistribution("uniform", (low, high), rng=NumpyRNG(seed=seed))


def compare(make_connector, pre, post, make_synapse=static(), expect_fast=True, **kwargs):
    """
    Connect with PyNN's connector and with ours; return the (identical) connection table.

    If PyNN's code raises, ours must raise the same exception. `expect_fast`: True if the
    vectorised path must be taken, False if the generic one must be, None if either is fine.
    """
    try:
        reference = mock.Projection(pre, post, make_connector(generic), make_synapse(), **kwargs)
    except Exception as err:
        with pytest.raises(type(err)) as ours:
            RecordingProjection(pre, post, make_connector(fast), make_synapse(), **kwargs)
        assert str(ours.value) == str(err)
        return None
    candidate = RecordingProjection(pre, post, make_connector(fast), make_synapse(), **kwargs)
    expected = generic_table(reference)
    used_fast = candidate.connections == []
    if expect_fast is not None:
        assert used_fast == expect_fast or len(expected) == 0
    if used_fast:
        assert not candidate.batches or candidate.reserved, "no reservation before connecting"
        result = candidate.table()
    else:
        assert candidate.batches == []
        result = generic_table(candidate)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)  # exact: same order, same floating-point values
    if used_fast and candidate.reserved and not isinstance(candidate._connector, fast.FixedProbabilityConnector):
        assert candidate.reserved[0] == len(expected)
    return result


@pytest.fixture(scope="module")
def pops():
    p = mock.Population(30, mock.IF_cond_exp(), label="p")
    q = mock.Population(17, mock.IF_cond_exp(), label="q")
    return dict(p=p, q=q, view=p[3:25], view2=p[::2], asm=p[0:10] + q, small=mock.Population(1, mock.IF_cond_exp()))


def test_reexports():
    for name in ("CSAConnector", "SmallWorldConnector", "Connector", "MapConnector"):
        assert getattr(fast, name) is getattr(generic, name)
    for name in ("AllToAllConnector", "OneToOneConnector", "FixedProbabilityConnector",
                 "FixedNumberPreConnector", "FixedNumberPostConnector", "FixedTotalNumberConnector",
                 "ArrayConnector", "FromListConnector", "FromFileConnector", "CloneConnector",
                 "DistanceDependentProbabilityConnector", "IndexBasedProbabilityConnector"):
        cls = getattr(fast, name)
        assert cls is not getattr(generic, name) and issubclass(cls, getattr(generic, name))
        assert cls.__name__ == name
        assert name in fast.__all__


@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("pair", [("p", "p"), ("p", "q"), ("view", "view2"), ("asm", "p"), ("view", "p"),
                                  ("small", "small")])
def test_all_to_all(pops, pair, allow_self):
    pre, post = pops[pair[0]], pops[pair[1]]
    table = compare(lambda m: m.AllToAllConnector(allow_self_connections=allow_self), pre, post,
                    static(uniform_weights(11)))
    n_shared = np.isin(pre.all_cells, post.all_cells).sum() if pair != ("asm", "p") else 10
    assert len(table) == pre.size * post.size - (0 if allow_self else n_shared)


def test_all_to_all_weight_array_and_shared_rng(pops):
    p, q = pops["p"], pops["q"]
    w = np.arange(p.size * q.size, dtype=float).reshape(p.size, q.size) / 100 + 0.01
    compare(lambda m: m.AllToAllConnector(), p, q, static(w, 0.3))

    def shared():  # weight and delay from one RNG: draws interleave per column
        rng = NumpyRNG(seed=5)
        return mock.StaticSynapse(weight=RandomDistribution("normal_clipped", (0.5, 0.2, 0.0, np.inf), rng=rng),
                                  delay=RandomDistribution("uniform", (0.2, 2.0), rng=rng))
    table = compare(lambda m: m.AllToAllConnector(allow_self_connections=False), p, p, shared)
    assert len(np.unique(table[:, 2])) == len(table)


@pytest.mark.parametrize("pair", [("p", "p"), ("p", "q"), ("q", "p"), ("view", "view2")])
def test_one_to_one(pops, pair):
    pre, post = pops[pair[0]], pops[pair[1]]
    table = compare(lambda m: m.OneToOneConnector(), pre, post, static(uniform_weights(3), 0.7))
    n = min(pre.size, post.size)
    np.testing.assert_array_equal(table[:, 0], np.arange(n))
    np.testing.assert_array_equal(table[:, 1], np.arange(n))


def test_one_to_one_single_cell(pops):
    # PyNN 0.13 fails here with numpy >= 2.1 ("Calling nonzero on 0d arrays")
    one = pops["small"]
    prj = RecordingProjection(one, one, fast.OneToOneConnector(), mock.StaticSynapse(weight=0.25, delay=0.5))
    np.testing.assert_array_equal(prj.table(), [[0, 0, 0.25, 0.5]])
    prj = RecordingProjection(one, pops["q"], fast.OneToOneConnector(), mock.StaticSynapse(weight=0.25))
    assert prj.table()[:, :2].tolist() == [[0, 0]]


@pytest.mark.parametrize("seed", [1, 2, 12345])
@pytest.mark.parametrize("allow_self", [True, False, "NoMutual"])
def test_fixed_probability(pops, seed, allow_self):
    p = pops["p"]
    table = compare(lambda m: m.FixedProbabilityConnector(0.3, allow_self_connections=allow_self,
                                                          rng=NumpyRNG(seed=seed)),
                    p, p, static(uniform_weights(seed + 1), RandomDistribution("uniform", (0.1, 1.0),
                                                                               rng=NumpyRNG(seed=99))))
    assert 0 < len(table) < p.size ** 2
    if allow_self is not True:
        assert not np.any(table[:, 0] == table[:, 1])
    if allow_self == "NoMutual":
        assert np.all(table[:, 0] > table[:, 1])


@pytest.mark.parametrize("pair", [("view", "view2"), ("asm", "p"), ("p", "view"), ("small", "small")])
def test_fixed_probability_views(pops, pair):
    pre, post = pops[pair[0]], pops[pair[1]]
    for allow_self in (True, False):
        compare(lambda m: m.FixedProbabilityConnector(0.5, allow_self_connections=allow_self, rng=NumpyRNG(7)),
                pre, post, static(uniform_weights(8)))


def test_fixed_probability_leaves_rng_untouched(pops):
    # PyNN draws from a copy of the connector's RNG, so re-using the connector repeats the network
    rng = NumpyRNG(seed=21)
    connector = fast.FixedProbabilityConnector(0.2, rng=rng)
    a = RecordingProjection(pops["p"], pops["q"], connector, mock.StaticSynapse(weight=0.1)).table()
    b = RecordingProjection(pops["p"], pops["q"], connector, mock.StaticSynapse(weight=0.1)).table()
    np.testing.assert_array_equal(a, b)


def test_fixed_probability_same_rng_for_connector_and_weights(pops):
    def synapse():
        return mock.StaticSynapse(weight=RandomDistribution("uniform", (0.1, 0.2), rng=NumpyRNG(seed=4)))
    compare(lambda m: m.FixedProbabilityConnector(0.4, rng=NumpyRNG(seed=4)), pops["p"], pops["p"], synapse)


@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("n", [5, 29, 45, "random"])
def test_fixed_number_pre(pops, n, allow_self, with_replacement):
    p = pops["p"]

    def connector(m):
        num = RandomDistribution("binomial", (40, 0.3), rng=NumpyRNG(seed=77)) if n == "random" else n
        return m.FixedNumberPreConnector(num, allow_self_connections=allow_self,
                                         with_replacement=with_replacement, rng=NumpyRNG(seed=13))
    table = compare(connector, p, p, static(uniform_weights(2)))
    if table is None:
        # PyNN's _rng_uniform_int_exclude indexes its redraw positions wrongly and can fail
        # with an IndexError once a redraw hits the excluded cell again; so must we
        assert with_replacement and not allow_self
        return
    if n != "random":
        assert len(table) == n * p.size
    if not allow_self:
        assert not np.any(table[:, 0] == table[:, 1])


def test_fixed_number_pre_exclusion_redraws(monkeypatch):
    # draws that hit the excluded (own) index are redrawn by PyNN's _rng_uniform_int_exclude
    calls = []
    redraw = fast.FixedNumberPreConnector._rng_uniform_int_exclude

    def spy(self, n, size, exclude):
        calls.append(exclude)
        return redraw(self, n, size, exclude)
    monkeypatch.setattr(fast.FixedNumberPreConnector, "_rng_uniform_int_exclude", spy)
    pop = mock.Population(200, mock.IF_cond_exp())
    for seed in (1, 2, 3):  # with seed 0 PyNN's code fails (see test_fixed_number_pre)
        table = compare(lambda m: m.FixedNumberPreConnector(20, allow_self_connections=False, with_replacement=True,
                                                            rng=NumpyRNG(seed=seed)),
                        pop, pop, static(uniform_weights(seed)))
        assert table is not None and not np.any(table[:, 0] == table[:, 1])
    assert len(calls) > 10  # only the cells with a hit go through PyNN's method
    # a small population makes repeated hits, and PyNN's IndexError, likely
    tiny = mock.Population(3, mock.IF_cond_exp())
    for seed in range(10):
        compare(lambda m: m.FixedNumberPreConnector(7, allow_self_connections=False, with_replacement=True,
                                                    rng=NumpyRNG(seed=seed)),
                tiny, tiny, static(uniform_weights(seed)))


@pytest.mark.parametrize("pair", [("view", "view"), ("asm", "p"), ("q", "p")])
def test_fixed_number_pre_views(pops, pair):
    pre, post = pops[pair[0]], pops[pair[1]]
    for replace in (True, False):
        compare(lambda m: m.FixedNumberPreConnector(4, allow_self_connections=False, with_replacement=replace,
                                                    rng=NumpyRNG(seed=3)),
                pre, post, static(uniform_weights(4)))


def uncopied_parameters(cls):
    """`cls` with synaptic parameters that are not copied, so they can share the connector's RNG."""
    class Uncopied(cls):
        def _parameters_from_synapse_type(self, projection, distance_map=None):
            space = projection.synapse_type.parameter_space
            space.shape = projection.shape
            return space
    return Uncopied


def test_fixed_number_pre_rng_shared_with_weights(pops):
    p, q = pops["p"], pops["q"]
    results = []
    for module, projection_class in ((generic, mock.Projection), (fast, RecordingProjection)):
        rng = NumpyRNG(seed=8)
        connector = uncopied_parameters(module.FixedNumberPreConnector)(3, rng=rng)
        synapse = mock.StaticSynapse(weight=RandomDistribution("uniform", (0.1, 0.2), rng=rng), delay=0.5)
        prj = projection_class(p, q, connector, synapse)
        assert not getattr(prj, "batches", None)  # interleaved draws: generic path
        results.append([(c.presynaptic_index, c.postsynaptic_index, c.weight) for c in prj.connections])
    assert results[0] == results[1]
    with pytest.raises(fast._Fallback):
        fast._SynapseParameters(connector, prj, connector_rngs=[rng])


@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("n", [4, 31, "random"])
def test_fixed_number_post(pops, n, allow_self, with_replacement):
    p = pops["p"]

    def connector(m):
        num = RandomDistribution("poisson", (6,), rng=NumpyRNG(seed=5)) if n == "random" else n
        return m.FixedNumberPostConnector(num, allow_self_connections=allow_self,
                                          with_replacement=with_replacement, rng=NumpyRNG(seed=17))
    # (PyNN fails when sampling n == 0 cells without replacement: we leave that to PyNN)
    expect_fast = None if n == "random" and not with_replacement else True
    compare(connector, p, p, static(uniform_weights(3)), expect_fast=expect_fast)
    compare(connector, pops["q"], p, static(uniform_weights(3)), expect_fast=expect_fast)


@pytest.mark.parametrize("n", [0, 1, 50, 700])
def test_fixed_total_number(pops, n):
    for pre, post in ((pops["p"], pops["q"]), (pops["small"], pops["q"]), (pops["q"], pops["small"]),
                      (pops["small"], pops["small"])):
        compare(lambda m: m.FixedTotalNumberConnector(n, rng=NumpyRNG(seed=n + 1)), pre, post,
                static(uniform_weights(6)))


@pytest.mark.parametrize("make", [
    lambda m, rng: m.FixedProbabilityConnector(0.3, rng=rng),
    lambda m, rng: m.FixedNumberPreConnector(5, rng=rng),
    lambda m, rng: m.FixedNumberPostConnector(4, rng=rng),
    lambda m, rng: m.FixedTotalNumberConnector(120, rng=rng)])
def test_native_rng_takes_the_vectorised_path(pops, make):
    """pyNN.gpu's NativeRNG is numpy's generator under another name: the same connections and values as PyNN's
    generic code with a NumpyRNG of the same seed, built by the vectorised path (it used to take the generic one,
    14 times slower)."""
    from pynn_gpu.rng import NativeRNG

    def synapse(rng_class):
        return lambda: mock.StaticSynapse(weight=RandomDistribution("normal_clipped", mu=0.5, sigma=0.3, low=0.1,
                                                                    high=1.0, rng=rng_class(seed=8)), delay=0.5)
    reference = mock.Projection(pops["p"], pops["q"], make(generic, NumpyRNG(seed=3)), synapse(NumpyRNG)())
    candidate = RecordingProjection(pops["p"], pops["q"], make(fast, NativeRNG(seed=3)), synapse(NativeRNG)())
    assert candidate.connections == [] and candidate.batches      # vectorised
    np.testing.assert_array_equal(candidate.table(), generic_table(reference))


@pytest.mark.parametrize("highs", [(300, 17), (1024, 1025), (2, 3), (1, 77), (77, 1), (1, 1), (3, 2 ** 31)])
@pytest.mark.parametrize("length", [None, 10])
def test_alternating_draws_are_numpys(highs, length):
    """FixedTotalNumberConnector's sources and targets: 2,000 rounds of two bounded draws from one legacy
    RandomState, the same values as numpy's own calls one by one, and the state left where they leave it (also
    when the first guess of the stream's length runs short: ``length`` 10)."""
    ours, theirs = np.random.RandomState(11), np.random.RandomState(11)
    drawn = fast._alternating_randint(ours, highs, 2000, length)
    expected = np.array([[theirs.randint(0, h) for h in highs] for _ in range(2000)]).T
    assert np.array_equal(drawn[0], expected[0]) and np.array_equal(drawn[1], expected[1])
    assert ours.randint(2 ** 31) == theirs.randint(2 ** 31)


def test_array_connector(pops):
    p, q = pops["p"], pops["q"]
    mask = np.random.RandomState(0).rand(p.size, q.size) < 0.3
    table = compare(lambda m: m.ArrayConnector(mask), p, q, static(uniform_weights(1)))
    assert len(table) == mask.sum()
    # integer arrays are lists of indices for PyNN: left to the generic path
    compare(lambda m: m.ArrayConnector(mask.astype(int)), p, q, expect_fast=False)


def test_from_list(pops):
    p, q = pops["p"], pops["q"]
    rng = np.random.RandomState(1)
    conns = [(rng.randint(p.size), rng.randint(q.size), rng.uniform(0.1, 1), rng.uniform(0.5, 3)) for _ in range(300)]
    conns += conns[:40]  # duplicate pairs
    table = compare(lambda m: m.FromListConnector(conns), p, q)
    assert len(table) == 340
    assert np.all(np.diff(table[:, 1]) >= 0)
    # extra parameter columns, constant synaptic parameters taken from the synapse type
    tm = [(i, j, 0.1 * (i + 1), 0.5 + j / 10, 0.05 * j) for (i, j, _, _) in conns[:100]]
    mk = lambda: mock.TsodyksMarkramSynapse(weight=0.2, delay=0.3, tau_rec=111.0)  # noqa: E731
    ref = mock.Projection(p, q, generic.FromListConnector(tm, column_names=["weight", "delay", "U"]), mk())
    new = RecordingProjection(p, q, fast.FromListConnector(tm, column_names=["weight", "delay", "U"]), mk())
    assert new.connections == []
    assert set(new.batches[0][2]) == {"WEIGHT", "DELAY", "UU", "TAU_REC", "TAU_FACIL"}
    for name in new.batches[0][2]:
        np.testing.assert_array_equal(np.concatenate([b[2][name] for b in new.batches]),
                                      [getattr(c, name) for c in ref.connections])
    # only (i, j) columns
    compare(lambda m: m.FromListConnector([(i, j) for (i, j, _, _) in conns]), p, q, static(0.3, 0.4))
    # indices outside the populations (PyNN's generic code drops a target out of range): refused
    for row in ((p.size, 0, 0.1, 1.0), (3, q.size + 5, 0.5, 1.0), (-1, 0, 0.1, 1.0), (0.5, 0, 0.1, 1.0)):
        with pytest.raises(errors.ConnectionError):
            RecordingProjection(p, q, fast.FromListConnector([row]), mock.StaticSynapse())


def test_from_file(pops, tmp_path):
    p, q = pops["p"], pops["q"]
    path = tmp_path / "conns.txt"
    np.savetxt(path, [(5, 2, 0.3, 1.0), (1, 2, 0.2, 2.0), (4, 0, 0.1, 1.5)],
               header='columns = ["i", "j", "weight", "delay"]')
    table = compare(lambda m: m.FromFileConnector(str(path)), p, q)
    assert sorted(table[:, :2].tolist()) == [[1, 2], [4, 0], [5, 2]] and table[0, 1] == 0


def test_safe_weight_checks(pops):
    p = pops["p"]
    for make in (lambda m: m.AllToAllConnector(), lambda m: m.FixedNumberPreConnector(3, rng=NumpyRNG(1))):
        for weight in (-0.5, RandomDistribution("uniform", (-1.0, 1.0), rng=NumpyRNG(2))):
            with pytest.raises(errors.ConnectionError) as generic_error:
                mock.Projection(p, p, make(generic), mock.StaticSynapse(weight=weight))
            with pytest.raises(errors.ConnectionError) as fast_error:
                RecordingProjection(p, p, make(fast), mock.StaticSynapse(weight=weight))
            assert str(fast_error.value) == str(generic_error.value)
    # safe=False skips the checks
    prj = RecordingProjection(p, p, fast.AllToAllConnector(safe=False), mock.StaticSynapse(weight=-0.5))
    assert len(prj.table()) == p.size ** 2


@pytest.mark.parametrize("space", [Space(), Space(axes="xy", scale_factor=0.7, offset=0.3),
                                   Space(periodic_boundaries=((0, 4.5), (0, 3.3), None))])
def test_distance_dependent_parameters(space):
    grid = mock.Population(24, mock.IF_cond_exp(), structure=Grid2D(aspect_ratio=1.5, dx=1.3, dy=0.7))
    cloud = mock.Population(19, mock.IF_curr_exp(), structure=RandomStructure(Cuboid(4, 3, 2), rng=NumpyRNG(5)))
    for pre, post in ((grid, grid), (cloud, grid), (grid[2:20], cloud[::2])):
        # p = 0.05 leaves many columns with one source, which PyNN evaluates as scalars
        for p in (0.05, 0.6):
            compare(lambda m: m.FixedProbabilityConnector(p, rng=NumpyRNG(3)), pre, post,
                    static("0.1*exp(-d/3.0)", "0.2+0.3*d"), space=space)
        compare(lambda m: m.AllToAllConnector(allow_self_connections=False), pre, post,
                static(lambda d: 0.1 + d ** 2 / 7, "d/4 + 0.1"), space=space)
        compare(lambda m: m.FixedNumberPreConnector(5, rng=NumpyRNG(4)), pre, post,
                static(uniform_weights(9), "0.2+0.3*d"), space=space)


def test_distance_dependent_positions_from_connector_rng():
    # positions generated lazily from the connector's own RNG, during PyNN's column loop
    def connector(m):
        return m.FixedNumberPreConnector(4, rng=rng[m])
    rng = {}
    pops = {}
    for m in (generic, fast):
        rng[m] = NumpyRNG(seed=12)
        pops[m] = mock.Population(10, mock.IF_curr_exp(), structure=RandomStructure(Cuboid(1, 1, 1), rng=rng[m]))
    ref = mock.Projection(pops[generic], pops[generic], connector(generic), mock.StaticSynapse(delay="0.1+d"))
    new = RecordingProjection(pops[fast], pops[fast], connector(fast), mock.StaticSynapse(delay="0.1+d"))
    assert new.batches == []
    assert [c.DELAY for c in new.connections] == [c.DELAY for c in ref.connections]


def test_fallbacks(pops):
    p = pops["p"]
    # location selectors are not supported by the bulk interface
    with pytest.raises(NotImplementedError):
        RecordingProjection(p, p, fast.AllToAllConnector(location_selector="soma"), mock.StaticSynapse())
    # projections without the bulk interface use PyNN's code
    prj = mock.Projection(p, p, fast.OneToOneConnector(), mock.StaticSynapse(weight=0.1))
    assert len(prj.connections) == p.size


def test_mpi_falls_back(pops, monkeypatch):
    monkeypatch.setattr(mock.simulator.state, "num_processes", 2)
    prj = RecordingProjection(pops["p"], pops["q"], fast.AllToAllConnector(), mock.StaticSynapse())
    assert prj.batches == [] and len(prj.connections) == pops["p"].size * pops["q"].size


def test_callback(pops):
    levels = []
    RecordingProjection(pops["p"], pops["q"], fast.AllToAllConnector(callback=levels.append), mock.StaticSynapse())
    assert levels == [1.0]


def test_reserve_estimates(pops):
    p = pops["p"]
    prj = RecordingProjection(p, p, fast.AllToAllConnector(allow_self_connections=False), mock.StaticSynapse())
    assert prj.reserved == [p.size * (p.size - 1)]
    prj = RecordingProjection(p, p, fast.FixedProbabilityConnector(0.1, rng=NumpyRNG(1)), mock.StaticSynapse())
    mean, sigma = 0.1 * p.size ** 2, np.sqrt(0.09 * p.size ** 2)
    assert prj.reserved == [int(np.ceil(mean + 5 * sigma))]
    assert len(prj.table()) <= prj.reserved[0]


def test_equals_generic_at_scale():
    """2000 x 2000 cells, p = 0.02 (80,000 connections): the vectorised connector draws what PyNN's does.  (Its speed
    is measured in the benchmarks, not here.)"""
    pre = mock.Population(2000, mock.IF_cond_exp())
    post = mock.Population(2000, mock.IF_cond_exp())

    def synapse():
        return mock.StaticSynapse(weight=RandomDistribution("uniform", (0.1, 0.2), rng=NumpyRNG(2)), delay=0.5)
    ref = mock.Projection(pre, post, generic.FixedProbabilityConnector(0.02, rng=NumpyRNG(1)), synapse())
    new = RecordingProjection(pre, post, fast.FixedProbabilityConnector(0.02, rng=NumpyRNG(1)), synapse())
    assert 75_000 < len(ref) < 85_000
    np.testing.assert_array_equal(new.table(), generic_table(ref))


@pytest.mark.parametrize("pair", [("p", "q"), ("view", "view2"), ("asm", "p")])
def test_clone(pops, pair):
    """One connection per pair of cells the reference connects (a pair connected twice there is cloned once), in
    PyNN's order, with the clone's own synapse parameters drawn as PyNN draws them."""
    pre, post = pops[pair[0]], pops[pair[1]]
    reference = mock.Projection(pre, post, generic.FixedNumberPreConnector(6, with_replacement=True,
                                                                           rng=NumpyRNG(seed=5)), static()())
    pairs = {(c.presynaptic_index, c.postsynaptic_index) for c in reference.connections}
    assert len(pairs) < len(reference.connections)          # some pairs twice
    table = compare(lambda m: m.CloneConnector(reference), pre, post, static(uniform_weights(12), 0.7))
    assert len(table) == len(pairs)
    compare(lambda m: m.CloneConnector(reference), post, pre)          # other populations: PyNN's error
