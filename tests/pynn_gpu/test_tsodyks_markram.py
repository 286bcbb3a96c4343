"""TsodyksMarkramSynapse onto one cell: the same v as pyNN.nest (tsodyks_synapse), within 0.02 mV."""
import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

pytestmark = pytest.mark.cross_simulator


def run_script(sim, celltype, tau_facil, initial=None, **setup_kw):
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[list(np.arange(10.0, 200.0, 12.5)) + [260.0, 262.0]]))
    cell = sim.Population(1, getattr(sim, celltype)(tau_syn_E=3.0, tau_m=15.0))
    weight = 0.8 if "curr" in celltype else 0.02
    syn = sim.TsodyksMarkramSynapse(weight=weight, delay=0.7, U=0.4, tau_rec=150.0, tau_facil=tau_facil)
    prj = sim.Projection(src, cell, sim.AllToAllConnector(), syn, receptor_type="excitatory")
    if initial:
        prj.initialize(**initial)
    cell.record("v")
    sim.run(300.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    sim.end()
    return v


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_cond_exp"])
@pytest.mark.parametrize("tau_facil", [0.0, 60.0])
def test_depression_and_facilitation_match_nest(sim, step_kernels, nest, celltype, tau_facil):
    vg = run_script(sim, celltype, tau_facil, precision="double")
    vn = run_script(nest, celltype, tau_facil)
    assert vg.shape == vn.shape == (3001,)
    assert np.ptp(vn) > 0.5                                   # the synapse did something
    assert np.abs(vg - vn).max() < 0.02
    # depression: later EPSPs are smaller than the first (without facilitation)
    if tau_facil == 0.0:
        first = vg[100:225].max() - vg[100]
        later = vg[1700:1825].max() - vg[1700]
        assert later < 0.8 * first


@pytest.mark.parametrize("tau_facil", [0.0, 60.0])
def test_initial_state_as_nest(sim, nest, tau_facil):
    """Projection.initialize(u=..., x=..., y=...) sets tsodyks_synapse's state as pyNN.nest passes it to NEST:
    with a third of the resources recovered (x), some active (y) and u = 0.7, the same v to 1e-9 mV in double
    precision, and the first EPSP smaller than from NEST's default start.  Refused: x or y outside [0, 1], and
    x + y above 1 (NEST's rules), naming the projection."""
    initial = {"u": 0.7, "x": 0.3, "y": 0.4}
    vg = run_script(sim, "IF_curr_exp", tau_facil, initial=initial, precision="double")
    vn = run_script(nest, "IF_curr_exp", tau_facil, initial=initial)
    assert np.abs(vg - vn).max() < 1e-9
    default = run_script(sim, "IF_curr_exp", tau_facil, precision="double")
    assert vg[100:225].max() - vg[100] < 0.8 * (default[100:225].max() - default[100])
    sim.setup()
    cells = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(), label="tm")
    for bad in ({"x": 1.5}, {"y": -0.1}, {"y": 0.2}):        # the last: with the default x = 1
        with pytest.raises(InvalidParameterValueError, match="'tm'"):
            prj.initialize(**bad)
    prj.initialize(x=0.6, y=0.4)


