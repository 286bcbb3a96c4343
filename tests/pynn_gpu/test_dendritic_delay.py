"""STDPMechanism's dendritic_delay_fraction f, as PyNN defines it: of the delay d, f*d is dendritic and (1-f)*d
axonal, so the synapse sees a pre spike at t_pre + (1-f)d and a post spike at t_post + f*d and times the pair
by Delta = t_post - t_pre + (2f-1)d.  Final weights against the all-to-all pair sum (additive weights, no
clipping, so the order of updates does not matter), and against NEST, whose stdp_synapse is f = 1."""
import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

DELAY = 1.0                                  # ms: 10 steps
POST = np.array([20.7, 120.7, 220.7])        # the post cell fires 0.8 ms after each driver spike
DRIVER = POST - 0.8
# causal (Delta = 3 + s), anti-causal (-2 + s), and one whose sign depends on f (-0.7 + s), s = (2f-1)d;
# the last pre spike, long after, applies the facilitation of the last post spike
PRE = np.array([POST[0] - 3.0, POST[1] + 2.0, POST[2] + 0.7, 400.0])
W_MAX, W0 = 0.01, 0.005
SPIKE_PAIR = dict(tau_plus=16.0, tau_minus=25.0, A_plus=0.05, A_minus=0.06)
VOGELS = dict(tau=20.0, eta=1e-3, rho=10.0)
RTOL = 1e-9                                  # double precision: the weights agree to rounding


def lags(f, pre=PRE, delay=DELAY):
    """Delta of every (pre, post) pair, timed at the synapse."""
    return POST[None, :] - pre[:, None] + (2 * f - 1) * delay


def expected_weight(rule, f, pre=PRE):
    """NEST's all-to-all pair sums: potentiation for Delta > 0, depression for Delta < 0; a pair with Delta = 0
    counts for neither (NEST: the pre trace before the pre spike, the post trace strictly before it)."""
    delta = lags(f, pre)
    delta = delta[np.abs(delta) > 1e-9]
    assert pre[-1] - (2 * f - 1) * DELAY > POST[-1]      # every post spike is paired before the run ends
    if rule == "SpikePairRule":
        p = SPIKE_PAIR
        return W0 + W_MAX * (p["A_plus"] * np.exp(-delta[delta > 0] / p["tau_plus"]).sum()
                             - p["A_minus"] * np.exp(delta[delta < 0] / p["tau_minus"]).sum())
    tau, eta, alpha = VOGELS["tau"], VOGELS["eta"], 2 * VOGELS["rho"] * VOGELS["tau"] / 1000.0
    return W0 + eta * np.exp(-np.abs(delta) / tau).sum() - len(pre) * alpha * eta


