"""run continuing, run_until, reset starting a new segment, reproducibility, changes between runs."""
from contextlib import nullcontext

import numpy as np
import pytest


def net(sim, seed=0):
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=seed)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=200.0))
    cells = sim.Population(3, sim.IF_curr_exp())
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.3, delay=1.0))
    cells.record(["v", "spikes"])
    src.record("spikes")
    return src, cells


def spike_trains(pop, segment):
    return [np.asarray(st) for st in pop.get_data().segments[segment].spiketrains]


def test_run_continues_and_reset_starts_a_new_trial(sim):
    """After reset() the random draws are new (as NEST's): a new trial; the same script from setup() with the same
    seed repeats every trial exactly."""
    def trials():
        src, cells = net(sim)
        cells.initialize(v=sim.RandomDistribution("uniform", (-70.0, -60.0), rng=sim.NumpyRNG(seed=5)))
        sim.run(10.0)
        sim.run(10.0)
        assert sim.get_current_time() == pytest.approx(20.0)
        sim.reset()
        assert sim.get_current_time() == 0.0
        sim.run_until(20.0)
        block = cells.get_data()
        assert len(block.segments) == 2
        v = [seg.filter(name="v")[0].magnitude for seg in block.segments]
        assert v[0].shape == v[1].shape == (201, 3)
        return v, [spike_trains(src, k) for k in range(2)]

    (v0, v1), (s0, s1) = trials()
    assert np.ptp(v0) > 1.0                       # the input did something
    assert sum(len(st) for st in s0) > 0 and sum(len(st) for st in s1) > 0
    assert any(len(a) != len(b) or not np.array_equal(a, b) for a, b in zip(s0, s1))    # new Poisson draws
    assert not np.any(v0[0] == v1[0])             # initial values drawn again
    (w0, w1), (r0, r1) = trials()
    np.testing.assert_array_equal(w0, v0)
    np.testing.assert_array_equal(w1, v1)
    assert all(np.array_equal(a, b) for a, b in zip(r1, s1))


def test_rng_seed_changes_poisson_input(sim):
    src, _ = net(sim, seed=1)
    sim.run(50.0)
    a = [np.asarray(st) for st in src.get_data().segments[0].spiketrains]
    src, _ = net(sim, seed=2)
    sim.run(50.0)
    b = [np.asarray(st) for st in src.get_data().segments[0].spiketrains]
    assert any(len(x) != len(y) or not np.array_equal(x, y) for x, y in zip(a, b))


def test_poisson_rate(sim):
    sim.setup(timestep=0.1, rng_seed=7)
    src = sim.Population(500, sim.SpikeSourcePoisson(rate=50.0, start=100.0, duration=1000.0))
    src.record("spikes")
    sim.run(1200.0)
    spikes = src.get_data().segments[0].spiketrains
    n = sum(len(st) for st in spikes)
    expected = 500 * 50.0 * 1.0
    assert abs(n - expected) < 4 * np.sqrt(expected)
    all_times = np.concatenate([np.asarray(st) for st in spikes])
    assert all_times.min() > 100.0 and all_times.max() <= 1100.0 + 0.1


@pytest.mark.parametrize("precision", ["on_grid", "off_grid"])
def test_spike_source_array_changed_between_runs(sim, precision):
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision=precision)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 3.05], [2.0]]))
    src.record("spikes")
    sim.run(10.0)
    src[1].spike_times = [12.0, 15.0]
    src.set(spike_times=[[11.0, 18.0], [12.0, 15.0]])
    sim.run(10.0)
    st = [np.asarray(s) for s in src.get_data().segments[0].spiketrains]
    # on the grid 3.05 is emitted at 3.1 as in NEST; off-grid reports the given time, as NEST's precise parrots do
    np.testing.assert_allclose(st[0], [1.0, 3.1 if precision == "on_grid" else 3.05, 11.0, 18.0])
    np.testing.assert_allclose(st[1], [2.0, 12.0, 15.0])


