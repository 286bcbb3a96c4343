"""GeNN 5 model code ports with little change: its names for the built-ins are taken as they are, and where GeNN
has something pyNN.gpu does not, the error says what to write instead."""
import re

import numpy as np
import pytest
from pyNN.errors import ConnectionError, InvalidParameterValueError, NonExistentParameterError

from pynn_gpu.codegen.errors import ModelError
from pynn_gpu.kernels.errors import KernelCompileError

#: GeNN 5's symmetric STDP of the mushroom-body tutorial, verbatim (its local 'dt' and 'addToPost' included).
SYMMETRIC_STDP = dict(
    params={"tau": 15.0, "rho": 0.01, "eta": 0.1, "wMin": 0.0, "wMax": 1.0}, vars=[("g", "scalar")],
    pre_spike_syn_code="""
        addToPost(g);
        const scalar dt = t - st_post;
        const scalar timing = exp(-dt / tau) - rho;
        const scalar newWeight = g + (eta * timing);
        g = fmin(wMax, fmax(wMin, newWeight));
        """,
    post_spike_syn_code="""
        const scalar dt = t - st_pre;
        const scalar timing = fmax(exp(-dt / tau) - rho, -0.1 * rho);
        const scalar newWeight = g + (eta * timing);
        g = fmin(wMax, fmax(wMin, newWeight));
        """)


def test_genn_5_stdp_runs_verbatim(sim):
    """The post spike, with no pre spike yet, depresses by eta 0.1 rho (the clamp); the pre spike after it
    potentiates by eta (exp(-dt / tau) - rho), dt the time between the two stamps."""
    stdp = sim.create_weight_update_model("SymmetricSTDP", **SYMMETRIC_STDP)
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[7.0]))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=0.5, tau_refrac=1.0))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.1))
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp(g=0.5, delay=0.1))
    post.record("spikes")
    sim.run(10.0)
    (t_post,) = post.get_data().segments[0].spiketrains[0].magnitude
    g = prj.get("g", format="list", with_address=False)[0]
    assert g == pytest.approx(0.5 - 0.1 * 0.001 + 0.1 * (np.exp(-(7.0 - t_post) / 15.0) - 0.01), abs=1e-12)


def test_genn_random_numbers(sim):
    """gennrand_uniform(), gennrand_normal() and gennrand_exponential(): the last, a threshold above 3, fires with
    probability exp(-3) a step (1,000 cells, 100 steps: within 5 standard deviations)."""
    source = sim.create_neuron_model("ExpSource", vars=[("n", "unsigned int"), ("u", "scalar")],
                                     sim_code="u = gennrand_uniform() + 0.0 * gennrand_normal();",
                                     threshold_condition_code="gennrand_exponential() > 3.0", reset_code="n++;",
                                     receptors=())
    sim.setup(timestep=0.1)
    cells = sim.Population(1000, source())
    cells.record("spikes")
    sim.run(10.0)
    fired = sum(len(train) for train in cells.get_data().segments[0].spiketrains)
    p = np.exp(-3.0)
    assert abs(fired - 100_000 * p) < 5 * np.sqrt(100_000 * p * (1 - p))


@pytest.mark.parametrize("code,says", [("addToPost(g * id_pre);", "'id_pre'"), ("g = num_post;", "'num_post'"),
                                       ("addToPostDelay(g, 2);", "delays in PyNN")])
def test_genn_names_with_no_counterpart(sim, code, says):
    with pytest.raises(ModelError, match=says):
        sim.create_weight_update_model("W", vars=[("g", "scalar")], pre_spike_syn_code=code)


def test_porting_traps_are_named(sim):
    with pytest.raises(ModelError, match="apply_input_code='x \\+= init \\* inp;'"):
        sim.create_postsynaptic_model("ExpCurr", sim_code="injectCurrent(init * inSyn); inSyn *= expDecay;")
    pulse = sim.create_weight_update_model("StaticPulse", vars=[("g", "scalar")], pre_spike_syn_code="addToPost(g);")
    with pytest.raises(InvalidParameterValueError, match=r"'weight' is given, but .* \(here: g\)"):
        pulse(weight=0.5)
    sim.setup(timestep=0.1)
    cells = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(ConnectionError, match="the connector gives weights, but .* own variables \\(g\\)"):
        sim.Projection(cells, cells, sim.FromListConnector([(0, 1, 0.5, 1.0)], column_names=["weight", "delay"]),
                       pulse(g=0.2))
    no_weights = sim.Projection(cells, cells, sim.FromListConnector([(0, 1, 1.0)], column_names=["delay"]),
                                pulse(g=0.2))
    assert no_weights.get("g", format="list", with_address=False) == [0.2]
    sim.setup(timestep=0.1)
    leaky = sim.create_neuron_model("Leaky", vars={"v": 0.0}, sim_code="v += in_inhibitory;",
                                    receptors=("excitatory", "inhibitory"))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(ConnectionError, match="conductance_based=True"):
        sim.Projection(source, sim.Population(1, leaky()), sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1),
                       receptor_type="inhibitory")


