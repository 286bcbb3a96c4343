"""The mushroom-body model of examples/mushroom_body.py written again in plain NumPy, step by step as GeNN's
userproject/mnist_mb_classifier.py runs it, to check the example's fidelity.

    python experiments/mb_genn_reference.py [--train 4000] [--test 1000] [--seed 1] [--precision double]

GeNN's order in every step: the synapse update handles the previous step's spikes (PN->KC and GGN->KC add to
the ExpCurr inputs, KC->GGN to the GGN's delta input, the STDP pre code for the KCs that spiked with ``t`` this
step's time, then the post code for the MBONs that spiked; as in GeNN 5, ``st_pre``/``st_post`` in synaptic code
are the spike times plus one step, the axonal and back-propagation delay), then the neuron update (ExpCurr: current
``init * inSyn``, then inSyn decays; LIF; IF; spike times ``sT = t``).  After each image the neuron state and
the inputs are reset, in training also the KC and MBON spike times (to -inf); the last step's spikes stay
queued for the next image.  Testing uses the learned weights on static synapses; the answer is the first MBON
to spike (ties to the lowest index, GeNN's recording order), none counts as an error.

The script trains the pyNN.gpu example (``--seed``: split and connectivity, as the example's) and then this
reference on the same PN->KC connections, compares KC spike counts and learned weights, and with ``--test``
tests the reference's weights.  In double precision the two should agree to rounding.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
import mushroom_body as mb  # noqa: E402
from mnist import load_default  # noqa: E402

import pyNN.gpu as sim  # noqa: E402

DT, STEPS = mb.DT, int(round(mb.PRESENT_MS / mb.DT))
EXP_TC, R_M = np.exp(-DT / 20.0), 20.0 / 0.2
TAU, RHO, ETA, W_MIN, W_MAX = (mb.STDP[k] for k in ("tau", "rho", "eta", "w_min", "w_max"))


def exp_curr(tau):
    """GeNN's ExpCurr: (init, decay)."""
    return tau * (1.0 - np.exp(-DT / tau)) / DT, np.exp(-DT / tau)


def lif(v, refrac, isyn, tau_refrac):
    """GeNN's LIF update, threshold and reset; returns the indices that spiked."""
    update = refrac <= 0.0
    alpha = isyn * R_M - 60.0
    v[:] = np.where(update, alpha - EXP_TC * (alpha - v), v)
    refrac[:] = np.where(update, refrac, refrac - DT)
    spiked = np.flatnonzero((refrac <= 0.0) & (v >= -50.0))
    v[spiked] = -60.0
    refrac[spiked] = tau_refrac
    return spiked


class Reference:
    def __init__(self, pre, post, n_kc=mb.N_KC):
        order = np.argsort(pre, kind="stable")
        self.post = post[order]
        self.start = np.searchsorted(pre[order], np.arange(mb.N_PN + 1))
        self.g = np.zeros((n_kc, mb.N_MBON))
        self.n_kc = n_kc
        self.kc_spikes = 0
        self.step = 0
        self.spikes = {"pn": np.zeros(0, int), "kc": np.zeros(0, int), "mbon": np.zeros(0, int), "ggn": False}
        self.reset(spike_times=True)

    def reset(self, spike_times):
        """GeNN's resets after an image (the spike queues are kept)."""
        self.v = {"pn": np.full(mb.N_PN, -60.0), "kc": np.full(self.n_kc, -60.0), "mbon": np.full(mb.N_MBON, -60.0)}
        self.refrac = {k: np.zeros_like(v) for k, v in self.v.items()}
        self.v_ggn = 0.0
        self.in_pn_kc, self.in_ggn_kc = np.zeros(self.n_kc), np.zeros(self.n_kc)
        self.in_kc_ggn, self.in_kc_mbon = 0.0, np.zeros(mb.N_MBON)
        if spike_times:
            self.st_kc, self.st_mbon = np.full(self.n_kc, -np.inf), np.full(mb.N_MBON, -np.inf)

    def present(self, current, teacher, learn):
        """One image of STEPS steps; returns the index of the first MBON to spike (-1: none)."""
        i3, d3 = exp_curr(3.0)
        i5, d5 = exp_curr(5.0)
        first = -1
        sp = self.spikes
        for _ in range(STEPS):
            t = self.step * DT
            # synapse update: the previous step's spikes
            for p in sp["pn"]:
                np.add.at(self.in_pn_kc, self.post[self.start[p]:self.start[p + 1]], mb.PN_KC_WEIGHT)
            self.in_kc_ggn += mb.KC_GGN_WEIGHT * len(sp["kc"])
            if sp["ggn"]:
                self.in_ggn_kc += mb.GGN_KC_WEIGHT
            if learn:
                if len(sp["kc"]):
                    timing = np.exp(-(t - (self.st_mbon + DT)) / TAU) - RHO
                    self.g[sp["kc"]] = np.clip(self.g[sp["kc"]] + ETA * timing, W_MIN, W_MAX)
                for j in sp["mbon"]:
                    timing = np.maximum(np.exp(-(t - (self.st_kc + DT)) / TAU) - RHO, -0.1 * RHO)
                    self.g[:, j] = np.clip(self.g[:, j] + ETA * timing, W_MIN, W_MAX)
            elif len(sp["kc"]):
                self.in_kc_mbon += self.g[sp["kc"]].sum(axis=0)
            # neuron update
            sp["pn"] = lif(self.v["pn"], self.refrac["pn"], current, mb.PN_REFRAC)
            isyn = i3 * self.in_pn_kc + i5 * self.in_ggn_kc
            self.in_pn_kc *= d3
            self.in_ggn_kc *= d5
            sp["kc"] = lif(self.v["kc"], self.refrac["kc"], isyn, 2.0)
            self.v_ggn += self.in_kc_ggn
            self.in_kc_ggn = 0.0
            sp["ggn"] = self.v_ggn >= mb.GGN_THRESHOLD
            if sp["ggn"]:
                self.v_ggn = 0.0
            isyn = teacher + i3 * self.in_kc_mbon
            self.in_kc_mbon *= d3
            sp["mbon"] = lif(self.v["mbon"], self.refrac["mbon"], isyn, 2.0)
            self.st_kc[sp["kc"]] = t
            self.st_mbon[sp["mbon"]] = t
            self.kc_spikes += len(sp["kc"])
            if first < 0 and len(sp["mbon"]):
                first = int(sp["mbon"][0])
            self.step += 1
        self.reset(spike_times=learn)
        return first


