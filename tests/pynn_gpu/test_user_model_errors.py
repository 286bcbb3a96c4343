"""Bad user models are refused with a clear error (model, snippet and line; population or source), never run wrong.

``break`` / ``continue`` outside a loop of the snippet, math functions with the wrong number of arguments, device
errors inside PoCL's renamed built-ins, non-whole values of a synapse model's int variables, extra global arrays
never given, malformed ``postsynaptic_models`` and ``ode`` arguments and model names that are no strings.
"""
import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError
from pyNN.parameters import Sequence
from pyNN.random import RandomDistribution

from pynn_gpu.codegen.errors import ModelError
from pynn_gpu.kernels.errors import KernelCompileError
from pynn_gpu.kernels.runtime.diagnostics import errors

DT = 0.1


def _neuron(sim, name="M", **kw):
    """A model with one variable v, no receptors and no threshold, defined with ``kw``."""
    return sim.create_neuron_model(name, vars={"v": 0.0}, receptors=(), **kw)


def _v(pop):
    return pop.get_data().segments[0].filter(name="v")[0].magnitude


# ---- break / continue ----------------------------------------------------------------------------------

def test_break_and_continue_outside_a_loop_are_refused(sim):
    """At the top level of a snippet they would leave the kernel's loop over the cells (or synapses) before the
    state is stored: refused for every kind of snippet, naming model, snippet and line."""
    Psm = sim.create_postsynaptic_model("Psm", vars=["x"], apply_input_code="x += inp;",
                                        decay_code="x *= 0.9;\nif (x < 1e-3)\n    continue;", current_code="x")
    cases = [
        (lambda: _neuron(sim, "N", sim_code="v += 1.0;\nbreak;"), r"\[neuron model 'N' sim_code, line 2\] 'break'"),
        (lambda: _neuron(sim, "N", sim_code="v += 1.0;\nif (v > 2.0) {\n    continue;\n}"),
         r"\[neuron model 'N' sim_code, line 3\] 'continue'"),
        # a loop before it does not count, nor does an if / else
        (lambda: _neuron(sim, "N", sim_code="while (v < 3.0)\n    v += 1.0;\nbreak;"),
         r"\[neuron model 'N' sim_code, line 3\] 'break'"),
        (lambda: _neuron(sim, "N", sim_code="if (v > 1.0) v = 0.0;\nelse break;"), r"sim_code, line 2\] 'break'"),
        (lambda: _neuron(sim, "N", reset_code="v = 0.0; break;", threshold_condition_code="v > 1.0"),
         r"\[neuron model 'N' reset_code, line 1\] 'break'"),
        (lambda: sim.create_weight_update_model("W", vars=["weight"], pre_spike_code="add_to_post(weight);\nbreak;"),
         r"\[weight-update model 'W' pre_spike_code, line 2\] 'break'"),
        (lambda: sim.create_weight_update_model("W", vars=["weight"], post_spike_code="weight += 1.0; continue;"),
         r"\[weight-update model 'W' post_spike_code, line 1\] 'continue'"),
        (lambda: sim.create_weight_update_model("W", vars=["weight"], synapse_dynamics_code="\n\nbreak;"),
         r"\[weight-update model 'W' synapse_dynamics_code, line 3\] 'break'"),
        (lambda: sim.create_current_source_model("C", vars={"x": 0.0},
                                                 injection_code="x += 1.0;\nbreak;\ninjectCurrent(x);"),
         r"\[current source 'C' \(C\) injection_code, line 2\] 'break'"),
        (lambda: sim.create_neuron_model("P", vars={"v": 0.0}, sim_code="v = isyn;", receptors=("excitatory",),
                                         postsynaptic_models={"excitatory": Psm}),
         r"\[postsynaptic model 'Psm' of neuron model 'P' \(receptor 'excitatory'\) decay_code, line 3\] 'continue'"),
    ]
    for make, message in cases:
        with pytest.raises(ModelError, match=message + " outside a loop of the snippet is not allowed"):
            make()


