"""User-defined (GeNN-style) models as PyNN types: the API the standard library is written in.

A LIF with exponential current synapses written here through the public API reproduces ``IF_curr_exp``; user
models record, set, get and initialize like standard ones; a user weight-update model learns and is read back
with ``Projection.get``; user current sources and postsynaptic models inject what they say; errors name the
model, the snippet and the line before anything is compiled; and user models compile for CUDA.
"""
import warnings

import numpy as np
import pytest
import quantities as pq
from pyNN.errors import InvalidParameterValueError, NonExistentParameterError

from pynn_gpu.codegen.errors import ModelError
from pynn_gpu.codegen.library import neurons
from pynn_gpu.kernels.runtime import nvrtc

DT = 0.1


def _f(x):
    return np.asarray(x, float)


def _p21(tau_syn, p, dt):
    """The exact current-to-voltage propagator of iaf_psc_exp (tau_syn != tau_m)."""
    beta = _f(tau_syn) * _f(p["tau_m"]) / (_f(p["tau_m"]) - _f(tau_syn))
    return beta / _f(p["cm"]) * np.exp(-dt / _f(tau_syn)) * np.expm1(dt / beta)


def user_lif(sim):
    """NEST's iaf_psc_exp as a user model: exact propagators for v and both exponential currents."""
    return sim.create_neuron_model(
        "UserLIF",
        params={"v_rest": -65.0, "cm": 1.0, "tau_m": 20.0, "tau_refrac": 0.1, "tau_syn_E": 5.0, "tau_syn_I": 5.0,
                "i_offset": 0.0, "v_reset": -65.0, "v_thresh": -50.0},
        vars=[("v", "scalar"), ("isyn_exc", "scalar"), ("isyn_inh", "scalar"), ("r", "int")],
        initial_values={"v": -65.0},
        derived_params=[
            ("p22", lambda p, dt: np.exp(-dt / _f(p["tau_m"]))),
            ("p11_exc", lambda p, dt: np.exp(-dt / _f(p["tau_syn_E"]))),
            ("p11_inh", lambda p, dt: np.exp(-dt / _f(p["tau_syn_I"]))),
            ("p20", lambda p, dt: -_f(p["tau_m"]) / _f(p["cm"]) * np.expm1(-dt / _f(p["tau_m"]))),
            ("p21_exc", lambda p, dt: _p21(p["tau_syn_E"], p, dt)),
            ("p21_inh", lambda p, dt: _p21(p["tau_syn_I"], p, dt)),
            # refractory steps: ceil(tau_refrac / dt) counted on 1 us tics, as NEST counts them
            ("n_ref", lambda p, dt: np.ceil(np.rint(_f(p["tau_refrac"]) * 1000) / np.rint(dt * 1000))),
        ],
        sim_code="""
            if (r == 0)
                v = v_rest + p22 * (v - v_rest) + p21_exc * isyn_exc + p21_inh * isyn_inh + p20 * (i_offset + i_inj);
            else
                r -= 1;
            isyn_exc = p11_exc * isyn_exc + in_excitatory;
            isyn_inh = p11_inh * isyn_inh + in_inhibitory;
        """,
        threshold_condition_code="v >= v_thresh",
        reset_code="r = n_ref; v = v_reset;",
        receptors=("excitatory", "inhibitory"),
        units={"v": "mV", "isyn_exc": "nA", "isyn_inh": "nA"},
    )


def integrator(sim, **kw):
    """v accumulates the weights arriving at its receptor and the injected charge; it never spikes."""
    return sim.create_neuron_model("Integrator", vars={"v": 0.0}, sim_code="v += in_excitatory + dt * i_inj;",
                                   receptors=("excitatory",), units={"v": "mV"}, **kw)


@pytest.mark.parametrize("precision,atol", [("double", 1e-10), ("single", 1e-4)])
def test_user_lif_reproduces_if_curr_exp(sim, precision, atol):
    UserLIF = user_lif(sim)
    sim.setup(timestep=DT, min_delay=DT, precision=precision)
    params = dict(tau_m=[10.0, 15.0, 20.0, 30.0], cm=0.8, tau_refrac=2.0, tau_syn_E=3.0, tau_syn_I=6.0,
                  i_offset=0.1, v_reset=-70.0)
    # the library's own codegen model, wrapped as a user would wrap any NeuronModel
    Wrapped = sim.native_cell_type(neurons.IF_CURR_EXP, defaults=sim.IF_curr_exp.default_parameters,
                                   initial_values={"v": -65.0}, units={"v": "mV"}, name="Wrapped")
    std = sim.Population(4, sim.IF_curr_exp(**params), label="std")
    user = sim.Population(4, UserLIF(**params), label="user")
    wrapped = sim.Population(4, Wrapped(**params), label="wrapped")
    for pop in (std, user, wrapped):
        pop.initialize(v=-60.0)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[5.0, 20.0, 60.0], [12.3, 40.0], [30.0, 31.0, 90.0]]))
    for post in (std, user, wrapped):
        sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=1.0),
                       receptor_type="excitatory")
        sim.Projection(src, post, sim.OneToOneConnector() if post.size == src.size else sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=-1.0, delay=2.3), receptor_type="inhibitory")
        sim.DCSource(amplitude=0.9, start=50.0, stop=150.0).inject_into(post)
        post.record(["v", "isyn_exc", "spikes"])
    sim.run(200.0)
    a, b = std.get_data().segments[0], user.get_data().segments[0]
    v_std, v_user = a.filter(name="v")[0], b.filter(name="v")[0]
    assert str(v_user.units.dimensionality) == "mV"
    np.testing.assert_allclose(v_user.magnitude, v_std.magnitude, rtol=0, atol=atol)
    np.testing.assert_allclose(b.filter(name="isyn_exc")[0].magnitude, a.filter(name="isyn_exc")[0].magnitude,
                               rtol=0, atol=atol * 1e-2)
    np.testing.assert_array_equal(wrapped.get_data().segments[0].filter(name="v")[0].magnitude, v_std.magnitude)
    n_spikes = 0
    for s_std, s_user in zip(a.spiketrains, b.spiketrains):
        np.testing.assert_allclose(np.asarray(s_user), np.asarray(s_std))
        n_spikes += len(s_std)
    assert n_spikes >= 8                   # the comparison covers threshold, reset and refractoriness


def test_record_set_get_initialize(sim):
    Leaky = sim.create_neuron_model(
        "Leaky", params={"tau": 10.0, "v_th": 1.0, "gain": None},
        vars={"v": 0.0, "n": 0.0}, derived_params={"decay": lambda p, dt: np.exp(-dt / p["tau"])},
        sim_code="v = decay * v + gain * in_excitatory + dt * i_inj;",
        threshold_condition_code="v >= v_th", reset_code="v = 0.0; n += 1;",
        receptors=("excitatory", "modulatory"), units={"v": "mV", "tau": "ms"})
    assert Leaky.receptor_types == ("excitatory", "modulatory")
    assert Leaky.recordable == ["spikes", "v", "n"] and Leaky.injectable
    assert Leaky.default_initial_values == {"v": 0.0, "n": 0.0}
    sim.setup(timestep=DT)
    cells = sim.Population(3, Leaky(tau=[5.0, 10.0, 20.0], gain=2.0), label="leaky",
                           initial_values={"v": [0.1, 0.2, 0.3]})
    np.testing.assert_allclose(cells.get("tau"), [5.0, 10.0, 20.0])
    assert cells.get("gain") == 2.0 and cells[1:].get("v_th") == 1.0
    cells.record(["v", "n", "spikes"])
    sim.run(2.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(v[0], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(v[10], np.array([0.1, 0.2, 0.3]) * np.exp(-1.0 / np.array([5.0, 10.0, 20.0])),
                               rtol=1e-5)
    # set and initialize between runs act without a rebuild; a current source drives spikes, counted in n
    cells[0:1].set(v_th=0.05)
    cells.initialize(v=0.5)
    sim.DCSource(amplitude=1.0, start=3.0, stop=8.0).inject_into(cells[2:3])
    sim.run(8.0)
    seg = cells.get_data().segments[0]
    n = seg.filter(name="n")[0].magnitude
    # cell 0: at 0.5 over its new threshold, fires at once, then stays at 0; cell 1: decays; cell 2: 5 ms of 1 nA
    # (dt * i_inj = 0.1 a step) fire it every 10 or 11 steps
    np.testing.assert_array_equal(n[-1], [1, 0, 5])
    assert len(seg.spiketrains[0]) == n[-1, 0] and len(seg.spiketrains[1]) == 0
    assert str(seg.filter(name="v")[0].units.dimensionality) == "mV"
    # a projection onto a user receptor
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[12.0]]))
    with warnings.catch_warnings():      # PyNN's sign rule knows no 'modulatory': not checked, no warning either
        warnings.simplefilter("error")
        sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.01, delay=1.0),
                       receptor_type="modulatory")
    sim.run(5.0)
    # the model ignores its 'modulatory' input: cell 1 has decayed from 0.5 at t = 2 ms, undisturbed
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[-1, 1] == pytest.approx(0.5 * np.exp(-13.0 / 10.0), rel=1e-5)
    with pytest.raises(NonExistentParameterError):
        cells.get("foo")
    with pytest.raises(InvalidParameterValueError, match="NaN"):
        cells.set(tau=float("nan"))