@pytest.mark.parametrize("precision", ["on_grid", "off_grid"])
def test_spike_source_array_times_in_one_step_are_several_spikes(sim, precision):
    """Repeated times, or times closer than dt, are that many spikes (NEST's spike_generator): each delivers its
    weight and is recorded; off the grid each keeps its own given time."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision=precision)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 1.0, 3.04, 3.06], [1.0]]))
    post = sim.Population(2, sim.IF_curr_exp(tau_syn_E=5.0))
    sim.Projection(src, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    src.record("spikes")
    post.record("isyn_exc")
    sim.run(6.0)
    st = [np.asarray(s) for s in src.get_data().segments[0].spiketrains]
    np.testing.assert_allclose(st[0], [1.0, 1.0, 3.1, 3.1] if precision == "on_grid" else [1.0, 1.0, 3.04, 3.06])
    np.testing.assert_allclose(st[1], [1.0])
    isyn = post.get_data().segments[0].filter(name="isyn_exc")[0].magnitude
    # arrival at 2.0 ms: cell 0 gets two spikes of 1 nA, cell 1 one; at 4.1 ms cell 0 gets two more
    np.testing.assert_allclose(isyn[20], [2.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(isyn[41, 0], 2.0 * np.exp(-2.1 / 5.0) + 2.0, rtol=1e-5)


def test_off_grid_time_just_past_a_run_belongs_to_the_next_segment(sim):
    """A given time a hair past the end of a run (10.0000000000005) is emitted in its last step; cleared per run,
    it is reported in the next segment with its own time, as pyNN.nest reports it (not lost)."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="off_grid")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 10.0000000000005, 10.04, 15.0]))
    src.record("spikes")
    segments = []
    for _ in range(2):
        sim.run(10.0)
        with pytest.warns(UserWarning, match="after t_stop") if not segments else nullcontext():
            segments.append([np.asarray(st) for st in src.get_data(clear=True).segments[0].spiketrains][0])
    np.testing.assert_array_equal(segments[0], [5.0])
    np.testing.assert_array_equal(segments[1], [10.0000000000005, 10.04, 15.0])


