"""NEST's aeif_cond_exp (EIF_cond_exp_isfa_ista) transcribed in NumPy with GSL's rkf45 stepper, standard step
control and evolve loop, against pyNN.nest on a DC-driven cell.

    python experiments/aeif_gsl_port.py [--current 30] [--tau-refrac 0.0] [--t 200]

It shows what the README says of ``tau_refrac=0``: the transcription, like pyNN.gpu, agrees with NEST to rounding
with a refractory period and drifts from it without one, spike step by spike step, while the spike counts stay
equal.  ``--reuse-derivative`` and ``--keep-final-step`` try the two ways later GSL versions differ from the one
NEST's wheel links (1.16): the derivative at the end of the previous step reused as the first stage, and no new
step size proposed after the step cut to reach the end of the interval.  Both agree with NEST less well.
"""
from __future__ import annotations

import argparse

import numpy as np

# Fehlberg 4(5) as GSL's rkf45.c: stage nodes' coefficients, the 5th-order weights and the error weights
B = [[], [1 / 4], [3 / 32, 9 / 32], [1932 / 2197, -7200 / 2197, 7296 / 2197],
     [8341 / 4104, -32832 / 4104, 29440 / 4104, -845 / 4104],
     [-6080 / 20520, 41040 / 20520, -28352 / 20520, 9295 / 20520, -5643 / 20520]]
C = [902880 / 7618050, 0, 3953664 / 7618050, 3855735 / 7618050, -1371249 / 7618050, 277020 / 7618050]
EC = [1 / 360, 0, -128 / 4275, -2197 / 75240, 1 / 50, 2 / 55]
TOL = 1e-6          # aeif's gsl_error_tol: eps_abs = eps_rel, a_y = 0, a_dydt = 1


def simulate(i_e_na, t_ref, t_stop, dt=0.1, reuse=False, keep_final=False):
    """v (mV) at the end of each step, w (nA) and the spike times of one cell with PyNN's EIF defaults (NEST
    units inside: pF, nS, pA)."""
    c_m, g_l, e_l, v_reset, v_peak, v_th, delta_t = 281.0, 281.0 / 9.3667, -70.6, -70.6, -40.0, -50.4, 2.0
    a, b, tau_w, i_e = 4.0, 80.5, 144.0, i_e_na * 1000.0
    n_ref = int(np.ceil(t_ref / dt - 1e-9))
    state = {"r": 0, "h": dt, "count": 0, "dydt_out": None}

    def f(y):
        refractory = state["r"] > 0
        v = v_reset if refractory else min(y[0], v_peak)
        i_syn = y[2] * v + y[3] * (v + 80.0)
        dv = 0.0 if refractory else (-g_l * (v - e_l) + g_l * delta_t * np.exp((v - v_th) / delta_t)
                                     - i_syn - y[1] + i_e) / c_m
        return np.array([dv, (a * (v - e_l) - y[1]) / tau_w, -y[2] / 5.0, -y[3] / 5.0])

    y = np.array([e_l, 0.0, 0.0, 0.0])

    def evolve(t0, t1):
        """gsl_odeiv_evolve_apply: one accepted step from t0 towards t1; returns the new time."""
        h, rest, y0 = state["h"], t1 - t0, y.copy()
        k1 = state["dydt_out"] if reuse and state["count"] else f(y)
        while True:
            final = h > rest
            if final:
                h = rest
            k = [k1]
            for s in range(1, 6):
                k.append(f(y0 + h * sum(B[s][j] * k[j] for j in range(s))))
            y_new = y0 + h * sum(C[j] * k[j] for j in range(6))
            err = h * sum(EC[j] * k[j] for j in range(6))
            dydt_out = f(y_new)
            rho = max(np.max(np.abs(err) / (TOL * np.abs(h * dydt_out) + TOL)), np.finfo(float).tiny)
            if rho > 1.1:
                h *= max(0.9 / rho ** (1 / 5), 0.2)
                continue
            h_next = h * min(max(0.9 / rho ** (1 / 6), 1.0), 5.0) if rho < 0.5 else h
            y[:] = y_new
            state["count"] += 1
            state["dydt_out"] = dydt_out
            if not (keep_final and final):
                state["h"] = h_next
            return t1 if final else t0 + h

    vs, ws, spikes = [y[0]], [y[1]], []
    for step in range(int(round(t_stop / dt))):
        t = 0.0
        while t < dt:
            t = evolve(t, dt)
            if state["r"] > 0:
                y[0] = v_reset
            elif y[0] >= v_peak:
                y[0] = v_reset
                y[1] += b
                state["r"] = n_ref + 1 if n_ref > 0 else 0
                spikes.append(round((step + 1) * dt, 10))
        if state["r"] > 0:
            state["r"] -= 1
        vs.append(y[0])
        ws.append(y[1])
    return np.array(vs), np.array(ws) / 1000.0, np.array(spikes)


def nest_run(i_e_na, t_ref, t_stop):
    import pyNN.nest as sim
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
    cell = sim.Population(1, sim.EIF_cond_exp_isfa_ista(tau_refrac=t_ref, i_offset=i_e_na))
    cell.record(["v", "spikes"])
    sim.run(t_stop)
    seg = cell.get_data().segments[0]
    return np.asarray(seg.filter(name="v")[0]).ravel(), np.asarray(seg.spiketrains[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--current", type=float, default=30.0, help="DC drive, nA (default 30)")
    p.add_argument("--tau-refrac", type=float, default=0.0, help="ms (default 0)")
    p.add_argument("--t", type=float, default=200.0, help="simulated ms (default 200)")
    p.add_argument("--reuse-derivative", action="store_true")
    p.add_argument("--keep-final-step", action="store_true")
    a = p.parse_args()
    v_nest, s_nest = nest_run(a.current, a.tau_refrac, a.t)
    v, _, s = simulate(a.current, a.tau_refrac, a.t, reuse=a.reuse_derivative, keep_final=a.keep_final_step)
    d = np.abs(v - v_nest)
    spike_steps = np.rint(s_nest / 0.1).astype(int)
    print(f"spikes: NEST {len(s_nest)}, transcription {len(s)}; max |dv| {d.max():.3g} mV")
    for k in spike_steps[:6]:
        print(f"  after the spike at {k * 0.1:.1f} ms: |dv| {d[k]:.3g} mV")


if __name__ == "__main__":
    main()