def test_user_weight_update_model_learns_and_is_read_back(sim, step_kernels):
    Decaying = sim.create_weight_update_model(
        "Decaying", params={"factor": None}, vars={"weight": 0.0, "count": 0.0},
        pre_spike_code="add_to_post(weight);\nweight *= factor;\ncount += 1;")
    assert Decaying.default_parameters["delay"] is None
    with pytest.raises(InvalidParameterValueError, match="'factor'"):
        Decaying(weight=1.0)
    sim.setup(timestep=DT, min_delay=DT)
    Integrator = integrator(sim)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[[10.0, 20.0, 30.0, 40.0]]))
    post = sim.Population(2, Integrator())
    conn = sim.FromListConnector([(0, 0, 1.0, 1.0, 0.5), (0, 1, 1.0, 1.0, 0.25)],
                                 column_names=["weight", "delay", "factor"])
    prj = sim.Projection(pre, post, conn, Decaying(factor=0.9, weight=1.0))
    post.record("v")
    sim.run(50.0)
    expected_w = np.array([0.5, 0.25]) ** 4
    weight, count, factor = prj.get(["weight", "count", "factor"], format="array")
    np.testing.assert_allclose(weight[0], expected_w)
    np.testing.assert_allclose(count[0], [4, 4])              # a learned variable other than the weight
    np.testing.assert_allclose(factor[0], [0.5, 0.25])
    rows = prj.get(["count", "weight"], format="list")
    assert [tuple(r) for r in rows] == [(0, 0, 4.0, 0.0625), (0, 1, 4.0, 0.25 ** 4)]
    v = post.get_data().segments[0].filter(name="v")[0].magnitude[-1]
    np.testing.assert_allclose(v, [1 + 0.5 + 0.25 + 0.125, 1 + 0.25 + 0.25 ** 2 + 0.25 ** 3], rtol=1e-6)
    # reset: the synapses start again from their initial values; a new factor, set in place, is used
    sim.reset()
    np.testing.assert_allclose(prj.get("count", format="array")[0], [0, 0])
    prj.set(factor=0.5)
    sim.run(50.0)
    np.testing.assert_allclose(prj.get("weight", format="array")[0], [0.0625, 0.0625])


def test_user_current_source(sim, step_kernels):
    Ramp = sim.create_current_source_model("Ramp", params={"slope": 0.1, "onset": 2.0},
                                           injection_code="t >= onset ? slope * (t - onset) : 0.0")
    Const = sim.create_current_source_model("Const", params=["magnitude"], injection_code="injectCurrent(magnitude);")
    with pytest.raises(InvalidParameterValueError, match="'magnitude'"):
        Const()
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(2, integrator(sim)())
    ramp = Ramp(slope=0.2)
    ramp.inject_into(cells[0:1])
    Const(magnitude=0.5).inject_into(cells[1:2])
    assert ramp.slope == 0.2 and ramp.onset == 2.0
    ramp.record()                      # on the device, as pyNN.nest records a current source
    cells.record("v")
    sim.run(5.0)
    ramp.slope = -0.1                  # re-uploaded, no rebuild
    simulation = sim.simulator.state.simulation
    sim.run(5.0)
    assert sim.simulator.state.simulation is simulation
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    t = np.arange(100) * DT
    current = np.where(t >= 2.0, np.where(t < 5.0 - 1e-9, 0.2, -0.1) * (t - 2.0), 0.0)
    np.testing.assert_allclose(v[1:, 0], np.cumsum(DT * current), atol=1e-9)
    np.testing.assert_allclose(v[1:, 1], DT * 0.5 * np.arange(1, 101), atol=1e-9)
    signal = ramp.get_data()           # sample t: the current applied on [t, t + dt)
    assert signal.units == pq.nA and float(signal.sampling_period.rescale(pq.ms)) == pytest.approx(DT)
    np.testing.assert_allclose(signal.magnitude.ravel(), current, atol=1e-12)
    sim.reset()
    sim.run(1.0)
    np.testing.assert_allclose(ramp.get_data().magnitude.ravel(), np.zeros(10), atol=1e-12)


def _exp_curr(sim):
    """An exponentially decaying current as a postsynaptic model (tau 5 ms unless given)."""
    return sim.create_postsynaptic_model(
        "ExpCurr", params={"tau": 5.0}, vars=["x"], derived_params={"decay": lambda p, dt: np.exp(-dt / p["tau"])},
        apply_input_code="x += inp;", decay_code="x *= decay;", current_code="x")


def _two_inputs(sim, cell_type):
    """A cell of ``cell_type`` receiving a spike at 2 ms on 'excitatory' (weight 3) and on 'nmda' (weight 2)."""
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(1, cell_type())
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0]]))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0), receptor_type="nmda")
    return cells


def test_postsynaptic_model_shapes_the_current(sim, step_kernels):
    ExpCurr = _exp_curr(sim)
    Reader = sim.create_neuron_model("Reader", vars={"i": 0.0}, sim_code="i = isyn;", receptors=("excitatory",),
                                     postsynaptic_models={"excitatory": (ExpCurr, {"tau": 2.0})})
    assert Reader.default_parameters == {"tau_excitatory": 2.0}
    assert Reader.recordable == ["spikes", "i", "x_excitatory"]
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(2, Reader(tau_excitatory=[2.0, 4.0]))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0]]))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    cells.record(["i", "x_excitatory"])
    sim.run(10.0)
    i = cells.get_data().segments[0].filter(name="i")[0].magnitude
    k0 = int(np.argmax(i[:, 0] > 0))
    assert k0 > 0 and np.all(i[:k0] == 0)
    m = np.arange(len(i) - k0)
    for cell, tau in enumerate((2.0, 4.0)):
        np.testing.assert_allclose(i[k0:, cell], 3.0 * np.exp(-DT * m / tau), rtol=1e-12)


def test_additional_input_variables(sim, step_kernels):
    """GeNN's additional input variables: a postsynaptic model given a target adds its current there, not to isyn
    (nor to GeNN's Isyn); the variable starts each step from its initial value."""
    ExpCurr = _exp_curr(sim)
    TwoInputs = sim.create_neuron_model(
        "TwoInputs", vars={"fast": 0.0, "slow": 0.0, "genn": 0.0}, sim_code="fast = isyn; slow = Isyn2; genn = Isyn;",
        receptors=("excitatory", "nmda"), additional_input_vars=[("Isyn2", "scalar", 0.25)],
        postsynaptic_models={"excitatory": (ExpCurr, {"tau": 2.0}), "nmda": (ExpCurr, {"tau": 8.0}, "Isyn2")})
    cells = _two_inputs(sim, TwoInputs)
    cells.record(["fast", "slow", "genn"])
    sim.run(10.0)
    block = cells.get_data().segments[0]
    fast, slow, genn = (block.filter(name=n)[0].magnitude[:, 0] for n in ("fast", "slow", "genn"))
    k0 = int(np.argmax(fast > 0))
    m = np.arange(len(fast) - k0)
    assert k0 > 0 and np.all(fast[:k0] == 0) and np.all(slow[1:k0] == 0.25)
    np.testing.assert_allclose(fast[k0:], 3.0 * np.exp(-DT * m / 2.0), rtol=1e-12)
    np.testing.assert_allclose(slow[k0:], 0.25 + 2.0 * np.exp(-DT * m / 8.0), rtol=1e-12)
    np.testing.assert_array_equal(genn, fast)
    with pytest.raises(ModelError, match="targets 'Isyn3', which is not an additional input variable"):
        sim.create_neuron_model("Bad", sim_code="", receptors=("nmda",), additional_input_vars={"Isyn2": 0.0},
                                postsynaptic_models={"nmda": (ExpCurr, {}, "Isyn3")})
    with pytest.raises(ModelError, match="additional_input_vars take the current of postsynaptic models"):
        sim.create_neuron_model("Bad", sim_code="", additional_input_vars={"Isyn2": 0.0})
    for name, value, message in (("dt", 0.0, "'dt' has the name of a parameter, variable, built-in name"),
                                 ("int", 0.0, "'int' has the name"), ("x_nmda", 0.0, "'x_nmda' has the name"),
                                 ("Isyn2", float("nan"), "'Isyn2' needs a finite initial value")):
        with pytest.raises(ModelError, match=message):
            sim.create_neuron_model("Bad", sim_code="", receptors=("nmda",), additional_input_vars={name: value},
                                    postsynaptic_models={"nmda": (ExpCurr, {}, name)})


