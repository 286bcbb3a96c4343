"""STDP against pyNN.nest (stdp_synapse): pre/post pairings over a range of lags, every weight dependence."""
import numpy as np
import pytest

pytestmark = pytest.mark.cross_simulator

LAGS = np.arange(-30.0, 31.0, 5.0)          # pre spike time minus post spike time (ms)
POST_TIMES = np.arange(50.0, 1000.0, 80.0)  # the post cell is made to fire at these times
W_MAX = 0.02


def weight_dependence(sim, name, w_max=W_MAX):
    return {"additive": lambda: sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
            "multiplicative": lambda: sim.MultiplicativeWeightDependence(w_min=0.0, w_max=w_max),
            "add_pot_mult_dep": lambda: sim.AdditivePotentiationMultiplicativeDepression(w_min=0.0, w_max=w_max),
            # pyNN.nest drops mu_plus/mu_minus given to GutigWeightDependence (NEST then uses 0.5, 0.5):
            # compare at those values
            "gutig": lambda: sim.GutigWeightDependence(w_min=0.0, w_max=w_max, mu_plus=0.5, mu_minus=0.5)}[name]()


def run_script(sim, dependence, delay, sign=1.0, **setup_kw):
    """``sign`` -1: inhibitory current-based synapses, whose weights (and w_max) are negative."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    pre = sim.Population(len(LAGS), sim.SpikeSourceArray(spike_times=[list(POST_TIMES + lag) for lag in LAGS]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=list(POST_TIMES - 0.5)))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=2.0, tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.4))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=16.0, tau_minus=25.0, A_plus=0.05,
                                                                  A_minus=0.06),
                             weight_dependence=weight_dependence(sim, dependence, sign * W_MAX),
                             weight=sign * 0.5 * W_MAX, delay=delay)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp,
                         receptor_type="excitatory" if sign > 0 else "inhibitory")
    post.record("spikes")
    sim.run(1100.0)
    weights = np.array(prj.get("weight", format="array"))[:, 0]
    spikes = np.asarray(post.get_data().segments[0].spiketrains[0])
    sim.end()
    return weights, spikes


@pytest.mark.parametrize("dependence", ["additive", "multiplicative", "add_pot_mult_dep", "gutig"])
@pytest.mark.parametrize("delay", [0.5, 2.3])
def test_final_weights_match_nest(sim, step_kernels, nest, dependence, delay):
    wg, sg = run_script(sim, dependence, delay, precision="double")
    wn, sn = run_script(nest, dependence, delay)
    np.testing.assert_allclose(sg, sn)                    # the same post spikes (the pairing schedule)
    assert len(sg) == len(POST_TIMES)
    assert np.abs(wg - wn).max() < 0.01 * W_MAX           # within 1 % of w_max
    # close causal pairs (pre before post) potentiate, close anti-causal ones depress
    close = np.abs(LAGS) <= 15
    assert wg[close & (LAGS < 0)].min() > 0.5 * W_MAX > wg[close & (LAGS > delay)].max()


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
def test_inhibitory_weights_learn_as_in_nest(sim, nest, dependence):
    """Negative weights and w_max (inhibitory current-based synapses): the rule works in units of w_max, as
    NEST's, so close pairs strengthen or weaken the inhibition instead of being clipped to [0, w_max]."""
    wg, _ = run_script(sim, dependence, 1.0, sign=-1.0, precision="double")
    wn, _ = run_script(nest, dependence, 1.0, sign=-1.0)
    np.testing.assert_allclose(wg, wn, rtol=1e-6, atol=1e-9)
    close = np.abs(LAGS) <= 15
    assert wg[close & (LAGS < 0)].max() < -0.5 * W_MAX < wg[close & (LAGS > 1.0)].min() < 0.0


def test_learned_weights_round_trip_and_reset(sim):
    w_learned, _ = run_script(sim, "additive", 1.0)
    sim.setup(timestep=0.1)
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[[10.0], [20.0]]))
    post = sim.Population(1, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(
        w_max=1.0), weight=0.3, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    sim.run(5.0)
    prj.set(weight=[0.1, 0.2])
    assert prj.get("weight", format="list", with_address=False) == pytest.approx([0.1, 0.2])
    sim.run(30.0)            # pre spikes with no post spikes: depression only from an empty history -> unchanged
    assert prj.get("weight", format="list", with_address=False) == pytest.approx([0.1, 0.2])
    assert not np.allclose(w_learned, 0.5 * W_MAX)


def test_conflicting_trace_time_constants_are_refused(sim):
    """A cell keeps one postsynaptic trace (as in NEST): plastic synapses onto it must share tau_minus."""
    from pynn_gpu.codegen.errors import CodegenError
    sim.setup(timestep=0.1)
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    post = sim.Population(1, sim.IF_curr_exp())
    for tau_minus in (20.0, 30.0):
        stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_minus=tau_minus),
                                 weight_dependence=sim.AdditiveWeightDependence(w_max=1.0), weight=0.1, delay=1.0)
        sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    with pytest.raises(CodegenError, match="tau_minus"):
        sim.run(1.0)


def test_learned_weights_survive_a_rebuild(sim):
    """A structural change between runs (here a new recording) rebuilds the kernels; learned weights stay."""
    weights_before, _ = run_script(sim, "additive", 1.0)
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
    pre = sim.Population(len(LAGS), sim.SpikeSourceArray(spike_times=[list(POST_TIMES + lag) for lag in LAGS]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=list(POST_TIMES - 0.5)))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=2.0, tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.4))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=16.0, tau_minus=25.0, A_plus=0.05,
                                                                  A_minus=0.06),
                             weight_dependence=weight_dependence(sim, "additive"), weight=0.5 * W_MAX, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    post.record("spikes")
    sim.run(1100.0)
    post.record("v")                     # structural change: the next run rebuilds
    sim.run(1.0)
    np.testing.assert_allclose(np.array(prj.get("weight", format="array"))[:, 0], weights_before, atol=1e-6)


def test_weight_and_w_max_of_opposite_sign_are_refused(sim):
    """NEST's rule (the rule works in units of w_max): at creation and when weights are set later."""
    from pyNN.errors import InvalidParameterValueError
    sim.setup(timestep=0.1)
    pre, post = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0)), sim.Population(1, sim.IF_curr_exp())

    def stdp(w_max, weight):
        return sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                                 weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
                                 weight=weight, delay=1.0)
    with pytest.raises(InvalidParameterValueError, match="same sign"):
        sim.Projection(pre, post, sim.AllToAllConnector(), stdp(1.0, -0.5), receptor_type="inhibitory")
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp(-1.0, -0.5), receptor_type="inhibitory")
    with pytest.raises(InvalidParameterValueError, match="same sign"):
        prj.set(w_max=0.5)
    np.testing.assert_allclose(prj.get("w_max", format="list", with_address=False), [-1.0, -1.0])
