"""Stochastic short-term plasticity and Vogels-Sprekeler inhibitory STDP.

* StochasticTsodyksMarkramSynapse (PyNN's NEST extension stochastic_stp_synapse, which pyNN.nest cannot run
  here: it needs a compiled NEST module): the fraction of synapses releasing at each spike of a train must be
  the deterministic Tsodyks-Markram expectation u_k x_k, within binomial confidence.
* MultiQuantalSynapse (NEST's quantal_stp_synapse): mean and variance of the released quanta at each spike
  over many independent synapses, against the exact distribution (a Markov chain over the available sites)
  and against pyNN.nest, within their sampling confidence.
* STDPMechanism(Vogels2011Rule): final weights over a range of pre/post lags against NEST's
  vogels_sprekeler_synapse (connected with nest.Connect under pyNN.nest: PyNN 0.13's NEST backend does not
  map Vogels2011Rule) and against an event-driven Python transcription of the NEST rule.

Release counts are read from the synaptic current (pyNN.gpu, IF_curr_exp) or conductance (pyNN.nest,
IF_cond_exp) sampled once per ms, one synapse per target cell, tau_syn_E = 0.2 ms: at each arrival the sample
is (quanta released) * weight, the previous PSC having decayed by at least e^-50.
"""
import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

Z = 4.5      # confidence half-width in standard errors for every statistical comparison

# ------------------------------------------------------------------------------------------------------
# stochastic synapses: a train of spikes onto many independent synapses, one synapse per target cell