def test_input_is_summed_before_the_integration(sim):
    """isyn and the additional input variables exist before the ODE is integrated: the right-hand side reads them
    (constant over the step), and so does the threshold under auto_refractory_required (GeNN's oldSpike)."""
    ExpCurr = _exp_curr(sim)
    Reader = sim.create_neuron_model(
        "OdeReader", vars={"v": 0.0, "drive": 0.0}, ode={"v": "(-v + isyn + Isyn2) / 10.0"}, integrator="rk4",
        sim_code="drive = isyn + Isyn2;", threshold_condition_code="v > 0.5 && Isyn2 > 1.0",
        auto_refractory_required=True,
        receptors=("excitatory", "nmda"), additional_input_vars={"Isyn2": 0.0},
        postsynaptic_models={"excitatory": (ExpCurr, {"tau": 2.0}), "nmda": (ExpCurr, {"tau": 8.0}, "Isyn2")})
    cells = _two_inputs(sim, Reader)
    cells.record(["v", "drive", "spikes"])
    sim.run(20.0)
    block = cells.get_data().segments[0]
    v, drive = (block.filter(name=n)[0].magnitude[:, 0] for n in ("v", "drive"))
    assert drive.max() == pytest.approx(5.0)
    expected = np.zeros_like(v)        # each step the exact solution for its constant input
    for k in range(len(v) - 1):
        expected[k + 1] = drive[k + 1] + (expected[k] - drive[k + 1]) * np.exp(-DT / 10.0)
    np.testing.assert_allclose(v, expected, atol=1e-9)
    # the condition holds from v's crossing of 0.5 until Isyn2 falls below 1: one spike, at the crossing
    crossing = np.flatnonzero(v > 0.5)[0]
    assert list(block.spiketrains[0].magnitude) == pytest.approx([crossing * DT])


# ---- errors: before compilation, naming model, snippet and line ----------------------------------------

def test_unknown_name_in_neuron_snippet(sim):
    with pytest.raises(ModelError) as err:
        sim.create_neuron_model("Typo", params={"v_thresh": -50.0}, vars=["v"],
                                sim_code="v += 1.0;\nv = v;", threshold_condition_code="v >= v_thresh &&\n v > v_tresh")
    assert "[neuron model 'Typo' threshold_condition_code, line 2] unknown name 'v_tresh'" in str(err.value)
    assert "did you mean 'v_thresh'?" in str(err.value)
    with pytest.raises(ModelError, match=r"\[neuron model 'Typo2' sim_code, line 3\] unknown function 'expo'"):
        sim.create_neuron_model("Typo2", vars=["v"], sim_code="\nv += 1.0;\nv = expo(v);")


def test_unknown_name_in_synapse_and_source_snippets(sim):
    with pytest.raises(ModelError, match=r"\[weight-update model 'Rule' pre_spike_code, line 2\] unknown name 'eta'"):
        sim.create_weight_update_model("Rule", vars=["weight"], pre_spike_code="add_to_post(weight);\nweight += eta;")
    with pytest.raises(ModelError, match=r"\[weight-update model 'Rule2' post_spike_code, line 1\] unknown name 'g'"):
        sim.create_weight_update_model("Rule2", vars=["weight"], post_spike_code="g += 1.0;")
    with pytest.raises(ModelError, match=r"current source 'Src' \(Src\) injection_code, line 1\] unknown name 'amp'"):
        sim.create_current_source_model("Src", params={"amplitude": 1.0}, injection_code="amp")
    ExpCurr = sim.create_postsynaptic_model("ExpCurr", vars=["x"], decay_code="x *= decy;", current_code="x")
    with pytest.raises(ModelError, match=r"postsynaptic model 'ExpCurr' of neuron model 'N' \(receptor "
                                         r"'excitatory'\) decay_code, line 1\] unknown name 'decy'"):
        sim.create_neuron_model("N", vars=["v"], postsynaptic_models={"excitatory": ExpCurr})


def test_declaration_errors(sim):
    with pytest.raises(ModelError, match="model 'T': variable 'n' has type 'float32'"):
        sim.create_neuron_model("T", vars=[("n", "float32")])
    with pytest.raises(ModelError, match="model 'T': the default of parameter 'a' must be a number"):
        sim.create_neuron_model("T", params={"a": "one"})
    with pytest.raises(ModelError, match="parameter 'k' has type 'int'"):
        sim.create_neuron_model("T", params=[("k", "int")])
    with pytest.raises(ModelError, match="'t' is a built-in name"):
        sim.create_neuron_model("T", vars=["t"])
    with pytest.raises(ModelError, match=r"\[neuron model 'T' derived parameter 'decay'\] reads 'tau'"):
        sim.create_neuron_model("T", params={"tau_m": 10.0}, derived_params={"decay": lambda p, dt: p["tau"]})
    with pytest.raises(ModelError, match="local 'v' shadows a model name"):
        sim.create_neuron_model("T", vars=["v"], sim_code="scalar v = 1.0;")
    with pytest.raises(ModelError, match="value.*for \\['vv'\\], which the model does not declare"):
        sim.native_cell_type(user_lif(sim).codegen_model, defaults={}, initial_values={"vv": 1.0})
    with pytest.raises(TypeError, match="unexpected keyword.*'treshold_code'"):
        sim.create_neuron_model("T", treshold_code="false")


def test_constructor_errors(sim):
    UserLIF = user_lif(sim)
    with pytest.raises(NonExistentParameterError, match="tau_mem"):
        UserLIF(tau_mem=10.0)
    with pytest.raises(InvalidParameterValueError, match="tau_m"):
        UserLIF(tau_m="ten")
    Needs = sim.create_neuron_model("Needs", params=["tau", ("g", 1.0)], vars=["v"], sim_code="v = tau * g;")
    with pytest.raises(InvalidParameterValueError, match="'tau' have no default value.*Needs\\(tau=...\\)"):
        Needs(g=2.0)
    assert Needs(tau=3.0).parameter_space["tau"].base_value == 3.0
    Rule = sim.create_weight_update_model("Rule", params={"eta": 1e-3}, vars=["weight"])
    with pytest.raises(NonExistentParameterError, match="etta \\(valid parameters for Rule are: delay, eta, weight"):
        Rule(etta=2e-3)


def test_models_of_one_name_and_locals_named_like_kernel_variables(sim):
    """Two different models may share a name, and snippet locals may use any name (``s``, ``gid``): the
    generator keys models by content and renames snippet locals, so nothing collides."""
    Up = sim.create_neuron_model("Same", vars=["v"], receptors=["excitatory"],
                                 sim_code="const scalar gid = 1.0; v += gid * dt + in_excitatory;")
    Down = sim.create_neuron_model("Same", vars=["v"], receptors=["excitatory"],
                                   sim_code="const scalar s = 2.0; v -= s * dt + in_excitatory;")
    W = sim.create_weight_update_model("W", vars=["weight"],
                                       pre_spike_code="const int s = 3;\nadd_to_post(s * weight);")
    sim.setup(timestep=DT, min_delay=DT)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    up, down = sim.Population(1, Up(), initial_values={"v": 0.0}), sim.Population(1, Down(), initial_values={"v": 0.0})
    for pop in (up, down):
        sim.Projection(src, pop, sim.AllToAllConnector(), W(weight=0.5, delay=DT), receptor_type="excitatory")
        pop.record("v")
    sim.run(10.0)
    v_up = up.get_data().segments[0].filter(name="v")[0].magnitude[-1, 0]
    v_down = down.get_data().segments[0].filter(name="v")[0].magnitude[-1, 0]
    assert v_up == pytest.approx(10.0 * 1.0 + 1.5, abs=1e-3)      # 100 steps of +1 * dt, one input of 3 * 0.5
    assert v_down == pytest.approx(-(10.0 * 2.0 + 1.5), abs=1e-3)


