"""A cell whose integration breaks down stops the run with an error, as NEST's aeif models throw
NumericalInstability (V_m < -1e3 mV or |w| > 1e6 pA), instead of carrying on with meaningless values."""
import numpy as np
import pytest

CELLS = ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"]


def script(sim, cell, i_offset, **setup_kw):
    sim.setup(timestep=0.1, min_delay=0.1, **setup_kw)
    cells = sim.Population(3, getattr(sim, cell)(i_offset=i_offset), label="adex")
    cells.record("v")
    sim.run(5.0)
    return cells.get_data().segments[0].filter(name="v")[0].magnitude


@pytest.mark.parametrize("cell", CELLS)
def test_a_blow_up_stops_the_run_naming_the_cell(sim, step_kernels, cell):
    with pytest.raises(sim.NumericalInstabilityError, match=rf"population 'adex' \({cell}\), cell 1, at t = 0.1 ms"):
        script(sim, cell, [0.5, -1e4, 0.5])


@pytest.mark.parametrize("cell", CELLS)
def test_a_strong_but_sane_drive_runs(sim, step_kernels, cell):
    v = script(sim, cell, [0.5, 5.0, -5.0], precision="double")
    assert np.all(np.isfinite(v)) and v.min() > -1e3 and v[:, 1].max() > -50.0


@pytest.mark.cross_simulator
def test_nest_stops_on_the_same_input(nest):
    """pyNN.nest raises NEST's NumericalInstability for the same cells and currents."""
    with pytest.raises(Exception, match="NumericalInstability|numerical instability"):
        script(nest, "EIF_cond_exp_isfa_ista", [0.5, -1e4, 0.5])


def test_a_user_model_declares_its_own_condition(sim, step_kernels):
    doubling = sim.create_neuron_model("Doubling", params={"a": 2.0}, vars={"x": 1.0}, sim_code="x *= a;",
                                       instability_condition="x > 1e6")
    sim.setup(timestep=0.1)
    sim.Population(2, doubling(a=[1.0, 2.0]), label="dbl")
    with pytest.raises(sim.NumericalInstabilityError, match=r"'dbl' \(Doubling\), cell 1, at t = 2 ms \(x > 1e6\)"):
        sim.run(5.0)           # 2**20 > 1e6: after the 20th step


def test_models_that_differ_only_in_their_condition_keep_their_own(sim):
    """(Their code is otherwise the same: the condition is part of the model's identity, so each keeps its own.)"""
    def doubling(condition):
        return sim.create_neuron_model("Doubling", vars={"x": 1.0}, sim_code="x *= 2.0;", receptors=(),
                                       instability_condition=condition)
    sim.setup(timestep=0.1)
    sim.Population(1, doubling("x > 1e30")(), label="loose")
    sim.Population(1, doubling("x > 1e3")(), label="tight")
    with pytest.raises(sim.NumericalInstabilityError, match=r"'tight' \(Doubling\), cell 0, at t = 1 ms"):
        sim.run(2.0)             # 2**10 > 1e3: after the 10th step