def test_break_inside_a_loop_of_the_snippet_works(sim, step_kernels):
    """A loop of the snippet may be left with break / continue: v gains 1 + 2 (k = 0 skipped, k = 3 ends it)."""
    Counter = _neuron(sim, "Counter", sim_code="""
        for (int k = 0; k < 10; k++) {
            if (k == 0)
                continue;
            if (k == 3) break;
            v += k;
        }
        int n = 0;
        do { n++; if (n == 2) break; } while (n < 5);
        v += n;""")
    sim.setup(timestep=DT)
    cells = sim.Population(2, Counter())
    cells.record("v")
    sim.run(1.0)
    np.testing.assert_allclose(_v(cells)[-1], [50.0, 50.0])      # 10 steps of 3 + 2


# ---- math functions --------------------------------------------------------------------------------------

def test_math_functions_with_the_wrong_number_of_arguments_are_refused(sim):
    cases = [("v = 1.0;\nv = exp(v, 2.0);", 2, r"exp\(\) takes 1 argument, not 2"),
             ("v = sin();", 1, r"sin\(\) takes 1 argument, not 0"),
             ("v = sqrt(v, 1.0);", 1, r"sqrt\(\) takes 1 argument, not 2"),
             ("v = fmin(v, fmax(v));", 1, r"fmax\(\) takes 2 arguments, not 1"),
             ("v = 1.0;\n\nv = fma(v, 2.0);", 3, r"fma\(\) takes 3 arguments, not 2")]
    for code, line, message in cases:
        with pytest.raises(ModelError, match=rf"\[neuron model 'A' sim_code, line {line}\] {message}"):
            _neuron(sim, "A", sim_code=code)
    with pytest.raises(ModelError, match=r"\[current source 'S' \(S\) injection_code, line 1\] pow\(\) takes 2"):
        sim.create_current_source_model("S", injection_code="pow(t)")
    # commas inside nested calls and brackets are not the call's own
    Ok = _neuron(sim, "Ok", sim_code="v = fmin(fmax(v, 1.0), pow(2.0, (3.0)));")
    sim.setup(timestep=DT)
    cells = sim.Population(1, Ok())
    cells.record("v")
    sim.run(0.2)
    assert _v(cells)[-1, 0] == pytest.approx(1.0)


def test_device_errors_in_renamed_builtins_name_the_snippet_line(sim):
    """PoCL reports an error in a built-in it renames at '<file>:240:27 <Spelling=...>': mapped to the snippet line,
    with the snippet's name of the function."""
    log = ("error: /root/.cache/pocl/kcache/tempfile_X.cl:3:27 <Spelling=/x/share/pocl/include/_builtin_renames.h:"
           "78:24>: no matching function for call to '_cl_exp'")
    assert errors(log, "a\nb\nl_v = exp(l_v, 2.0);\n") == [(3, "", "no matching function for call to 'exp'",
                                                             "l_v = exp(l_v, 2.0);")]
    Amb = _neuron(sim, "Amb", sim_code="v += 1.0;\nint k = 2;\nv = sin(k);")    # sin(int): OpenCL has no such one
    sim.setup(timestep=DT)
    sim.Population(1, Amb())
    with pytest.raises(KernelCompileError, match=r"\[neuron model 'Amb' sim_code, line 3\] .*'sin'") as err:
        sim.run(0.2)
    assert "_cl_sin" not in str(err.value)


# ---- int variables of synapse models ---------------------------------------------------------------------

def test_int_variables_of_synapse_models_take_and_hold_whole_numbers(sim, step_kernels):
    """As a neuron's: a value that is not whole is refused (constructor, connection, set), and the snippet computes
    with ints (k / 2 truncates) whose values are read back."""
    W = sim.create_weight_update_model(
        "W", vars=[("k", "int"), ("h", "scalar")], params={"weight": 0.0},
        pre_spike_code="add_to_post(weight); k += 1;\nh = k / 2;\nk = k / 2 * 3;")
    with pytest.raises(InvalidParameterValueError, match=r"W: 'k' must be a whole number.*\(got 2.7\)"):
        W(k=2.7)
    sim.setup(timestep=DT)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.5, 1.5]), label="src")
    cell = sim.Population(1, sim.IF_curr_exp(), label="cell")
    with pytest.raises(InvalidParameterValueError, match="projection 'src→cell', synapse type W: 'k' must be a whole"):
        sim.Projection(src, cell, sim.AllToAllConnector(), W(k=RandomDistribution("uniform", (0.1, 0.9))))
    prj = sim.Projection(src, cell, sim.AllToAllConnector(), W(k=3))
    sim.run(3.0)
    # spike 1: k = 4, h = 2, k = 6; spike 2: k = 7, h = 3, k = 9 (with scalars: 7.5, 3.75 and 11.25)
    assert prj.get(["k", "h"], format="list") == [(0, 0, 9.0, 3.0)]
    with pytest.raises(InvalidParameterValueError, match=r"'k' must be a whole number.*\(got 2.5\)"):
        prj.set(k=2.5)
    assert prj.get("k", format="array")[0, 0] == 9.0