def test_the_standard_library_passes_the_user_model_checks():
    """The built-in models are written in the user's language: each passes the checks a user model gets."""
    from pynn_gpu import native
    from pynn_gpu.codegen.library import current_sources, synapses
    from pynn_gpu.codegen.models import CurrentSourceModel, NeuronModel, WeightUpdateModel
    checked = 0
    for module, kind, validate in ((neurons, NeuronModel, native.validate_neuron_model),
                                   (synapses, WeightUpdateModel, native.validate_weight_update_model),
                                   (current_sources, CurrentSourceModel, native.validate_current_source_model)):
        for model in vars(module).values():
            if isinstance(model, kind):
                validate(model)
                checked += 1
    native.validate_neuron_model(neurons.gif_cond_exp(2, 1))
    assert checked >= 20


def test_genn_legacy_syntax_warns_and_works(sim):
    with pytest.warns(FutureWarning, match="model 'Old'.*\\$\\(name\\)"):
        Old = sim.create_weight_update_model("Old", vars={"g": 1.0}, pre_spike_syn_code="$(addToInSyn, $(g));")
    assert Old.codegen_model.pre_spike_code == "add_to_post(g);"
    with pytest.warns(FutureWarning, match="model 'Old2': 'sim_code' is deprecated; use 'pre_spike_code'"):
        Old2 = sim.create_weight_update_model("Old2", vars={"weight": 1.0}, sim_code="add_to_post(weight);")
    assert Old2.codegen_model.pre_spike_code == "add_to_post(weight);"


def test_snippets_that_would_break_the_kernel_are_refused(sim):
    """Refused when the model is defined, naming model, snippet and line: 'return' (it would leave the generated
    kernel before the state is stored), an assignment to anything but the model's state variables (parameters,
    built-ins, other cells' variables, spike times), an assignment in an expression snippet."""
    cases = [
        (lambda: sim.create_neuron_model("R", vars={"v": 0.0}, sim_code="if (v > 1.0)\n    return;"),
         r"\[neuron model 'R' sim_code, line 2\] 'return' is not allowed"),
        (lambda: sim.create_neuron_model("P", params={"tau": 5.0}, vars={"v": 0.0}, sim_code="v += 1.0;\ntau = 2.0;"),
         r"\[neuron model 'P' sim_code, line 2\] 'tau' cannot be assigned"),
        (lambda: sim.create_neuron_model("D", vars={"v": 0.0}, sim_code="dt *= 2.0;"), "'dt' cannot be assigned"),
        (lambda: sim.create_neuron_model("T", vars={"v": 0.0}, threshold_condition_code="v = 1.0"),
         r"threshold_condition_code, line 1\] must be one expression: '=' is not allowed"),
        (lambda: sim.create_weight_update_model("W", vars={"weight": 0.0},
                                                pre_spike_code="add_to_post(weight); v_post = 0.0;"),
         r"pre_spike_code, line 1\] 'v_post' cannot be assigned"),
        (lambda: sim.create_weight_update_model("S", vars={"weight": 0.0}, pre_spike_code="t_spike += 1.0;"),
         "'t_spike' cannot be assigned"),
        (lambda: sim.create_current_source_model("C", params={"a": 1.0}, injection_code="a = 2.0"),
         "injection_code, line 1\\] 'a' cannot be assigned"),
        # the library's internal helpers are not user functions: its normal(stream, key, mu, sigma) is not there
        (lambda: sim.create_current_source_model("N", params={"a": 1.0}, injection_code="a * normal(1, 2, 0.0, 1.0)"),
         r"injection_code, line 1\] normal\(\) takes no arguments"),
        (lambda: sim.create_current_source_model("M", injection_code="mulhi(1, 2)"), "unknown function 'mulhi'"),
        # brackets that do not pair would break the generated kernel around the snippet
        (lambda: sim.create_neuron_model("B", vars={"v": 0.0}, sim_code="if (v > 1.0) {\n    v = 0.0;\n"),
         r"sim_code, line 1\] '\{' is never closed \(missing '\}'\)"),
        (lambda: sim.create_neuron_model("E", vars={"v": 0.0}, sim_code="v = 0.0;\n}"),
         r"sim_code, line 2\] '\}' closes no open '\{'"),
        # a weight-update model's parameters are constants, as a neuron's are
        (lambda: sim.create_weight_update_model("K", params={"eta": 1.0}, vars=["weight"],
                                                pre_spike_code="add_to_post(weight);\neta *= 0.5;"),
         r"\[weight-update model 'K' pre_spike_code, line 2\] 'eta' cannot be assigned: it is a parameter"),
        # names CUDA's compiler cannot take, and a model name that would end the comment it labels
        (lambda: sim.create_neuron_model("U", vars=["v\u00e9"]), "is no name a snippet can use"),
        (lambda: sim.create_neuron_model("U", vars=["v"], sim_code="const scalar v\u00e9 = 1.0;"),
         "unexpected character"),
        (lambda: sim.create_neuron_model("A*/B", vars=["v"]), "printable ASCII without"),
        # GeNN's names, with what to write here
        (lambda: sim.create_weight_update_model("I", vars=["g"], pre_spike_code="g += Isyn;"),
         "GeNN's Isyn is 'isyn \\+ i_inj'"),
        (lambda: sim.create_weight_update_model("Q", vars=["weight"], post_spike_code="add_to_post(weight);"),
         r"add_to_post\(\) transmits from pre_spike_code and synapse_dynamics_code only"),
    ]
    for make, message in cases:
        with pytest.raises(ModelError, match=message):
            make()
    with pytest.raises(TypeError, match=r"unexpected keyword\(s\) \['threshold_code'\]; allowed: params, vars"):
        sim.create_postsynaptic_model("P", threshold_code="x")


def test_math_functions_on_literals_and_postsynaptic_builtins(sim):
    """exp(1), pow(2, 3), sqrt(2) and abs(x) take floating-point arguments whatever the literal (as a C compiler
    would convert them; OpenCL and CUDA would otherwise find several overloads); a postsynaptic model's snippets
    can use the neuron's built-ins dt and t; GeNN 4's $(DT) is dt."""
    M = sim.create_neuron_model("Lit", vars={"a": 0.0, "b": 0.0, "c": 0.0, "d": -2.5}, receptors=(),
                                sim_code="a = exp(1); b = pow(2, 3) + sqrt(2); c = abs(d) + min(1, 2);")
    Decay = sim.create_postsynaptic_model("Decay", params={"tau": 5.0}, vars={"x": 0.0}, apply_input_code="x += inp;",
                                          decay_code="x *= exp(-dt / tau);", current_code="x")
    with pytest.warns(FutureWarning):
        Old = sim.create_neuron_model("OldLeak", vars={"V": 1.0}, receptors=(), sim_code="$(V) *= exp(-$(DT) / 10.0);")
    N = sim.create_neuron_model("WithPSM", vars={"v": 0.0}, sim_code="v = isyn;",
                                postsynaptic_models={"excitatory": Decay})
    sim.setup(timestep=0.1, precision="double")
    lit, old, n = sim.Population(1, M()), sim.Population(1, Old()), sim.Population(1, N())
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    sim.Projection(src, n, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.1))
    for p, var in ((lit, ["a", "b", "c"]), (old, "V"), (n, "v")):
        p.record(var)
    sim.run(11.1)
    a, b, c = (lit.get_data().segments[0].filter(name=x)[0].magnitude[-1, 0] for x in "abc")
    assert (a, b, c) == pytest.approx((np.e, 8.0 + np.sqrt(2.0), 3.5), rel=1e-12)
    assert old.get_data().segments[0].filter(name="V")[0].magnitude[-1, 0] == pytest.approx(np.exp(-11.1 / 10.0))
    v = n.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert v[12] == pytest.approx(1.0) and v[111] == pytest.approx(np.exp(-9.9 / 5.0), rel=1e-9)   # from 1.2 ms


