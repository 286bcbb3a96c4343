"""Procedural connectivity (FixedProbabilityConnector(..., procedural=True)): connections drawn again at every
spike, never stored.  The kernels must deliver exactly the connections the host draws for get(), and those must
be fixed-probability connections."""
import tracemalloc

import numpy as np
import pytest
from pyNN import errors

from pynn_gpu.codegen import procedural


def _network(sim, make, seed=42, allow_self=True, delay=0.5):
    """Poisson sources onto LIF cells, and the cells onto themselves (inhibitory), both made by ``make(p,
    allow_self, index)`` (a connector); double precision, so the two ways of connecting must agree exactly."""
    sim.setup(timestep=0.1, min_delay=0.1, precision="double", rng_seed=seed)
    src = sim.Population(50, sim.SpikeSourcePoisson(rate=40.0), label="src")
    cells = sim.Population(80, sim.IF_curr_exp(tau_syn_E=2.0, i_offset=0.3), label="cells")
    cells.record(["spikes", "v"])
    first = sim.Projection(src, cells, make(0.2, True, 0), sim.StaticSynapse(weight=0.6, delay=1.0))
    second = sim.Projection(cells, cells, make(0.1, allow_self, 1), sim.StaticSynapse(weight=-0.4, delay=delay),
                            receptor_type="inhibitory")
    sim.run(200.0)
    segment = cells.get_data().segments[0]
    pairs = [np.array(prj.get("weight", format="list"))[:, :2].astype(int) for prj in (first, second)]
    return pairs, segment.filter(name="v")[0].magnitude, [np.asarray(st) for st in segment.spiketrains]


def _procedural_or_stored(sim, pre, post, receptor, stored, connector, synapse):
    """A projection made by ``connector()`` and ``synapse()``, or with ``stored`` (a list of (i, j, weight, delay))
    through a FromListConnector."""
    if stored is None:
        return sim.Projection(pre, post, connector(), synapse(), receptor_type=receptor)
    return sim.Projection(pre, post, sim.FromListConnector(stored, column_names=["weight", "delay"]),
                          sim.StaticSynapse(), receptor_type=receptor)


@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("delay", [0.1, 0.5])
def test_kernels_deliver_the_connections_get_returns(sim, step_kernels, allow_self, delay):
    """The same network with the connections stored (FromListConnector of what get() returned): identical v and
    spikes, on both ways of stepping (the second projection's delay of one step and of five)."""
    pairs, v, spikes = _network(sim, lambda p, a, k: sim.FixedProbabilityConnector(
        p, allow_self_connections=a, procedural=True), allow_self=allow_self, delay=delay)
    stored, v_stored, spikes_stored = _network(
        sim, lambda p, a, k: sim.FromListConnector(pairs[k].tolist()), allow_self=allow_self, delay=delay)
    assert sum(map(len, spikes)) > 100        # the recurrent inhibition shapes the activity
    assert len(pairs[0]) > 0.15 * 50 * 80 and len(pairs[1]) > 0.05 * 80 * 80
    assert (not allow_self) == all(pairs[1][:, 0] != pairs[1][:, 1])
    for a, b in zip(pairs, stored):
        assert np.array_equal(a, b)
    assert np.array_equal(v, v_stored)
    assert all(np.array_equal(a, b) for a, b in zip(spikes, spikes_stored))