# ---- extra global arrays -----------------------------------------------------------------------------------

def test_extra_global_arrays_never_given_are_refused_at_the_build(sim):
    """Reading an array that was never given would read outside the device buffer: the build refuses it, naming
    the model, the population (or source), the array and the cells; Sequence([]) gives an empty one."""
    Table = _neuron(sim, "Table", extra_global_params=["table"], sim_code="v = table_len > 0 ? table[0] : -1.0;")
    sim.setup(timestep=DT)
    cells = sim.Population(3, Table(), label="cells")
    with pytest.raises(InvalidParameterValueError, match="Table in population 'cells': extra global array 'table' "
                                                         r"was never given; give it as a PyNN Sequence"):
        sim.run(0.2)
    cells[1:2].set(table=Sequence([4.0]))
    with pytest.raises(InvalidParameterValueError, match=r"'table' was never given for cell\(s\) 0, 2"):
        sim.run(0.2)
    cells[0:1].set(table=Sequence([2.0, 3.0]))
    cells[2:3].set(table=Sequence([]))
    cells.record("v")
    sim.run(0.2)
    np.testing.assert_allclose(_v(cells)[-1], [2.0, 4.0, -1.0])
    Src = sim.create_current_source_model("Src", extra_global_params=["amps"],
                                          injection_code="amps[(int)(t / 0.1)]")
    sim.setup(timestep=DT)
    Src().inject_into(sim.Population(1, sim.IF_curr_exp()))
    with pytest.raises(InvalidParameterValueError, match="Src 'Src#0': extra global array 'amps' was never given"):
        sim.run(0.2)


# ---- declarations -----------------------------------------------------------------------------------------

def test_malformed_declarations_are_model_errors(sim):
    """A postsynaptic model given by name, ode as one string and a model name that is no string: ModelError
    saying what is expected (not a ValueError from unpacking or an AttributeError)."""
    with pytest.raises(ModelError, match=r"neuron model 'M': postsynaptic_models\['excitatory'\] must be a "
                                         r"PostsynapticModel .*not 'ExpCurr'"):
        sim.create_neuron_model("M", vars={"v": 0.0}, sim_code="v = isyn;", receptors=("excitatory",),
                                postsynaptic_models={"excitatory": "ExpCurr"})
    with pytest.raises(ModelError, match=r"model 'M': ode must be \{variable: right-hand side\}"):
        sim.create_neuron_model("M", params={"tau": 10.0}, vars={"v": 0.0}, ode="-v / tau", integrator="rk4")
    factories = {"neuron": sim.create_neuron_model, "weight-update": sim.create_weight_update_model,
                 "current-source": sim.create_current_source_model, "postsynaptic": sim.create_postsynaptic_model}
    for kind, factory in factories.items():
        for name in (None, 3, ""):
            with pytest.raises(ModelError, match=f"{kind} model name {name!r}: a model's name must be a non-empty "
                                                 "string"):
                factory(name)


def test_ode_as_a_mapping(sim):
    """ode={'v': rhs} integrates as [('v', rhs)] does: one RK4 step of dv/dt = -v / tau per dt."""
    models = [sim.create_neuron_model(f"Leak{k}", params={"tau": 10.0}, vars={"v": 1.0}, ode=ode, integrator="rk4",
                                      receptors=()) for k, ode in enumerate(({"v": "-v / tau"}, [("v", "-v / tau")]))]
    sim.setup(timestep=DT, precision="double")
    pops = [sim.Population(1, m()) for m in models]
    for p in pops:
        p.record("v")
    sim.run(1.0)
    h = DT / 10.0
    per_step = 1 - h + h ** 2 / 2 - h ** 3 / 6 + h ** 4 / 24       # RK4's factor for y' = -y / tau
    v = [_v(p)[:, 0] for p in pops]
    np.testing.assert_allclose(v[0], per_step ** np.arange(len(v[0])), rtol=1e-12)
    np.testing.assert_array_equal(v[0], v[1])