def test_device_compile_errors_name_the_snippet_line(sim):
    """What only the device compiler finds (here % of floating-point values) is reported at the user's snippet and
    line, for a neuron model and for a current source injected into a standard cell."""
    from pynn_gpu.kernels.errors import KernelCompileError
    from pynn_gpu.kernels.runtime.diagnostics import errors
    Bad = sim.create_neuron_model("BadMod", vars={"v": 0.0}, receptors=(), sim_code="v += 1.0;\n\nv = v % 2.0;")
    Src = sim.create_current_source_model("BadSrc", params={"a": 1.0}, injection_code="1.0 +\n a % 2.0")
    sim.setup(timestep=0.1)
    sim.Population(1, Bad())
    with pytest.raises(KernelCompileError, match=r"\[neuron model 'BadMod' sim_code, line 3\]"):
        sim.run(1.0)
    sim.setup(timestep=0.1)
    Src().inject_into(sim.Population(1, sim.IF_curr_exp()))
    with pytest.raises(KernelCompileError, match=r"\[current source 'BadSrc#0' \(BadSrc\) injection_code, line 2\]"):
        sim.run(1.0)
    # a neuron with a postsynaptic model: its code is fused into the neuron's, each part still named
    Psm = sim.create_postsynaptic_model("BadPsm", vars=["x"], apply_input_code="x += inp;",
                                        decay_code="x *= 0.9;\nx = x % 2.0;", current_code="x")
    Fused = sim.create_neuron_model("Fused", vars={"v": 0.0}, sim_code="v += isyn;\nv = v % 3.0;",
                                    receptors=("excitatory",), postsynaptic_models={"excitatory": Psm})
    with pytest.raises(ModelError, match=r"\[neuron model 'F2' sim_code, line 2\] unknown name 'vv'"):
        sim.create_neuron_model("F2", vars={"v": 0.0}, sim_code="v += isyn;\nv += vv;", receptors=("excitatory",),
                                postsynaptic_models={"excitatory": Psm})
    sim.setup(timestep=0.1)
    sim.Population(1, Fused())
    with pytest.raises(KernelCompileError) as info:
        sim.run(1.0)
    assert "[neuron model 'Fused' sim_code, line 2]" in str(info.value)
    assert "[postsynaptic model 'BadPsm' of neuron model 'Fused' (receptor 'excitatory') decay_code, line 2]" in \
        str(info.value)
    # clang's report of an error inside a macro expansion
    log = "x.cl:3:27 <Spelling=/usr/include/b.h:45:24>: error: call to 'f' is ambiguous"
    assert errors(log, "a\nb\nc\n") == [(3, "", "call to 'f' is ambiguous", "c")]


def test_set_after_a_delay_change_is_kept(sim):
    """A value set while a rebuild is pending (a delay changed) is the one the rebuilt network uses."""
    sim.setup(timestep=0.1)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0, 30.0]]))
    post = sim.Population(1, sim.IF_curr_delta())
    post.record("v")
    Count = sim.create_weight_update_model("Count", vars={"weight": 0.0, "n": 0.0},
                                           pre_spike_code="add_to_post(weight); n += 1.0;")
    prj = sim.Projection(src, post, sim.AllToAllConnector(), Count(weight=1.0, delay=1.0))
    sim.run(10.0)
    prj.set(delay=3.0)
    prj.set(weight=5.0, n=10.0)
    sim.run(30.0)
    assert prj.get("n", format="list", with_address=False) == [11.0]
    v = post.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert np.diff(v)[300:].max() == pytest.approx(5.0, rel=1e-3)       # the PSP at 33 ms (less a step's leak)


def test_derived_parameters_of_synapses(sim, step_kernels):
    """A derived parameter per synapse (GeNN's number-style function), recomputed when Projection.set changes
    the parameter it reads."""
    import math
    Facilitating = sim.create_weight_update_model(
        "Facilitating", params={"tau": 10.0}, vars={"weight": 0.0, "x": 0.0},
        derived_params={"factor": lambda p, dt: math.exp(-1.0 / p["tau"])},
        pre_spike_code="x = x * factor + 1.0;\nadd_to_post(weight);")
    sim.setup(timestep=DT)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0, 3.0, 11.0, 12.0]))
    cells = sim.Population(3, integrator(sim)())
    prj = sim.Projection(src, cells, sim.AllToAllConnector(), Facilitating(tau=np.array([[2.0, 4.0, 8.0]]), weight=0.5))
    sim.run(5.0)
    f = np.exp(-1.0 / np.array([2.0, 4.0, 8.0]))
    x = 1 + f + f ** 2
    np.testing.assert_allclose(prj.get("x", format="array")[0], x, rtol=1e-6)
    prj.set(tau=np.array([[1.0, 1.0, 20.0]]))
    sim.run(10.0)
    g = np.exp(-1.0 / np.array([1.0, 1.0, 20.0]))
    np.testing.assert_allclose(prj.get("x", format="array")[0], (x * g + 1) * g + 1, rtol=1e-6)
    with pytest.raises(NonExistentParameterError):
        prj.get("factor", format="array")
    with pytest.raises(ModelError, match=r"pre_spike_code, line 1\] 'factor' cannot be assigned: it is a derived"):
        sim.create_weight_update_model("Bad", params={"tau": 1.0}, derived_params={"factor": lambda p, dt: p["tau"]},
                                       pre_spike_code="factor = 2.0;")
    with pytest.raises(ModelError, match="derived parameter 'factor'\\] reads 'tau_x'"):
        sim.create_weight_update_model("Bad", params={"tau": 1.0}, derived_params={"factor": lambda p, dt: p["tau_x"]},
                                       pre_spike_code="")


def _input_source(sim):
    """GeNN's per-cell input of the mushroom body: a state variable per target, injected as it is."""
    return sim.create_current_source_model("Input", vars={"magnitude": 0.0}, injection_code="injectCurrent(magnitude);")


def test_current_source_state_per_target(sim, step_kernels):
    Input = _input_source(sim)
    sim.setup(timestep=DT, precision="double")
    a = sim.Population(4, integrator(sim)(), label="a")
    b = sim.Population(3, integrator(sim)(), label="b")
    source = Input(magnitude=0.25)
    source.inject_into(b[[2, 0]])        # the targets: b's cells in order, then a's
    source.inject_into(a)
    np.testing.assert_array_equal(source.get_state("magnitude"), np.full(6, 0.25))
    first = np.array([0.5, 0.1, 1.0, 2.0, 3.0, 4.0])    # b0, b2, a0 ... a3
    source.initialize(magnitude=first)
    for pop in (a, b):
        pop.record("v")
    sim.run(10.0)
    simulation = sim.simulator.state.simulation
    np.testing.assert_allclose(source.get_state("magnitude"), first)
    second = np.array([-1.0, 0.0, 0.5, 0.25, 0.125, 0.0625])
    source.initialize(magnitude=second)        # between runs: uploaded, no rebuild
    np.testing.assert_allclose(source.get_state("magnitude"), second)
    sim.run(10.0)
    assert sim.simulator.state.simulation is simulation
    va = a.get_data().segments[0].filter(name="v")[0].magnitude
    vb = b.get_data().segments[0].filter(name="v")[0].magnitude
    # v(t) = dt * (sum of the currents of the steps before t): 100 steps of the first values, then the second
    np.testing.assert_allclose(va[100], 10.0 * first[2:], atol=1e-9)
    np.testing.assert_allclose(va[199], 10.0 * first[2:] + 9.9 * second[2:], atol=1e-9)
    np.testing.assert_allclose(vb[199, [0, 2]], 10.0 * first[:2] + 9.9 * second[:2], atol=1e-9)
    np.testing.assert_allclose(vb[199, 1], 0.0)           # b1 is no target
    sim.reset()                                             # back to the values last initialized
    sim.run(1.0)
    np.testing.assert_allclose(a.get_data().segments[1].filter(name="v")[0].magnitude[10], 1.0 * second[2:],
                               atol=1e-9)
    late = Input()                  # the order of injection, not of populations: a[0:2], then b, then a[2:4]
    for cells in (a[0:2], b, a[2:4]):
        late.inject_into(cells)
    late.initialize(magnitude=[1.0, 2.0, 10.0, 20.0, 30.0, 3.0, 4.0])
    sim.run(1.0)
    np.testing.assert_allclose(late.get_state("magnitude"), [1.0, 2.0, 10.0, 20.0, 30.0, 3.0, 4.0])
    va = a.get_data().segments[1].filter(name="v")[0].magnitude
    vb = b.get_data().segments[1].filter(name="v")[0].magnitude
    np.testing.assert_allclose(va[-1] - va[10], 1.0 * second[2:] + 1.0 * np.array([1.0, 2.0, 3.0, 4.0]), atol=1e-9)
    np.testing.assert_allclose(vb[-1] - vb[10], 1.0 * np.r_[second[0], 0.0, second[1]] + [10.0, 20.0, 30.0],
                               atol=1e-9)