def train_both(n_train: int, seed: int = 1, precision: str = "double"):
    """Train the pyNN.gpu example, then the reference on the same PN->KC connections, on the first ``n_train``
    training images of the default split: the two learned KC->MBON weight matrices, the two KC spike counts of
    training, and the reference (for testing)."""
    (train_x, train_y), _ = load_default(seed=seed)
    train_i, train_y = mb.currents(train_x[:n_train]), train_y[:n_train]

    sim.setup(timestep=DT, min_delay=DT, precision=precision, rng_seed=seed)
    net = mb.MushroomBody(seed=seed, first_image=train_i[0], first_label=int(train_y[0]))
    conn = np.array(net.pn_kc.get("weight", format="list"))
    net.kc.record("spikes")
    for k in range(len(train_i)):
        net.present(train_i[k], int(train_y[k]))
    w_ours = net.kc_mbon_weights()
    ours_kc = sum(len(s) for s in net.kc.get_data("spikes").segments[0].spiketrains)
    sim.end()

    ref = Reference(conn[:, 0].astype(int), conn[:, 1].astype(int))
    for k in range(len(train_i)):
        ref.present(train_i[k], mb.MushroomBody._teacher(int(train_y[k])), learn=True)
    return w_ours, ref.g, ours_kc, ref.kc_spikes, ref


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--test", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precision", default="double")
    args = parser.parse_args()
    t0 = time.perf_counter()
    w_ours, w_ref, ours_kc, ref_kc, ref = train_both(args.train, args.seed, args.precision)
    print(f"both trained in {time.perf_counter() - t0:.0f} s")
    diff = np.abs(w_ours - w_ref)
    print(f"KC spikes in training: pyNN.gpu {ours_kc}, reference {ref_kc}")
    print(f"weights: pyNN.gpu mean {w_ours.mean():.6g} ({np.mean(w_ours > 0):.4f} nonzero), reference mean "
          f"{w_ref.mean():.6g} ({np.mean(w_ref > 0):.4f} nonzero); max |difference| {diff.max():.3g}, "
          f"{np.sum(diff > 1e-9)} differ by more than 1e-9")
    if args.test:
        _, (test_x, test_y) = load_default(seed=args.seed)
        test_i, test_y = mb.currents(test_x[:args.test]), test_y[:args.test]
        ref.spikes = {"pn": np.zeros(0, int), "kc": np.zeros(0, int), "mbon": np.zeros(0, int), "ggn": False}
        pred = np.array([ref.present(test_i[k], np.zeros(mb.N_MBON), learn=False) for k in range(len(test_i))])
        answered = pred >= 0
        print(f"reference test: accuracy {np.mean(pred == test_y):.4f}, silent {np.mean(~answered):.3f}, "
              f"accuracy of the answered {np.mean(pred[answered] == test_y[answered]):.4f}")


if __name__ == "__main__":
    main()