@pytest.mark.parametrize("precision", ["single", "double"])
def test_random_weights_and_delays_are_those_get_returns(sim, precision):
    """Weights and delays drawn on the device (uniform; normal clipped to keep the weights' sign, as the sign rule
    asks, and the delays above dt): a network with the connections, weights and delays get() returns stored gives
    identical v, in either precision (get() draws them in the device's precision); and they follow their
    distributions."""
    native = sim.NativeRNG()
    weights = (sim.RandomDistribution("uniform", (0.2, 0.9), rng=native),
               sim.RandomDistribution("normal_clipped", mu=-0.5, sigma=0.3, low=-np.inf, high=0.0, rng=native))
    delays = (sim.RandomDistribution("normal_clipped", mu=1.0, sigma=0.5, low=0.1, high=np.inf, rng=native),
              sim.RandomDistribution("uniform", (0.1, 3.0), rng=native))

    def network(lists=None):
        sim.setup(timestep=0.1, min_delay=0.1, precision=precision, rng_seed=9)
        src = sim.Population(60, sim.SpikeSourcePoisson(rate=50.0), label="src")
        cells = sim.Population(40, sim.IF_curr_exp(i_offset=0.2), label="cells")
        cells.record("v")
        prjs = []
        for k, receptor in enumerate(("excitatory", "inhibitory")):
            prjs.append(_procedural_or_stored(sim, src, cells, receptor, lists and lists[k],
                                              lambda: sim.FixedProbabilityConnector(0.3, procedural=True),
                                              lambda: sim.StaticSynapse(weight=weights[k], delay=delays[k])))
        sim.run(100.0)
        v = cells.get_data().segments[0].filter(name="v")[0].magnitude
        return [np.array(p.get(["weight", "delay"], format="list")) for p in prjs], v

    drawn, v = network()
    stored, v_stored = network([d.tolist() for d in drawn])
    assert all(np.array_equal(a, b) for a, b in zip(drawn, stored))
    assert np.array_equal(v, v_stored) and v.std() > 0.5
    delay_normal, delay_uniform = drawn[0][:, 3], drawn[1][:, 3]
    assert delay_normal.min() >= 0.1 and abs(delay_normal.mean() - 1.03) < 0.05 and delay_normal.max() > 2.0
    assert delay_uniform.min() >= 0.1 and delay_uniform.max() <= 3.0 and abs(delay_uniform.mean() - 1.55) < 0.06
    steps = np.rint(drawn[1][:, 3] / 0.1)
    assert np.allclose(drawn[1][:, 3], steps * 0.1) and len(np.unique(steps)) == 30
    uniform, normal = drawn[0][:, 2], drawn[1][:, 2]
    assert uniform.min() >= 0.2 and uniform.max() < 0.9 and abs(uniform.mean() - 0.55) < 0.03
    assert normal.max() <= 0.0 and len(np.unique(normal)) > 0.9 * len(normal)
    # a normal(-0.5, 0.3) clipped at 0: mean -0.5 - 0.3 phi(5/3) / Phi(5/3) = -0.5326
    assert abs(normal.mean() + 0.5326) < 0.03
    if precision == "single":
        assert np.array_equal(uniform, uniform.astype(np.float32))


def test_fixed_total_number(sim, step_kernels):
    """FixedTotalNumberConnector(n, procedural=True), with the microcircuit's kind of weights and delays (normal,
    clipped to keep the sign and to stay above dt), onto a population of itself and another: the same network
    stored gives identical v; n connections exactly, sources and targets uniform."""
    native = sim.NativeRNG()

    def network(lists=None):
        sim.setup(timestep=0.1, min_delay=0.1, precision="double", rng_seed=5)
        a = sim.Population(70, sim.IF_curr_exp(i_offset=0.5, tau_refrac=1.0), label="a")
        b = sim.Population(30, sim.IF_curr_exp(i_offset=0.4), label="b")
        a.initialize(v=sim.RandomDistribution("uniform", (-65.0, -50.0), rng=sim.NumpyRNG(1)))
        a.record("v")
        prjs = []
        for k, (post, n, mu, receptor) in enumerate(((a, 600, 0.3, "excitatory"), (b, 400, -0.6, "inhibitory"))):
            bounds = dict(low=0.0, high=np.inf) if mu > 0 else dict(low=-np.inf, high=0.0)
            prjs.append(_procedural_or_stored(
                sim, a, post, receptor, lists and lists[k], lambda: sim.FixedTotalNumberConnector(n, procedural=True),
                lambda: sim.StaticSynapse(
                    weight=sim.RandomDistribution("normal_clipped", mu=mu, sigma=abs(mu) * 0.5, rng=native, **bounds),
                    delay=sim.RandomDistribution("normal_clipped", mu=1.5, sigma=0.75, low=0.1, high=np.inf,
                                                 rng=native))))
        sim.run(150.0)
        v = a.get_data().segments[0].filter(name="v")[0].magnitude
        return [np.array(p.get(["weight", "delay"], format="list")) for p in prjs], v

    drawn, v = network()
    stored, v_stored = network([d.tolist() for d in drawn])
    assert [len(d) for d in drawn] == [600, 400]

    def ordered(rows):      # (within a source, the stored projection lists its connections by target)
        return rows[np.lexsort(rows.T[::-1])]
    assert all(np.array_equal(ordered(x), ordered(y)) for x, y in zip(drawn, stored))
    assert np.array_equal(v, v_stored) and v.std() > 1.0
    assert drawn[0][:, 2].min() >= 0 and drawn[1][:, 2].max() <= 0 and drawn[0][:, 3].min() >= 0.1
    pre, post = procedural.fixed_total_number(500, 400, 200000, seed=3, stream=1)
    assert len(pre) == 200000 and np.all(np.diff(pre) >= 0) and post.min() >= 0 and post.max() < 400
    for cells, n in ((pre, 500), (post, 400)):
        counts = np.bincount(cells, minlength=n)
        assert counts.var() == pytest.approx(200000 / n * (1 - 1 / n), rel=0.2)     # multinomial