def test_current_source_state_evolves(sim, step_kernels):
    """Injection code that updates its state: each injection keeps its own, a cell injected into twice two."""
    Leaky = sim.create_current_source_model(
        "Leaky", params={"decay": 0.5, "amp": 1.0}, vars=[("x", "scalar"), ("n", "int")],
        injection_code="x = x * decay + amp;\nn += 1;\ninjectCurrent(x);")
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(3, integrator(sim)())
    source = Leaky(amp=2.0)
    source.inject_into(cells[0:2])
    source.inject_into(cells[1:3])
    source.initialize(x=[0.0, 0.0, 4.0, 0.0])     # cells 0, 1, 1, 2: the second injection into cell 1 from x = 4
    source.record()
    cells.record("v")
    sim.run(2.0)
    k = np.arange(1, 21)
    x0 = 2.0 * (1 - 0.5 ** k) / 0.5                   # x after k steps from 0
    x4 = 4.0 * 0.5 ** k + x0                          # from 4
    np.testing.assert_allclose(source.get_state("x"), [x0[-1], x0[-1], x4[-1], x0[-1]], rtol=1e-12)
    np.testing.assert_array_equal(source.get_state("n"), [20, 20, 20, 20])
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(v[20], DT * np.array([x0.sum(), x0.sum() + x4.sum(), x0.sum()]), rtol=1e-12)
    sim.Population(1, integrator(sim)())         # a structural change: the rebuild goes on from the state
    sim.run(1.0)
    np.testing.assert_array_equal(source.get_state("n"), [30, 30, 30, 30])
    np.testing.assert_allclose(source.get_state("x")[2], 4.0 * 0.5 ** 30 + 4.0 * (1 - 0.5 ** 30), rtol=1e-12)
    recorded = source.get_data().magnitude.ravel()      # averaged over the four injections, across the rebuild
    assert len(recorded) == 30
    np.testing.assert_allclose(recorded[:20], (3 * x0 + x4) / 4, rtol=1e-12)


def test_current_source_state_noise(sim):
    """An Ornstein-Uhlenbeck current drawn in the injection code: the stationary variance of its discrete
    process, sigma^2 / (1 - dt / (2 tau)), across 2,000 targets within 5 standard errors."""
    OU = sim.create_current_source_model(
        "OU", params={"tau": 2.0, "sigma": 0.3}, vars={"x": 0.0},
        injection_code="x += -x * dt / tau + sigma * sqrt(2.0 * dt / tau) * normal();\ninjectCurrent(x);")
    sim.setup(timestep=DT, rng_seed=5)
    cells = sim.Population(2000, integrator(sim)())
    source = OU()
    source.inject_into(cells)
    sim.run(40.0)                                     # 20 time constants: stationary
    x = source.get_state("x")
    expected = 0.3 ** 2 / (1 - DT / (2 * 2.0))
    assert abs(x.var() - expected) < 5 * expected * np.sqrt(2 / len(x))
    assert abs(x.mean()) < 5 * np.sqrt(expected / len(x))


