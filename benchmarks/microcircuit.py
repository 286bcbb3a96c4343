"""Potjans-Diesmann (2014) cortical microcircuit in PyNN, on pyNN.gpu and pyNN.nest.

Usage::

    python benchmarks/microcircuit.py [--scale 0.1] [--t-sim 1000] [--t-presim 500] [--drive poisson|dc]
                                      [--sims gpu nest] [--out benchmarks/results] [--timeout 3600]
                                      [--kernel-cache cold|user] [--procedural]

The model of NEST's ``pynest/examples/Potjans_2014`` (parameters in ``microcircuit_params.py``, from that
example) written with PyNN: 8 populations of IF_curr_exp cells (iaf_psc_exp:
cm 250 pF, tau_m 10 ms, tau_syn 0.5 ms, t_ref 2 ms, E_L = V_reset = -65 mV, V_th -50 mV), V0 drawn per
population from the "optimized" normal distributions; FixedTotalNumberConnector (autapses and multapses
allowed) with K_ij from the connection probabilities; weights ``normal_clipped`` (mean 87.81 pA for
0.15 mV PSPs, x -4 from inhibitory sources, x 2 for L4E->L23E, relative sd 0.1, redrawn to keep their
sign); delays ``normal_clipped`` (1.5 ms from excitatory, 0.75 ms from inhibitory sources, relative sd 0.5,
redrawn below dt).  Drive: one Poisson source per cell at 8 Hz x K_ext (OneToOneConnector, 87.81 pA,
1.5 ms), or with ``--drive dc`` the equivalent constant current (i_offset; down-scaled, that network hardly
fires on either simulator: the compensating DC is net inhibitory and nothing ignites it).  Thalamic input
is off.

``--procedural``: on pyNN.gpu the recurrent projections are procedural (``FixedTotalNumberConnector(K,
procedural=True)`` with the same normal_clipped weights and delays drawn on the device, ``rng=sim.NativeRNG()``):
not stored but drawn again at every spike, as GeNN runs the model at full scale; pyNN.nest stores its own draw as
before.  The report then counts no synapses (counting would draw them all on the host).

``--scale`` sets N_scaling = K_scaling (default 0.1: 7,717 cells, ~3.0 M synapses); as in NEST, the weights
are divided by sqrt(K_scaling) and a DC (i_offset) restores the mean input lost by the smaller in-degrees
(computed from the published full-scale rates).  The network is simulated for ``--t-presim`` ms of
warm-up (timed apart and left out of the rates) and then ``--t-sim`` ms (the simulation time and the
real-time factor).  Spikes are recorded from every cell.  The report gives per-layer rates of both
simulators next to the published full-scale rates.  Each simulator runs the same ``microcircuit()``
function in its own process (see ``common.py``).  Writes
``<out>/microcircuit_<date>_<host>[_scale<s>][_dc].{json,md,png}``; exit status 1 if a run failed.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import microcircuit_params as mp  # noqa: E402

NAME = "microcircuit"


def microcircuit(sim, params: dict) -> common.Model:
    """Build the microcircuit on ``sim`` (a pyNN backend module): setup, populations, projections, recording."""
    import numpy as np
    from pyNN.random import NumpyRNG, RandomDistribution

    d = mp.derive(params["scale"], drive=params["drive"])
    dt = mp.DT
    sim.setup(timestep=dt)
    rng = NumpyRNG(seed=mp.SEED)
    procedural = bool(params.get("procedural")) and sim.__name__ == "pyNN.gpu"
    draws = sim.NativeRNG() if procedural else rng       # procedural: weights and delays drawn on the device
    pops = {}
    for i, label in enumerate(mp.POPULATIONS):
        cell = sim.IF_curr_exp(**d["neuron"], i_offset=d["dc_nA"][i])
        pop = sim.Population(d["n"][i], cell, label=label)
        pop.initialize(v=RandomDistribution("normal", mu=d["v0_mean"][i], sigma=d["v0_sd"][i], rng=rng))
        pop.record("spikes")
        pops[label] = pop

    projections = {}
    for i, target in enumerate(mp.POPULATIONS):
        for j, source in enumerate(mp.POPULATIONS):
            n_syn = d["k_total"][i][j]
            if n_syn <= 0:
                continue
            w = d["weights_nA"][i][j]
            bounds = {"low": 0.0, "high": np.inf} if w > 0 else {"low": -np.inf, "high": 0.0}
            weight = RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * d["weight_rel_sd"], rng=draws,
                                        **bounds)
            d_mean = d["delay_mean_ms"][source[-1]]
            delay = RandomDistribution("normal_clipped", mu=d_mean, sigma=d_mean * d["delay_rel_sd"], low=dt,
                                       high=np.inf, rng=draws)
            connector = (sim.FixedTotalNumberConnector(int(n_syn), procedural=True) if procedural else
                         sim.FixedTotalNumberConnector(int(n_syn), allow_self_connections=True, with_replacement=True,
                                                       rng=rng))
            projections[f"{source}->{target}"] = sim.Projection(
                pops[source], pops[target], connector,
                sim.StaticSynapse(weight=weight, delay=delay),
                receptor_type="excitatory" if w > 0 else "inhibitory", label=f"{source}->{target}")

    if params["drive"] == "poisson":
        for i, label in enumerate(mp.POPULATIONS):
            ext = sim.Population(d["n"][i], sim.SpikeSourcePoisson(rate=d["ext_rate_hz"][i]), label=f"ext_{label}")
            projections[f"ext->{label}"] = sim.Projection(
                ext, pops[label], sim.OneToOneConnector(),
                sim.StaticSynapse(weight=d["w_ext_nA"], delay=d["delay_ext_ms"]), receptor_type="excitatory")

    t_presim = params["t_presim"]
    return common.Model(populations=pops, projections=projections, t_sim=t_presim + params["t_sim"],
                        t_warmup=t_presim, count_synapses=not procedural)


def markdown(report: dict) -> str:
    d = report["parameters"]
    pr = report["params"]
    published = dict(zip(d["populations"], d["published_rates_hz"]))
    drive = ("Poisson drive (one source per cell, 8 Hz x K_ext x K_scaling)" if pr["drive"] == "poisson"
             else "DC drive (i_offset)")
    lines = [f"# Potjans-Diesmann microcircuit, {report['date']}", "",
             f"PD14 in PyNN (IF_curr_exp, FixedTotalNumberConnector, normal_clipped weights and delays), "
             f"N_scaling = K_scaling = {pr['scale']:g}: {d['n_total']} cells, {d['synapses']} recurrent synapses; "
             f"{drive}, compensating DC per population {', '.join(f'{x * 1000:.0f}' for x in d['dc_nA'])} pA; "
             f"dt 0.1 ms; {pr['t_presim']:g} ms warm-up then {pr['t_sim']:g} ms timed (rates over the latter); "
             "spikes recorded from every cell. The same `microcircuit(sim)` function in one process per "
             "simulator." + (" **Procedural** recurrent connections on pyNN.gpu (drawn at every spike with their "
                             "weights and delays, not stored; another draw than pyNN.nest's)." if pr.get("procedural")
                             else ""), "",
             common.header_line(report), "", *common.runs_table(report["runs"]), "",
             common.phases_note(any(r["sim"] == "gpu" for r in report["runs"])), "",
             "Rates (mean ± sd over cells); *published*: NEST's full-scale reference rates (`full_mean_rates`, "
             "peers.md §3.3), which the down-scaled model is built to approximate.", "",
             *common.rates_table(report["runs"], published, "published"), ""]
    lines += common.comparison_lines(report.get("comparison"))
    lines += common.failure_lines(report["runs"])
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path):
    pr, d = report["params"], report["parameters"]
    return common.plot_runs(report, path, f"Potjans-Diesmann microcircuit, scale {pr['scale']:g}, {pr['drive']} "
                                          f"drive, {pr['t_presim']:g} + {pr['t_sim']:g} ms\n"
                                          f"{common.gpu_device(report)}",
                            reference=dict(zip(d["populations"], d["published_rates_hz"])),
                            reference_name="published (full scale)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="N_scaling = K_scaling (default 0.1)")
    parser.add_argument("--t-sim", type=float, default=1000.0, help="timed simulation, ms (default 1000)")
    parser.add_argument("--t-presim", type=float, default=500.0, help="warm-up before it, ms (default 500)")
    parser.add_argument("--drive", choices=["poisson", "dc"], default="poisson")
    parser.add_argument("--procedural", action="store_true",
                        help="pyNN.gpu draws the recurrent connections at every spike instead of storing them")
    common.add_arguments(parser, timeout=3600.0)
    args = parser.parse_args(argv)
    if args.worker:
        return common.worker_main(microcircuit, args)

    params = {"scale": args.scale, "t_sim": args.t_sim, "t_presim": args.t_presim, "drive": args.drive,
              "procedural": args.procedural}
    derived = mp.derive(args.scale, drive=args.drive)
    now = datetime.datetime.now().astimezone()
    report = {"benchmark": "Potjans-Diesmann 2014 microcircuit (PyNN)", **common.stamp(now), "params": params,
              "parameters": derived}
    print(f"microcircuit, scale {args.scale:g} ({derived['n_total']} cells, {derived['synapses']} synapses), "
          f"{args.drive} drive", flush=True)
    report["runs"] = common.run_all(Path(__file__), params, args.sims, args.timeout, args.kernel_cache,
                                    max_rss_mb=args.max_rss_mb)
    report["comparison"] = common.comparison(report["runs"])
    published = dict(zip(derived["populations"], derived["published_rates_hz"]))
    for r in report["runs"]:
        for label, s in (r.get("populations") or {}).items():
            s["published_hz"] = published[label]
    suffix = (("" if args.scale == 0.1 else f"_scale{args.scale:g}") + ("" if args.drive == "poisson" else "_dc")
              + ("_procedural" if args.procedural else ""))
    stem = common.result_stem(args.out, NAME, now, suffix)
    return common.finish(report, stem, markdown(report), lambda path: plot(report, path))


if __name__ == "__main__":
    sys.exit(main())