def test_off_grid_spike_times_of_many_sources(sim):
    """Each source's given times come back off the grid (several in one step each its own), those of cells
    that changed their list since keep theirs; counts agree."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="off_grid")
    rng = np.random.default_rng(3)
    given = [np.sort(np.round(rng.uniform(0.05, 50.0, n), 4)) for n in rng.integers(0, 40, 300)]
    given[7] = np.array([1.01, 1.02, 1.03, 20.0])             # three in one step
    src = sim.Population(300, sim.SpikeSourceArray(spike_times=[sim.Sequence(g) for g in given]))
    src.record("spikes")
    sim.run(30.0)
    src[5:9].set(spike_times=sim.Sequence([40.0]))              # the spikes before keep their given times
    sim.run(20.0)
    for k in (5, 6, 7, 8):
        given[k] = np.concatenate([given[k][given[k] <= 30.0], [40.0]])
    trains = src.get_data().segments[0].spiketrains
    for k in range(300):
        np.testing.assert_array_equal(np.asarray(trains[k]), given[k])
    counts = src.get_spike_counts()
    assert [counts[c] for c in src.all_cells] == [len(g) for g in given]


def test_parameter_and_dc_changes_between_runs(sim):
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(2, sim.IF_curr_exp())
    dc = sim.DCSource(amplitude=0.5, start=0.0)
    dc.inject_into(cells[0:1])
    cells.record("v")
    sim.run(300.0)
    dc.amplitude = 0.6
    cells.set(i_offset=[0.0, 0.25])
    sim.run(300.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    # steady states: v_rest + R * I with R = tau_m / cm = 20 MOhm
    assert v[3000, 0] == pytest.approx(-65.0 + 20 * 0.5, abs=0.01)
    assert v[6000, 0] == pytest.approx(-65.0 + 20 * 0.6, abs=0.01)
    assert v[3000, 1] == pytest.approx(-65.0, abs=1e-9)
    assert v[6000, 1] == pytest.approx(-65.0 + 20 * 0.25, abs=0.01)
    assert cells.get("i_offset") == pytest.approx([0.0, 0.25])
    # and the changes act when made: 5 ms later each cell is on its relaxation towards the new steady state
    # (for i_offset from the next step: a step later would be 0.02 mV off, single precision's rounding is 1e-4; the
    # current source's change may take one step more to arrive, as in NEST)
    relax = np.exp(-5.0 / 20.0)
    assert v[3050, 1] == pytest.approx(-60.0 + (v[3000, 1] + 60.0) * relax, abs=1e-3)
    assert v[3050, 0] == pytest.approx(-53.0 + (v[3000, 0] + 53.0) * relax, abs=0.01)


def test_one_cell_set_between_runs(sim):
    """cell.tau_m = x (and a view's set) after a run changes that cell's derived parameters only (re-derived for the
    cells set, not the population: setting cells one at a time was quadratic): cell 1 relaxes towards its
    steady state with tau_m 10 ms, the others still with 20 ms."""
    sim.setup(timestep=0.1, precision="double")
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=0.5))
    cells.record("v")
    sim.run(0.1)
    cells[1].tau_m = 10.0
    cells[2:3].set(cm=2.0)
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(cells.get("tau_m"), [20.0, 10.0, 20.0])
    t = np.arange(len(v))[1:] * 0.1 - 0.1                              # from the change
    v1 = v[1]
    r_in = np.array([20.0, 10.0, 10.0])           # tau_m / cm, MOhm
    tau = np.array([20.0, 10.0, 20.0])
    expected = -65.0 + r_in * 0.5 + (v1 + 65.0 - r_in * 0.5) * np.exp(-t[:, None] / tau)
    np.testing.assert_allclose(v[1:], expected, atol=1e-9)


def test_initialize_and_get(sim):
    sim.setup(timestep=0.1)
    cells = sim.Population(3, sim.IF_curr_exp(tau_m=[10.0, 20.0, 30.0]))
    cells.initialize(v=[-60.0, -61.0, -62.0])
    cells.record("v")
    sim.run(1.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(v[0], [-60.0, -61.0, -62.0])
    np.testing.assert_allclose(cells.get("tau_m"), [10.0, 20.0, 30.0])
    # relaxation towards v_rest with each cell's own tau_m
    np.testing.assert_allclose(v[10], -65.0 + (v[0] + 65.0) * np.exp(-1.0 / np.array([10.0, 20.0, 30.0])), atol=1e-4)


@pytest.mark.parametrize("change", ["cells", "recording"])
def test_rebuild_between_runs_continues_the_network(sim, change):
    """A structural change between runs (new cells and a projection with a longer delay, or a new recording)
    rebuilds the network; spikes on their way, spike histories and synaptic state (Tsodyks-Markram depression,
    STDP) go on as if nothing had happened: the traces and weights equal those of a run without the change."""
    def run(extra):
        sim.setup(timestep=0.1, min_delay=0.1)
        src = sim.Population(2, sim.SpikeSourceArray(spike_times=[list(np.arange(5.0, 100.0, 7.0)),
                                                                  list(np.arange(8.0, 100.0, 9.0))]))
        post = sim.Population(2, sim.IF_curr_exp(i_offset=0.6, tau_refrac=2.0))
        sim.Projection(src, post, sim.OneToOneConnector(),
                       sim.TsodyksMarkramSynapse(U=0.5, tau_rec=200.0, weight=2.0, delay=3.0))
        stdp = sim.Projection(src, post, sim.AllToAllConnector(), sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.05, A_minus=0.06),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0), weight=1.0, delay=4.0))
        post.record("v")
        sim.run(51.0)                      # spikes of 44-50 ms still on their way
        if extra == "cells":               # a cell of the same model (shifts the layout) and one of another
            more = sim.Population(3, sim.IF_curr_exp())
            other = sim.Population(1, sim.IF_cond_exp())
            sim.Projection(src, more, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=15.0))
            sim.Projection(post, other, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01, delay=1.0))
        elif extra == "recording":
            src.record("spikes")
        sim.run(49.0)
        v = post.get_data().segments[0].filter(name="v")[0].magnitude
        return v, stdp.get("weight", format="array")

    v0, w0 = run(None)
    v1, w1 = run(change)
    assert v0.shape == v1.shape == (1001, 2)
    np.testing.assert_allclose(v1, v0, rtol=0, atol=1e-4)
    np.testing.assert_allclose(w1, w0, rtol=1e-6)
    assert np.ptp(w0) > 0.01                     # the weights did learn


def test_rebuild_keeps_the_adaptive_step_size(sim):
    """An AdExp cell (RKF45 with NEST's step control) keeps the step size its integrator proposes across a
    rebuild, as NEST keeps it per cell: a new recording between runs leaves v exactly as in one run.  The split
    falls at the end of a spike's step, where the proposal is still below dt (starting again from dt instead
    moved v by 4e-4 mV)."""
    def run(split):
        sim.setup(timestep=0.1, min_delay=0.1, precision="double")
        cell = sim.Population(2, sim.EIF_cond_exp_isfa_ista(i_offset=[1.0, 2.5]))
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=list(np.arange(3.05, 100.0, 4.0))))
        sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05, delay=1.0))
        cell.record("v")
        if split:
            sim.run(13.5)                 # the second cell fired in the step ending here
            src.record("spikes")          # a structural change: the network is built again
            sim.run(86.5)
        else:
            sim.run(100.0)
        return cell.get_data().segments[0].filter(name="v")[0].magnitude

    one, two = run(False), run(True)
    assert one.shape == two.shape == (1001, 2)
    np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("make", [lambda sim, r: sim.SpikeSourcePoissonRefractory(rate=r, tau_refrac=0.0),
                                  lambda sim, r: sim.SpikeSourceGamma(alpha=2, beta=2 * r)],
                         ids=["ppd", "gamma"])
def test_renewal_sources_follow_changes_between_runs(sim, make):
    """A rate raised between runs applies at once (the pending interval was drawn at the old rate); a rate set to
    0 and back gives no synchronous burst, and a start set later than now delays the train; intervals shorter
    than a step give several spikes in it (3 kHz at dt 0.1: 0.3 spikes per step)."""
    sim.setup(timestep=0.1, rng_seed=3)
    n = 200
    src = sim.Population(n, make(sim, 2.0))
    src.record("spikes")

    def rate(hz, **more):
        gamma = "beta" in src.celltype.get_parameter_names()
        src.set(**({"beta": 2 * hz} if gamma else {"rate": hz}), **more)
    sim.run(100.0)
    for hz, more in ((200.0, {}), (0.0, {}), (20.0, {"start": 320.0}), (3000.0, {})):
        rate(hz, **more)
        sim.run(100.0)
    times = np.concatenate([np.asarray(st) for st in src.get_data().segments[0].spiketrains])

    def count(a, b):
        return np.sum((times > a + 1e-9) & (times <= b + 1e-9))
    for (a, b), hz in (((100, 200), 200.0), ((320, 400), 20.0), ((400, 500), 3000.0)):
        expected = n * hz * (b - a) / 1000.0
        assert abs(count(a, b) - expected) < 5 * np.sqrt(expected), (a, b)
    assert count(200, 320) == 0
    assert count(320, 320.2) <= 3                   # no burst at the restart (0.8 spikes expected)


def test_time_on_the_grid_and_module_names(sim):
    """get_current_time() is on the grid as NEST's; sim.state, sim.Sequence... are there as in pyNN.nest."""
    sim.setup(timestep=0.1)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=sim.Sequence([0.5])))
    for _ in range(3):
        sim.run(0.1)
    assert sim.get_current_time() == 0.3 and sim.state.t == 0.3 and sim.state.dt == 0.1
    assert src.get("spike_times") == sim.Sequence([0.5])
    assert all(hasattr(sim, name) for name in ("ArrayParameter", "LazyArray", "ParameterSpace"))