def test_a_current_source_into_a_model_that_ignores_it(sim):
    """GeNN adds current sources to Isyn; here a model reads them as i_inj, and one that never does is refused a
    current source (it would have no effect)."""
    sim.setup(timestep=0.1, precision="double")
    deaf = sim.create_neuron_model("Deaf", vars={"V": 0.0}, sim_code="V += 1.0;", receptors=())
    hearing = sim.create_neuron_model("Hearing", vars={"V": 0.0}, sim_code="V += i_inj * dt;", receptors=())
    dc = sim.DCSource(amplitude=2.0)
    with pytest.raises(TypeError, match="never reads i_inj"):
        dc.inject_into(sim.Population(1, deaf()))
    cells = sim.Population(1, hearing())
    dc.inject_into(cells)
    cells.record("V")
    sim.run(5.0)
    v = cells.get_data().segments[0].filter(name="V")[0].magnitude[:, 0]
    steps = np.diff(v)          # 0 before the source acts (NEST's delay of its start), then 2 nA x dt each step
    assert set(np.round(steps, 12)) == {0.0, 0.2} and steps[-1] == pytest.approx(0.2)


def test_previous_spike_times(sim, step_kernels):
    """prev_st_pre / prev_st_post: the stamps of the spike before the last (GeNN's), -1e30 before there was one."""
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    gaps = sim.create_weight_update_model(
        "Gaps", vars=[("gap", "scalar"), ("first", "scalar"), ("n", "int"), ("post_gap", "scalar")],
        pre_spike_syn_code="if (n == 0) first = prev_st_pre; gap = st_pre - prev_st_pre; n++;",
        post_spike_syn_code="post_gap = st_post - prev_st_post;")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0, 5.0, 9.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.5, 6.0]))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.1))
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), gaps(delay=0.1))
    post.record("spikes")
    sim.run(12.0)
    fired = post.get_data().segments[0].spiketrains[0].magnitude
    gap, first, n, post_gap = prj.get(["gap", "first", "n", "post_gap"], format="list", with_address=False)[0]
    assert (gap, first, n) == (pytest.approx(4.0, abs=1e-12), -1e30, 3)
    assert len(fired) == 2 and post_gap == pytest.approx(fired[1] - fired[0], abs=1e-12)


def test_genn_4_declarations_and_genn_5_neuron_level_code(sim):
    with pytest.warns(FutureWarning, match=r"GeNN 4's '(param_names|var_name_types)' is '(params|vars)'"):
        leaky = sim.create_neuron_model("Leaky", param_names=["tau"], var_name_types=[("V", "scalar")],
                                        sim_code="V += dt / tau;", receptors=())
    sim.setup(timestep=0.1, precision="double")
    cells = sim.Population(1, leaky(tau=2.0))
    cells.record("V")
    sim.run(1.0)
    assert cells.get_data().segments[0].filter(name="V")[0].magnitude[-1, 0] == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ModelError, match="the neurons' own code .* declare the variables it updates as pre_vars"):
        sim.create_weight_update_model("Trace", vars=[("g", "scalar")], pre_spike_code="x += 1.0;",
                                       pre_spike_syn_code="addToPost(g);")