def _release_counts(sim, synapse, times, n_targets, weight, initial=None, **setup_kw):
    """(spikes x synapses) array of the quanta each synapse released at each presynaptic spike; ``initial``: a
    function of the synapse type giving the state set with ``Projection.initialize``."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=list(times)))
    # pyNN.nest records no synaptic current, so conductances there; the cheaper current-based cell here
    celltype, variable = ("IF_cond_exp", "gsyn_exc") if sim.__name__ == "pyNN.nest" else ("IF_curr_exp", "isyn_exc")
    cells = sim.Population(n_targets, getattr(sim, celltype)(tau_syn_E=0.2))
    prj = sim.Projection(src, cells, sim.AllToAllConnector(), synapse)
    if initial:
        prj.initialize(**initial(synapse))
    cells.record(variable, sampling_interval=1.0)
    sim.run(float(times[-1]) + 5.0)
    g = cells.get_data().segments[0].filter(name=variable)[0].magnitude
    sim.end()
    samples = g[np.round(np.asarray(times) + 1.0).astype(int)] / weight      # delay 1 ms
    counts = np.round(samples)
    assert np.abs(samples - counts).max() < 1e-3                             # whole quanta only
    return counts


def tm_u(times, U, tau_facil):
    """The release probability u at each spike (NEST: u starts at 0 and t_last at 0; u = U without facilitation)."""
    u, t_last, out = 0.0, 0.0, []
    for t in times:
        if tau_facil > 1e-10:
            u *= np.exp(-(t - t_last) / tau_facil)
            u += U * (1.0 - u)
        else:
            u = U
        out.append(u)
        t_last = t
    return np.array(out)


def tm_expectation(times, U, tau_rec, tau_facil):
    """Deterministic Tsodyks-Markram release fraction u_k x_k at each spike (x: resources, starting at 1)."""
    u = tm_u(times, U, tau_facil)
    x, out = 1.0, []
    for k, t in enumerate(times):
        if k:   # recovery of the resources left after the previous release
            x = 1.0 - (1.0 - x) * np.exp(-(t - times[k - 1]) / tau_rec)
        out.append(u[k] * x)
        x -= u[k] * x
    return np.array(out)


TM_TIMES = np.concatenate([np.arange(10.0, 260.0, 25.0), [450.0, 470.0]])


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 100.0, 0.0), (0.1, 150.0, 200.0)])
def test_stochastic_tsodyks_markram_release_fraction(sim, U, tau_rec, tau_facil):
    m, w = 1500, 1e-3
    syn = sim.StochasticTsodyksMarkramSynapse(weight=w, delay=1.0, U=U, tau_rec=tau_rec, tau_facil=tau_facil)
    released = _release_counts(sim, syn, TM_TIMES, m, w, rng_seed=11)
    assert set(np.unique(released)) <= {0.0, 1.0}                # one site: all or nothing
    p = tm_expectation(TM_TIMES, U, tau_rec, tau_facil)
    frac = released.mean(axis=1)
    se = np.sqrt(p * (1 - p) / m)
    assert np.all(np.abs(frac - p) <= Z * se), (frac, p)
    # per synapse: a release empties the site, so P(release at k and k+1) = p_k (1 - e^(-h/tau_rec)) u_(k+1)
    both = (released[:-1] * released[1:]).mean(axis=1)
    h = np.diff(TM_TIMES)
    pj = p[:-1] * (1 - np.exp(-h / tau_rec)) * tm_u(TM_TIMES, U, tau_facil)[1:]
    assert np.all(np.abs(both - pj) <= Z * np.sqrt(pj * (1 - pj) / m) + 1e-12)
    # u depends on the spike train only: a depressing synapse transmits less later in the train
    if tau_facil == 0.0:
        assert frac[-3] < 0.6 * frac[0]




def quantal_moments(times, U, n, tau_rec, tau_facil, u0=0.5, a0=1):
    """Exact mean, variance and 4th central moment of the quanta released at each spike by NEST's
    quantal_stp_synapse, from the distribution of available sites (u0, a0: the state pyNN.nest starts from)."""
    from scipy.stats import binom
    sites = np.arange(n + 1)
    avail = np.zeros(n + 1)
    avail[a0] = 1.0
    u, out = u0, []
    for k, t in enumerate(times):
        if k:
            h = t - times[k - 1]
            u = U + u * (1.0 - U) * (np.exp(-h / tau_facil) if tau_facil >= 1e-10 else 0.0)
            rec = np.zeros(n + 1)          # each of the n - a depleted sites recovers with 1 - e^(-h/tau_rec)
            for a, pa in enumerate(avail):
                rec[a:] += pa * binom.pmf(np.arange(n - a + 1), n - a, 1.0 - np.exp(-h / tau_rec))
            avail = rec
        joint = np.zeros((n + 1, n + 1))  # (available, released)
        for a, pa in enumerate(avail):
            joint[a, :a + 1] = pa * binom.pmf(np.arange(a + 1), a, u)
        released = joint.sum(axis=0)
        mean = (sites * released).sum()
        var = ((sites - mean) ** 2 * released).sum()
        out.append((mean, var, ((sites - mean) ** 4 * released).sum()))
        after = np.zeros(n + 1)
        for a in range(n + 1):
            for r in range(a + 1):
                after[a - r] += joint[a, r]
        avail = after
    return np.array(out).T


QUANTAL_TIMES = np.concatenate([np.arange(10.0, 200.0, 20.0), [400.0]])


@pytest.mark.cross_simulator
@pytest.mark.parametrize("U, n, tau_rec, tau_facil", [(0.3, 4, 60.0, 0.0), (0.15, 6, 80.0, 100.0)])
def test_multi_quantal_statistics(sim, nest, U, n, tau_rec, tau_facil):
    m, w = 1000, 1e-3

    def synapse(backend):
        return backend.MultiQuantalSynapse(weight=w, delay=1.0, U=U, n=n, tau_rec=tau_rec, tau_facil=tau_facil)

    kg = _release_counts(sim, synapse(sim), QUANTAL_TIMES, m, w, rng_seed=7)
    kn = _release_counts(nest, synapse(nest), QUANTAL_TIMES, m, w)
    mean, var, mu4 = quantal_moments(QUANTAL_TIMES, U, n, tau_rec, tau_facil)
    se_mean = np.sqrt(var / m)
    se_var = np.sqrt((mu4 - var ** 2 * (m - 3) / (m - 1)) / m)
    for k in (kg, kn):
        assert k.min() >= 0 and k.max() <= n
        assert np.all(np.abs(k.mean(axis=1) - mean) <= Z * se_mean), (k.mean(axis=1), mean)
        assert np.all(np.abs(k.var(axis=1, ddof=1) - var) <= Z * se_var), (k.var(axis=1, ddof=1), var)
    # pyNN.gpu against pyNN.nest directly: two independent samples of the same distribution
    assert np.all(np.abs(kg.mean(axis=1) - kn.mean(axis=1)) <= Z * np.sqrt(2) * se_mean)
    assert np.all(np.abs(kg.var(axis=1, ddof=1) - kn.var(axis=1, ddof=1)) <= Z * np.sqrt(2) * se_var)
    # NEST's start: one available site with u = 0.5, so the first spike releases 0 or 1 quantum
    assert kg[0].max() == 1 and kg[1:].max() > 1


@pytest.mark.cross_simulator
def test_multi_quantal_initial_state(sim, nest):
    """Projection.initialize(a=..., u=...) sets the available sites and the release probability each synapse
    starts from, as pyNN.nest passes them to NEST (PyNN's examples/multiquantal_synapses.py sets a = n, u = U):
    the first spike then releases Binomial(n, U) quanta, not NEST's default Binomial(1, 0.5); every spike's mean
    and variance as the exact distribution, on both simulators.  Refused: a fractional or negative a, u above 1."""
    U, n, tau_rec, tau_facil, m, w = 0.8, 5, 100.0, 0.0, 1000, 1e-3

    def initial(synapse):       # as the example: NEST takes a whole number of sites only as an integer
        return {"a": synapse.parameter_space["n"], "u": synapse.parameter_space["U"]}

    def synapse(backend):
        return backend.MultiQuantalSynapse(weight=w, delay=1.0, U=U, n=n, tau_rec=tau_rec, tau_facil=tau_facil)

    kg = _release_counts(sim, synapse(sim), QUANTAL_TIMES, m, w, initial=initial, rng_seed=5)
    kn = _release_counts(nest, synapse(nest), QUANTAL_TIMES, m, w, initial=initial)
    mean, var, mu4 = quantal_moments(QUANTAL_TIMES, U, n, tau_rec, tau_facil, u0=U, a0=n)
    se_mean = np.sqrt(var / m)
    for k in (kg, kn):
        assert np.all(np.abs(k.mean(axis=1) - mean) <= Z * se_mean), (k.mean(axis=1), mean)
    assert abs(kg[0].mean() - n * U) <= Z * np.sqrt(n * U * (1 - U) / m) and kg[0].max() > 1
    sim.setup()
    cells = sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(), synapse(sim))
    for bad in ({"a": 1.5}, {"a": -1.0}, {"u": 1.2}):
        with pytest.raises(InvalidParameterValueError, match=f"'{next(iter(bad))}'"):
            prj.initialize(**bad)


# ------------------------------------------------------------------------------------------------------
# Vogels2011Rule: pre/post pairings at a range of lags, plus a presynaptic burst with no postsynaptic spikes

LAGS = np.arange(-30.0, 31.0, 5.0)          # pre spike time minus post spike time (ms)
POST_TIMES = np.arange(50.0, 1000.0, 80.0)  # the post cell is made to fire at these times
BURST = np.arange(1000.0, 1060.0, 1.0)      # pure depression, down to w_min
W_MAX, W0 = 0.01, 0.005
VOGELS = dict(tau=20.0, eta=1e-3, rho=10.0)  # alpha = 2 rho tau / 1000 = 0.4


def vogels_pre_times():
    return [list(POST_TIMES + lag) for lag in LAGS] + [list(BURST)]


def run_vogels(sim, delay, **setup_kw):
    """Final weights and the post cell's spike times; on pyNN.nest the plastic synapses are NEST's
    vogels_sprekeler_synapse connected directly (inhibitory conductances are negative weights in NEST)."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid", **setup_kw)
    pre = sim.Population(len(LAGS) + 1, sim.SpikeSourceArray(spike_times=vogels_pre_times()))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=list(POST_TIMES - 0.5)))
    post = sim.Population(1, sim.IF_cond_exp(tau_refrac=2.0, tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.4))
    if sim.__name__ == "pyNN.nest":
        import nest as nest_kernel
        post.node_collection.set(tau_minus=VOGELS["tau"])     # NEST reads the post trace's time constant here
        nest_kernel.Connect(pre.node_collection, post.node_collection, "all_to_all", syn_spec={
            "synapse_model": "vogels_sprekeler_synapse", "weight": -1000.0 * W0, "delay": delay,
            "tau": VOGELS["tau"], "eta": 1000.0 * VOGELS["eta"], "Wmax": -1000.0 * W_MAX,
            "alpha": 2 * VOGELS["rho"] * VOGELS["tau"] / 1000.0})
    else:
        stdp = sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(**VOGELS),
                                 weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=W_MAX),
                                 weight=W0, delay=delay)
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, receptor_type="inhibitory")
    post.record("spikes")
    sim.run(1100.0)
    if sim.__name__ == "pyNN.nest":
        conns = nest_kernel.GetConnections(target=post.node_collection, synapse_model="vogels_sprekeler_synapse")
        order = np.argsort(conns.get("source"))
        weights = -np.asarray(conns.get("weight"))[order] / 1000.0
    else:
        weights = np.array(prj.get("weight", format="array"))[:, 0]
    spikes = np.asarray(post.get_data().segments[0].spiketrains[0])
    sim.end()
    return weights, spikes