def test_current_source_reads_target_state(sim, step_kernels):
    """GeNN's neuron variable references: a clamp current k (target - v) relaxes v geometrically; a second name
    for the same variable; a population without the variable is refused."""
    Clamp = sim.create_current_source_model("Clamp", params={"k": 2.0, "target": 1.0}, neuron_var_refs={"V": "v"},
                                            injection_code="k * (target - V)")
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(2, integrator(sim)())
    Clamp(k=2.0, target=1.0).inject_into(cells[0:1])
    Clamp(k=5.0, target=-2.0).inject_into(cells[1:2])
    cells.record("v")
    sim.run(3.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    n = np.arange(31)
    np.testing.assert_allclose(v[:, 0], 1.0 * (1 - (1 - 2.0 * DT) ** n), atol=1e-12)
    np.testing.assert_allclose(v[:, 1], -2.0 * (1 - (1 - 5.0 * DT) ** n), atol=1e-12)
    others = sim.Population(1, sim.SpikeSourcePoisson(rate=1.0))
    with pytest.raises(TypeError, match="spike sources are not injectable"):
        Clamp().inject_into(others)
    lif = sim.Population(1, user_lif(sim)())
    Needs = sim.create_current_source_model("Needs", neuron_var_refs=["w"], injection_code="w")
    with pytest.raises(TypeError, match=r"reads the target's variable\(s\) \['w'\].*UserLIF.*they have: v, "):
        Needs().inject_into(lif)
    GeNNStyle = sim.create_current_source_model("GeNNStyle", neuron_var_refs=[("v", "scalar")], injection_code="v")
    assert GeNNStyle.codegen_model.neuron_var_refs == (("v", "v"),)
    with pytest.raises(ModelError, match="'k' is declared twice"):
        sim.create_current_source_model("Twice", params={"k": 1.0}, neuron_var_refs=["k"], injection_code="k")


def test_current_source_state_errors(sim):
    Input = _input_source(sim)
    Counter = sim.create_current_source_model("Counter", vars=[("n", "int")],
                                              injection_code="n += 1; injectCurrent(0.0);")
    sim.setup(timestep=DT)
    cells = sim.Population(3, integrator(sim)())
    source = Input()
    source.inject_into(cells)
    with pytest.raises(NonExistentParameterError, match="magnitud"):
        source.initialize(magnitud=1.0)
    with pytest.raises(InvalidParameterValueError, match="2 values for state variable 'magnitude'.*3 targets"):
        source.initialize(magnitude=[1.0, 2.0])
    with pytest.raises(InvalidParameterValueError, match="'magnitude' takes finite numbers"):
        source.initialize(magnitude=[1.0, np.nan, 2.0])
    with pytest.raises(InvalidParameterValueError, match="'n' takes whole numbers"):
        Counter(n=0.5)
    with pytest.raises(NonExistentParameterError):
        source.get_state("x")
    late = Input(magnitude=[1.0, 2.0, 3.0])
    late.inject_into(cells[0:2])                   # three values, two targets: refused when the network is built
    with pytest.raises(InvalidParameterValueError, match="3 values were given for state variable 'magnitude'"):
        sim.run(1.0)
    with pytest.raises(ModelError, match=r"\[current source 'Bad' \(Bad\) injection_code, line 2\] 'amp' "
                                         "cannot be assigned"):
        sim.create_current_source_model("Bad", params={"amp": 1.0}, vars={"x": 0.0},
                                        injection_code="x = amp;\namp = 2.0;\ninjectCurrent(x);")
    with pytest.raises(ModelError, match=r"line 1\] unknown name 'magnitde'; did you mean 'magnitude'"):
        sim.create_current_source_model("Typo", vars={"magnitude": 0.0}, injection_code="injectCurrent(magnitde);")


def _replay(sim):
    """GeNN's SpikeSourceArray written by a user: each cell's spike steps in an extra global array."""
    return sim.create_neuron_model(
        "Replay", vars=[("k", "int")], extra_global_params=[("spike_step", "int*")], receptors=(),
        threshold_condition_code="k < spike_step_len && step == spike_step[k]", reset_code="k += 1;")


def test_extra_global_arrays_of_cells(sim, step_kernels):
    Replay = _replay(sim)
    from pyNN.parameters import Sequence
    sim.setup(timestep=DT)
    cells = sim.Population(3, Replay(spike_step=[Sequence([2, 5]), Sequence([]), Sequence([0, 1, 9])]))
    cells.record("spikes")
    sim.run(1.0)
    trains = cells.get_data().segments[0].spiketrains
    # a spike in step s is stamped at its end, (s + 1) dt
    for train, steps in zip(trains, ([2, 5], [], [0, 1, 9])):
        np.testing.assert_allclose(train.magnitude, (np.array(steps) + 1) * DT)
    assert [list(seq.value) for seq in cells.get("spike_step")] == [[2, 5], [], [0, 1, 9]]
    cells.set(spike_step=Sequence([12, 15]))         # between runs, for every cell; k as it was
    sim.reset()
    sim.run(2.0)
    trains = cells.get_data().segments[-1].spiketrains
    for train in trains:
        np.testing.assert_allclose(train.magnitude, [1.3, 1.6])
    with pytest.raises(InvalidParameterValueError, match="'spike_step' of cell 1 must hold whole numbers"):
        cells.set(spike_step=[Sequence([1]), Sequence([2.5]), Sequence([])])
    with pytest.raises(ModelError, match="extra global array .* must be a name or"):
        sim.create_neuron_model("X", extra_global_params=[("table", "char*")])


def test_extra_global_arrays_of_current_sources(sim, step_kernels):
    """A user's step current: the amplitude of each 1 ms bin from a table, one per source, changed between runs."""
    from pyNN.parameters import Sequence
    Table = sim.create_current_source_model(
        "Table", params={"bin": 1.0}, extra_global_params=["amplitudes"],
        injection_code="(int)(t / bin) < amplitudes_len ? amplitudes[(int)(t / bin)] : 0.0")
    sim.setup(timestep=DT, precision="double")
    cells = sim.Population(2, integrator(sim)())
    first = Table(amplitudes=Sequence([1.0, -2.0, 0.5]))
    first.inject_into(cells[0:1])
    second = Table(amplitudes=Sequence([0.25]), bin=2.0)
    second.inject_into(cells)
    cells.record("v")
    sim.run(4.0)
    first.amplitudes = Sequence([3.0, 3.0, 3.0, 3.0, 3.0, 1.0])      # longer: its buffer grows
    sim.run(2.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    per_ms = lambda values: np.repeat(values, 10) * DT      # noqa: E731
    i0 = np.r_[per_ms([1.0, -2.0, 0.5, 0.0]), per_ms([3.0, 1.0])] + np.r_[per_ms([0.25, 0.25]), np.zeros(40)]
    i1 = np.r_[per_ms([0.25, 0.25]), np.zeros(40)]
    np.testing.assert_allclose(v[1:, 0], np.cumsum(i0), atol=1e-12)
    np.testing.assert_allclose(v[1:, 1], np.cumsum(i1), atol=1e-12)
    with pytest.raises(InvalidParameterValueError, match="'amplitudes' must hold finite numbers"):
        Table(amplitudes=Sequence([1.0, np.inf]))


@pytest.mark.cuda_compile
@pytest.mark.skipif(not nvrtc.available(), reason=f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
def test_user_models_compile_for_cuda(sim):
    UserLIF = user_lif(sim)
    Decaying = sim.create_weight_update_model("Decaying", params={"factor": 0.9}, vars={"weight": 0.0},
                                              pre_spike_code="add_to_post(weight); weight *= factor;")
    Ramp = sim.create_current_source_model("Ramp", params={"slope": 0.1}, injection_code="slope * t")
    sim.setup(timestep=DT)
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=50.0))
    cells = sim.Population(4, UserLIF())
    sim.Projection(src, cells, sim.AllToAllConnector(), Decaying(weight=0.5, delay=1.0))
    Ramp().inject_into(cells)
    OU = sim.create_current_source_model(
        "OU", params={"tau": 2.0, "sigma": 0.3}, vars={"x": 0.0},
        injection_code="x += -x * dt / tau + sigma * sqrt(2.0 * dt / tau) * normal();\ninjectCurrent(x);")
    ou = OU()
    ou.inject_into(cells[1:3])
    ou.record()
    sim.create_current_source_model("Clamp", neuron_var_refs=["v"], injection_code="0.1 * (-60.0 - v)")().inject_into(
        cells)
    from pyNN.parameters import Sequence
    replay = sim.Population(2, _replay(sim)(spike_step=Sequence([3, 8])))
    sim.Projection(replay, cells[0:2], sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    # GeNN 5's per-neuron variables, with dynamics code drawing random numbers, on both sides
    Traced = sim.create_weight_update_model(
        "Traced", params={"tau": 20.0}, axonal_delay=True, vars=[("g", "scalar")], pre_vars=[("x", "scalar")],
        post_vars=[("y", "int")],
        pre_spike_code="x = x * exp(-(t - st_pre) / tau) + 1.0;", pre_dynamics_code="x += 0.01 * gennrand_normal();",
        post_spike_code="y += 1;", pre_spike_syn_code="addToPost(g * x);", post_spike_syn_code="g += 0.001 * y;")
    sim.Projection(cells, cells, sim.AllToAllConnector(), Traced(g=0.1, delay=1.0))
    cells.record(["v", "spikes"])
    report = sim.compile(backend="cuda", arch="sm_80")
    assert report.kernels and "UserLIF" in report.source and "Decaying" in report.source
    assert "x__p" in report.source and "y__p" in report.source and "DelayLine" in report.source
    assert "PG_INJECT(" in report.source and "Replay" in report.source


def _random_and_math_network(sim, n=2000):
    """Cells drawing normal() and uniform() every step, a current source drawing uniform(), and C's math
    functions and constants."""
    Draws = sim.create_neuron_model(
        "Draws", vars={"z": 0.0, "u": 0.0, "inj": 0.0, "m": 0.0}, receptors=(),
        sim_code="z = normal(); u = uniform(); inj = i_inj;\n"
                 "m = atan2(1.0, 2.0) + erf(0.5) + M_PI + cbrt(27.0) + hypot(3.0, 4.0) + log10(1000.0) + trunc(2.7)"
                 " + asin(0.5) + sinh(1.0) + log2(8.0) + exp2(3.0) + fma(2.0, 3.0, 1.0) + copysign(1.0, -2.0);")
    Jitter = sim.create_current_source_model("Jitter", params={"amp": 2.0}, injection_code="amp * (uniform() - 0.5)")
    cells = sim.Population(n, Draws())
    Jitter(amp=2.0).inject_into(cells)
    cells.record(["z", "u", "inj", "m"])
    return cells


def test_random_numbers_and_math_functions_in_snippets(sim):
    """normal() is a standard normal, uniform() uniform in [0, 1), in neuron snippets and current sources (each
    cell and step its own draws, the same again with the same seed); C's math functions (atan2, erf, cbrt,
    hypot, ...) and constants (M_PI) work as in C (to 1e-12 in double precision).  Bounds: 5 sigma."""
    import math
    sim.setup(timestep=0.1, precision="double", rng_seed=11)
    cells = _random_and_math_network(sim)
    sim.run(2.0)
    seg = cells.get_data().segments[0]
    z, u, inj, m = (seg.filter(name=name)[0].magnitude[1:] for name in ("z", "u", "inj", "m"))
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.std() - 1.0) < 5 / np.sqrt(2 * n)
    assert abs(np.mean(z ** 4) - 3.0) < 5 * np.sqrt(96 / n)                  # a normal's kurtosis
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    # from the second step on: a current source acts from min_delay + dt, as in NEST
    assert inj[1:].min() >= -1.0 and inj[1:].max() < 1.0 and abs(inj[1:].std() - 2 / np.sqrt(12)) < 0.02
    assert len(np.unique(z)) == n and np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1] < 5 / np.sqrt(n)
    expected = (math.atan2(1, 2) + math.erf(0.5) + math.pi + 3.0 + 5.0 + 3.0 + 2.0 + math.asin(0.5) + math.sinh(1)
                + 3.0 + 8.0 + 7.0 - 1.0)
    np.testing.assert_allclose(m, expected, rtol=1e-12)
    sim.end()
    sim.setup(timestep=0.1, precision="double", rng_seed=11)
    again = _random_and_math_network(sim)
    sim.run(2.0)
    np.testing.assert_array_equal(again.get_data().segments[0].filter(name="z")[0].magnitude[1:], z)


