"""On a CPU device small networks run many steps per launch in one work-item (kernel network_steps): the same
network gives the same spikes, membrane traces and learned weights as with a kernel per phase and step."""
import numpy as np
import pytest


@pytest.fixture
def runtime(sim):
    """The device, with its choice of step kernels restored afterwards (it outlives setup())."""
    sim.setup()
    rt = sim.simulator.state.runtime
    choice = rt.serial_steps
    yield rt
    rt.serial_steps = choice


def _run(sim, serial: bool):
    """A network with every phase of a step: Poisson drive, delays of 1-20 steps, STDP (pre- and post-spike
    code, spike history), Tsodyks-Markram (per-synapse state); recordings over several chunks and launches."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=11)
    sim.simulator.state.runtime.serial_steps = serial
    cells = sim.Population(60, sim.IF_curr_exp(tau_refrac=2.0, i_offset=0.2))
    drive = sim.Population(60, sim.SpikeSourcePoisson(rate=300.0))
    sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.2, delay=0.1))
    rng = sim.NumpyRNG(5)
    delays = sim.RandomDistribution("uniform", (0.1, 2.0), rng=rng)
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                                 A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
                             weight=0.3, delay=delays)
    plastic = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng), stdp)
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.TsodyksMarkramSynapse(weight=-0.2, delay=0.5, U=0.5, tau_rec=100.0),
                   receptor_type="inhibitory")
    cells.record(["spikes", "v"])
    sim.run(0.1)
    sim.run(150.0)      # 1,500 steps: two launches of the one work-item
    sim.run(100.0)
    seg = cells.get_data().segments[0]
    trains = [np.asarray(st.magnitude) for st in seg.spiketrains]
    v = np.asarray(seg.filter(name="v")[0].magnitude)
    weights = plastic.get("weight", format="array")
    kernels = sorted(sim.simulator.state.simulation.kernels)
    sim.end()
    return trains, v, weights, kernels


def test_one_work_item_matches_kernel_per_phase(sim, runtime):
    serial = _run(sim, True)
    phased = _run(sim, False)
    assert serial[3] == ["network_steps"]
    assert phased[3] == ["neuron_update", "spike_propagation"]
    assert sum(len(t) for t in serial[0]) > 1000
    for a, b in zip(serial[0], phased[0]):
        np.testing.assert_array_equal(a, b)
    # the order in which synaptic input is summed differs (atomics in the phased kernels): single precision
    np.testing.assert_allclose(serial[1], phased[1], atol=1e-3)
    np.testing.assert_allclose(serial[2], phased[2], atol=1e-6, equal_nan=True)
    assert np.nanmax(np.abs(serial[2] - 0.3)) > 0.01          # the weights did learn


@pytest.mark.parametrize("cell, n, integrator, serial", [("IF_curr_exp", 100, "auto", True),
                                                     ("IF_cond_exp", 100, "auto", True),
                                                     ("EIF_cond_exp_isfa_ista", 1000, "rkf45", True),
                                                     ("EIF_cond_exp_isfa_ista", 5000, "rkf45", False)])
def test_chosen_where_it_pays(sim, runtime, cell, n, integrator, serial):
    """'auto': one work-item unless many cells integrate with RKF45, whose adaptive loop does not vectorise."""
    sim.setup(timestep=0.1, ode_integrator=integrator)
    assert sim.simulator.state.runtime.serial_steps == "auto"
    cells = sim.Population(n, getattr(sim, cell)(i_offset=1.0))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.01), sim.StaticSynapse(weight=0.01, delay=1.0))
    sim.run(1.0)
    assert ("network_steps" in sim.simulator.state.simulation.kernels) == serial


@pytest.mark.parametrize("cell", ["IF_curr_exp", "IF_cond_exp"])
def test_recorded_state_follows_the_steps(sim, runtime, cell):
    """A recorded variable is read after each step's update (a compiler once kept its first value: a load
    hoisted out of the step loop), in a network with nothing but the recorded cells."""
    traces = []
    for serial in (True, False):
        sim.setup(timestep=0.1, min_delay=0.1)
        sim.simulator.state.runtime.serial_steps = serial
        cells = sim.Population(4, getattr(sim, cell)(i_offset=[0.0, 0.5, 1.0, 1.5]))
        cells.record("v")
        sim.run(20.0)
        traces.append(np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude))
        sim.end()
    assert traces[0][-1, 3] > -60.0          # driven, not stuck at rest
    np.testing.assert_allclose(traces[0], traces[1], atol=1e-4)
    # cell 1 (0.5 nA) stays below threshold: v = v_rest + R I (1 - exp(-t / tau_m)), R = 20 MOhm
    t = np.arange(201) * 0.1
    np.testing.assert_allclose(traces[0][:, 1], -65.0 + 10.0 * -np.expm1(-t / 20.0), atol=1e-3)   # single precision