def vogels_reference(pre_times, post_times, delay, tau, eta, rho, w0=W0, w_min=0.0, w_max=W_MAX):
    """NEST's vogels_sprekeler_synapse, event by event: at each pre spike t, potentiation by the pre trace
    for every post spike in (t_last - d, t - d], potentiation by the post trace at t - d (last post spike
    strictly before it), constant depression eta * alpha, then the pre trace jumps."""
    eps, alpha = 1e-6, 2 * rho * tau / 1000.0
    post_times = np.asarray(post_times)
    kminus = np.zeros(len(post_times))      # the post trace just after each post spike
    for j, t in enumerate(post_times):
        kminus[j] = (kminus[j - 1] * np.exp(-(t - post_times[j - 1]) / tau) if j else 0.0) + 1.0
    w, kplus, t_last = w0, 0.0, 0.0
    for t in pre_times:
        for tj in post_times[(post_times >= t_last - delay + eps) & (post_times < t - delay + eps)]:
            w = min(w + eta * kplus * np.exp((t_last - (tj + delay)) / tau), w_max)
        before = np.nonzero(t - delay - post_times > eps)[0]
        k = kminus[before[-1]] * np.exp((post_times[before[-1]] - (t - delay)) / tau) if len(before) else 0.0
        w = min(w + eta * k, w_max)
        w = max(w - alpha * eta, w_min)
        kplus = kplus * np.exp((t_last - t) / tau) + 1.0
        t_last = t
    return w


