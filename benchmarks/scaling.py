"""Scaling curve: the Vogels-Abbott network from 4,000 to 256,000 cells at fixed in-degree, pyNN.gpu against pyNN.nest.

Usage::

    python benchmarks/scaling.py [--sizes 4000 16000 64000 256000] [--model CUBA|COBA] [--t-sim 200]
                                 [--sims gpu nest] [--timeout 600] [--budget 900] [--out benchmarks/results]
                                 [--kernel-cache cold|user]

A re-implementation of PyNN's ``examples/VAbenchmarks.py`` network (benchmark 2, CUBA, by default: 80 % /
20 % IF_curr_exp cells, v_rest -49 mV, 0.27 / 4.5 nS as currents at -60 mV, tau_syn 5 / 10 ms, t_ref 5 ms,
delay 0.2 ms, v initialised uniformly in [-60, -50] mV; ``--model COBA``: IF_cond_exp, 4 / 51 nS, plus the
20 Poisson sources at 100 Hz for 50 ms).  VAbenchmarks connects with p = 0.02, i.e. 80 inputs per cell in
expectation at 4,000 cells (64 excitatory + 16 inhibitory, ~320,000 synapses).  Here the in-degree is held
at exactly that as the network grows: FixedNumberPreConnector(64) from the excitatory and (16) from the
inhibitory population onto each cell, so the dynamics (and rates) stay those of the 4,000-cell network and
the synapse count grows as 80 x N (20.5 M at 256,000 cells).  The sources are drawn *with replacement*
(multapses allowed: ~1 % of the synapses at 4,000 cells, fewer beyond): without it, PyNN draws one
permutation of the whole source population per target cell, O(N^2) work on both simulators, and pyNN.gpu's
vectorised version keeps every permutation alive, O(N^2) memory (1.3 GB at 16,000 cells, 21 GB at 64,000);
``--no-replacement`` runs that path anyway.

Each size runs once per simulator, each in its own process, for ``--t-sim`` ms (default 200: short, so the
whole curve fits in ~15 minutes).  A run is killed after ``--timeout`` s; a simulator is not tried at the
next size when its previous run failed or timed out, or when 4x its previous wall time (the cost grows
linearly with N) would exceed the timeout or what is left of ``--budget`` s; the report says where and why
each simulator stopped.  Writes ``<out>/scaling_<date>_<host>[_COBA].{json,md,png}``: simulation time,
build time and peak memory against N, gpu against nest, in one plot.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "scaling"
SIZES = [4000, 16000, 64000, 256000]
K_EXC, K_INH = 64, 16     # VAbenchmarks' expected in-degrees at 4000 cells (p = 0.02)


def va_parameters(model: str) -> dict:
    """Cell and synapse parameters of VAbenchmarks.py for 'CUBA' or 'COBA'."""
    area = 20000e-8                           # cm2
    cm = 1.0 * area * 1000                    # nF
    cell = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "v_rest": -49.0 if model == "CUBA" else -60.0,
            "v_reset": -60.0, "v_thresh": -50.0, "cm": cm, "tau_refrac": 5.0}
    if model == "COBA":
        cell.update(e_rev_E=0.0, e_rev_I=-80.0)
        w_exc, w_inh = 4.0e-3, 51.0e-3       # uS
    else:
        v_mean = -60.0
        w_exc, w_inh = 1e-3 * 0.27 * (0.0 - v_mean), 1e-3 * 4.5 * (-80.0 - v_mean)   # nA
    return {"cell": cell, "w_exc": w_exc, "w_inh": w_inh, "delay": 0.2, "dt": 0.1}


def va_network(sim, params: dict) -> common.Model:
    """The VA network of ``params['n']`` cells with fixed in-degree (64 + 16) on ``sim``."""
    from pyNN.random import NumpyRNG, RandomDistribution

    model, n = params["model"], int(params["n"])
    p = va_parameters(model)
    sim.setup(timestep=p["dt"], min_delay=p["delay"], max_delay=1.0)
    n_exc = int(round(n * 0.8))
    n_inh = n - n_exc
    celltype = sim.IF_cond_exp if model == "COBA" else sim.IF_curr_exp
    exc = sim.Population(n_exc, celltype(**p["cell"]), label="Exc")
    inh = sim.Population(n_inh, celltype(**p["cell"]), label="Inh")
    rng = NumpyRNG(seed=98765, parallel_safe=True)
    uniform = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    exc_syn = sim.StaticSynapse(weight=p["w_exc"], delay=p["delay"])
    inh_syn = sim.StaticSynapse(weight=p["w_inh"], delay=p["delay"])
    replace = params.get("with_replacement", True)
    from_exc = sim.FixedNumberPreConnector(K_EXC, with_replacement=replace, rng=rng)
    from_inh = sim.FixedNumberPreConnector(K_INH, with_replacement=replace, rng=rng)
    prj = {"e->e": sim.Projection(exc, exc, from_exc, exc_syn, receptor_type="excitatory"),
           "e->i": sim.Projection(exc, inh, from_exc, exc_syn, receptor_type="excitatory"),
           "i->e": sim.Projection(inh, exc, from_inh, inh_syn, receptor_type="inhibitory"),
           "i->i": sim.Projection(inh, inh, from_inh, inh_syn, receptor_type="inhibitory")}
    if model == "COBA":
        ext = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0), label="expoisson")
        ext_conn = sim.FixedProbabilityConnector(0.01, rng=rng)
        ext_syn = sim.StaticSynapse(weight=0.1)
        prj["ext->e"] = sim.Projection(ext, exc, ext_conn, ext_syn, receptor_type="excitatory")
        prj["ext->i"] = sim.Projection(ext, inh, ext_conn, ext_syn, receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    # Projection.size() is not called: on pyNN.nest it takes longer than the whole run at 256k cells
    # (it timed out after the simulation had finished); the recurrent count is exactly 80 N by construction.
    return common.Model(populations={"Exc": exc, "Inh": inh}, projections=prj, t_sim=params["t_sim"],
                        spike_times=False, count_synapses=False,
                        info={"n_synapses_recurrent": (K_EXC + K_INH) * n})


def should_skip(previous: dict | None, timeout: float, left: float) -> str | None:
    """Why the next (4x larger) size is not tried for this simulator, or None."""
    if previous is None:
        return None
    if not previous["ok"]:
        return f"stopped: its run at N = {previous['n']} {'timed out' if previous.get('timed_out') else 'failed'}"
    estimate = 4.0 * previous["wall_s"]
    if estimate > timeout:
        return (f"stopped: 4 x its wall time at N = {previous['n']} ({previous['wall_s']:.0f} s) = {estimate:.0f} s "
                f"exceeds the per-run timeout ({timeout:g} s)")
    if estimate > left:
        return (f"stopped: 4 x its wall time at N = {previous['n']} ({previous['wall_s']:.0f} s) = {estimate:.0f} s "
                f"exceeds what is left of the budget ({left:.0f} s)")
    return None


def markdown(report: dict) -> str:
    pr = report["params"]
    lines = [f"# Scaling: Vogels-Abbott {pr['model']} network, fixed in-degree, {report['date']}", "",
             f"VAbenchmarks.py's {pr['model']} network re-implemented with FixedNumberPreConnector "
             f"({K_EXC} excitatory + {K_INH} inhibitory inputs per cell, VAbenchmarks' expected in-degree at "
             f"4,000 cells; with_replacement={pr['with_replacement']}), {pr['t_sim']:g} ms simulated, dt 0.1 ms, "
             "spikes recorded from every cell; "
             "sizes " + ", ".join(f"{n:,}" for n in pr["sizes"]) + ". Each point: one process per simulator, "
             f"killed after {pr['timeout']:g} s.", "", common.header_line(report), "",
             "| N | sim | recurrent synapses | build (s) | first step (s) | of which kernel compile (s) "
             "| simulation (s) | RTF | exc. rate (Hz) | inh. rate (Hz) | peak RSS (MB) | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        pops = r.get("populations") or {}
        rate = [fmt_rate(pops.get(k)) for k in ("Exc", "Inh")]
        status = "" if r["ok"] else f" **failed**: {r['error']}"
        lines.append(f"| {r['n']:,} | {r['sim']}{status} | {r.get('n_synapses_recurrent', '—')} "
                     f"| {common.fmt(r.get('build_s'))} "
                     f"| {common.fmt(r.get('first_step_s'))} | {common.fmt(r.get('kernel_compile_s'))} "
                     f"| {common.fmt(r.get('simulation_s'))} | {common.fmt(r.get('rtf'))} | {rate[0]} | {rate[1]} "
                     f"| {common.fmt_mb(r.get('peak_rss_mb'))} | {common.fmt(r.get('wall_s'))} |")
    for sim, why in report["skipped"].items():
        lines += ["", f"**{sim}**: {why}."]
    rows = [c for c in report["comparisons"] if c]
    if rows:
        lines += ["", "Ratios nest/gpu (above 1: gpu is faster / smaller):", "",
                  "| N | build | build + first step | simulation | peak RSS | exc. rate gpu vs nest |",
                  "|---|---|---|---|---|---|"]
        for c in rows:
            d = c["rates"].get("Exc", {}).get("rel_diff")
            lines.append(f"| {c['n']:,} | {common.fmt(c['build'])}× | {common.fmt(c['build_incl_first_step'])}× "
                         f"| {common.fmt(c['simulation'])}× | {common.fmt(c['peak_rss'])}× "
                         f"| {'—' if d is None else format(100 * d, '+.1f') + ' %'} |")
    lines += ["", common.phases_note(True)]
    lines += common.failure_lines(report["runs"])
    return "\n".join(lines) + "\n"


def fmt_rate(s: dict | None) -> str:
    return "—" if not s else f"{s['rate_hz']:.3f}"


def plot(report: dict, path: Path) -> Path | None:
    plt = common.pyplot()
    if plt is None:
        return None
    from matplotlib.ticker import NullLocator
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
    panels = [("simulation_s", f"simulation time, {report['params']['t_sim']:g} ms (s)"),
              ("time_to_first_step", "build + first step (s)"), ("peak_rss_mb", "peak RSS (MB)")]
    for ax, (key, label) in zip(axes, panels):
        for sim in report["params"]["sims"]:
            pts = [(r["n"], common.time_to_first_step(r) if key == "time_to_first_step" else r.get(key))
                   for r in report["runs"] if r["sim"] == sim and r["ok"]]
            pts = [(n, v) for n, v in pts if v]
            if pts:
                ax.plot(*zip(*pts), "o-", color=common.COLOURS.get(sim), label=sim)
                for n, v in pts:
                    ax.annotate(f"{v:.3g}", (n, v), textcoords="offset points", xytext=(4, -10 if sim == "gpu" else 4),
                                fontsize=7, color=common.COLOURS.get(sim))
            bad = [r["n"] for r in report["runs"] if r["sim"] == sim and not r["ok"]]
            for n in bad:
                ax.axvline(n, color=common.COLOURS.get(sim), ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cells (80 inputs each)")
        ax.set_title(label, fontsize=10)
        ax.set_xticks(report["params"]["sizes"], [f"{n // 1000}k" for n in report["params"]["sizes"]])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.grid(True, which="major", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    skipped = "; ".join(f"{s} {w}" for s, w in report["skipped"].items())
    fig.suptitle(f"VA {report['params']['model']} network, fixed in-degree\n{common.gpu_device(report)}"
                 + (f"\n{skipped}" if skipped else ""), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="cell counts (default 4k 16k 64k 256k)")
    parser.add_argument("--model", choices=["CUBA", "COBA"], default="CUBA")
    parser.add_argument("--t-sim", type=float, default=200.0, help="simulated time per run, ms (default 200)")
    parser.add_argument("--no-replacement", action="store_true",
                        help="FixedNumberPreConnector(with_replacement=False), PyNN's default: no multapses, but "
                             "one permutation of the source population per cell (O(N^2) time; on pyNN.gpu O(N^2) "
                             "memory as well, see the README)")
    parser.add_argument("--budget", type=float, default=900.0,
                        help="seconds for the whole curve: a run expected to overrun it is not started (default 900)")
    common.add_arguments(parser, timeout=600.0)
    args = parser.parse_args(argv)
    if args.worker:
        return common.worker_main(va_network, args)

    now = datetime.datetime.now().astimezone()
    report = {"benchmark": "VA network scaled at fixed in-degree", **common.stamp(now),
              "params": {"sizes": args.sizes, "model": args.model, "t_sim": args.t_sim, "sims": args.sims,
                         "with_replacement": not args.no_replacement,
                         "timeout": args.timeout, "budget": args.budget, "k_exc": K_EXC, "k_inh": K_INH},
              "runs": [], "skipped": {}, "comparisons": []}
    t_start = time.perf_counter()
    last = {}
    for n in sorted(args.sizes):
        runs_here = []
        for sim in args.sims:
            if sim in report["skipped"]:
                continue
            why = should_skip(last.get(sim), args.timeout, args.budget - (time.perf_counter() - t_start))
            if why:
                report["skipped"][sim] = f"{why}; not run at N = {n:,} and above"
                print(f"--- {sim}: {report['skipped'][sim]}", flush=True)
                continue
            params = {"n": n, "model": args.model, "t_sim": args.t_sim, "with_replacement": not args.no_replacement}
            r = common.run_all(Path(__file__), params, [sim], args.timeout, args.kernel_cache, label=f"N={n}: ",
                               max_rss_mb=args.max_rss_mb)[0]
            r["n"] = n
            report["runs"].append(r)
            runs_here.append(r)
            last[sim] = r
        c = common.comparison(runs_here)
        if c:
            c["n"] = n
            report["comparisons"].append(c)
    report["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    suffix = ("" if args.model == "CUBA" else f"_{args.model}") + ("_no-replacement" if args.no_replacement else "")
    stem = common.result_stem(args.out, NAME, now, suffix)
    paths = common.write_report(report, stem, markdown(report))
    png = plot(report, common.with_ext(stem, ".png"))
    print("wrote " + ", ".join(str(p) for p in paths + ([png] if png else [])))
    for c in report["comparisons"]:
        print(f"N = {c['n']:>7,}: nest/gpu build {common.fmt(c['build'])}x, build + first step "
              f"{common.fmt(c['build_incl_first_step'])}x, simulation {common.fmt(c['simulation'])}x, "
              f"peak RSS {common.fmt(c['peak_rss'])}x")
    for sim, why in report["skipped"].items():
        print(f"{sim}: {why}")
    return 0 if all(r["ok"] for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
