"""Parameters read once per block, once per group or per neuron: where each lives and that set() between runs
gives the closed-form membrane potential whichever it is, rebuilding only when the layout cannot hold the values."""
import numpy as np

TAU_M, CM, V_REST = 20.0, 1.0, -65.0
R = TAU_M / CM                   # MOhm: mV per nA at equilibrium


def relax(v0, i_offset, t):
    """IF_curr_exp below threshold under a constant current from v0 after t ms."""
    v_inf = V_REST + R * np.asarray(i_offset)
    return v_inf + (v0 - v_inf) * np.exp(-t / TAU_M)


def _v(pop):
    """The last recorded membrane potential of each cell."""
    return pop.get_data().segments[-1].filter(name="v")[0].magnitude[-1]


def test_group_uniform_parameters_and_set(sim):
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    cell = dict(tau_m=TAU_M, cm=CM, v_rest=V_REST, v_thresh=-40.0)
    a = sim.Population(3, sim.IF_curr_exp(i_offset=0.1, **cell))
    b = sim.Population(2, sim.IF_curr_exp(i_offset=0.2, **cell))
    for p in (a, b):
        p.initialize(v=V_REST)
        p.record("v")
    sim.run(50.0)
    state = sim.simulator.state
    block = state.simulation.layout.neuron_blocks[0]
    assert "i_offset" in block.slot_params and "tau_m" in block.shared_params and not block.params
    # v is sampled at the end of each step: the last sample of a 50 ms run is t = 50.0 ms
    np.testing.assert_allclose(_v(a), relax(V_REST, 0.1, 50.0), atol=1e-9)
    np.testing.assert_allclose(_v(b), relax(V_REST, 0.2, 50.0), atol=1e-9)

    built = state.simulation
    a.set(i_offset=0.3)                       # still uniform within its group: the same kernels
    sim.run(50.0)
    assert state.simulation is built
    np.testing.assert_allclose(_v(a), relax(relax(V_REST, 0.1, 50.0), 0.3, 50.0), atol=1e-9)
    np.testing.assert_allclose(_v(b), relax(V_REST, 0.2, 100.0), atol=1e-9)

    b.set(i_offset=np.array([0.1, 0.25]))     # no longer uniform: generated again, state carried over
    sim.run(50.0)
    assert "i_offset" in state.simulation.layout.neuron_blocks[0].params
    np.testing.assert_allclose(_v(b), relax(relax(V_REST, 0.2, 100.0), [0.1, 0.25], 50.0), atol=1e-9)
    np.testing.assert_allclose(_v(a), relax(relax(V_REST, 0.1, 50.0), 0.3, 100.0), atol=1e-9)


def test_many_groups_store_per_neuron(sim, n_groups=3):
    """Beyond two groups a value that differs between them is read per neuron (a select per group costs more)."""
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pops = [sim.Population(2, sim.IF_curr_exp(i_offset=0.05 * (k + 1), tau_m=TAU_M, cm=CM, v_rest=V_REST))
            for k in range(n_groups)]
    for p in pops:
        p.initialize(v=V_REST)
        p.record("v")
    sim.run(20.0)
    block = sim.simulator.state.simulation.layout.neuron_blocks[0]
    assert "i_offset" in block.params and not block.slot_params
    for k, p in enumerate(pops):
        np.testing.assert_allclose(_v(p), relax(V_REST, 0.05 * (k + 1), 20.0), atol=1e-9)


def _poisson_counts(sim, n_pops):
    sim.setup(timestep=0.1, rng_seed=5)
    pops = [sim.Population(3, sim.SpikeSourcePoisson(rate=100.0 + 10.0 * k)) for k in range(n_pops)]
    for p in pops:
        p.record("spikes")
    sim.run(100.0)
    counts = [sorted(p.get_spike_counts().values()) for p in pops]
    sim.end()
    return counts


def test_rng_streams_of_many_groups(sim, monkeypatch):
    """Beyond RNG_STREAM_SELECTS groups in a block, a cell's RNG stream comes from a per-cell table rather than a
    chain of selects: the same draws (12 Poisson populations either way), and 300 populations compile (a chain of
    300 selects was more than the OpenCL compiler nests) with rates within 4 sd of 100-3,090 Hz."""
    from pynn_gpu.codegen import generator
    monkeypatch.setattr(generator, "RNG_STREAM_SELECTS", 100)
    selects = _poisson_counts(sim, 12)
    monkeypatch.setattr(generator, "RNG_STREAM_SELECTS", 8)
    assert _poisson_counts(sim, 12) == selects
    counts = np.array([sum(c) for c in _poisson_counts(sim, 300)], float)
    expected = 3 * 0.1 * (100.0 + 10.0 * np.arange(300))
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected))
