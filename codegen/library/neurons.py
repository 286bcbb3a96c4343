"""Built-in neuron models, step for step as NEST integrates them (reference/numerics.md).

Names and units are PyNN's (mV, ms, nA, nF, uS; nS where PyNN states it: a, g_r, g_s); receptors are
'excitatory' and 'inhibitory'.  Where a model is integrated by RKF45, its absolute tolerances are NEST's,
converted to these units (NEST states them in nS and pA), so the step-size control takes the same steps.

Integration scheme per model:

=========================  ===================  ===============================================
model                      NEST model           scheme
=========================  ===================  ===============================================
IF_curr_exp                iaf_psc_exp          exact propagators
IF_curr_alpha              iaf_psc_alpha        exact propagators
IF_curr_delta              iaf_psc_delta        exact propagator; inputs while refractory dropped
IF_cond_exp                iaf_cond_exp         RKF45, eps_abs 1e-3 (mV, nS)
IF_cond_alpha              iaf_cond_alpha       RKF45, eps_abs 1e-3 (mV, nS)
IF_cond_exp_gsfa_grr       iaf_cond_exp_sfa_rr  RKF45, eps_abs 1e-3 (mV, nS)
IF_facets_hardware1        iaf_cond_exp         RKF45, eps_abs 1e-3 (mV, nS)
EIF_cond_exp/alpha_isfa..  aeif_cond_exp/alpha  RKF45, eps_abs = eps_rel = 1e-6 on (y, h y'),
                                                spike test and reset after every internal step
HH_cond_exp                hh_cond_exp_traub    RKF45, eps_abs 1e-3 (mV, nS)
Izhikevich                 izhikevich           forward Euler (consistent_integration=true)
GIF_cond_exp               gif_cond_exp         RKF45, eps_abs 1e-3 (mV, nS); escape-noise spikes
=========================  ===================  ===============================================
"""
import functools
import math

import numpy as np

from ..models import ExtraGlobal, NeuronModel, Var
from .timing import ms_per_step, steps_ceil

#: NEST's RKF45 tolerance for the iaf_cond_* and hh models: 1e-3 in mV and nS, i.e. 1e-6 for conductances in uS.
_COND_TOL_V, _COND_TOL_G = 1e-3, 1e-6
#: aeif: gsl_error_tol 1e-6 in mV, nS and pA, i.e. 1e-9 for conductances in uS and currents in nA.
_AEIF_TOL_V, _AEIF_TOL_G = 1e-6, 1e-9

#: After each accepted internal step of the adaptive exponential cell (NEST's aeif_*): clamp v while refractory,
#: else spike at v_peak -- reset, adaptation jump b, refractory count, and one more spike in this step for the
#: threshold (without a refractory period a cell can fire several times in one step; NEST sends each spike).
AEIF_STEP_CODE = """
    if (r > 0) {
        v = v_reset;
    } else if (v >= v_peak) {
        v = v_reset;
        w += b;
        r = r_spike;
        fired += 1;
    }
"""

#: iaf_cond_*: the step's input is added to the conductances after integration, then a refractory cell is held
#: at v_reset (NEST's order); shared by the conductance-based LIF models.
_COND_INPUT_AND_REFRACTORY = """
        gsyn_exc += in_excitatory;
        gsyn_inh += in_inhibitory;
        const int refractory = r > 0;
        if (refractory) {
            r -= 1;
            v = v_reset;
        }
    """
_COND_THRESHOLD = "!refractory && v >= v_thresh"


def _f(x):
    return np.asarray(x, float)


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


def _p31(tau_syn, p, dt):
    """iaf_psc_alpha's dI-to-voltage propagator (IAFPropagatorAlpha), with NEST's small-step fallback."""
    tau_m, cm, tau_syn = _f(p["tau_m"]), _f(p["cm"]), _f(tau_syn)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        p31 = beta / cm * np.exp(-dt / tau_syn) * (beta * np.expm1(dt * inv_beta) - dt)
        h_min_regular = 1e-7 * tau_m * tau_m / np.abs(tau_m - tau_syn)
    return np.where(dt > h_min_regular, p31, 0.5 * dt * dt / cm * np.exp(-dt / tau_m))