@pytest.mark.parametrize("allow_self", [True, False])
def test_views(sim, allow_self):
    """Slices of one population on both sides (overlapping): the same network stored gives identical v; without
    self-connections no cell connects to itself (its place differs in the two views)."""
    def network(stored=None):
        sim.setup(timestep=0.1, min_delay=0.1, precision="double", rng_seed=4)
        cells = sim.Population(60, sim.IF_curr_exp(i_offset=0.45, tau_refrac=1.0), label="cells")
        cells.initialize(v=sim.RandomDistribution("uniform", (-65.0, -50.0), rng=sim.NumpyRNG(2)))
        cells.record("v")
        prj = _procedural_or_stored(
            sim, cells[10:50], cells[5:45], "excitatory", stored,
            lambda: sim.FixedProbabilityConnector(0.3, allow_self_connections=allow_self, procedural=True),
            lambda: sim.StaticSynapse(weight=0.4, delay=0.3))
        sim.run(100.0)
        return np.array(prj.get(["weight", "delay"], format="list")), cells.get_data().segments[0].filter(
            name="v")[0].magnitude

    drawn, v = network()
    _, v_stored = network(drawn.tolist())
    assert np.array_equal(v, v_stored) and v.std() > 1.0
    same_cell = drawn[:, 0] + 10 == drawn[:, 1] + 5
    assert same_cell.any() == allow_self
    assert drawn[:, 0].max() < 40 and drawn[:, 1].max() < 40 and abs(len(drawn) - 0.3 * 1600) < 80


def test_fixed_number_post(sim):
    """FixedNumberPostConnector(n, with_replacement=True, procedural=True): n targets per source, the same network
    stored gives identical v."""
    def network(stored=None):
        sim.setup(timestep=0.1, min_delay=0.1, precision="double", rng_seed=8)
        src = sim.Population(40, sim.SpikeSourcePoisson(rate=30.0), label="src")
        cells = sim.Population(25, sim.IF_curr_exp(i_offset=0.3), label="cells")
        cells.record("v")
        prj = _procedural_or_stored(
            sim, src, cells, "excitatory", stored,
            lambda: sim.FixedNumberPostConnector(7, with_replacement=True, procedural=True),
            lambda: sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.5, 1.5), rng=sim.NativeRNG()),
                                      delay=0.2))
        sim.run(100.0)
        return np.array(prj.get(["weight", "delay"], format="list")), cells.get_data().segments[0].filter(
            name="v")[0].magnitude

    drawn, v = network()
    _, v_stored = network(drawn.tolist())
    assert np.array_equal(np.bincount(drawn[:, 0].astype(int), minlength=40), np.full(40, 7))
    assert np.array_equal(v, v_stored) and v.std() > 0.5
    with pytest.raises(errors.InvalidParameterValueError, match="with replacement"):
        sim.FixedNumberPostConnector(7, procedural=True)


