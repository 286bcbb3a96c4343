"""Small random networks, the same PyNN script on pyNN.gpu and pyNN.nest: identical spike trains, v within each
model's tolerance, the same learned weights.

Each seed draws one to three populations of standard cells (parameters jittered around PyNN's defaults), spike
sources, DC pulses and projections between all of them with random connectors (all-to-all, fixed probability,
one-to-one, fixed number, from a list), receptors, weights, delays and synapse types (static, Tsodyks-Markram,
STDP).  Combinations pyNN.nest itself gets wrong are left out: IF_curr_delta (its v starts at NEST's -70 mV and
cannot be recorded), STDP onto Izhikevich cells (it scales w_max 1000 times more than the weight) and
IF_cond_exp_gsfa_grr (it cannot create them).  Spike times are drawn in the middle of steps, where both
simulators round them up alike (on the grid, pyNN.nest's floating-point shift by min_delay moves a few to the
next step; see the README).
"""
import numpy as np
import pytest

pytestmark = pytest.mark.cross_simulator

#: Standard cells with the defaults to jitter (ms, mV, nF, uS, nA), and the largest |v - v_NEST| (mV) their
#: integration scheme gives in double precision (exact propagators; RK4 against NEST's RKF45; RKF45).
CELLS = {
    "IF_curr_exp": (dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0), 1e-9),
    "IF_curr_alpha": (dict(tau_m=20.0, tau_syn_E=0.5, tau_syn_I=0.5), 1e-9),
    "IF_cond_exp": (dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0), 1e-6),
    "IF_cond_alpha": (dict(tau_m=20.0, tau_syn_E=0.3, tau_syn_I=0.5), 1e-6),
    "EIF_cond_exp_isfa_ista": (dict(tau_m=9.3667, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0, tau_syn_E=5.0,
                                    tau_syn_I=5.0), 1e-4),
    "EIF_cond_alpha_isfa_ista": (dict(tau_m=9.3667, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0, tau_syn_E=5.0,
                                      tau_syn_I=5.0), 1e-3),
    "Izhikevich": (dict(a=0.02, b=0.2, d=2.0), 1e-6),
    "HH_cond_exp": (dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, tau_syn_E=0.2, tau_syn_I=2.0), 1e-6),
}
#: Weight scale per target (nA for current-based cells, uS for conductances): a few inputs matter.
WEIGHT = {"IF_curr_exp": 1.0, "IF_curr_alpha": 2.0, "Izhikevich": 5.0, "EIF_cond_exp_isfa_ista": 0.01,
          "EIF_cond_alpha_isfa_ista": 0.01, "HH_cond_exp": 0.02, "IF_cond_exp": 0.02, "IF_cond_alpha": 0.02}
#: Targets of Tsodyks-Markram synapses: cells with exponential synapses (one time constant per receptor).
TM_TARGETS = {"IF_curr_exp", "IF_cond_exp", "EIF_cond_exp_isfa_ista", "HH_cond_exp"}
CONNECTORS = ("all", "probability", "one", "fixed_pre", "list")


def draw(seed):
    """The network of ``seed``: plain data, the same for both simulators."""
    r = np.random.RandomState(seed)
    names = sorted(CELLS)
    pops = []
    for _ in range(r.randint(1, 4)):
        name = names[r.randint(len(names))]
        params = {k: float(v * r.uniform(0.7, 1.3)) for k, v in CELLS[name][0].items()}
        if name not in ("Izhikevich", "HH_cond_exp"):
            params["tau_refrac"] = float(round(r.uniform(0.1, 3.0), 1))
        pops.append(dict(name=name, n=int(r.randint(2, 8)), params=params,
                         dc=float(r.uniform(0.0, 1.0)) if r.rand() < 0.5 else 0.0))
    sources = [sorted(set((np.floor(r.uniform(1, 180, r.randint(3, 15)) * 10) / 10 + 0.05).round(2)))
               for _ in range(r.randint(3, 10))]
    projections = []
    for pre in range(len(pops) + 1):              # len(pops): the spike sources
        for post in range(len(pops)):
            if pre < len(pops) and r.rand() < 0.4:
                continue
            projections.append(dict(pre=pre, post=post, connector=CONNECTORS[r.randint(len(CONNECTORS))],
                                    receptor="excitatory" if r.rand() < 0.7 else "inhibitory",
                                    weight=float(r.uniform(0.2, 1.0)), delay=float(round(r.uniform(0.1, 3.0), 1)),
                                    seed=int(r.randint(1 << 30)),
                                    synapse=("static", "static", "tm", "stdp")[r.randint(4)]))
    return dict(pops=pops, sources=sources, projections=projections)


