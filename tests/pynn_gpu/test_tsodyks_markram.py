"""TsodyksMarkramSynapse onto one cell: the same v as pyNN.nest (tsodyks_synapse), within 0.02 mV."""
import numpy as np
import pytest

pytestmark = pytest.mark.cross_simulator


def run_script(sim, celltype, tau_facil, **setup_kw):
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[list(np.arange(10.0, 200.0, 12.5)) + [260.0, 262.0]]))
    cell = sim.Population(1, getattr(sim, celltype)(tau_syn_E=3.0, tau_m=15.0))
    weight = 0.8 if "curr" in celltype else 0.02
    syn = sim.TsodyksMarkramSynapse(weight=weight, delay=0.7, U=0.4, tau_rec=150.0, tau_facil=tau_facil)
    sim.Projection(src, cell, sim.AllToAllConnector(), syn, receptor_type="excitatory")
    cell.record("v")
    sim.run(300.0)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    sim.end()
    return v


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_cond_exp"])
@pytest.mark.parametrize("tau_facil", [0.0, 60.0])
def test_depression_and_facilitation_match_nest(sim, nest, celltype, tau_facil):
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
