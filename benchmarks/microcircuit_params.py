"""Parameters of the Potjans-Diesmann (2014) cortical microcircuit, as in NEST's ``pynest/examples/Potjans_2014``.

Values from nest-simulator's ``network_params.py``, ``stimulus_params.py`` and ``helpers.py`` of that example;
``derive()`` applies the scaling rules (N_scaling for cell counts, K_scaling for in-degrees, weights divided by
sqrt(K_scaling), DC compensation for the lost input) and returns plain numbers in PyNN units (nA, ms, mV, nF).
"""
from __future__ import annotations

import numpy as np

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# rows: targets, columns: sources (population order above)
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
# mean rates of the full-scale model (NEST's reference; used to compensate down-scaled in-degrees)
FULL_MEAN_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
BG_RATE = 8.0                 # Hz per external synapse
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])  # "optimized" V0
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
NEURON = {"cm": 0.25, "tau_m": 10.0, "tau_syn_E": 0.5, "tau_syn_I": 0.5, "tau_refrac": 2.0,
          "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0}   # iaf_psc_exp as IF_curr_exp (nF, ms, mV)
PSP_EXC = 0.15                # mV
G = -4.0                      # inhibitory / excitatory weight
WEIGHT_REL_SD = 0.1
DELAY_MEAN = {"E": 1.5, "I": 0.75}   # ms, by source type
DELAY_REL_SD = 0.5
DELAY_EXT = 1.5               # ms, Poisson drive
L4E_TO_L23E_FACTOR = 2.0
DT = 0.1
SEED = 55


def psp_to_psc(cm_pf: float, tau_m: float, tau_syn: float) -> float:
    """pA per mV of PSP peak for an exponential current into a LIF membrane (NEST helpers)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / cm_pf * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def num_synapses(conn_probs, n_post, n_pre):
    """K_ij = ln(1 - p_ij) / ln((N_i N_j - 1) / (N_i N_j)): total synapses from j to i (fixed_total_number)."""
    prod = np.outer(n_post, n_pre).astype(float)
    return np.log(1.0 - conn_probs) / np.log((prod - 1.0) / prod)


def derive(scale: float = 0.1, k_scale: float | None = None, drive: str = "poisson") -> dict:
    """Cell counts, synapse counts, weights (nA), delays and drive of the model scaled by ``scale``
    (N_scaling) and ``k_scale`` (K_scaling, default = ``scale``); ``drive`` is 'poisson' or 'dc'."""
    k_scale = scale if k_scale is None else k_scale
    if drive not in ("poisson", "dc"):
        raise ValueError(f"drive must be 'poisson' or 'dc', not {drive!r}")
    n = np.round(FULL_NUM_NEURONS * scale).astype(int)
    full_k = num_synapses(CONN_PROBS, FULL_NUM_NEURONS, FULL_NUM_NEURONS)
    k_total = np.round(full_k * scale * k_scale).astype(int)
    ext_indegree = np.round(K_EXT * k_scale).astype(int)
    tau_syn = NEURON["tau_syn_E"]
    psc_per_mv = psp_to_psc(NEURON["cm"] * 1000.0, NEURON["tau_m"], tau_syn)    # pA/mV
    w_exc = PSP_EXC * psc_per_mv                                                  # pA, full scale
    w = np.tile([w_exc, G * w_exc] * 4, (8, 1))                                    # by source type
    w[0, 2] *= L4E_TO_L23E_FACTOR
    w_ext = w_exc
    # the compensating DC (pA): recurrent and (with Poisson drive) external input lost by down-scaling K
    indegree_full = full_k / FULL_NUM_NEURONS[:, None]
    input_rec = np.sum(w * indegree_full * FULL_MEAN_RATES, axis=1)
    dc = 0.001 * tau_syn * (1.0 - np.sqrt(k_scale)) * input_rec
    if drive == "poisson":
        dc = dc + 0.001 * tau_syn * (1.0 - np.sqrt(k_scale)) * w_ext * K_EXT * BG_RATE
    else:
        dc = dc + BG_RATE * K_EXT * w_ext * tau_syn * 0.001
    return {
        "scale": scale, "k_scale": k_scale, "drive": drive, "populations": POPULATIONS,
        "n": n.tolist(), "n_total": int(n.sum()), "k_total": k_total.tolist(), "synapses": int(k_total.sum()),
        "weights_nA": (w / np.sqrt(k_scale) / 1000.0).tolist(), "w_ext_nA": w_ext / np.sqrt(k_scale) / 1000.0,
        "weight_rel_sd": WEIGHT_REL_SD, "delay_mean_ms": DELAY_MEAN, "delay_rel_sd": DELAY_REL_SD,
        "delay_ext_ms": DELAY_EXT, "ext_rate_hz": (BG_RATE * ext_indegree).tolist() if drive == "poisson" else None,
        "dc_nA": (dc / 1000.0).tolist(), "v0_mean": V0_MEAN.tolist(), "v0_sd": V0_SD.tolist(),
        "neuron": dict(NEURON), "psc_per_mV_pA": psc_per_mv, "published_rates_hz": FULL_MEAN_RATES.tolist(),
    }