def _synapse(sim, spec, target):
    weight = spec["weight"] * WEIGHT[target]
    if spec["receptor"] == "inhibitory" and target in ("IF_curr_exp", "IF_curr_alpha", "Izhikevich"):
        weight = -weight
    if spec["synapse"] == "tm" and target in TM_TARGETS:
        return sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, tau_facil=10.0, weight=weight, delay=spec["delay"])
    if spec["synapse"] == "stdp" and weight > 0 and target != "Izhikevich":
        return sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.05, A_minus=0.06),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2 * weight),
            weight=weight, delay=spec["delay"])
    return sim.StaticSynapse(weight=weight, delay=spec["delay"])


def _connector(sim, spec, pre, post):
    from pyNN.random import NumpyRNG
    rng = NumpyRNG(seed=spec["seed"])
    kind = spec["connector"]
    if kind == "all":
        return sim.AllToAllConnector()
    if kind == "probability":
        return sim.FixedProbabilityConnector(0.5, rng=rng)
    if kind == "one" and pre.size == post.size:
        return sim.OneToOneConnector()
    if kind in ("one", "fixed_pre"):
        return sim.FixedNumberPreConnector(1 if kind == "one" else 2, rng=rng)
    r = np.random.RandomState(spec["seed"])
    return sim.FromListConnector(sorted({(int(r.randint(pre.size)), int(r.randint(post.size))) for _ in range(4)}))


def simulate(sim, net, **setup_kw):
    """Build and run the network for 200 ms; spike trains and v per population, learned weights per STDP
    projection (sorted by source and target)."""
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=5.0, spike_precision="on_grid", **setup_kw)
    pops = []
    for k, spec in enumerate(net["pops"]):
        pop = sim.Population(spec["n"], getattr(sim, spec["name"])(**spec["params"]), label=f"p{k}")
        pop.record(["spikes", "v"])
        if spec["dc"] and spec["name"] != "HH_cond_exp":
            scale = {"Izhikevich": 0.02, "EIF_cond_exp_isfa_ista": 0.5, "EIF_cond_alpha_isfa_ista": 0.5}
            sim.DCSource(amplitude=spec["dc"] * scale.get(spec["name"], 1.0), start=20.0,
                         stop=150.0).inject_into(pop)
        pops.append(pop)
    sources = sim.Population(len(net["sources"]), sim.SpikeSourceArray(
        spike_times=[sim.Sequence(s) for s in net["sources"]]))
    learning = []
    for spec in net["projections"]:
        pre, post = (pops + [sources])[spec["pre"]], pops[spec["post"]]
        synapse = _synapse(sim, spec, net["pops"][spec["post"]]["name"])
        prj = sim.Projection(pre, post, _connector(sim, spec, pre, post), synapse, receptor_type=spec["receptor"])
        if isinstance(synapse, sim.STDPMechanism):
            learning.append(prj)
    sim.run(200.0)
    result = dict(spikes=[], v=[], weights=[])
    for pop in pops:
        seg = pop.get_data().segments[0]
        result["spikes"].append([np.asarray(st) for st in seg.spiketrains])
        result["v"].append(np.asarray(seg.filter(name="v")[0]))
    for prj in learning:
        w = np.array(prj.get("weight", format="list"), float)
        result["weights"].append(w[np.lexsort((w[:, 1], w[:, 0]))] if len(w) else w)
    sim.end()
    return result


@pytest.mark.parametrize("seed", [4, 6, 9, 13, 16, 20, 26])
def test_random_network_matches_nest(sim, nest, seed):
    net = draw(seed)
    ours = simulate(sim, net, precision="double")
    theirs = simulate(nest, net)
    spiking = 0
    for k, spec in enumerate(net["pops"]):
        for a, b in zip(ours["spikes"][k], theirs["spikes"][k]):
            assert len(a) == len(b), f"seed {seed}, {spec['name']}: {len(a)} spikes, NEST {len(b)}"
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
            spiking += len(a)
        assert ours["v"][k].shape == theirs["v"][k].shape
        assert np.abs(ours["v"][k] - theirs["v"][k]).max() < CELLS[spec["name"]][1], spec["name"]
    for a, b in zip(ours["weights"], theirs["weights"]):
        np.testing.assert_array_equal(a[:, :2], b[:, :2])
        np.testing.assert_allclose(a[:, 2], b[:, 2], rtol=0, atol=1e-12)
    assert spiking > 10


@pytest.mark.parametrize("seed", [4, 9])
def test_random_network_matches_nest_both_ways_of_stepping(sim, nest, step_kernels, seed):
    """The same with many steps per launch in one work-item and with a kernel per phase and step (atomic adds:
    synaptic sums in another order), spikes identical either way."""
    test_random_network_matches_nest(sim, nest, seed)