def test_the_cell_index_id(sim, step_kernels):
    """GeNN's id: each cell's index in its own population, also when two populations share the model's kernel
    block; a model's own variable named id stays its own."""
    indexed = sim.create_neuron_model("Indexed", vars={"x": 0.0}, extra_global_params=["table"], receptors=(),
                                      sim_code="x = id + 0.5 * table[id % table_len];")
    own = sim.create_neuron_model("OwnId", vars={"id": 7.0, "x": 0.0}, sim_code="x = id;", receptors=())
    sim.setup(timestep=0.1, precision="double")
    a = sim.Population(4, indexed(table=sim.Sequence([10.0, 20.0, 30.0, 40.0])))
    b = sim.Population(3, indexed(table=sim.Sequence([1.0, 2.0, 3.0])))
    c = sim.Population(2, own())
    for p in (a, b, c):
        p.record("x")
    sim.run(0.3)
    last = [p.get_data().segments[0].filter(name="x")[0].magnitude[-1] for p in (a, b, c)]
    np.testing.assert_array_equal(last[0], [5.0, 11.0, 17.0, 23.0])
    np.testing.assert_array_equal(last[1], [0.5, 2.0, 3.5])
    np.testing.assert_array_equal(last[2], [7.0, 7.0])


def test_genn_log_normal(sim):
    """gennrand_log_normal(mean, sd): exp(mean + sd z); over 20,000 cells the log's mean and sd within 5 standard
    errors."""
    draw = sim.create_neuron_model("LogNormal", vars={"x": 0.0}, sim_code="x = gennrand_log_normal(0.5, 0.25);",
                                   receptors=())
    sim.setup(timestep=0.1, precision="double")
    cells = sim.Population(20000, draw())
    cells.record("x")
    sim.run(0.2)
    logs = np.log(cells.get_data().segments[0].filter(name="x")[0].magnitude[-1])
    assert abs(logs.mean() - 0.5) < 5 * 0.25 / np.sqrt(20000)
    assert abs(logs.std() - 0.25) < 5 * 0.25 / np.sqrt(2 * 20000)
    with pytest.raises(ModelError, match="'gennrand_gamma'.*uniform\\(\\) and normal\\(\\)"):
        sim.create_neuron_model("Gamma", vars={"x": 0.0}, sim_code="x = gennrand_gamma(2.0);", receptors=())


#: GeNN 5's trace-based STDP of its documentation, verbatim: per-neuron traces (pre_vars, post_vars) updated by the
#: neurons' own spike code.
TRACE_STDP = dict(
    params={"tauPlus": 20.0, "tauMinus": 20.0, "aPlus": 0.1, "aMinus": 0.105, "wMin": 0.0, "wMax": 1.0},
    vars=[("g", "scalar")], pre_vars=[("preTrace", "scalar")], post_vars=[("postTrace", "scalar")],
    pre_spike_syn_code="""
        addToPost(g);
        const scalar dt = t - st_post;
        if(dt > 0) {
            const scalar timing = postTrace * exp(-dt / tauMinus);
            const scalar newWeight = g - (aMinus * timing);
            g = fmax(wMin, fmin(wMax, newWeight));
        }
        """,
    post_spike_syn_code="""
        const scalar dt = t - st_pre;
        if(dt > 0) {
            const scalar timing = preTrace * exp(-dt / tauPlus);
            const scalar newWeight = g + (aPlus * timing);
            g = fmax(wMin, fmin(wMax, newWeight));
        }
        """,
    pre_spike_code="""
        const scalar dt = t - st_pre;
        preTrace = preTrace * exp(-dt / tauPlus) + 1.0;
        """,
    post_spike_code="""
        const scalar dt = t - st_post;
        postTrace = postTrace * exp(-dt / tauMinus) + 1.0;
        """)


def _trace_stdp_reference(pre_times, post_times, g, tau_plus=None):
    """GeNN's semantics of TRACE_STDP in NumPy: the events in time order, a neuron's trace updated (from its
    previous spike) before the synapse code reads it.  ``tau_plus``: a number, or tauPlus as a function of time."""
    p = TRACE_STDP["params"]
    tau = tau_plus if callable(tau_plus) else (lambda t: p["tauPlus"] if tau_plus is None else tau_plus)
    pre_trace = post_trace = 0.0
    last_pre = last_post = -np.inf
    for t, kind in sorted([(t, "pre") for t in pre_times] + [(t, "post") for t in post_times]):
        if kind == "pre":
            pre_trace = pre_trace * np.exp(-(t - last_pre) / tau(t)) + 1.0
            last_pre = t
            if t - last_post > 0:
                g = np.clip(g - p["aMinus"] * post_trace * np.exp(-(t - last_post) / p["tauMinus"]), 0.0, 1.0)
        else:
            post_trace = post_trace * np.exp(-(t - last_post) / p["tauMinus"]) + 1.0
            last_post = t
            if t - last_pre > 0:
                g = np.clip(g + p["aPlus"] * pre_trace * np.exp(-(t - last_pre) / tau(t)), 0.0, 1.0)
    return g, pre_trace, post_trace