#: iaf_psc_exp: exact propagators for V and the two exponential currents.
#: In the models with exact propagators the refractory count ``r`` (whole steps, exact in floating point) is a
#: scalar: an integer beside the float state kept PoCL's compiler from vectorising the neuron loop (20,000 cells
#: on the one work-item path: IF_curr_exp 1.7 -> 0.4 ns a cell-step, IF_curr_alpha 1.6 -> 0.6, IF_curr_delta
#: 1.7 -> 0.3).  The conductance-based models keep an integer: there it made no difference or was faster.
IF_CURR_EXP = NeuronModel(
    name="IF_curr_exp",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset", "v_reset", "v_thresh"),
    vars=(Var("v", unit="mV"), Var("isyn_exc", unit="nA"), Var("isyn_inh", unit="nA"), Var("r")),
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

def _iaf_cond_exp(name, params, derived_params, leak="g_leak", offset=" + i_offset"):
    """NEST's iaf_cond_exp: V and both conductances integrated together (RKF45 with NEST's tolerance, or RK4,
    shown to give the same spikes); ``leak`` names the leak conductance (uS), ``offset`` the constant current.
    The right-hand sides multiply by reciprocals: divisions dominated a vectorised step (four RK4 stages)."""
    return NeuronModel(
        name=name,
        params=params,
        vars=(Var("v", unit="mV"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS"), Var("r", "int")),
        derived_params=tuple(derived_params) + (
            ("inv_cm", lambda p, dt: 1.0 / _f(p["cm"])),
            ("inv_tau_syn_E", lambda p, dt: 1.0 / _f(p["tau_syn_E"])),
            ("inv_tau_syn_I", lambda p, dt: 1.0 / _f(p["tau_syn_I"]))),
        receptors=("excitatory", "inhibitory"),
        ode=(
            ("v", f"r > 0 ? 0 : (-{leak} * (fmin(v, v_thresh) - v_rest) - gsyn_exc * (fmin(v, v_thresh) - e_rev_E)"
                  f" - gsyn_inh * (fmin(v, v_thresh) - e_rev_I){offset} + i_inj) * inv_cm"),
            ("gsyn_exc", "-gsyn_exc * inv_tau_syn_E"),
            ("gsyn_inh", "-gsyn_inh * inv_tau_syn_I"),
        ),
        integrator="rkf45",
        rk4_equivalent=True,
        rk4_rates=lambda p: np.maximum.reduce([p["inv_tau_syn_E"], p["inv_tau_syn_I"], p[leak] * p["inv_cm"]]),
        ode_tolerance={"v": _COND_TOL_V, "gsyn_exc": _COND_TOL_G, "gsyn_inh": _COND_TOL_G},
        sim_code=_COND_INPUT_AND_REFRACTORY,
        threshold_code=_COND_THRESHOLD,
        reset_code="r = n_ref; v = v_reset;",
    )


IF_COND_EXP = _iaf_cond_exp(
    "IF_cond_exp",
    ("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "v_thresh", "v_reset",
     "i_offset"),
    (("g_leak", lambda p, dt: np.asarray(p["cm"], float) / np.asarray(p["tau_m"], float)), ("n_ref", _n_ref)),
)


#: iaf_psc_alpha: exact propagators for V and the two alpha-shaped currents (I and dI per receptor).
IF_CURR_ALPHA = NeuronModel(
    name="IF_curr_alpha",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset", "v_reset", "v_thresh"),
    vars=(Var("v", unit="mV"), Var("isyn_exc", unit="nA"), Var("isyn_inh", unit="nA"),
          Var("disyn_exc", unit="nA/ms"), Var("disyn_inh", unit="nA/ms"), Var("r")),
    derived_params=(
        ("expm1_tau_m", lambda p, dt: np.expm1(-dt / _f(p["tau_m"]))),
        ("p30", lambda p, dt: -_f(p["tau_m"]) / _f(p["cm"]) * np.expm1(-dt / _f(p["tau_m"]))),
        ("p11_exc", lambda p, dt: np.exp(-dt / _f(p["tau_syn_E"]))),
        ("p11_inh", lambda p, dt: np.exp(-dt / _f(p["tau_syn_I"]))),
        ("p21_exc", lambda p, dt: dt * np.exp(-dt / _f(p["tau_syn_E"]))),
        ("p21_inh", lambda p, dt: dt * np.exp(-dt / _f(p["tau_syn_I"]))),
        ("p31_exc", lambda p, dt: _p31(p["tau_syn_E"], p, dt)),
        ("p31_inh", lambda p, dt: _p31(p["tau_syn_I"], p, dt)),
        ("p32_exc", lambda p, dt: _p21(p["tau_syn_E"], p, dt)),
        ("p32_inh", lambda p, dt: _p21(p["tau_syn_I"], p, dt)),
        ("psc0_exc", lambda p, dt: np.e / _f(p["tau_syn_E"])),
        ("psc0_inh", lambda p, dt: np.e / _f(p["tau_syn_I"])),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    sim_code="""
        const scalar y3 = v - v_rest;
        const scalar v_free = v_rest + (p30 * (i_inj + i_offset) + p31_exc * disyn_exc + p32_exc * isyn_exc
                                        + p31_inh * disyn_inh + p32_inh * isyn_inh + expm1_tau_m * y3 + y3);
        v = r == 0 ? v_free : v;      /* (selects: an if here kept the loop from vectorising) */
        r = r == 0 ? r : r - 1;
        isyn_exc = p21_exc * disyn_exc + p11_exc * isyn_exc;
        disyn_exc = p11_exc * disyn_exc + psc0_exc * in_excitatory;
        isyn_inh = p21_inh * disyn_inh + p11_inh * isyn_inh;
        disyn_inh = p11_inh * disyn_inh + psc0_inh * in_inhibitory;
    """,
    threshold_code="v >= v_thresh",
    reset_code="r = n_ref; v = v_reset;",
)

#: iaf_psc_delta: exact propagator for V; each input is a jump of V (weight in mV), dropped while refractory.
IF_CURR_DELTA = NeuronModel(
    name="IF_curr_delta",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "i_offset", "v_reset", "v_thresh"),
    vars=(Var("v", unit="mV"), Var("r")),
    derived_params=(
        ("p33", lambda p, dt: np.exp(-dt / _f(p["tau_m"]))),
        ("p30", lambda p, dt: -_f(p["tau_m"]) / _f(p["cm"]) * np.expm1(-dt / _f(p["tau_m"]))),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    sim_code="""
        if (r == 0)
            v = v_rest + (p30 * (i_inj + i_offset) + p33 * (v - v_rest) + (in_excitatory + in_inhibitory));
        else
            r -= 1;
    """,
    threshold_code="v >= v_thresh",
    reset_code="r = n_ref; v = v_reset;",
)

_V_EFF_COND = "(r > 0 ? v_reset : fmin(v, v_thresh))"

#: iaf_cond_alpha: V and both alpha conductances (g, dg per receptor) integrated together by RKF45.
IF_COND_ALPHA = NeuronModel(
    name="IF_cond_alpha",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "v_thresh",
            "v_reset", "i_offset"),
    vars=(Var("v", unit="mV"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS"),
          Var("dgsyn_exc", unit="uS/ms"), Var("dgsyn_inh", unit="uS/ms"), Var("r", "int")),
    derived_params=(
        ("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])),
        ("g0_exc", lambda p, dt: np.e / _f(p["tau_syn_E"])),
        ("g0_inh", lambda p, dt: np.e / _f(p["tau_syn_I"])),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    ode=(
        ("v", f"r > 0 ? 0 : (-g_leak * ({_V_EFF_COND} - v_rest) - gsyn_exc * ({_V_EFF_COND} - e_rev_E)"
              f" - gsyn_inh * ({_V_EFF_COND} - e_rev_I) + i_inj + i_offset) / cm"),
        ("dgsyn_exc", "-dgsyn_exc / tau_syn_E"),
        ("gsyn_exc", "dgsyn_exc - gsyn_exc / tau_syn_E"),
        ("dgsyn_inh", "-dgsyn_inh / tau_syn_I"),
        ("gsyn_inh", "dgsyn_inh - gsyn_inh / tau_syn_I"),
    ),
    integrator="rkf45",
    # (no rk4_equivalent: with alpha conductances RK4's error, ~1e-4 mV, moved a spike by a step in a few % of
    # cells driven for 400 ms)
    ode_tolerance={"v": _COND_TOL_V, "gsyn_exc": _COND_TOL_G, "gsyn_inh": _COND_TOL_G, "dgsyn_exc": _COND_TOL_G,
                   "dgsyn_inh": _COND_TOL_G},
    sim_code="""
        const int refractory = r > 0;
        if (refractory) {
            r -= 1;
            v = v_reset;
        }
        dgsyn_exc += in_excitatory * g0_exc;
        dgsyn_inh += in_inhibitory * g0_inh;
    """,
    threshold_code="!refractory && v >= v_thresh",
    reset_code="r = n_ref; v = v_reset;",
)

#: iaf_cond_exp_sfa_rr: iaf_cond_exp plus spike-frequency adaptation (g_s) and relative refractoriness (g_r)
#: conductances (nS, as PyNN states them), both incremented at each spike.  NEST does not clamp V in the
#: right-hand side while refractory; it resets V at the end of each refractory step.
IF_COND_EXP_GSFA_GRR = NeuronModel(
    name="IF_cond_exp_gsfa_grr",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "v_thresh",
            "v_reset", "i_offset", "tau_sfa", "e_rev_sfa", "q_sfa", "tau_rr", "e_rev_rr", "q_rr"),
    vars=(Var("v", unit="mV"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS"), Var("g_s", unit="nS"),
          Var("g_r", unit="nS"), Var("r", "int")),
    derived_params=(
        ("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])),
        ("n_ref", _n_ref),
    ),
    receptors=("excitatory", "inhibitory"),
    ode=(
        ("v", "(-g_leak * (v - v_rest) + i_inj + i_offset - gsyn_exc * (v - e_rev_E) - gsyn_inh * (v - e_rev_I)"
              " - 0.001 * g_s * (v - e_rev_sfa) - 0.001 * g_r * (v - e_rev_rr)) / cm"),
        ("gsyn_exc", "-gsyn_exc / tau_syn_E"),
        ("gsyn_inh", "-gsyn_inh / tau_syn_I"),
        ("g_s", "-g_s / tau_sfa"),
        ("g_r", "-g_r / tau_rr"),
    ),
    integrator="rkf45",
    rk4_equivalent=True,
    rk4_rates=lambda p: 1.0 / np.minimum.reduce([p[tau] for tau in ("tau_syn_E", "tau_syn_I", "tau_sfa", "tau_rr",
                                                                     "tau_m")]),
    ode_tolerance={"v": _COND_TOL_V, "gsyn_exc": _COND_TOL_G, "gsyn_inh": _COND_TOL_G, "g_s": _COND_TOL_V,
                   "g_r": _COND_TOL_V},
    sim_code=_COND_INPUT_AND_REFRACTORY,
    threshold_code=_COND_THRESHOLD,
    reset_code="r = n_ref; v = v_reset; g_s += q_sfa; g_r += q_rr;",
)

#: IF_facets_hardware1 as pyNN.nest runs it: iaf_cond_exp with C_m = 0.2 nF, t_ref = 1 ms, E_ex = 0 mV,
#: I_e = 0 and g_leak in nS.
IF_FACETS_HARDWARE1 = _iaf_cond_exp(
    "IF_facets_hardware1",
    ("g_leak", "tau_syn_E", "tau_syn_I", "v_reset", "e_rev_I", "v_rest", "v_thresh"),
    (("cm", lambda p, dt: 0.2), ("g_l", lambda p, dt: _f(p["g_leak"]) / 1000.0), ("e_rev_E", lambda p, dt: 0.0),
     ("n_ref", lambda p, dt: float(steps_ceil(1.0, dt)))),
    leak="g_l", offset="",
)


def _aeif(name, alpha):
    """aeif_cond_exp / aeif_cond_alpha: RKF45 with NEST's tolerances, its first trial step dt (NEST's initial
    IntegrationStep_); spikes are detected and reset after every internal step (w += b, r = N_ref + 1, then r
    counts down once at the end of the step)."""
    v_eff = "(r > 0 ? v_reset : fmin(v, v_spike))"
    syn = [("dgsyn_exc", "-dgsyn_exc / tau_syn_E"), ("gsyn_exc", "dgsyn_exc - gsyn_exc / tau_syn_E"),
           ("dgsyn_inh", "-dgsyn_inh / tau_syn_I"), ("gsyn_inh", "dgsyn_inh - gsyn_inh / tau_syn_I")] if alpha \
        else [("gsyn_exc", "-gsyn_exc / tau_syn_E"), ("gsyn_inh", "-gsyn_inh / tau_syn_I")]
    syn_vars = [Var("dgsyn_exc", unit="uS/ms"), Var("dgsyn_inh", unit="uS/ms")] if alpha else []
    apply_input = ("dgsyn_exc += in_excitatory * g0_exc;\n        dgsyn_inh += in_inhibitory * g0_inh;" if alpha
                   else "gsyn_exc += in_excitatory;\n        gsyn_inh += in_inhibitory;")
    return NeuronModel(
        name=name,
        params=("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset", "a", "b", "delta_T",
                "tau_w", "v_thresh", "e_rev_E", "tau_syn_E", "e_rev_I", "tau_syn_I"),
        vars=[Var("v", unit="mV"), Var("w", unit="nA"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS")]
        + syn_vars + [Var("r", "int")],
        derived_params=(
            ("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])),
            ("a_us", lambda p, dt: _f(p["a"]) / 1000.0),
            ("v_peak", lambda p, dt: np.where(_f(p["delta_T"]) > 0, _f(p["v_spike"]), _f(p["v_thresh"]))),
            ("r_spike", lambda p, dt: np.where(_n_ref(p, dt) > 0, _n_ref(p, dt) + 1, 0.0)),
            ("g0_exc", lambda p, dt: np.e / _f(p["tau_syn_E"])),
            ("g0_inh", lambda p, dt: np.e / _f(p["tau_syn_I"])),
        ),
        receptors=("excitatory", "inhibitory"),
        ode=[
            ("v", f"r > 0 ? 0 : (-g_leak * ({v_eff} - v_rest)"
                  f" + (delta_T == 0 ? 0 : g_leak * delta_T * exp(({v_eff} - v_thresh) / delta_T))"
                  f" - gsyn_exc * ({v_eff} - e_rev_E) - gsyn_inh * ({v_eff} - e_rev_I) - w + i_offset + i_inj) / cm"),
            ("w", f"(a_us * ({v_eff} - v_rest) - w) / tau_w"),
        ] + syn,
        integrator="rkf45",
        ode_tolerance={"v": _AEIF_TOL_V, "w": _AEIF_TOL_G, **{var: _AEIF_TOL_G for var, _ in syn}},
        ode_eps_rel=1e-6, ode_a_y=0.0, ode_a_dydt=1.0,
        pre_ode_code="int fired = 0;",
        ode_step_code=AEIF_STEP_CODE,
        sim_code=f"""
        if (r > 0)
            r -= 1;
        {apply_input}
        """,
        threshold_code="fired",
        multiple_spikes=True,
        # NEST's bounds (V_m < -1e3 mV, |w| > 1e6 pA): beyond them aeif_cond_* throws NumericalInstability
        instability_condition="v < -1e3 || w < -1e3 || w > 1e3",
    )


EIF_COND_EXP_ISFA_ISTA = _aeif("EIF_cond_exp_isfa_ista", alpha=False)
EIF_COND_ALPHA_ISFA_ISTA = _aeif("EIF_cond_alpha_isfa_ista", alpha=True)

_HH_U = "(v - v_offset)"
_HH_RATES = {
    "alpha_n": f"(0.032 * (15.0 - {_HH_U}) / (exp((15.0 - {_HH_U}) / 5.0) - 1.0))",
    "beta_n": f"(0.5 * exp((10.0 - {_HH_U}) / 40.0))",
    "alpha_m": f"(0.32 * (13.0 - {_HH_U}) / (exp((13.0 - {_HH_U}) / 4.0) - 1.0))",
    "beta_m": f"(0.28 * ({_HH_U} - 40.0) / (exp(({_HH_U} - 40.0) / 5.0) - 1.0))",
    "alpha_h": f"(0.128 * exp((17.0 - {_HH_U}) / 18.0))",
    "beta_h": f"(4.0 / (1.0 + exp((40.0 - {_HH_U}) / 5.0)))",
}

#: hh_cond_exp_traub: Traub-Miles HH with exponential conductances, RKF45 (eps_abs 1e-3).  A spike is detected
#: one step after the peak (V >= V_T + 30 mV and V falling); no reset; NEST's t_ref = 2 ms only blocks detection.
HH_COND_EXP = NeuronModel(
    name="HH_cond_exp",
    params=("gbar_Na", "gbar_K", "g_leak", "cm", "v_offset", "e_rev_Na", "e_rev_K", "e_rev_leak", "e_rev_E",
            "e_rev_I", "tau_syn_E", "tau_syn_I", "i_offset"),
    vars=(Var("v", unit="mV"), Var("m"), Var("h"), Var("n"), Var("gsyn_exc", unit="uS"),
          Var("gsyn_inh", unit="uS"), Var("r", "int")),
    derived_params=(("n_ref", lambda p, dt: float(steps_ceil(2.0, dt))),),
    receptors=("excitatory", "inhibitory"),
    pre_ode_code="const scalar v_old = v;",
    rk4_unstable=True,
    ode=(
        ("v", "(-gbar_Na * m * m * m * h * (v - e_rev_Na) - gbar_K * n * n * n * n * (v - e_rev_K)"
              " - g_leak * (v - e_rev_leak) - gsyn_exc * (v - e_rev_E) - gsyn_inh * (v - e_rev_I)"
              " + i_inj + i_offset) / cm"),
        ("m", "{alpha_m} - ({alpha_m} + {beta_m}) * m".format(**_HH_RATES)),
        ("h", "{alpha_h} - ({alpha_h} + {beta_h}) * h".format(**_HH_RATES)),
        ("n", "{alpha_n} - ({alpha_n} + {beta_n}) * n".format(**_HH_RATES)),
        ("gsyn_exc", "-gsyn_exc / tau_syn_E"),
        ("gsyn_inh", "-gsyn_inh / tau_syn_I"),
    ),
    integrator="rkf45",
    ode_tolerance={"v": _COND_TOL_V, "m": _COND_TOL_V, "h": _COND_TOL_V, "n": _COND_TOL_V,
                   "gsyn_exc": _COND_TOL_G, "gsyn_inh": _COND_TOL_G},
    sim_code="""
        gsyn_exc += in_excitatory;
        gsyn_inh += in_inhibitory;
        int fire = 0;
        if (r > 0)
            r -= 1;
        else
            fire = v >= v_offset + 30.0 && v_old > v;
    """,
    threshold_code="fire",
    reset_code="r = n_ref;",
)

#: izhikevich with consistent_integration = true: one forward-Euler step from the old (v, u); inputs are
#: jumps of v (weights in mV); currents enter as 1000 * (i_offset + injected) in mV/ms, as NEST's pA do.
IZHIKEVICH = NeuronModel(
    name="Izhikevich",
    params=("a", "b", "c", "d", "i_offset"),
    vars=(Var("v", unit="mV"), Var("u", unit="mV/ms")),
    receptors=("excitatory", "inhibitory"),
    sim_code="""
        const scalar v_old = v;
        const scalar u_old = u;
        v = v_old + (dt * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + 1000.0 * i_inj
                           + 1000.0 * i_offset) + (in_excitatory + in_inhibitory));
        u = u_old + dt * a * (b * v_old - u_old);
    """,
    threshold_code="v >= 30.0",
    reset_code="v = c; u = u + d;",
)


def _start_step(p, dt):
    """A spike source is active in the steps start_step <= step < stop_step (NEST's generators' window)."""
    return np.rint(np.asarray(p["start"], float) / dt)


def _stop_step(p, dt):
    return np.rint((np.asarray(p["start"], float) + np.asarray(p["duration"], float)) / dt)


#: The largest mean number of spikes per step a SpikeSourcePoisson may have (rate * dt): the count of a step
#: is a byte (at most 255), which a Poisson count of this mean exceeds with probability below 1e-15.
POISSON_MAX_MEAN_COUNT = 150.0
#: Means above this are drawn as the sum of several Poisson counts, each inverted from its own uniform deviate
#: (a single inversion starts from exp(-mean), which single precision cannot hold beyond a mean of ~87).
_POISSON_PART_MEAN = 30.0


def _poisson_mean(p, dt):
    return np.asarray(p["rate"], float) * dt / 1000.0


def _poisson_parts(p, dt):
    return np.maximum(1.0, np.ceil(_poisson_mean(p, dt) / _POISSON_PART_MEAN))


#: Below this mean number of spikes per step a SpikeSourcePoisson draws where its next spike falls instead of a
#: count every step (most steps are then empty, and a draw costs far more than a comparison).
POISSON_SPARSE_MEAN = 0.15
#: Gaps drawn longer than this many steps are not kept: the source draws again when it reaches them.
_POISSON_LONGEST_GAP = 1.0e8


def _draw_next(log_stay: str, first: str) -> str:
    """C: ``next_step`` <- the step of the next event, counting from step ``first``, where each step has one with
    the same probability and ``log_stay`` is the log of the probability that it has none: a geometric number of
    steps first.  ``armed`` is 0 when that is farther than _POISSON_LONGEST_GAP steps (the source draws again
    there).  The process has no memory: a source may draw again at any step, e.g. after a parameter change."""
    return (f"{{ const scalar gap = floor(log(1.0 - uniform()) / ({log_stay})); "
            f"armed = gap < {_POISSON_LONGEST_GAP!r}; "
            f"next_step = {first} + (armed ? (int)gap : (int){_POISSON_LONGEST_GAP!r}); }}")


#: C: whether the source is due to draw the step of its next event (none drawn, a past one, or one not kept)
_NOT_DRAWN = "next_step < step || (next_step == step && armed == 0)"
#: State written when a source's parameters change: it draws the step of its next event again
REDRAW = {"next_step": 0, "armed": 0}
#: The same for a SpikeSourcePoisson, whose queue of counts drawn ahead is emptied too
POISSON_REDRAW = {**REDRAW, "n_queued": 0}


def _poisson_p_one(p, dt):
    """The probability that a step with spikes has one: mean / (exp(mean) - 1) (1 for a vanishing mean)."""
    mean = _poisson_mean(p, dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 1e-12, mean / np.expm1(np.maximum(mean, 1e-300)), 1.0)


def _part_mean(p, dt):
    """The mean count of one of the parts a step's count is drawn in."""
    return _poisson_mean(p, dt) / _poisson_parts(p, dt)


def _part_term(k: int):
    """Derived parameter: the probability that one part's count is ``k``, computed on the host in double
    precision."""
    return lambda p, dt: np.exp(-_part_mean(p, dt)) * _part_mean(p, dt) ** k / math.factorial(k)


def _part_cdf(k: int):
    """Derived parameter: the probability that one part's count is at most ``k``."""
    return lambda p, dt: sum(_part_term(j)(p, dt) for j in range(k + 1))


#: Poisson spike source (NEST's poisson_generator through a parrot): each step emits a Poisson-distributed
#: number of spikes with mean rate * dt; the count acts as a multiplicity (each spike delivers the weight once) and
#: is recorded as that many spikes.
#:
#: - At a mean below POISSON_SPARSE_MEAN per step the source draws the step of its next spike: the number of
#:   empty steps before it is geometric, floor(-log(1 - u) / mean), and that step's count a Poisson count of at
#:   least one (drawn by inversion from mean / (exp(mean) - 1)).  The counts of successive steps are then the same
#:   independent Poisson counts, with two draws per step that has spikes instead of one every step.  A gap is
#:   drawn anew from the first step of the source's window, and after any change of its parameters (the process
#:   has no memory, so a new draw is as good as the old one).
#: - At higher means, a count every step, drawn by inversion from one uniform deviate (or the sum of a few such
#:   counts for means above 30).  Up to a mean of 30 a source draws four steps' counts at once, from the four
#:   words of one Philox block, and queues the next three (a byte each in ``queued``): the same independent
#:   Poisson counts for a quarter of the Philox evaluations.  The inversion compares the deviate with the first
#:   four terms' cumulative probabilities (computed on the host) without branching on it: a loop that exits
#:   where the count falls mispredicts a branch per count on a CPU, which cost more than the rest of the draw.
#:   A parameter change empties the queue.
SPIKE_SOURCE_POISSON = NeuronModel(
    name="SpikeSourcePoisson",
    params=("rate", "start", "duration"),
    vars=(Var("next_step", "int"), Var("armed", "int"), Var("queued", "int"), Var("n_queued", "int")),
    derived_params=(
        ("mean", _poisson_mean),
        ("sparse", lambda p, dt: (_poisson_mean(p, dt) < POISSON_SPARSE_MEAN).astype(float)),
        ("p_one", _poisson_p_one),
        ("parts", _poisson_parts),
        ("part_mean", _part_mean),
        ("p_zero", _part_term(0)),
        ("cdf_1", _part_cdf(1)),
        ("cdf_2", _part_cdf(2)),
        ("cdf_3", _part_cdf(3)),
        ("p_three", _part_term(3)),
        ("start_step", _start_step),
        ("stop_step", _stop_step),
    ),
    sim_code=f"""
        int fire = 0;
        if (step >= start_step && step < stop_step && mean > 0.0) {{
            if (sparse != 0.0) {{
                if ({_NOT_DRAWN})     /* where the next spike falls, from this step on */
                    {_draw_next("-mean", "step")}
                if (next_step == step && armed) {{
                    const scalar u = uniform();      /* the count: at least one */
                    scalar p = p_one;
                    scalar cumulative = p_one;
                    fire = 1;
                    while (u >= cumulative && fire < 255 && p > 0.0) {{
                        fire += 1;
                        p *= mean / fire;
                        cumulative += p;
                    }}
                    {_draw_next("-mean", "step + 1")}
                }}
            }} else if (parts == 1.0 && n_queued > 0) {{     /* a count drawn with an earlier step's */
                fire = queued & 255;
                queued >>= 8;
                n_queued -= 1;
            }} else {{
                /* one part: this step's count and the next three steps' (queued); more: this step's parts */
                const int draws = parts == 1.0 ? 4 : (int)parts;
                queued = 0;
                for (int d = 0; d < draws; d++) {{
                    const scalar u = uniform();      /* up to 4 with no branch on u: predictable */
                    int k = (u >= p_zero) + (u >= cdf_1) + (u >= cdf_2) + (u >= cdf_3);
                    if (k == 4) {{
                        scalar p = p_three * part_mean / 4;
                        scalar cumulative = cdf_3 + p;
                        while (u >= cumulative && k < 255 && p > 0.0) {{
                            k += 1;
                            p *= part_mean / k;
                            cumulative += p;
                        }}
                    }}
                    if (parts != 1.0 || d == 0)
                        fire += k;
                    else
                        queued |= k << (8 * (d - 1));
                }}
                n_queued = parts == 1.0 ? 3 : 0;
                fire = min(fire, 255);
            }}
        }}
    """,
    threshold_code="fire",
    spike_source=True,
    multiple_spikes=True,
)

#: Spike source replaying given times: ``spike_steps`` holds the step in which each spike is emitted.  Times
#: that fall in one step (repeated, or closer than dt) are that many spikes, as NEST's spike_generator sends them.
SPIKE_SOURCE_ARRAY = NeuronModel(
    name="SpikeSourceArray",
    vars=(Var("next_spike", "int"),),
    extra_globals=(ExtraGlobal("spike_steps", "int"),),
    sim_code="""
        int fire = 0;
        while (next_spike < spike_steps_len && spike_steps[next_spike] <= step) {
            if (spike_steps[next_spike] == step)
                fire += 1;
            next_spike += 1;
        }
    """,
    threshold_code="fire",
    spike_source=True,
    multiple_spikes=True,
)

#: A delay line: each cell fires the spikes that reach it (weight 1 each) in the step they arrive.  Between a
#: population and a learning rule with axonal delays it delays the spikes themselves, so that the rule's code runs
#: at their arrival.
DELAY_LINE = NeuronModel(
    name="DelayLine",
    receptors=("spikes",),
    threshold_code="in_spikes",
    multiple_spikes=True,
)

@functools.lru_cache(maxsize=None)
def gif_cond_exp(n_eta: int, n_gamma: int) -> NeuronModel:
    """gif_cond_exp with ``n_eta`` spike-triggered current and ``n_gamma`` threshold components (NEST's stc and
    sfa elements, parameters ``tau_eta_<k>``/``a_eta_<k>`` and ``tau_gamma_<k>``/``a_gamma_<k>``).

    Step k, as NEST: i_eta and v_t are the element sums at the start of the step, then the elements decay;
    RKF45 (eps_abs 1e-3 in mV and nS) integrates V and the conductances with i_eta fixed (V frozen while
    refractory); inputs are added; if not refractory a spike is drawn with probability
    1 - exp(-lambda0 exp((V - v_t) / delta_v) dt) and adds a_eta, a_gamma to the elements (V is not reset in
    the spike step); refractory steps count down and set V to v_reset.
    """
    eta = [f"eta_{k}" for k in range(n_eta)]
    gamma = [f"gamma_{k}" for k in range(n_gamma)]
    derived = [("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])),
               ("lambda0_ms", lambda p, dt: _f(p["lambda0"]) / 1000.0), ("n_ref", _n_ref)]
    for k in range(n_eta):
        derived.append((f"p_eta_{k}", lambda p, dt, k=k: np.exp(-dt / _f(p[f"tau_eta_{k}"]))))
    for k in range(n_gamma):
        derived.append((f"p_gamma_{k}", lambda p, dt, k=k: np.exp(-dt / _f(p[f"tau_gamma_{k}"]))))
    pre = ["i_eta = 0;"] + [f"i_eta += {e}; {e} = p_{e} * {e};" for e in eta] \
        + ["v_t = v_t_star;"] + [f"v_t += {g}; {g} = p_{g} * {g};" for g in gamma]
    reset = ["r = n_ref;"] + [f"{e} += a_{e};" for e in eta] + [f"{g} += a_{g};" for g in gamma]
    return NeuronModel(
        name=f"GIF_cond_exp_{n_eta}_{n_gamma}",
        params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I", "v_reset",
                "i_offset", "delta_v", "v_t_star", "lambda0")
        + tuple(f"{x}_{k}" for x in ("tau_eta", "a_eta") for k in range(n_eta))
        + tuple(f"{x}_{k}" for x in ("tau_gamma", "a_gamma") for k in range(n_gamma)),
        vars=[Var("v", unit="mV"), Var("gsyn_exc", unit="uS"), Var("gsyn_inh", unit="uS"), Var("i_eta", unit="nA"),
              Var("v_t", unit="mV")] + [Var(e, unit="nA") for e in eta] + [Var(g, unit="mV") for g in gamma]
        + [Var("r", "int")],
        derived_params=derived,
        receptors=("excitatory", "inhibitory"),
        pre_ode_code="\n".join(pre),
        ode=(
            ("v", "r > 0 ? 0 : (-g_leak * (v - v_rest) + i_inj + i_offset - gsyn_exc * (v - e_rev_E)"
                  " - gsyn_inh * (v - e_rev_I) - i_eta) / cm"),
            ("gsyn_exc", "-gsyn_exc / tau_syn_E"),
            ("gsyn_inh", "-gsyn_inh / tau_syn_I"),
        ),
        integrator="rkf45",
        ode_tolerance={"v": _COND_TOL_V, "gsyn_exc": _COND_TOL_G, "gsyn_inh": _COND_TOL_G},
        sim_code="""
            gsyn_exc += in_excitatory;
            gsyn_inh += in_inhibitory;
            int fire = 0;
            if (r == 0) {
                const scalar hazard = lambda0_ms * exp((v - v_t) / delta_v);
                if (hazard > 0)
                    fire = uniform() < -expm1(-hazard * dt);
            } else {
                r -= 1;
                v = v_reset;
            }
        """,
        threshold_code="fire",
        reset_code=" ".join(reset),
    )


def _ppd_hazard(p, dt):
    return np.where(_f(p["rate"]) > 0, ms_per_step(dt) / np.maximum(
        1000.0 / np.maximum(_f(p["rate"]), 1e-300) - _f(p["tau_refrac"]), 1e-300), 0.0)


#: NEST's ppd_sup_generator with one process, step by step: while active, a spike in each step with probability
#: ``hazard = h / (1000 / rate - tau_refrac)``; after a spike the process is dead for ``floor(tau_refrac / h)``
#: steps (NEST's number of age bins, h the resolution in whole tics).  So an interval is that many steps plus a
#: geometric number (>= 1) of steps of mean 1000 / rate - tau_refrac, at most one spike per step, and the process
#: starts active (no dead time before its first spike).  Outside [start, start + duration), or at rate 0, it
#: stands still; a changed rate applies from the next step.
SPIKE_SOURCE_POISSON_REFRACTORY = NeuronModel(
    name="SpikeSourcePoissonRefractory",
    params=("rate", "tau_refrac", "start", "duration"),
    vars=(Var("dead", "int"), Var("next_step", "int"), Var("armed", "int")),
    derived_params=(
        ("hazard", _ppd_hazard),
        ("log_stay", lambda p, dt: np.log1p(-np.minimum(_ppd_hazard(p, dt), 1.0))),
        ("dead_steps", lambda p, dt: np.floor(_f(p["tau_refrac"]) / ms_per_step(dt))),
        ("start_step", _start_step),
        ("stop_step", _stop_step),
    ),
    # the step of the next spike is drawn (geometric) rather than a draw made every live step
    sim_code=f"""
        int fire = 0;
        if (rate > 0 && step >= start_step && step < stop_step) {{
            if (dead > 0) {{
                dead -= 1;
            }} else {{
                if ({_NOT_DRAWN})
                    {_draw_next("log_stay", "step")}
                if (next_step == step && armed) {{
                    fire = 1;
                    dead = (int)dead_steps;
                    armed = 0;       /* the next one is drawn when the dead time is over */
                }}
            }}
        }}
    """,
    threshold_code="fire",
    spike_source=True,
)

#: NEST's gamma_sup_generator with one process, step by step: a gamma process of integer shape alpha as a cycle
#: of alpha states; while active, each step moves to the next state with probability ``beta * h / 1000`` (rate
#: times shape), and the move out of the last state is a spike.  So an interval is the sum of alpha geometric
#: numbers of steps, of mean alpha / beta s, at most one spike per step.  ``moves_to_go`` counts the states left
#: before the last; it starts at 0 (in the last state, one move from the first spike), as NEST's process does.
#: Outside [start, start + duration), or at beta 0, it stands still.
SPIKE_SOURCE_GAMMA = NeuronModel(
    name="SpikeSourceGamma",
    params=("alpha", "beta", "start", "duration"),
    vars=(Var("moves_to_go", "int"), Var("next_step", "int"), Var("armed", "int")),
    derived_params=(
        # the log of the probability that a step has no move (beta * h / 1000 is that of a move)
        ("log_stay", lambda p, dt: np.log1p(-np.minimum(_f(p["beta"]) * ms_per_step(dt) / 1000.0, 1.0))),
        ("start_step", _start_step),
        ("stop_step", _stop_step),
    ),
    # the step of the next move is drawn (geometric) rather than a draw made every step
    sim_code=f"""
        int fire = 0;
        if (beta > 0 && step >= start_step && step < stop_step) {{
            if ({_NOT_DRAWN})
                {_draw_next("log_stay", "step")}
            if (next_step == step && armed) {{
                if (moves_to_go > 0) {{
                    moves_to_go -= 1;
                }} else {{
                    fire = 1;
                    moves_to_go = (int)alpha - 1;
                }}
                {_draw_next("log_stay", "step + 1")}
            }}
        }}
    """,
    threshold_code="fire",
    spike_source=True,
)
