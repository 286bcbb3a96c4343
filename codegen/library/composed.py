"""Composed point neurons (PyNN's ``PointNeuron``): a neuron component with any number of labelled receptors.

:func:`point_neuron` builds the codegen :class:`~pynn_gpu.codegen.models.NeuronModel` of a composition from its
components, step for step as the NEST model pyNN.nest runs it (reference/numerics.md):

===============================  ==============================  ===============================================
composition                      NEST model                      scheme
===============================  ==============================  ===============================================
LIF + CurrExp receptors          iaf_psc_exp_multisynapse        exact propagators
LIF + CondExp receptors          iaf_cond_exp (n receptors)      RKF45, eps_abs 1e-3 (mV, nS)
LIF + CondAlpha receptors        iaf_cond_alpha (n receptors)    RKF45, eps_abs 1e-3 (mV, nS)
LIF + CondBeta receptors         iaf_cond_beta (n receptors)     RKF45, eps_abs 1e-3 (mV, nS)
AdExp + CondAlpha receptors      aeif_cond_alpha_multisynapse    RKF45, eps_abs = eps_rel = 1e-6 on (y, h y'),
AdExp + CondBeta receptors       aeif_cond_beta_multisynapse     spike test and reset after every internal step
AdExp + CondExp receptors        aeif_cond_exp (n receptors)     as aeif_cond_*_multisynapse
AdExp + CurrExp receptors        aeif_psc_exp (n receptors)      as aeif_cond_*_multisynapse
===============================  ==============================  ===============================================

pyNN.nest itself maps only LIF + CurrExp, AdExp + CondAlpha and AdExp + CondBeta (it has no multisynapse model for
the others); the rest follow NEST's single- or two-receptor model of the same dynamics, generalised to n receptors
exactly as the multisynapse models generalise theirs.  Receptor kinds cannot be mixed in one cell (PyNN's rule).

Receptor ``AMPA`` of kind ``CondAlpha`` contributes parameters ``AMPA_e_syn``, ``AMPA_tau_syn``, state variables
``AMPA_gsyn`` (uS) and ``AMPA_dgsyn`` (uS/ms), and reads its input as ``in_AMPA``.  Labels that are not valid
names are turned into ones (:func:`receptor_identifiers`).  The same composition always gives the same model (and
digest), so populations with the same composition share one kernel branch.
"""
from __future__ import annotations

import functools
import keyword
import re

import numpy as np

from ..errors import ModelError
from ..models import NeuronModel, Var
from .neurons import _AEIF_TOL_G, _AEIF_TOL_V, _COND_TOL_G, _COND_TOL_V, AEIF_STEP_CODE, _f, _n_ref, _p21

NEURONS = ("LIF", "AdExp")

#: receptor kind -> (its parameters, its current-carrying state variable, conductance-based)
RECEPTORS = {
    "CurrExp": (("tau_syn",), "isyn", False),
    "CondExp": (("e_syn", "tau_syn"), "gsyn", True),
    "CondAlpha": (("e_syn", "tau_syn"), "gsyn", True),
    "CondBeta": (("e_syn", "tau_rise", "tau_decay"), "gsyn", True),
}

#: parameters of the neuron components (PyNN's names and units)
NEURON_PARAMS = {
    "LIF": ("cm", "tau_refrac", "v_reset", "v_rest", "tau_m", "i_offset", "v_thresh"),
    "AdExp": ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset", "a", "b", "delta_T",
              "tau_w", "v_thresh"),
}


def receptor_identifiers(labels) -> dict:
    """``{label: identifier}``: each receptor label as a name usable in model code (characters other than letters,
    digits and '_' become '_'; a leading digit, a Python keyword or the reserved 'pg_' prefix get an 'r' in front),
    made unique by a numeric suffix.  A label that already is such a name is kept as it is."""
    out, used = {}, set()
    for label in labels:
        name = re.sub(r"\W", "_", str(label), flags=re.ASCII) or "r"
        if name[0].isdigit() or keyword.iskeyword(name) or name.startswith("pg_"):
            name = "r" + name
        base, k = name, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[label] = name
    return out


def beta_normalization(tau_rise, tau_decay):
    """NEST's beta_normalization_factor: the factor that makes a unit input peak at 1 (e / tau_decay when the two
    time constants are too close for the beta form)."""
    tr, td = np.broadcast_arrays(_f(tau_rise), _f(tau_decay))
    eps = np.finfo(float).eps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        diff = td - tr
        t_peak = td * tr * np.log(td / tr) / diff
        peak = np.where(np.abs(diff) > eps, np.exp(-t_peak / td) - np.exp(-t_peak / tr), 0.0)
        return np.where(np.abs(peak) < eps, np.e / td, (1.0 / tr - 1.0 / td) / np.where(peak == 0, 1.0, peak))