def test_the_seed_draws_the_connections(sim):
    """The same seed draws the same connections (again after reset(), and in a new setup()); another seed other
    ones; two projections between the same populations different ones."""
    def draw(seed):
        sim.setup(timestep=0.1, rng_seed=seed)
        a, b = sim.Population(100, sim.IF_curr_exp()), sim.Population(120, sim.IF_curr_exp())
        prjs = [sim.Projection(a, b, sim.FixedProbabilityConnector(0.1, procedural=True),
                               sim.StaticSynapse(weight=0.1, delay=0.2)) for _ in range(2)]
        sim.run(1.0)
        first = [np.array(p.get("weight", format="list")) for p in prjs]
        sim.reset()
        sim.run(1.0)
        assert all(np.array_equal(x, np.array(p.get("weight", format="list"))) for x, p in zip(first, prjs))
        return [x[:, :2] for x in first]

    one, again, other = draw(1), draw(1), draw(2)
    assert all(np.array_equal(x, y) for x, y in zip(one, again))
    assert not np.array_equal(one[0], other[0]) and not np.array_equal(one[0], one[1])


@pytest.mark.parametrize("p", [1.0, 0.5, 0.05, 0.002, 1e-5])
def test_connections_are_fixed_probability(p):
    """Each of the n_pre x n_post pairs is connected with probability p, independently: the number of
    connections is binomial (within 4 sd), so are those of each presynaptic cell (their variance), targets are
    uniform and never repeated.  1e-5 goes past the gap table's length (MAX_TABLE) and continues."""
    n_pre, n_post = 2000, 3000
    pre, post = procedural.fixed_probability(n_pre, n_post, p, seed=123, stream=4)
    n = n_pre * n_post
    assert abs(len(pre) - n * p) <= 4 * np.sqrt(n * p * (1 - p)) + 1e-9
    assert len(np.unique(pre * n_post + post)) == len(pre)
    assert np.all(np.diff(pre) >= 0) and post.min() >= 0 and post.max() < n_post
    if 0.0 < p < 1.0 and n * p > 1000:
        rows = np.bincount(pre, minlength=n_pre)
        assert rows.var() == pytest.approx(n_post * p * (1 - p), rel=0.15)
        bins = np.bincount(post * 10 // n_post, minlength=10)
        expected = len(post) / 10
        assert ((bins - expected) ** 2 / expected).sum() < 30     # chi-square, 9 degrees of freedom
    if p == 1.0:
        assert len(pre) == n


def test_gap_table():
    """T[k] = round(2^32 (1 - p)^(k + 1)), never increasing; the gap of a word is the number of entries above it."""
    table = procedural.gap_table(0.25)
    assert table[0] == 3 * 2 ** 30 and table[1] == 9 * 2 ** 28 and np.all(np.diff(table.astype(np.int64)) <= 0)
    assert table[-1] == 1 and len(table) == 79      # 2^32 0.75^80 < 0.5
    words = np.array([0, table[5] - 1, table[5], 2 ** 32 - 1], np.uint32)
    assert procedural.gaps(words, table).tolist() == [79, 6, 5, 0]
    assert len(procedural.gap_table(1.0)) == 0 and len(procedural.gap_table(1e-6)) == procedural.MAX_TABLE
    with pytest.raises(ValueError):
        procedural.gap_table(0.0)


def test_nothing_is_stored_until_asked_for(sim):
    """A procedural projection of 2,000 x 2,000 cells (p = 0.25, ~1 M connections) holds no connection until
    get() draws them; the built network holds only the gap table."""
    sim.setup(timestep=0.1, rng_seed=3)
    a = sim.Population(2000, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(2000, sim.IF_curr_exp())
    tracemalloc.start()
    try:
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.25, procedural=True),
                             sim.StaticSynapse(weight=0.1, delay=0.5))
        sim.run(1.0)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2e6, f"{held} bytes"          # stored: ~24 MB (24 bytes per connection)
    n = prj.size()
    assert abs(n - 1e6) < 4 * np.sqrt(1e6 * 0.75)


