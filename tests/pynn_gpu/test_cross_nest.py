"""The same small PyNN scripts on pyNN.gpu and pyNN.nest (on-grid spikes)."""
import numpy as np
import pytest

pytestmark = pytest.mark.cross_simulator


def run_script(sim, celltype, **setup_kw):
    """Two cells driven by 25 spike sources with heterogeneous timing, a DC pulse into one."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    p = sim.Population(2, getattr(sim, celltype)(tau_refrac=2.0))
    exc = sim.Population(20, sim.SpikeSourceArray(
        spike_times=[list(np.arange(5.0 + i, 300, 7.0 + i % 5)) for i in range(20)]))
    inh = sim.Population(5, sim.SpikeSourceArray(spike_times=[list(np.arange(10.0 + i, 300, 11.0)) for i in range(5)]))
    current = "curr" in celltype
    sim.Projection(exc, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.4 if current else 0.01, delay=0.5),
                   receptor_type="excitatory")
    sim.Projection(inh, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.6 if current else 0.02, delay=1.3),
                   receptor_type="inhibitory")
    sim.DCSource(amplitude=0.3, start=50.0, stop=200.0).inject_into(p[0:1])
    p.record(["v", "spikes"])
    sim.run(300.0)
    seg = p.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude
    spikes = [np.asarray(st) for st in seg.spiketrains]
    sim.end()
    return v, spikes


@pytest.mark.parametrize("precision", ["single", "double"])
def test_if_curr_exp_matches_nest(sim, nest, precision):
    """Exact propagators: v within 0.05 mV, identical spike times (within one step)."""
    vg, sg = run_script(sim, "IF_curr_exp", precision=precision)
    vn, sn = run_script(nest, "IF_curr_exp")
    assert vg.shape == vn.shape == (3001, 2)
    assert np.abs(vg - vn).max() < 0.05
    for a, b in zip(sg, sn):
        assert len(a) == len(b) > 20
        assert np.abs(a - b).max() <= 0.1 + 1e-9


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("integrator", ["rkf45", "auto"])
def test_if_cond_exp_matches_nest(sim, nest, precision, integrator):
    """RKF45 as NEST's GSL integrator, or ('auto') classical RK4: spike times within 0.5 ms (in practice
    identical), v within 0.05 mV (in practice 1e-13 mV with RKF45, 1e-8 mV with RK4, in double precision)."""
    vg, sg = run_script(sim, "IF_cond_exp", precision=precision, ode_integrator=integrator)
    vn, sn = run_script(nest, "IF_cond_exp")
    assert vg.shape == vn.shape
    for a, b in zip(sg, sn):
        assert len(a) == len(b) > 20
        assert np.abs(a - b).max() <= 0.5
    assert np.abs(vg - vn).max() < (0.05 if precision == "single" else 1e-6)