def _all_receptor_parts(neuron: str, receptors) -> tuple:
    """(vars, ode, tolerances, derived params, input code lines) of all ``receptors`` ((name, kind) pairs)."""
    vars_, ode, tol, derived, inputs = [], [], {}, [], []
    for r, kind in receptors:
        v, o, t, d, i = _receptor_parts(neuron, r, kind)
        vars_ += v
        ode += o
        tol.update(t)
        derived += d
        inputs.append(i)
    return vars_, ode, tol, derived, inputs


def _receptor_parts(neuron: str, r: str, kind: str):
    """(vars, ode, tolerances, derived params, input code) of receptor ``r`` in an RKF45 model."""
    aeif = neuron == "AdExp"
    tol = _AEIF_TOL_G if aeif else _COND_TOL_G
    if kind == "CurrExp":
        return ([Var(f"{r}_isyn", unit="nA")], [(f"{r}_isyn", f"-{r}_isyn / {r}_tau_syn")], {f"{r}_isyn": tol}, [],
                f"{r}_isyn += in_{r};")
    g, dg = f"{r}_gsyn", f"{r}_dgsyn"
    if kind == "CondExp":
        return [Var(g, unit="uS")], [(g, f"-{g} / {r}_tau_syn")], {g: tol}, [], f"{g} += in_{r};"
    if kind == "CondAlpha":
        derived = [(f"{r}_g0", lambda p, dt, r=r: np.e / _f(p[f"{r}_tau_syn"]))]
        ode = [(dg, f"-{dg} / {r}_tau_syn"), (g, f"{dg} - {g} / {r}_tau_syn")]
    else:   # CondBeta: aeif_cond_beta_multisynapse decays dg with tau_rise, iaf_cond_beta with tau_decay
        derived = [(f"{r}_g0", lambda p, dt, r=r: beta_normalization(p[f"{r}_tau_rise"], p[f"{r}_tau_decay"]))]
        first, second = ("tau_rise", "tau_decay") if aeif else ("tau_decay", "tau_rise")
        ode = [(dg, f"-{dg} / {r}_{first}"), (g, f"{dg} - {g} / {r}_{second}")]
    return ([Var(g, unit="uS"), Var(dg, unit="uS/ms")], ode, {g: tol, dg: tol}, derived,
            f"{dg} += in_{r} * {r}_g0;")


def _lif_exact(name, params, receptors) -> NeuronModel:
    """iaf_psc_exp_multisynapse: V (relative to v_rest) and each current by its exact propagator."""
    derived = [("p22", lambda p, dt: np.exp(-dt / _f(p["tau_m"]))),
               ("p20", lambda p, dt: _f(p["tau_m"]) / _f(p["cm"]) * (1.0 - np.exp(-dt / _f(p["tau_m"])))),
               ("n_ref", _n_ref)]
    vars_ = [Var("v", unit="mV")]
    update_v, update_i = [], []
    for r, _ in receptors:
        vars_.append(Var(f"{r}_isyn", unit="nA"))
        derived += [(f"{r}_p11", lambda p, dt, r=r: np.exp(-dt / _f(p[f"{r}_tau_syn"]))),
                    (f"{r}_p21", lambda p, dt, r=r: _p21(p[f"{r}_tau_syn"], p, dt))]
        update_v.append(f"v_rel += {r}_p21 * {r}_isyn;")
        update_i.append(f"{r}_isyn = {r}_p11 * {r}_isyn + in_{r};")
    vars_.append(Var("r"))     # a scalar count, as IF_curr_exp's (neurons.py): 20,000 cells 2.4 -> 0.8 ns a step
    nl, nl2 = "\n            ", "\n        "
    return NeuronModel(
        name=name, params=params, vars=vars_, derived_params=derived, receptors=tuple(r for r, _ in receptors),
        sim_code=f"""
        if (r == 0) {{
            scalar v_rel = (v - v_rest) * p22 + (i_offset + i_inj) * p20;
            {nl.join(update_v)}
            v = v_rest + v_rel;
        }} else {{
            r -= 1;
        }}
        {nl2.join(update_i)}
        """,
        threshold_code="v >= v_thresh",
        reset_code="r = n_ref; v = v_reset;",
    )