def test_genn_5_per_neuron_variables(sim, step_kernels):
    """pre_vars / post_vars with the neurons' spike code: the learned weight and both traces as GeNN computes them
    (two synapses share the presynaptic neuron, and its trace)."""
    pre, post, (prj,) = _trace_network(sim, tau_plus=(20.0,))
    sim.run(50.0)
    post_times = post.get_data().segments[0].spiketrains[0].magnitude
    assert len(post_times) == 3
    g, pre_trace, post_trace = _trace_stdp_reference([10.0, 22.0, 40.0, 43.0], post_times, 0.5)
    for row in prj.get(["g", "preTrace", "postTrace"], format="list", with_address=False):
        np.testing.assert_allclose(row, [g, pre_trace, post_trace], atol=1e-12)


def _trace_network(sim, tau_plus=(20.0, 20.0)):
    """One presynaptic source, two postsynaptic cells driven to fire, and TRACE_STDP projections from the source:
    one per cell, each with its own tauPlus, or with one tauPlus one onto both cells."""
    stdp = sim.create_weight_update_model("TraceSTDP", **TRACE_STDP)
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 22.0, 40.0, 43.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[14.5, 25.0, 41.0]))
    post = sim.Population(2, sim.IF_curr_exp(tau_syn_E=0.5, tau_refrac=1.0))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.1))
    targets = [post] if len(tau_plus) == 1 else [post[k:k + 1] for k in range(len(tau_plus))]
    prjs = [sim.Projection(pre, cells, sim.AllToAllConnector(), stdp(g=0.5, delay=0.1, tauPlus=tau))
            for cells, tau in zip(targets, tau_plus)]
    post.record("spikes")
    return pre, post, prjs


def test_genn_5_per_neuron_variables_per_projection(sim, step_kernels):
    """Each projection keeps its own copy of its neurons' variables (GeNN: per synapse group): two projections from
    one source with different tauPlus learn and trace as each alone would; the neurons' code reads the parameter
    as one value per projection, and Projection.set of it reaches that code at the next run."""
    pre, post, prjs = _trace_network(sim, tau_plus=(20.0, 5.0))
    sim.run(30.0)
    prjs[1].set(tauPlus=8.0)
    sim.run(20.0)
    post_times = post.get_data().segments[0].spiketrains[0].magnitude
    assert len(post_times) == 3
    pre_times = [10.0, 22.0, 40.0, 43.0]
    g0, pre0, post0 = _trace_stdp_reference(pre_times, post_times, 0.5)
    np.testing.assert_allclose(prjs[0].get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0],
                               [g0, pre0, post0], atol=1e-12)
    # tauPlus 5 up to 30 ms, then 8 (the pre spikes at 40 and 43 and the post spike near 41 use 8)
    g1, pre1, post1 = _trace_stdp_reference(pre_times, post_times, 0.5, tau_plus=lambda t: 5.0 if t < 30.0 else 8.0)
    np.testing.assert_allclose(prjs[1].get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0],
                               [g1, pre1, post1], atol=1e-12)
    assert abs(g1 - g0) > 1e-3 and abs(pre1 - pre0) > 1e-3


def test_genn_5_per_neuron_variables_reset(sim):
    """sim.reset() returns the neurons' variables to their initial values, as it does the synapses' (so the run
    after it repeats the first)."""
    pre, post, prjs = _trace_network(sim)
    sim.run(50.0)
    first = prjs[0].get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0]
    assert first[1] > 0.5 and first[2] > 0.5
    sim.reset()
    assert prjs[0].get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0] == (0.5, 0.0, 0.0)
    sim.run(50.0)
    np.testing.assert_allclose(prjs[0].get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0],
                               first, atol=1e-12)