def test_state_restarts_after_reset(sim):
    v1 = run_script(sim, "IF_curr_exp", 0.0)
    sim.setup(timestep=0.1, min_delay=0.1)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[list(np.arange(10.0, 200.0, 12.5)) + [260.0, 262.0]]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=3.0, tau_m=15.0))
    sim.Projection(src, cell, sim.OneToOneConnector(),
                   sim.TsodyksMarkramSynapse(weight=0.8, delay=0.7, U=0.4, tau_rec=150.0), receptor_type="excitatory")
    cell.record("v")
    sim.run(300.0)
    sim.reset()
    sim.run(300.0)
    segments = cell.get_data().segments
    np.testing.assert_allclose(segments[0].filter(name="v")[0].magnitude[:, 0], v1, atol=1e-4)
    np.testing.assert_allclose(segments[1].filter(name="v")[0].magnitude[:, 0], v1, atol=1e-4)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_simple_stochastic_synapse_transmission_rate(sim, p):
    """Each of n spikes is transmitted with probability p: the count is within 4 binomial sigmas."""
    sim.setup(timestep=0.1, min_delay=0.5, rng_seed=3)
    n = 400
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(2.5, 5.0 * n, 5.0)))
    cells = sim.Population(50, sim.IF_curr_exp(tau_syn_E=0.5, tau_m=1.0))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.SimpleStochasticSynapse(weight=1.0, p=p))
    cells.record("isyn_exc")
    sim.run(5.0 * n)
    isyn = cells.get_data().segments[0].filter(name="isyn_exc")[0].magnitude
    transmitted = (np.diff(isyn, axis=0) > 0.5).sum(axis=0)      # each transmitted spike is a jump of 1 nA
    mean, sd = n * p, np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(transmitted - mean) <= 4 * sd + 1e-9)
    if 0 < p < 1:
        assert len({tuple(np.nonzero(np.diff(isyn[:, k]) > 0.5)[0]) for k in range(5)}) == 5   # independent draws


def test_onto_a_composed_cell_uses_the_receptors_time_constant(sim):
    """Onto a PointNeuron, the PSC time constant is the receptor's own tau_syn: the same trace as onto
    IF_curr_exp with that tau_syn_E."""
    traces = []
    for composed in (False, True):
        sim.setup(timestep=0.1, min_delay=0.1)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[10.0, 20.0, 30.0]]))
        if composed:
            cell = sim.Population(1, sim.PointNeuron(sim.LIF(tau_m=15.0),
                                                     AMPA=sim.CurrExpPostSynapticResponse(tau_syn=3.0)))
        else:
            cell = sim.Population(1, sim.IF_curr_exp(tau_m=15.0, tau_syn_E=3.0))
        sim.Projection(src, cell, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(weight=0.8, delay=0.7, U=0.4, tau_rec=150.0),
                       receptor_type="AMPA" if composed else "excitatory")
        cell.record("v")
        sim.run(50.0)
        traces.append(cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0])
    assert np.ptp(traces[0]) > 0.5
    np.testing.assert_allclose(traces[1], traces[0], atol=1e-4)


def test_initial_u_per_connection_and_checked(sim):
    """Projection.initialize(u=...) takes one value per connection (PyNN's own code failed on a list: its lazy
    array's length was the bound method size) and NEST's rule, u in [0, 1] (2.0 or NaN were taken, NaN giving NaN
    membranes).  The first spike transmits w u1 with u1 = u0 e^(-t/tau_facil) + U (1 - u0 e^(-t/tau_facil))."""
    sim.setup(timestep=0.1, min_delay=0.1)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cells = sim.Population(2, sim.IF_curr_exp(tau_syn_E=5.0))
    prj = sim.Projection(src, cells, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=1.0, delay=1.0, U=0.2, tau_facil=100.0, tau_rec=50.0),
                         label="tm")
    for bad, text in ((2.0, "got 2.0"), (float("nan"), "got nan"), ([0.1, -0.5], "got -0.5")):
        with pytest.raises(InvalidParameterValueError, match=rf"'tm'.*'u' must be in \[0, 1\] \({text}"):
            prj.initialize(u=bad)
    with pytest.raises(InvalidParameterValueError, match=r"one number, one per connection \(2\)"):
        prj.initialize(u=[0.1, 0.2, 0.3])
    prj.initialize(u=[0.0, 0.8])
    cells.record("isyn_exc")
    sim.run(20.0)
    isyn = cells.get_data().segments[0].filter(name="isyn_exc")[0].magnitude
    decay = np.exp(-10.0 / 100.0)        # the spike reaches the synapse at 10 ms, t_last = 0
    u1 = np.array([0.0, 0.8]) * decay
    u1 = u1 + 0.2 * (1.0 - u1)
    np.testing.assert_allclose(isyn.max(axis=0), u1, rtol=1e-5)