def test_reset_after_a_rebuild_returns_learned_values_to_the_given_ones(sim):
    """reset() returns learned weights to their initial (or last set) values, also after a rebuild between runs
    (which builds from the learned values): NEST's STDP and a user rule."""
    plain = sim.create_weight_update_model("Plain", vars={"g": 0.5}, pre_spike_code="add_to_post(g); g += 0.01;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 60.0]))
    post = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    user = sim.Projection(pre, post, sim.AllToAllConnector(), plain(g=0.5, delay=0.1))
    stdp = sim.Projection(pre, post, sim.AllToAllConnector(), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0), weight=0.3, delay=0.1))
    sim.run(50.0)
    sim.Population(1, sim.IF_curr_exp())        # a rebuild: from the learned values
    sim.run(50.0)
    learned = (user.get("g", format="list", with_address=False)[0], stdp.get("weight", format="list",
                                                                                with_address=False)[0])
    assert learned[0] == pytest.approx(0.52) and learned[1] != 0.3
    sim.reset()
    assert user.get("g", format="list", with_address=False)[0] == 0.5
    assert stdp.get("weight", format="list", with_address=False)[0] == 0.3
    sim.run(100.0)
    assert (user.get("g", format="list", with_address=False)[0],
            stdp.get("weight", format="list", with_address=False)[0]) == pytest.approx(learned, abs=1e-12)
    user.set(g=0.7)
    sim.run(10.0)
    sim.Population(1, sim.IF_curr_exp())
    sim.run(10.0)
    sim.reset()
    assert user.get("g", format="list", with_address=False)[0] == 0.7      # the value last set