def test_genn_5_per_neuron_variables_refusals(sim):
    """What per-neuron variables cannot be: set per connection, given per synapse, or read with a parameter that
    differs between a projection's synapses; the neurons' code cannot read the synapses' variables or the other
    side's, and the synapse code cannot assign them."""
    pre, post, prjs = _trace_network(sim)
    with pytest.raises(InvalidParameterValueError, match="'preTrace' is a variable of the presynaptic neurons"):
        prjs[0].set(preTrace=1.0)
    stdp = type(prjs[0].synapse_type)
    with pytest.raises(InvalidParameterValueError, match="'postTrace' is a variable of the postsynaptic neurons"):
        stdp(postTrace=1.0)
    prjs[0].set(tauPlus=np.array([10.0]))
    sim.run(1.0)
    both = sim.Projection(pre, post, sim.AllToAllConnector(), stdp(g=0.5, delay=0.1))
    both.set(tauPlus=np.array([10.0, 11.0]))
    with pytest.raises(InvalidParameterValueError, match="'tauPlus' of TraceSTDP is read by the presynaptic "
                                                         "neurons' own code .* one value for the whole projection"):
        sim.run(1.0)
    spec = {k: v for k, v in TRACE_STDP.items() if k != "params"}
    for snippet, code, message in (
            ("pre_spike_code", "preTrace += g;", r"pre_spike_code, line 1\] unknown name 'g'"),
            ("pre_spike_code", "preTrace += t - st_post;", r"pre_spike_code, line 1\] 'st_post' cannot be read by the "
                                                           "presynaptic neurons' own code"),
            ("post_dynamics_code", "\npostTrace *= v_pre;", r"post_dynamics_code, line 2\] 'v_pre' cannot be read"),
            ("pre_spike_syn_code", "preTrace = 0.0;", r"pre_spike_syn_code, line 1\] 'preTrace' cannot be assigned by "
                                                      "synapse code")):
        with pytest.raises(ModelError, match=message):
            sim.create_weight_update_model("Bad", params=TRACE_STDP["params"], **{**spec, snippet: code})


