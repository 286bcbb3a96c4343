"""Vogels-Abbott COBA network with plastic E->E synapses (pair-based additive STDP), on pyNN.gpu and pyNN.nest.

Usage::

    python benchmarks/plastic_va.py [--t-sim 1000] [--sims gpu nest] [--out benchmarks/results]
                                    [--timeout 1800] [--kernel-cache cold|user]

The network is PyNN 0.13.0's ``examples/VAbenchmarks.py`` COBA benchmark (Brette et al. 2007, benchmark 1):
3200 excitatory + 800 inhibitory IF_cond_exp cells (tau_m 20 ms, cm 0.2 nF, E_leak = v_reset -60 mV,
threshold -50 mV, t_ref 5 ms, tau_syn 5 / 10 ms, E_rev 0 / -80 mV), FixedProbabilityConnector p = 0.02 with
the script's NumpyRNG (seed 98765) for v and connectivity, weights 4 nS (E) and 51 nS (I), delay 0.2 ms,
dt 0.1 ms, min_delay 0.2 ms, and 20 Poisson sources at 100 Hz for the first 50 ms (p = 0.01, 0.1 uS).  The one
change: the E->E projection is ``STDPMechanism(SpikePairRule(tau_plus=20, tau_minus=20, A_plus=0.01,
A_minus=0.012), AdditiveWeightDependence(w_min=0, w_max=8 nS), weight=4 nS, delay=0.2)`` (NEST's
stdp_synapse on pyNN.nest); the other projections stay static.  Spikes are recorded from every cell.

Each simulator runs the same ``plastic_va()`` function in its own process (``common.py``: import, build,
first step — on pyNN.gpu kernel generation and compilation, from empty caches by default —, simulation,
rates).  After the run the learned E->E weights are read back with ``Projection.get('weight')`` (mean, sd,
fraction at the bounds).  Writes ``<out>/plastic_va_<date>_<host>.{json,md,png}``; exit status 1 if a run
failed.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "plastic_va"

#: The COBA benchmark of examples/VAbenchmarks.py, derived values written out.
NETWORK = {"n_exc": 3200, "n_inh": 800, "pconn": 0.02, "rngseed": 98765, "dt": 0.1, "delay": 0.2,
           "w_exc_uS": 0.004, "w_inh_uS": 0.051, "stim": {"n": 20, "rate_hz": 100.0, "duration_ms": 50.0,
                                                           "p": 0.01, "weight_uS": 0.1},
           "cell_params": {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "v_rest": -60.0, "v_reset": -60.0,
                           "v_thresh": -50.0, "cm": 0.2, "tau_refrac": 5.0, "e_rev_E": 0.0, "e_rev_I": -80.0}}
#: The plasticity of the E->E synapses.
STDP = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.012, "w_min": 0.0, "w_max": 0.008}


class _WeightReadout:
    """Stands for the E->E projection in the harness's synapse-count phase (after the run, before ``end()``):
    counts it, then reads the learned weights and writes their statistics to ``path``."""

    def __init__(self, projection, path: Path):
        self.projection, self.path = projection, path

    def size(self):
        import numpy as np
        n = self.projection.size()
        t0 = time.perf_counter()
        w = np.asarray(self.projection.get("weight", format="list", with_address=False), float)
        elapsed = time.perf_counter() - t0
        tol = 1e-9 * STDP["w_max"]
        stats = {"n": int(w.size), "initial_uS": NETWORK["w_exc_uS"], "mean_uS": float(w.mean()),
                 "sd_uS": float(w.std()), "min_uS": float(w.min()), "max_uS": float(w.max()),
                 "at_w_max": float(np.mean(w >= STDP["w_max"] - tol)),
                 "at_w_min": float(np.mean(w <= STDP["w_min"] + tol)),
                 "histogram": np.histogram(w, bins=16, range=(STDP["w_min"], STDP["w_max"]))[0].tolist(),
                 "readout_s": round(elapsed, 4)}
        self.path.write_text(json.dumps(stats))
        return n


def plastic_va(sim, params: dict) -> common.Model:
    """Build the network on ``sim`` (a pyNN backend module): setup, populations, projections, recording."""
    from pyNN.random import NumpyRNG, RandomDistribution
    p = NETWORK
    sim.setup(timestep=p["dt"], min_delay=p["delay"], max_delay=1.0)
    celltype = sim.IF_cond_exp(**p["cell_params"])
    exc = sim.Population(p["n_exc"], celltype, label="Excitatory_Cells")
    inh = sim.Population(p["n_inh"], celltype, label="Inhibitory_Cells")
    s = p["stim"]
    ext = sim.Population(s["n"], sim.SpikeSourcePoisson(rate=s["rate_hz"], duration=s["duration_ms"]),
                         label="expoisson")
    rng = NumpyRNG(seed=p["rngseed"], parallel_safe=True)
    uniform = RandomDistribution("uniform", low=p["cell_params"]["v_reset"], high=p["cell_params"]["v_thresh"],
                                 rng=rng)
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    connector = sim.FixedProbabilityConnector(p["pconn"], rng=rng)
    exc_syn = sim.StaticSynapse(weight=p["w_exc_uS"], delay=p["delay"])
    inh_syn = sim.StaticSynapse(weight=p["w_inh_uS"], delay=p["delay"])
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=STDP["tau_plus"], tau_minus=STDP["tau_minus"],
                                            A_plus=STDP["A_plus"], A_minus=STDP["A_minus"]),
        weight_dependence=sim.AdditiveWeightDependence(w_min=STDP["w_min"], w_max=STDP["w_max"]),
        weight=p["w_exc_uS"], delay=p["delay"])
    ext_conn = sim.FixedProbabilityConnector(s["p"])
    ext_syn = sim.StaticSynapse(weight=s["weight_uS"])
    projections = {
        "e2e": sim.Projection(exc, exc, connector, stdp, receptor_type="excitatory"),
        "e2i": sim.Projection(exc, inh, connector, exc_syn, receptor_type="excitatory"),
        "i2e": sim.Projection(inh, exc, connector, inh_syn, receptor_type="inhibitory"),
        "i2i": sim.Projection(inh, inh, connector, inh_syn, receptor_type="inhibitory"),
        "ext2e": sim.Projection(ext, exc, ext_conn, ext_syn, receptor_type="excitatory"),
        "ext2i": sim.Projection(ext, inh, ext_conn, ext_syn, receptor_type="excitatory"),
    }
    projections["e2e"] = _WeightReadout(projections["e2e"], Path(params["weights_dir"]) /
                                        f"{sim.__name__.rsplit('.', 1)[-1]}.json")
    exc.record("spikes")
    inh.record("spikes")
    return common.Model(populations={"E": exc, "I": inh}, projections=projections, t_sim=params["t_sim"])


def markdown(report: dict) -> str:
    p, s = report["network"], report["stdp"]
    lines = [f"# Vogels-Abbott COBA with plastic E→E synapses, {report['date']}", "",
             f"PyNN `examples/VAbenchmarks.py` COBA network: {p['n_exc']} E + {p['n_inh']} I IF_cond_exp cells, "
             f"p = {p['pconn']}, weights {1000 * p['w_exc_uS']:g} / {1000 * p['w_inh_uS']:g} nS, delay "
             f"{p['delay']} ms, dt {p['dt']} ms, 20 Poisson sources at 100 Hz for the first 50 ms; "
             f"{report['params']['t_sim']:g} ms simulated, spikes recorded from every cell. E→E synapses: "
             f"`STDPMechanism(SpikePairRule(tau_plus={s['tau_plus']:g}, tau_minus={s['tau_minus']:g}, "
             f"A_plus={s['A_plus']:g}, A_minus={s['A_minus']:g}), AdditiveWeightDependence(w_min={s['w_min']:g}, "
             f"w_max={s['w_max']:g}))`, initial weight {p['w_exc_uS']:g} uS (NEST: stdp_synapse). "
             "The same `plastic_va(sim)` function in one process per simulator.", "",
             common.header_line(report), "", *common.runs_table(report["runs"]), "",
             common.phases_note(any(r["sim"] == "gpu" for r in report["runs"])), "",
             *common.rates_table(report["runs"]), "",
             "Learned E→E weights (read with `Projection.get('weight')` after the run):", "",
             "| sim | synapses | initial (nS) | mean (nS) | sd (nS) | min (nS) | max (nS) | at w_max | at w_min "
             "| read-back (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        w = r.get("ee_weight")
        if w:
            lines.append(f"| {r['sim']} | {w['n']} | {1000 * w['initial_uS']:g} | {1000 * w['mean_uS']:.4f} "
                         f"| {1000 * w['sd_uS']:.4f} | {1000 * w['min_uS']:.4g} | {1000 * w['max_uS']:.4g} "
                         f"| {100 * w['at_w_max']:.2f} % | {100 * w['at_w_min']:.2f} % "
                         f"| {common.fmt(w['readout_s'])} |")
        else:
            lines.append(f"| {r['sim']} | — | | | | | | | | |")
    cmp = report.get("comparison")
    lines += [""] + common.comparison_lines(cmp)
    if cmp and cmp.get("mean_weight"):
        m = cmp["mean_weight"]
        lines += ["", f"Mean E→E weight change: nest {1000 * m['nest_change_uS']:+.4f} nS, "
                      f"gpu {1000 * m['gpu_change_uS']:+.4f} nS (gpu − nest: {1000 * m['diff_uS']:+.4f} nS)."]
    lines += common.failure_lines(report["runs"])
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t-sim", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    common.add_arguments(parser, timeout=1800.0)
    args = parser.parse_args(argv)
    if args.worker:
        return common.worker_main(plastic_va, args)
    now = datetime.datetime.now().astimezone()
    report = {"benchmark": "Vogels-Abbott COBA (PyNN examples/VAbenchmarks.py) with STDP on E->E", **common.stamp(now),
              "params": {"t_sim": args.t_sim}, "network": NETWORK, "stdp": STDP}
    with tempfile.TemporaryDirectory(prefix="plastic_va_w_") as weights_dir:
        params = {"t_sim": args.t_sim, "weights_dir": weights_dir}
        report["runs"] = common.run_all(Path(__file__), params, args.sims, args.timeout, args.kernel_cache)
        for r in report["runs"]:
            path = Path(weights_dir) / f"{r['sim']}.json"
            r["ee_weight"] = json.loads(path.read_text()) if path.is_file() else None
            if r["ee_weight"]:
                w = r["ee_weight"]
                print(f"    {r['sim']}: mean E->E weight {1000 * w['mean_uS']:.4f} nS (from "
                      f"{1000 * w['initial_uS']:g}), sd {1000 * w['sd_uS']:.4f} nS", flush=True)
    report["comparison"] = common.comparison(report["runs"])
    by = {r["sim"]: r.get("ee_weight") for r in report["runs"]}
    if report["comparison"] and by.get("gpu") and by.get("nest"):
        report["comparison"]["mean_weight"] = {
            "nest_change_uS": by["nest"]["mean_uS"] - NETWORK["w_exc_uS"],
            "gpu_change_uS": by["gpu"]["mean_uS"] - NETWORK["w_exc_uS"],
            "diff_uS": by["gpu"]["mean_uS"] - by["nest"]["mean_uS"]}
    stem = common.result_stem(args.out, NAME, now)
    title = f"VA COBA + STDP on E→E, {args.t_sim:g} ms — {report['opencl_device'] or ''}"
    return common.finish(report, stem, markdown(report), lambda path: common.plot_runs(report, path, title))


if __name__ == "__main__":
    sys.exit(main())
