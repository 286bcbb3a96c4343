"""Built-in neuron models, step for step as NEST integrates them (reference/numerics.md).

Names and units are PyNN's (mV, ms, nA, nF, uS); receptors are 'excitatory' and 'inhibitory'.
"""
import numpy as np

from ..models import ExtraGlobal, NeuronModel, Var
from .timing import steps_ceil


def _n_ref(p, dt):
    return steps_ceil(p["tau_refrac"], dt).astype(float)


def _p21(tau_syn, p, dt):
    """iaf_psc_exp's current-to-voltage propagator, with NEST's fallback in the singular case tau_syn = tau_m."""
    tau_m, cm = np.asarray(p["tau_m"], float), np.asarray(p["cm"], float)
    tau_syn = np.asarray(tau_syn, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        p21 = beta / cm * np.exp(-dt / tau_syn) * np.expm1(dt / beta)
    regular = np.isfinite(p21) & (p21 > np.finfo(float).tiny)
    return np.where(regular, p21, dt / cm * np.exp(-dt / tau_m))


#: iaf_psc_exp: exact propagators for V and the two exponential currents.
IF_CURR_EXP = NeuronModel(
    name="IF_curr_exp",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset", "v_reset", "v_thresh"),
    vars=(Var("v", unit="mV"), Var("isyn_exc", unit="nA"), Var("isyn_inh", unit="nA"), Var("r", "int")),
    derived_params=(
        ("p22", lambda p, dt: np.exp(-dt / np.asarray(p["tau_m"], float))),
        ("p11_exc", lambda p, dt: np.exp(-dt / np.asarray(p["tau_syn_E"], float))),
        ("p11_inh", lambda p, dt: np.exp(-dt / np.asarray(p["tau_syn_I"], float))),
        ("p20", lambda p, dt: -np.asarray(p["tau_m"], float) / np.asarray(p["cm"], float)
         * np.expm1(-dt / np.asarray(p["tau_m"], float))),
        ("p21_exc", lambda p, dt: _p21(p["tau_syn_E"], p, dt)),
        ("p21_inh", lambda p, dt: _p21(p["tau_syn_I"], p, dt)),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    sim_code="""
        if (r == 0)
            v = v_rest + p22 * (v - v_rest) + p21_exc * isyn_exc + p21_inh * isyn_inh + p20 * (i_offset + i_inj);
        else
            r -= 1;
        isyn_exc = p11_exc * isyn_exc + in_excitatory;
        isyn_inh = p11_inh * isyn_inh + in_inhibitory;
    """,
    threshold_code="v >= v_thresh",
    reset_code="r = n_ref; v = v_reset;",
)

#: iaf_cond_exp: V and both conductances integrated together by RKF45 with NEST's tolerance.
IF_COND_EXP = NeuronModel(
    name="IF_cond_exp",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "v_thresh",
            "v_reset", "i_offset"),
    vars=(Var("v", unit="mV"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS"), Var("r", "int")),
    derived_params=(
        ("g_leak", lambda p, dt: np.asarray(p["cm"], float) / np.asarray(p["tau_m"], float)),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    ode=(
        ("v", "r > 0 ? 0 : (-g_leak * (fmin(v, v_thresh) - v_rest) - gsyn_exc * (fmin(v, v_thresh) - e_rev_E)"
              " - gsyn_inh * (fmin(v, v_thresh) - e_rev_I) + i_offset + i_inj) / cm"),
        ("gsyn_exc", "-gsyn_exc / tau_syn_E"),
        ("gsyn_inh", "-gsyn_inh / tau_syn_I"),
    ),
    integrator="rkf45",
    ode_tolerance=1e-3,
    sim_code="""
        gsyn_exc += in_excitatory;
        gsyn_inh += in_inhibitory;
        const int refractory = r > 0;
        if (refractory) {
            r -= 1;
            v = v_reset;
        }
    """,
    threshold_code="!refractory && v >= v_thresh",
    reset_code="r = n_ref; v = v_reset;",
)

#: Poisson spike source: one Bernoulli draw per step with p = rate * dt on the device RNG.
SPIKE_SOURCE_POISSON = NeuronModel(
    name="SpikeSourcePoisson",
    params=("rate", "start", "duration"),
    derived_params=(
        ("p_spike", lambda p, dt: np.minimum(np.asarray(p["rate"], float) * dt / 1000.0, 1.0)),
        ("start_step", lambda p, dt: np.rint(np.asarray(p["start"], float) / dt)),
        ("stop_step", lambda p, dt: np.rint((np.asarray(p["start"], float) + np.asarray(p["duration"], float)) / dt)),
    ),
    sim_code="const int fire = step >= start_step && step < stop_step && uniform() < p_spike;",
    threshold_code="fire",
    spike_source=True,
)

#: Spike source replaying given times: ``spike_steps`` holds the step in which each spike is emitted.
SPIKE_SOURCE_ARRAY = NeuronModel(
    name="SpikeSourceArray",
    vars=(Var("next_spike", "int"),),
    extra_globals=(ExtraGlobal("spike_steps", "int"),),
    sim_code="""
        int fire = 0;
        while (next_spike < spike_steps_len && spike_steps[next_spike] <= step) {
            if (spike_steps[next_spike] == step)
                fire = 1;
            next_spike += 1;
        }
    """,
    threshold_code="fire",
    spike_source=True,
)