def test_genn_5_per_neuron_variables_more_code(sim):
    """The neurons' code with a declaration of several locals (one named as a parameter of IF_curr_exp), a
    parameter named like a neuron reference (tau_pre), and a derived parameter: Projection.set of the parameter it
    follows reaches the code at the next run."""
    rule = sim.create_weight_update_model(
        "Decay", params={"tau_pre": 10.0}, vars=[("g", "scalar")], pre_vars=[("trace", "scalar")],
        derived_params={"decay": lambda p, dt: np.exp(-dt / p["tau_pre"])},
        pre_dynamics_code="trace *= decay;",
        pre_spike_code="const scalar one = 1.0, tau_m = 0.0;\nif (tau_pre > 0.0) { scalar a = one, b = tau_m; "
                       "trace += a + b; }",
        pre_spike_syn_code="g = trace;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    prj = sim.Projection(pre, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(), rule(delay=0.1))
    sim.run(5.0)
    prj.set(tau_pre=2.0)
    sim.run(5.0)
    # the spike ends step 9: 40 decays of tau 10 after it, then 50 of tau 2
    expected = np.exp(-0.1 / 10.0) ** 40 * np.exp(-0.1 / 2.0) ** 50
    assert prj.get("trace", format="list", with_address=False)[0] == pytest.approx(expected, rel=1e-12)


def test_genn_5_per_neuron_variable_names(sim):
    """Per-neuron variables declared twice, hiding a cell's own state the synapse code reads, or not names."""
    base = dict(vars=[("g", "scalar")], pre_spike_syn_code="g = x;")
    for options, message in (
            (dict(pre_vars=["x"], post_vars=["x"]), "'x' is declared twice"),
            (dict(vars=[("x", "scalar")], pre_vars=["x"], pre_spike_syn_code="x = 1.0;"), "'x' is declared twice"),
            (dict(pre_vars=["x", "v"], pre_spike_syn_code="g = x + v_pre;"), "reads 'v_pre', the presynaptic cells' "
                                                                              "own 'v', which the pre_vars variable"),
            (dict(pre_vars=["1x"]), "pre_vars name '1x' is not a valid identifier"),
            (dict(pre_vars="x"), "pre_vars must be {name: initial value} or a list")):
        with pytest.raises(ModelError, match=re.escape(message) if "{" in message else message):
            sim.create_weight_update_model("Names", **{**base, **options})


def test_genn_5_neuron_code_compile_errors_name_the_rule(sim):
    """What only the device compiler finds in the neurons' code is reported at the rule's snippet and line."""
    rule = sim.create_weight_update_model("MyRule", vars=[("g", "scalar")], pre_vars=[("x", "scalar")],
                                          pre_spike_code="x += 1.0;\nx = fmod(x, 2.0) % 2;",
                                          pre_spike_syn_code="g = x;")
    sim.setup(timestep=0.1, min_delay=0.1)
    pre = sim.Population(1, sim.IF_curr_exp(i_offset=2.0))
    sim.Projection(pre, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(), rule(delay=0.1))
    with pytest.raises(KernelCompileError, match=r"\[weight-update model 'MyRule' pre_spike_code, line 2\]"):
        sim.run(1.0)


def test_genn_5_refused_value_then_fixed(sim):
    """After a build refused for a value (a parameter of the neurons' code differing between synapses, several
    axonal delays), setting it right lets the network run on: the network that ran stays intact."""
    rule = sim.create_weight_update_model("Tr", params={"tau": 20.0}, vars=[("g", "scalar")], pre_vars=["x"],
                                          pre_spike_code="x = x * exp(-(t - st_pre) / tau) + 1.0;",
                                          pre_spike_syn_code="g = x;")
    sim.setup(timestep=0.1, min_delay=0.1)
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    prj = sim.Projection(pre, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(), rule(delay=0.1))
    sim.run(5.0)
    prj.set(tau=np.array([10.0, 11.0]))
    with pytest.raises(InvalidParameterValueError, match="one value for the whole projection"):
        sim.run(1.0)
    assert prj.get("x", format="list", with_address=False) == [1.0, 1.0]
    prj.set(tau=10.0)
    sim.run(1.0)
    assert sim.get_current_time() == pytest.approx(6.0)


def test_genn_5_per_neuron_variables_read_the_neuron(sim):
    """The neurons' own code reads its neuron's state as <var>_pre (here v, before the step's spike), its locals
    may have the names of the neuron model's (tau_m), and a population without the variable read is refused at the
    projection."""
    sampling = sim.create_weight_update_model(
        "Sampling", vars=[("g", "scalar")], pre_vars={"peak": -100.0},
        pre_dynamics_code="const scalar tau_m = 0.0;\npeak = fmax(peak, v_pre + tau_m);",
        pre_spike_syn_code="g = peak;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.3, 0.5], tau_refrac=2.0))
    cells.record("v")
    prj = sim.Projection(cells, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(), sampling(delay=0.1))
    sim.run(30.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(prj.get("peak", format="array")[:, 0], v.max(axis=0), atol=1e-12)
    with pytest.raises(NonExistentParameterError, match="'v_pre'"):
        sim.Projection(sim.Population(1, sim.SpikeSourceArray()), cells, sim.AllToAllConnector(), sampling())


def test_genn_5_neuron_dynamics_code(sim):
    """pre_dynamics_code runs every step, before the spike code of a spike in that step (GeNN's neuron order)."""
    decaying = sim.create_weight_update_model(
        "Decaying", vars=[("g", "scalar")], pre_vars=[("trace", "scalar")],
        pre_dynamics_code="trace *= 0.9;", pre_spike_code="trace += 1.0;", pre_spike_syn_code="g = trace;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    prj = sim.Projection(pre, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(), decaying(delay=0.1))
    sim.run(5.0)
    trace, at_spikes = 0.0, []
    for step in range(50):            # the spikes at 1.0 and 2.0 ms end steps 9 and 19
        trace *= 0.9
        if step in (9, 19):
            trace += 1.0
            at_spikes.append(trace)
    g, final = prj.get(["g", "trace"], format="list", with_address=False)[0]
    assert g == pytest.approx(at_spikes[-1], abs=1e-12) and final == pytest.approx(trace, abs=1e-12)


def test_genn_5_neuron_code_draws_once_per_neuron(sim):
    """Random draws in the neurons' own code are drawn once per neuron, as GeNN draws them: every synapse of a neuron
    reads the same value (kept per synapse, each copy drew its own), and two neurons differ."""
    drawing = sim.create_weight_update_model(
        "Drawing", vars=[("g", "scalar")], pre_vars=[("x", "scalar")],
        pre_dynamics_code="// a walk\nx += gennrand_normal();", pre_spike_syn_code="g = x;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    prj = sim.Projection(pre, sim.Population(3, sim.IF_curr_exp()), sim.AllToAllConnector(), drawing(delay=0.1))
    sim.run(5.0)
    g, x = prj.get(["g", "x"], format="array")
    for i in range(2):
        assert np.all(g[i] == g[i, 0]) and np.all(x[i] == x[i, 0])
    assert g[0, 0] != g[1, 0] and x[0, 0] != x[1, 0] and np.all(g != x)


def test_genn_spike_like_events(sim, step_kernels):
    """GeNN's StaticGraded, verbatim: in every step the presynaptic V is above Epre, each synapse adds
    g tanh((V_pre - Epre) / Vslope) dt, read after the neuron's update and arriving in the next step."""
    graded = sim.create_weight_update_model(
        "StaticGraded", params={"Epre": -50.0, "Vslope": 5.0}, vars=[("g", "scalar")],
        pre_event_threshold_condition_code="V_pre > Epre",
        pre_event_syn_code="addToPost(fmax(0.0, g * tanh((V_pre - Epre) / Vslope) * dt));")
    ramp = sim.create_neuron_model("Ramp", vars={"V": -60.0}, sim_code="V += 1.0 * dt;", receptors=())
    summing = sim.create_neuron_model("Sum", vars={"x": 0.0}, sim_code="x += in_excitatory;",
                                      receptors=("excitatory",))
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre, post = sim.Population(1, ramp()), sim.Population(1, summing())
    sim.Projection(pre, post, sim.AllToAllConnector(), graded(g=2.0, delay=0.1))
    post.record("x")
    sim.run(20.0)
    x = post.get_data().segments[0].filter(name="x")[0].magnitude[:, 0]
    v = -60.0 + 0.1 * np.arange(1, 201)              # V after the update of each step
    added = np.where(v > -50.0, 2.0 * np.tanh((v + 50.0) / 5.0) * 0.1, 0.0)
    expected = np.concatenate([[0.0, 0.0], np.cumsum(added)[:-1]])       # one step later, recorded at its end
    np.testing.assert_allclose(x, expected, atol=1e-9)


def test_genn_isyn_in_neuron_code(sim, step_kernels):
    """GeNN's Isyn: without postsynaptic models (GeNN's DeltaCurr) the weights arriving in the step at every receptor
    plus the current sources'; with them, their current plus the sources'."""
    delta = sim.create_neuron_model("DeltaIn", vars={"V": 0.0}, sim_code="V += Isyn;")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    cells = sim.Population(1, delta())
    sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=0.1),
                   receptor_type="excitatory")
    sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.5, delay=0.5),
                   receptor_type="inhibitory")
    cells.record("V")
    sim.run(5.0)
    v = cells.get_data().segments[0].filter(name="V")[0].magnitude[:, 0]
    assert v[-1] == pytest.approx(2 * (2.0 - 0.5), abs=1e-12)
    assert sorted(set(np.round(np.diff(v), 12))) == [-0.5, 0.0, 2.0]


# ---- GeNN's axonal delays for user learning rules (axonal_delay=True): the presynaptic code runs when a spike
# arrives, as GeNN runs it; compared with NumPy transcriptions of both conventions.

TAU, RHO, ETA = 15.0, 0.01, 0.01
#: The mushroom body's symmetric rule (GeNN's), with a learning rate that makes every pairing count.
SYMMETRIC = dict(params={"tau": TAU, "rho": RHO, "eta": ETA}, vars={"g": 0.0},
                 pre_spike_code="addToPost(0.0); g += eta * (exp(-(t - st_post) / tau) - rho);",
                 post_spike_code="g += eta * fmax(exp(-(t - st_pre) / tau) - rho, -0.1 * rho);")
PRE, DRIVE = [5.0, 12.0, 30.0, 31.0], [8.0, 13.0, 33.0]


def _symmetric_reference(pre_times, post_times):
    """The rule over the presynaptic times as the synapse sees them (emission or arrival) and the postsynaptic
    spikes, in time order (no two at once here)."""
    g, last_pre, last_post = 0.0, -np.inf, -np.inf
    for t, kind in sorted([(t, "pre") for t in pre_times] + [(t, "post") for t in post_times]):
        if kind == "pre":
            g += ETA * (np.exp(-(t - last_post) / TAU) - RHO)
            last_pre = t
        else:
            g += ETA * max(np.exp(-(t - last_pre) / TAU) - RHO, -0.1 * RHO)
            last_post = t
    return g


def _axonal_network(sim, delay=3.0, axonal=True, spec=SYMMETRIC, **values):
    """PRE's spikes through a rule made from ``spec`` onto a cell that DRIVE makes fire."""
    rule = sim.create_weight_update_model("Rule", axonal_delay=axonal, **spec)
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=PRE))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=DRIVE))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=0.5, tau_refrac=1.0))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.1))
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), rule(delay=delay, **values))
    post.record("spikes")
    return prj, post