def test_procedural_errors(sim):
    """What procedural connections cannot be is refused, naming the projection or the connector."""
    sim.setup(timestep=0.1)
    a, b = sim.Population(10, sim.IF_curr_exp(), label="a"), sim.Population(10, sim.IF_curr_exp(), label="b")
    fp = sim.FixedProbabilityConnector
    for kwargs, words in ((dict(rng=sim.NumpyRNG(1)), "leave out rng"),
                          (dict(allow_self_connections="NoMutual"), "NoMutual"),
                          (dict(procedural="yes"), "procedural must be True or False")):
        with pytest.raises(errors.InvalidParameterValueError, match=words):
            fp(0.5, **{"procedural": True, **kwargs})
    with pytest.raises(errors.InvalidParameterValueError, match="from 0 to 1"):
        fp(1.5, procedural=True)
    for kwargs, words in ((dict(with_replacement=False), "with replacement"),
                          (dict(allow_self_connections=False), "with replacement"),
                          (dict(rng=sim.NumpyRNG(2)), "leave out rng")):
        with pytest.raises(errors.InvalidParameterValueError, match=words):
            sim.FixedTotalNumberConnector(10, procedural=True, **kwargs)
    cases = [(a[::2], b, sim.StaticSynapse(weight=0.1), "view of consecutive cells of one"),
             (a, a[:3] + b, sim.StaticSynapse(weight=0.1), "not this Assembly"),
             (a, b, sim.TsodyksMarkramSynapse(weight=0.1), "must be StaticSynapse"),
             (a, b, sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.1, 0.2))), "rng=sim.NativeRNG"),
             (a, b, sim.StaticSynapse(weight=sim.RandomDistribution("gamma", (1.0, 0.1), rng=sim.NativeRNG())),
              "not 'gamma'"),
             (a, b, sim.StaticSynapse(weight=sim.RandomDistribution("normal_clipped", mu=0.0, sigma=1.0, low=1.5,
                                                                    high=9.0, rng=sim.NativeRNG())), "less than half"),
             (a, b, sim.StaticSynapse(weight=sim.RandomDistribution("normal", mu=0.5, sigma=0.2, rng=sim.NativeRNG())),
              "weight"),      # the sign rule: it can draw negative excitatory weights
             (a, b, sim.StaticSynapse(weight=0.1, delay=sim.RandomDistribution("uniform", (0.1, 0.2))),
              "random delays are drawn on the device"),
             (a, b, sim.StaticSynapse(weight=0.1, delay=sim.RandomDistribution(
                 "uniform", (0.01, 0.2), rng=sim.NativeRNG())), "below the timestep"),
             (a, b, sim.StaticSynapse(weight=0.1, delay=0.04), "below the timestep")]
    for pre, post, synapse, words in cases:
        with pytest.raises(errors.ConnectionError, match=words):
            sim.Projection(pre, post, fp(0.5, procedural=True), synapse, label="P")
    assert not sim.simulator.state.projections         # a refused projection leaves nothing behind
    prj = sim.Projection(a, b, fp(0.5, procedural=True), sim.StaticSynapse(weight=0.1), label="P")
    sim.Projection(b, a, fp(0.5, procedural=True), sim.StaticSynapse(weight=0.1), label="a label /* with */ ünïcode")
    sim.run(1.0)       # (labels go into a comment of the generated code)
    for call, what in ((lambda: prj.set(weight=0.2), "set"), (lambda: prj.initialize(weight=0.2), "initialize")):
        with pytest.raises(errors.ConnectionError, match=f"projection 'P'.*procedural.*{what}"):
            call()
    assert np.all(np.array(prj.get("weight", format="list"))[:, 2] == 0.1)


def test_a_rebuild_between_runs_changes_nothing(sim):
    """A structural change between runs rebuilds the network: procedural connections (random delays, fixed total
    number) and the spikes on their way stay as they were, v to the last bit."""
    def run(split):
        sim.setup(timestep=0.1, min_delay=0.1, rng_seed=3, precision="double")
        src = sim.Population(30, sim.SpikeSourcePoisson(rate=80.0))
        cells = sim.Population(50, sim.IF_curr_exp(i_offset=0.3))
        sim.Projection(src, cells, sim.FixedProbabilityConnector(0.3, procedural=True), sim.StaticSynapse(
            weight=0.5, delay=sim.RandomDistribution("uniform", (0.5, 3.0), rng=sim.NativeRNG())))
        sim.Projection(cells, cells, sim.FixedTotalNumberConnector(300, procedural=True),
                       sim.StaticSynapse(weight=-0.3, delay=1.5), receptor_type="inhibitory")
        cells.record("v")
        if split:
            sim.run(47.3)
        cells.record("spikes")      # after a run: a rebuild
        sim.run(100.0 - sim.get_current_time())
        return cells.get_data().segments[0].filter(name="v")[0].magnitude

    whole, split = run(False), run(True)
    assert whole.shape == (1001, 50) and whole.std() > 0.5 and np.array_equal(whole, split)