def build(sim, rule="SpikePairRule", f=1.0, delay=DELAY, pre_times=PRE, **setup_kw):
    """One pre cell (spike source) onto one post cell made to fire at POST; returns the plastic projection and
    the two populations (recording spikes)."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=list(pre_times)))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=list(DRIVER)))
    post = sim.Population(1, sim.IF_cond_exp(tau_refrac=2.0, tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.4))
    kw = {} if f is None else dict(dendritic_delay_fraction=f)
    if rule == "SpikePairRule":
        stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(**SPIKE_PAIR),
                                 weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=W_MAX),
                                 weight=W0, delay=delay, **kw)
        receptor = "excitatory"
    else:
        stdp = sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(**VOGELS),
                                 weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=W_MAX),
                                 weight=W0, delay=delay, **kw)
        receptor = "inhibitory"
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, receptor_type=receptor)
    pre.record("spikes")
    post.record("spikes")
    return prj, pre, post


def final_weight(sim, prj, pre, post, pre_times=PRE):
    sim.run(410.0)
    # the pairing schedule is the one intended: the analytic sums use these times
    np.testing.assert_allclose(np.asarray(post.get_data().segments[0].spiketrains[0]), POST, atol=1e-9)
    np.testing.assert_allclose(np.asarray(pre.get_data().segments[0].spiketrains[0]), pre_times, atol=1e-9)
    return prj.get("weight", format="list", with_address=False)[0]


@pytest.mark.parametrize("rule", ["SpikePairRule", "Vogels2011Rule"])
@pytest.mark.parametrize("f", [1.0, 0.75, 0.5])
def test_final_weight_matches_the_pair_sum(sim, rule, f):
    w = final_weight(sim, *build(sim, rule, f, precision="double"))
    assert w == pytest.approx(expected_weight(rule, f), rel=RTOL)
    if f != 1.0:    # the schedule tells the fractions apart by far more than the tolerance
        assert abs(expected_weight(rule, f) - expected_weight(rule, 1.0)) > 1e4 * RTOL * W0


@pytest.mark.parametrize("rule", ["SpikePairRule", "Vogels2011Rule"])
def test_half_pairs_with_a_post_spike_of_the_same_step(sim, rule):
    """f = 1/2: no shift, so a pre spike emitted in the step of a post spike must already see it (else the
    facilitation of the earlier pre spike by that post spike is lost); the same-step pair itself counts for
    neither side."""
    pre_times = np.array([POST[0] - 3.0, POST[0], POST[1] + 2.0, 400.0])
    w = final_weight(sim, *build(sim, rule, 0.5, pre_times=pre_times, precision="double"), pre_times=pre_times)
    assert w == pytest.approx(expected_weight(rule, 0.5, pre_times), rel=RTOL)


def test_fraction_changes_the_sign_of_a_close_pair(sim):
    """Pre 0.7 ms after post, delay 1 ms: the pair is timed Delta = +0.3 ms at f = 1 and -0.2 ms at f = 0.75, so
    the weight rises in the one case and falls in the other (the other pairs are over 100 ms apart)."""
    pre_times = np.array([POST[2] + 0.7, 400.0])
    assert lags(1.0, pre_times)[0, 2] == pytest.approx(0.3) and lags(0.75, pre_times)[0, 2] == pytest.approx(-0.2)
    for f, sign in ((1.0, 1), (0.75, -1)):
        w = final_weight(sim, *build(sim, f=f, pre_times=pre_times, precision="double"), pre_times=pre_times)
        assert w == pytest.approx(expected_weight("SpikePairRule", f, pre_times), rel=RTOL)
        assert sign * (w - W0) > 0.5 * SPIKE_PAIR["A_minus"] * W_MAX


@pytest.mark.cross_simulator
def test_matches_nest(sim, nest):
    """f = 1 is NEST's stdp_synapse; f = 0.75 with d = 1 ms learns as NEST with d = 0.5 ms (the same shift
    (2f-1)d; the plastic weight is too small to move the post spikes)."""
    w1 = final_weight(sim, *build(sim, f=1.0, precision="double"))
    w075 = final_weight(sim, *build(sim, f=0.75, precision="double"))
    n1 = final_weight(nest, *build(nest, f=None, delay=DELAY))
    n05 = final_weight(nest, *build(nest, f=None, delay=0.5))
    assert w1 == pytest.approx(n1, rel=RTOL)
    assert w075 == pytest.approx(n05, rel=RTOL)


def test_projection_set_moves_to_the_split_delay_model(sim):
    """Projection.set changes f after construction: from 1 (NEST's model, rebuilt with the per-synapse fraction)
    and within the split-delay model (written to the device in place); get returns what was set."""
    prj, pre, post = build(sim, f=1.0, precision="double")
    sim.run(5.0)                               # built; no spike yet, so nothing learned before the change
    prj.set(dendritic_delay_fraction=0.75)
    assert prj.get("dendritic_delay_fraction", format="list", with_address=False) == [0.75]
    sim.run(5.0)
    prj.set(dendritic_delay_fraction=0.5)
    sim.run(400.0)
    assert prj.get("dendritic_delay_fraction", format="list", with_address=False) == [0.5]
    np.testing.assert_allclose(np.asarray(post.get_data().segments[0].spiketrains[0]), POST, atol=1e-9)
    w = prj.get("weight", format="list", with_address=False)[0]
    assert w == pytest.approx(expected_weight("SpikePairRule", 0.5), rel=RTOL)


def test_single_precision(sim):
    w = final_weight(sim, *build(sim, f=0.75))
    assert w == pytest.approx(expected_weight("SpikePairRule", 0.75), rel=1e-5)


@pytest.mark.parametrize("f", [0.0, 0.3, 0.499])
def test_fraction_below_one_half_is_refused(sim, f):
    sim.setup(timestep=0.1)
    with pytest.raises(InvalidParameterValueError, match=r"0\.5 <= dendritic_delay_fraction <= 1"):
        sim.STDPMechanism(timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
                          dendritic_delay_fraction=f)


@pytest.mark.parametrize("f", [-0.1, 1.5, float("nan"), "half"])
def test_fraction_outside_pynn_range_is_refused(sim, f):
    sim.setup(timestep=0.1)
    with pytest.raises(InvalidParameterValueError, match=r"dendritic_delay_fraction.*\[0, 1\]|must be a number"):
        sim.STDPMechanism(timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
                          dendritic_delay_fraction=f)


@pytest.mark.parametrize("f, match", [(0.2, r"0\.5 <= dendritic_delay_fraction <= 1"), (2.0, r"\[0, 1\]")])
def test_projection_set_refuses_unsupported_fractions(sim, f, match):
    prj, _, _ = build(sim, f=0.75)
    with pytest.raises(InvalidParameterValueError, match=match):
        prj.set(dendritic_delay_fraction=f)
    assert prj.get("dendritic_delay_fraction", format="list", with_address=False) == [0.75]