@pytest.mark.parametrize("axonal", [True, False])
def test_axonal_delay_rule_runs_at_arrival(sim, step_kernels, axonal):
    """With axonal delays of 3 ms the presynaptic code runs 3 ms - dt after the spike's stamp, where GeNN runs it
    (GeNN's synaptic times st_pre, st_post are one step past its spike times, as the stamps here are); without, at
    emission (NEST's dendritic delays).  The two learn different weights, each its transcription's."""
    prj, post = _axonal_network(sim, axonal=axonal)
    sim.run(50.0)
    post_times = post.get_data().segments[0].spiketrains[0].magnitude
    assert len(post_times) == 3
    seen = [t + 3.0 - 0.1 for t in PRE] if axonal else PRE
    assert prj.get("g", format="list", with_address=False)[0] == pytest.approx(
        _symmetric_reference(seen, post_times), abs=1e-12)
    other = _symmetric_reference(PRE if axonal else [t + 3.0 - 0.1 for t in PRE], post_times)
    assert abs(prj.get("g", format="list", with_address=False)[0] - other) > 1e-3


def test_axonal_one_step_delays_agree(sim):
    """With a delay of one step the two conventions are the same (the mushroom body's case)."""
    g = []
    for axonal in (True, False):
        prj, _ = _axonal_network(sim, delay=0.1, axonal=axonal)
        sim.run(50.0)
        g.append(prj.get("g", format="list", with_address=False)[0])
        sim.end()
    assert g[0] == g[1]