def _lif_cond(name, params, receptors) -> NeuronModel:
    """iaf_cond_exp/alpha/beta with n receptors: V and the conductances by RKF45 (eps_abs 1e-3 in mV and nS); V
    frozen while refractory, bounded by v_thresh in the right-hand side; inputs added after the step."""
    v_eff = "(r > 0 ? v_reset : fmin(v, v_thresh))"
    vars_, ode, tol, derived, inputs = _all_receptor_parts("LIF", receptors)
    vars_, tol = [Var("v", unit="mV")] + vars_, {"v": _COND_TOL_V, **tol}
    syn = [f" - {r}_gsyn * ({v_eff} - {r}_e_syn)" for r, _ in receptors]
    derived += [("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])), ("n_ref", _n_ref)]
    vars_.append(Var("r", "int"))
    return NeuronModel(
        name=name, params=params, vars=vars_, derived_params=derived, receptors=tuple(r for r, _ in receptors),
        ode=[("v", f"r > 0 ? 0 : (-g_leak * ({v_eff} - v_rest){''.join(syn)} + i_inj + i_offset) / cm")] + ode,
        integrator="rkf45", ode_tolerance=tol,
        sim_code="""
        {inputs}
        const int refractory = r > 0;
        if (refractory) {{
            r -= 1;
            v = v_reset;
        }}
        """.format(inputs="\n        ".join(inputs)),
        threshold_code="!refractory && v >= v_thresh",
        reset_code="r = n_ref; v = v_reset;",
    )


def _adexp(name, params, receptors) -> NeuronModel:
    """aeif_cond_alpha/beta_multisynapse (and aeif_cond_exp / aeif_psc_exp with n receptors): RKF45 with
    gsl_error_tol 1e-6 on (y, h y'), first trial step min(0.01, dt); spikes detected and reset after every
    internal step (w += b, r = N_ref + 1, counted down once at the end of the step); inputs added after the step."""
    v_eff = "(r > 0 ? v_reset : fmin(v, v_spike))"
    vars_, ode, tol, derived, inputs = _all_receptor_parts("AdExp", receptors)
    vars_, tol = [Var("v", unit="mV"), Var("w", unit="nA")] + vars_, {"v": _AEIF_TOL_V, "w": _AEIF_TOL_G, **tol}
    syn = [f" + {r}_gsyn * ({r}_e_syn - {v_eff})" if RECEPTORS[kind][2] else f" + {r}_isyn" for r, kind in receptors]
    derived += [
        ("g_leak", lambda p, dt: _f(p["cm"]) / _f(p["tau_m"])),
        ("a_us", lambda p, dt: _f(p["a"]) / 1000.0),
        ("v_peak", lambda p, dt: np.where(_f(p["delta_T"]) > 0, _f(p["v_spike"]), _f(p["v_thresh"]))),
        ("r_spike", lambda p, dt: np.where(_n_ref(p, dt) > 0, _n_ref(p, dt) + 1, 0.0)),
    ]
    vars_.append(Var("r", "int"))
    return NeuronModel(
        name=name, params=params, vars=vars_, derived_params=derived, receptors=tuple(r for r, _ in receptors),
        ode=[("v", f"r > 0 ? 0 : (-g_leak * ({v_eff} - v_rest)"
                   f" + (delta_T == 0 ? 0 : g_leak * delta_T * exp(({v_eff} - v_thresh) / delta_T))"
                   f"{''.join(syn)} - w + i_offset + i_inj) / cm"),
             ("w", f"(a_us * ({v_eff} - v_rest) - w) / tau_w")] + ode,
        integrator="rkf45", ode_tolerance=tol, ode_eps_rel=1e-6, ode_a_y=0.0, ode_a_dydt=1.0,
        pre_ode_code="int fired = 0;",
        ode_step_code=AEIF_STEP_CODE,
        sim_code="""
        if (r > 0)
            r -= 1;
        {inputs}
        """.format(inputs="\n        ".join(inputs)),
        threshold_code="fired",
        multiple_spikes=True,
    )


def point_neuron(neuron: str, receptors=()) -> NeuronModel:
    """The codegen model of neuron component ``neuron`` ('LIF' or 'AdExp') with ``receptors``, a sequence of
    ``(identifier, kind)`` pairs in receptor order (kinds: 'CurrExp', 'CondExp', 'CondAlpha', 'CondBeta';
    identifiers from :func:`receptor_identifiers`).  Cached: the same composition gives the same model object."""
    return _point_neuron(str(neuron), tuple((str(r), str(k)) for r, k in receptors))


@functools.lru_cache(maxsize=None)
def _point_neuron(neuron: str, receptors: tuple) -> NeuronModel:
    if neuron not in NEURONS:
        raise ModelError(f"PointNeuron: neuron component '{neuron}' is not supported; supported: {NEURONS}")
    for r, kind in receptors:
        if kind not in RECEPTORS:
            raise ModelError(f"PointNeuron: receptor '{r}' has kind '{kind}'; supported: {tuple(RECEPTORS)}")
    if len({RECEPTORS[k][2] for _, k in receptors}) > 1:
        raise ModelError("PointNeuron: cannot mix conductance-based and current-based receptors in one cell "
                         f"(got {', '.join(f'{r}={k}' for r, k in receptors)})")
    if len({r for r, _ in receptors}) != len(receptors):
        raise ModelError(f"PointNeuron: receptor names must be unique (got {[r for r, _ in receptors]})")
    name = "PointNeuron_" + neuron + "".join(f"__{r}_{k}" for r, k in receptors)
    params = NEURON_PARAMS[neuron] + tuple(f"{r}_{p}" for r, k in receptors for p in RECEPTORS[k][0])
    if neuron == "AdExp":
        return _adexp(name, params, receptors)
    if all(not RECEPTORS[k][2] for _, k in receptors):
        return _lif_exact(name, params, receptors)
    return _lif_cond(name, params, receptors)


__all__ = ["NEURONS", "RECEPTORS", "NEURON_PARAMS", "receptor_identifiers", "beta_normalization", "point_neuron"]