def test_compile_between_runs_leaves_the_running_network(sim):
    """compile() describes the network again; the network that runs (its projections' values, the next run) is
    not changed by it."""
    sim.setup(timestep=0.1, min_delay=0.1)
    pre = sim.Population(3, sim.SpikeSourcePoisson(rate=50.0))
    post = sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.run(20.0)
    report = sim.compile(backend="opencl")
    assert report.kernels
    assert prj.get("weight", format="list", with_address=False) == [0.5] * 9
    sim.run(20.0)
    assert sim.get_current_time() == pytest.approx(40.0)


def _changed_between_runs(simulator, change, gpu):
    """A script that changes a Tsodyks-Markram projection's state or a step current's schedule between two runs:
    the peak of v after the last synaptic event, and the step current at 10, 25, 29.9 and 35 ms."""
    if gpu:
        simulator.setup(timestep=0.1, min_delay=0.1, precision="double")
    else:
        simulator.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
    src = simulator.Population(1, simulator.SpikeSourceArray(spike_times=[10.0, 20.0, 40.0]))
    cell = simulator.Population(2, simulator.IF_curr_exp())
    prj = simulator.Projection(src, cell[0:1], simulator.AllToAllConnector(),
                               simulator.TsodyksMarkramSynapse(U=0.4, tau_rec=150.0, weight=2.0, delay=1.0))
    step = simulator.StepCurrentSource(times=[5.0], amplitudes=[0.5])
    step.inject_into(cell[1:2])
    step.record()
    cell.record("v")
    simulator.run(20.0)
    if change:
        prj.initialize(u=0.8, x=0.5)
        step.set_parameters(times=[30.0], amplitudes=[0.2])       # every new time ahead
    simulator.run(30.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    current = step.get_data().magnitude.ravel()
    simulator.end()
    return v[400:].max(), current[[100, 250, 299, 350]]


@pytest.mark.cross_simulator
def test_changes_between_runs_act_at_once_as_in_nest(sim, nest):
    """Projection.initialize() between runs acts at the next run (it waited for a reset()), and a step current given
    a schedule whose times all lie ahead keeps its amplitude until the first (it dropped to 0), as in pyNN.nest."""
    for change in (False, True):
        peak, current = _changed_between_runs(sim, change, gpu=True)
        nest_peak, nest_current = _changed_between_runs(nest, change, gpu=False)
        assert peak == pytest.approx(nest_peak, abs=1e-9)
        np.testing.assert_allclose(current, nest_current, atol=1e-12)
    assert list(current) == [0.5, 0.5, 0.5, 0.2]


def test_shorter_delays_keep_spikes_on_their_way(sim):
    """A delay made shorter between runs (a smaller ring buffer) keeps a spike already emitted on its old delay,
    as NEST does (it was lost)."""
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=50.0, precision="double")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, sim.IF_curr_exp())
    prj = sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=30.0))
    cell.record("v")
    sim.run(10.0)
    prj.set(delay=5.0)
    sim.run(40.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert np.flatnonzero(v > -65.0)[0] * 0.1 == pytest.approx(35.1)


def test_initialize_while_a_rebuild_is_pending(sim):
    """A user current source's state initialize()d after a change that needs a rebuild starts from the new value
    (the rebuild carried the old one over it)."""
    Hold = sim.create_current_source_model("Hold", vars={"amp": 0.0}, injection_code="injectCurrent(amp);")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    cell = sim.Population(1, sim.IF_curr_exp())
    hold = Hold(amp=0.1)
    hold.inject_into(cell)
    hold.record()
    sim.run(10.0)
    sim.Population(1, sim.IF_curr_exp())
    hold.initialize(amp=1.0)
    sim.run(10.0)
    np.testing.assert_allclose(hold.get_data().magnitude.ravel()[[99, 100, 199]], [0.1, 1.0, 1.0])


def test_random_initial_values_of_a_view_are_drawn_at_each_reset(sim):
    """A RandomDistribution given to a view's initialize() is drawn again at each reset(), as a population's is
    (the view's cells started every trial from the first draw)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(4, sim.IF_curr_exp(v_rest=-60.0))
    cells[0:2].initialize(v=sim.RandomDistribution("uniform", (-70.0, -55.0), rng=sim.NumpyRNG(4)))
    cells.record("v")
    for _ in range(3):
        sim.run(1.0)
        sim.reset()
    starts = [segment.filter(name="v")[0].magnitude[0] for segment in cells.get_data().segments]
    assert len(starts) == 3 and all(np.all(s[2:] == -65.0) for s in starts)
    assert not np.allclose(starts[0][:2], starts[1][:2]) and not np.allclose(starts[1][:2], starts[2][:2])