def test_random_numbers_in_postsynaptic_models(sim):
    """A postsynaptic model may draw normal() and uniform() too (normal() was an unknown name there): a noisy
    current sigma * normal() + uniform() has mean 0.5 and variance sigma**2 + 1/12 (5 sigma bounds)."""
    Noise = sim.create_postsynaptic_model("Noise", params={"sigma": 2.0}, current_code="sigma * normal() + uniform()")
    Probe = sim.create_neuron_model("Probe", vars={"i": 0.0}, receptors=("excitatory",), sim_code="i = isyn;",
                                    postsynaptic_models={"excitatory": (Noise, {"sigma": 2.0})})
    sim.setup(timestep=0.1, rng_seed=5, precision="double")
    cells = sim.Population(500, Probe())
    cells.record("i")
    sim.run(2.0)
    i = cells.get_data().segments[0].filter(name="i")[0].magnitude[1:]
    n, var = i.size, 4.0 + 1 / 12
    assert abs(i.mean() - 0.5) < 5 * np.sqrt(var / n)
    assert abs(i.var() - var) < 5 * var * np.sqrt(2 / n)
    assert len(np.unique(i)) == n


@pytest.mark.skipif(not nvrtc.available(), reason=f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
def test_random_numbers_and_math_functions_compile_for_cuda(sim):
    for precision in ("single", "double"):
        sim.setup(timestep=0.1, precision=precision)
        _random_and_math_network(sim, n=4)
        report = sim.compile(backend="cuda", arch="sm_80")
        assert "pg_gauss(&pg_rng" in report.source and "3.141592653589793" in report.source
        sim.end()


def test_auto_refractory_and_genn4_spellings(sim):
    """A cell spikes in every step its threshold condition holds; with auto_refractory_required (GeNN 4:
    is_auto_refractory_required, deprecated) once per crossing.  A 10 ms sine above 0.5 for a third of each
    period: 50 ms give 5 crossings, and 5 x 33 steps above.  GeNN 4's plain DT and $(gennrand_uniform) work."""
    kw = dict(vars={"V": 0.0}, receptors=(), sim_code="V = sin(2.0 * M_PI * t / 10.0);",
              threshold_condition_code="V >= 0.5")
    Every = sim.create_neuron_model("Every", **kw)
    Once = sim.create_neuron_model("Once", auto_refractory_required=True, **kw)
    with pytest.warns(FutureWarning, match="is_auto_refractory_required"):
        Old = sim.create_neuron_model("Old", is_auto_refractory_required=True, **kw)
    with pytest.warns(FutureWarning, match="DT"), pytest.warns(FutureWarning, match=r"\$\(name\)"):
        Legacy = sim.create_neuron_model("Legacy", vars={"V": 0.0}, receptors=(),
                                         sim_code="$(V) += DT * $(gennrand_uniform);")
    sim.setup(timestep=0.1)
    pops = [sim.Population(1, M()) for M in (Every, Once, Old, Legacy)]
    for p in pops:
        p.record("spikes")
    pops[3].record("V")
    sim.run(50.0)
    counts = [len(p.get_data().segments[0].spiketrains[0]) for p in pops[:3]]
    assert counts[1] == counts[2] == 5 and 5 * 32 <= counts[0] <= 5 * 34
    v = pops[3].get_data().segments[0].filter(name="V")[0].magnitude[-1, 0]
    assert abs(v - 0.1 * 500 * 0.5) < 5 * 0.1 * np.sqrt(500 / 12)        # 500 steps of dt * U(0, 1)


def test_derived_parameters_as_genn_writes_them(sim):
    """A derived parameter written for numbers (math.exp, as GeNN's are) is computed cell by cell; one that fails
    or is no finite number for a cell's parameters is a ModelError naming the model and the parameter."""
    import math
    Leak = sim.create_neuron_model("GeLeak", params={"tau": 10.0}, vars={"v": 1.0}, receptors=(),
                                   derived_params={"decay": lambda p, dt: math.exp(-dt / p["tau"])},
                                   sim_code="v *= decay;")
    sim.setup(timestep=0.1, precision="double")
    cells = sim.Population(3, Leak(tau=[5.0, 10.0, 20.0]))
    cells.record("v")
    sim.run(1.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude[-1]
    np.testing.assert_allclose(v, np.exp(-1.0 / np.array([5.0, 10.0, 20.0])), rtol=1e-12)
    sim.end()
    for derived, message in ((lambda p, dt: np.log(p["tau"] - 10.0), r"'d'\] is nan, not a finite number, for the "
                              r"parameters \{'tau': 5.0\}"),
                             (lambda p, dt: "x", r"'d'\] must give numbers, not 'x'"),
                             (lambda p, dt: 1 / 0, r"'d'\] failed: ZeroDivisionError"),
                             (lambda p, dt: np.ones(7), r"'d'\] must give one number, or one per cell \(2\); it gave "
                              r"an array of shape \(7,\)")):
        Bad = sim.create_neuron_model("Bad", params={"tau": 10.0}, vars={"v": 1.0}, receptors=(),
                                      derived_params={"d": derived}, sim_code="v *= d;")
        sim.setup(timestep=0.1)
        sim.Population(2, Bad(tau=[12.0, 5.0]))
        with pytest.raises(ModelError, match=r"\[model 'Bad' derived parameter " + message):
            sim.run(1.0)
        sim.end()


def test_none_is_no_parameter_value(sim):
    """None as a parameter or initial value is PyNN's InvalidParameterValueError naming it (it was a bare
    ValueError from PyNN's lazy arrays), for standard and user cell types, set and initialize."""
    sim.setup()
    U = sim.create_neuron_model("U", params={"a": 1.0}, vars=["v"])
    cells = sim.Population(2, sim.IF_curr_exp(), label="P")
    for make, names in ((lambda: sim.IF_curr_exp(tau_m=None), "IF_curr_exp: parameter 'tau_m'"),
                        (lambda: U(a=None), "U: parameter 'a'"),
                        (lambda: cells.set(tau_m=None), "population 'P': parameter 'tau_m'"),
                        (lambda: cells.initialize(v=None), "population 'P': parameter 'v'"),
                        (lambda: cells[0:1].initialize(v=None), "population 'P': parameter 'v'")):
        with pytest.raises(InvalidParameterValueError, match=f"{names} must be a number.*not None"):
            make()


def _philox_words(c0, c1, c2, c3, k0, k1):
    """The four output words of Philox4x32-10 for counter (c0, c1, c2, c3) and key (k0, k1)."""
    mask = 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & mask, p1 & mask, ((p0 >> 32) ^ c3 ^ k1) & mask, p0 & mask
        k0, k1 = (k0 + 0x9E3779B9) & mask, (k1 + 0xBB67AE85) & mask
    return [c0, c1, c2, c3]


def test_uniform_draws_take_the_four_words_of_a_philox_block(sim):
    """A cell's draws in one step are the four words of the Philox block counted by (step, cell, stream, 0) in
    turn, then those of block 1 (one Philox evaluation for four draws: Box-Muller's normal() takes one, not two).
    Checked bit for bit in double precision, where a draw is word * 2^-32."""
    sim.setup(timestep=0.1, precision="double", rng_seed=12345)
    Draws = sim.create_neuron_model(
        "FiveDraws", vars=[(f"u{k}", "scalar") for k in range(5)],
        sim_code="u0 = uniform(); u1 = uniform(); u2 = uniform(); u3 = uniform(); u4 = uniform();",
        threshold_condition_code="u0 > 2.0", reset_code="")
    cells = sim.Population(3, Draws())
    cells.record([f"u{k}" for k in range(5)])
    sim.run(0.5)
    seg = cells.get_data().segments[0]
    got = np.stack([seg.filter(name=f"u{k}")[0].magnitude for k in range(5)], axis=-1)    # sample, cell, draw
    seed = int(sim.simulator.state.network.seed) & 0xFFFFFFFFFFFFFFFF
    stream = cells._group.rng_stream
    for step in range(5):
        for cell in range(3):
            words = _philox_words(step, cell, stream, 0, seed & 0xFFFFFFFF, seed >> 32) \
                + _philox_words(step, cell, stream, 1, seed & 0xFFFFFFFF, seed >> 32)[:1]
            np.testing.assert_array_equal(got[step + 1, cell], np.array(words) * 2.0**-32)