def test_axonal_delay_input_arrives_as_with_dendritic_delays(sim, step_kernels):
    """What the rule transmits reaches the target ``delay`` after the emission, as a static synapse's does."""
    passing = sim.create_weight_update_model("Passing", vars={"weight": 0.0}, axonal_delay=True,
                                             pre_spike_code="addToPost(weight);")
    sim.setup(timestep=0.1, min_delay=0.1, precision="double")
    src = sim.Population(3, sim.SpikeSourcePoisson(rate=200.0))
    targets = sim.Population(2, sim.IF_curr_exp())
    sim.Projection(src, targets[0:1], sim.AllToAllConnector(), passing(weight=0.5, delay=2.3))
    sim.Projection(src, targets[1:2], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=2.3))
    targets.record("v")
    sim.run(100.0)
    v = targets.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[:, 0].max() > -64.0
    np.testing.assert_array_equal(v[:, 0], v[:, 1])


def test_per_neuron_variables_with_axonal_delays(sim):
    """GeNN 5's trace STDP with axonal delays: both traces and the weight as GeNN's order gives them, the
    presynaptic trace updated at the arrivals (2 ms - dt after the stamps)."""
    prj, post = _axonal_network(sim, delay=2.0, spec=TRACE_STDP, g=0.5)
    sim.run(31.0)
    sim.Population(1, sim.IF_curr_exp())          # a rebuild, with two spikes on their way (due at 31.9 and 32.9)
    sim.run(19.0)
    post_times = post.get_data().segments[0].spiketrains[0].magnitude
    expected = _trace_stdp_reference([t + 2.0 - 0.1 for t in PRE], post_times, 0.5)
    np.testing.assert_allclose(prj.get(["g", "preTrace", "postTrace"], format="list", with_address=False)[0],
                               expected, atol=1e-12)


def test_axonal_delay_refusals(sim):
    """Several delays in one projection, a read of the presynaptic cells' state, and a non-boolean option."""
    with pytest.raises(ModelError, match="with axonal_delay=True the code cannot read the presynaptic cells' state "
                                         r"\('v_pre'\)"):
        sim.create_weight_update_model("Reading", vars={"g": 0.0}, axonal_delay=True,
                                       pre_spike_code="g += v_pre;")
    with pytest.raises(ModelError, match="axonal_delay must be True or False"):
        sim.create_weight_update_model("Odd", vars={"g": 0.0}, axonal_delay="yes", pre_spike_code="g += 1.0;")
    rule = sim.create_weight_update_model("Rule", axonal_delay=True, **SYMMETRIC)
    sim.setup(timestep=0.1, min_delay=0.1)
    pre, post = sim.Population(2, sim.SpikeSourceArray()), sim.Population(1, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), rule(delay=1.0), label="mixed")
    prj.set(delay=np.array([1.0, 2.0]))
    with pytest.raises(InvalidParameterValueError, match="projection 'mixed': Rule has axonal delays, which are one "
                                                         "per projection .* from 1 to 2 ms"):
        sim.run(1.0)
