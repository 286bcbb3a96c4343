"""GeNN-style synapse snippets: the neurons' last spike times (st_pre, st_post), their state (<var>_pre,
<var>_post) and per-step synapse code (synapse_dynamics_code), checked against values worked out by hand."""
import numpy as np
import pytest
from pyNN import errors

DT = 0.1
TAU = 10.0


def _network(sim, delay=0.2):
    """A pre spike source (3.0 and 7.55 ms: stamps 3.0 and 7.6) onto two 'counter' cells that spike in steps
    9 and 59 (stamps 1.0 and 6.0 ms) and integrate what arrives: v += in_x."""
    sim.setup(timestep=DT, min_delay=DT, precision="double")
    Counter = sim.create_neuron_model("Counter", vars=[("v", "scalar")], sim_code="v += in_x;",
                                      threshold_condition_code="step % 50 == 9", reset_code="", receptors=("x",))
    post = sim.Population(2, Counter())
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 7.55]))
    Rule = sim.create_weight_update_model(
        "Probe", vars={"w": 0.0, "seen_v": 0.0, "seen_st": 0.0, "k": 0.0, "dyn": 1.0},
        pre_spike_code=f"w += exp(-(t - st_post) / {TAU}); seen_v = v_post; seen_st = st_pre;",
        post_spike_code=f"k += 1.0; w += 100.0 * exp(-(t - st_pre) / {TAU});",
        synapse_dynamics_code="add_to_post(dyn);")
    proj = sim.Projection(pre, post, sim.AllToAllConnector(), Rule(delay=delay), receptor_type="x")
    return pre, post, proj


def test_spike_times_state_and_dynamics(sim, step_kernels):
    pre, post, proj = _network(sim)
    post.record("v")
    sim.run(10.0)
    w, seen_v, seen_st, k = (np.asarray(x) for x in proj.get(["w", "seen_v", "seen_st", "k"], format="array"))
    # pre spikes at 3.0 and 7.6 see the post spikes of 1.0 and 6.0; the post spike at 6.0 sees the pre spike of
    # 3.0, the one at 1.0 none (st_pre = -1e30: the exponential vanishes)
    expected_w = np.exp(-2.0 / TAU) + np.exp(-1.6 / TAU) + 100.0 * np.exp(-3.0 / TAU)
    np.testing.assert_allclose(w[0], expected_w, rtol=1e-12)
    np.testing.assert_allclose(k[0], 2.0)
    np.testing.assert_allclose(seen_st[0], 7.6, atol=1e-9)      # st_pre includes the spike being delivered
    # every step each synapse adds 1, arriving two steps later: after step 75 (7.6 ms) v has 74 of them
    np.testing.assert_allclose(seen_v[0], 74.0)
    v = post.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(v[-1], 98.0)                       # after step 99: inputs of steps 0 ... 97


def test_state_survives_reset(sim, step_kernels):
    """After sim.reset() the spike times start again from 'never'."""
    pre, post, proj = _network(sim)
    sim.run(2.0)       # the post spike at 1.0 ms, no pre spike yet
    sim.reset()
    proj.set(w=0.0, k=0.0)
    sim.run(10.0)
    w = np.asarray(proj.get("w", format="array"))
    np.testing.assert_allclose(w[0], np.exp(-2.0 / TAU) + np.exp(-1.6 / TAU) + 100.0 * np.exp(-3.0 / TAU),
                               rtol=1e-12)


def test_missing_neuron_variable_is_named(sim):
    sim.setup(timestep=DT, min_delay=DT)
    Reads = sim.create_weight_update_model("ReadsU", vars={"w": 0.0}, pre_spike_code="w = u_post;")
    a = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    b = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(errors.NonExistentParameterError, match="u_post.*IF_curr_exp|IF_curr_exp.*u_post"):
        sim.Projection(a, b, sim.AllToAllConnector(), Reads(), label="reads u")
    # the check looks into assemblies: each population must have the variable
    c = sim.Population(1, sim.IF_curr_alpha())
    ReadsV = sim.create_weight_update_model("ReadsV", vars={"w": 0.0}, pre_spike_code="w = v_post;")
    sim.Projection(a, b + c, sim.AllToAllConnector(), ReadsV())
    with pytest.raises(errors.NonExistentParameterError, match="u_post"):
        sim.Projection(a, b + c, sim.AllToAllConnector(), Reads())


def test_compiles_for_cuda(sim):
    """The same kernels (synapse_dynamics included) compile with NVRTC, without a GPU."""
    from pynn_gpu.kernels.runtime import nvrtc
    if not nvrtc.available():
        pytest.skip(f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
    _network(sim)
    for precision in ("single", "double"):
        report = sim.compile(backend="cuda", arch="sm_80", precision=precision)
        assert {"neuron_update", "synapse_dynamics", "spike_propagation", "post_learning"} <= set(report.kernels)
        assert all(k.registers > 0 for k in report.kernels.values())