@pytest.mark.cross_simulator
@pytest.mark.parametrize("delay", [0.5, 2.3])
def test_vogels2011_matches_nest_vogels_sprekeler(sim, nest, delay):
    wg, sg = run_vogels(sim, delay, precision="double")
    wn, sn = run_vogels(nest, delay)
    np.testing.assert_allclose(sg, sn)                       # the same post spikes (the pairing schedule)
    assert len(sg) == len(POST_TIMES)
    ref = np.array([vogels_reference(times, sg, delay, **VOGELS) for times in vogels_pre_times()])
    assert np.abs(wg - wn).max() < 1e-6 * W_MAX              # pyNN.gpu against NEST
    assert np.abs(wg - ref).max() < 1e-6 * W_MAX             # ... and against the event-driven reference
    # symmetric: close pairs potentiate whatever their order, distant ones depress
    w = dict(zip(LAGS, wg[:-1]))
    assert min(w[-10.0], w[10.0]) > W0 > max(w[-25.0], w[25.0])
    # the closest pairs reach w_max, then the last pre spike's depression alpha * eta takes them below it
    assert w[0.0] == pytest.approx(W_MAX - 2 * VOGELS["rho"] * VOGELS["tau"] / 1000 * VOGELS["eta"], abs=1e-12)
    assert wg[-1] == 0.0                                     # the burst depresses down to w_min


def test_vogels2011_single_precision_and_errors(sim):
    wg, sg = run_vogels(sim, 1.0)
    ref = np.array([vogels_reference(times, sg, 1.0, **VOGELS) for times in vogels_pre_times()])
    assert np.abs(wg - ref).max() < 1e-4 * W_MAX
    sim.setup()
    with pytest.raises(NotImplementedError, match="AdditiveWeightDependence"):
        sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(),
                          weight_dependence=sim.MultiplicativeWeightDependence(w_max=1.0))


@pytest.mark.cuda_compile
def test_new_synapse_models_compile_for_cuda(sim, tmp_path, monkeypatch):
    """The CUDA dialect of the three models compiles with NVRTC (no GPU needed), in both precisions."""
    from pynn_gpu.kernels import cache
    from pynn_gpu.kernels.runtime import nvrtc
    if not nvrtc.available():
        pytest.skip(f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    sim.setup(timestep=0.1)
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=20.0), label="pre")
    post = sim.Population(5, sim.IF_cond_exp(), label="post")
    for synapse, receptor in (
            (sim.StochasticTsodyksMarkramSynapse(weight=0.01, delay=0.5, tau_facil=50.0), "excitatory"),
            (sim.MultiQuantalSynapse(weight=0.01, delay=0.5, n=3), "excitatory"),
            (sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(), weight_dependence=sim.AdditiveWeightDependence(
                w_max=0.01), weight=0.005, delay=0.3), "inhibitory")):
        sim.Projection(pre, post, sim.AllToAllConnector(), synapse, receptor_type=receptor)
    for precision in ("single", "double"):
        report = sim.compile(backend="cuda", arch="sm_90", precision=precision)
        assert all(k.registers > 0 for k in report.kernels.values())
