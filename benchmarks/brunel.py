"""Brunel (2000) sparse balanced network, as PyNN's ``examples/brunel.py``, on pyNN.gpu and pyNN.nest.

Usage::

    python benchmarks/brunel.py [--scale 1] [--t-sim 1000] [--cell auto|alpha|exp] [--procedural] [--sims gpu nest]
                                [--out benchmarks/results] [--timeout 1800] [--kernel-cache cold|user]

The network of PyNN 0.13.0's ``examples/brunel.py`` (Brunel 2000, case C, asynchronous irregular):
order 50000 scaled down by 50 -> 4000 excitatory + 1000 inhibitory IF_curr_alpha cells (tau_m 20 ms,
tau_syn 0.1 ms, t_ref 2 ms, rest = reset = 0 mV, threshold 20 mV, cm 1 pF), FixedProbabilityConnector
epsilon = 0.1, J = 0.1 mV x downscale, g = 5, delay 1.5 ms, one Poisson source per cell at
eta x nu_thresh x C_E through a OneToOneConnector (delay dt), v initialised uniformly in [0, 20] mV,
dt 0.1 ms.  ``--scale s`` multiplies the order (cell counts, hence C_E and C_I) by s and divides J by s,
so the dynamics stay those of case C.  Differences from the script: 1000 ms simulated by default
(``--t-sim 100`` is the script's), spikes recorded from every cell (the script samples 50 per
population) so that the rates cover the whole network, v still recorded from 2 cells per population.

``--procedural``: on pyNN.gpu the four recurrent projections are procedural
(``FixedProbabilityConnector(epsilon, procedural=True)``: drawn again at every spike from the device's generator,
not stored); pyNN.nest stores them as before.  The connections then differ from pyNN.nest's (another random
draw of the same connectivity), so only the statistics can agree.

``--cell auto`` (default) uses IF_curr_alpha when pyNN.gpu has it, else IF_curr_exp with the same
parameters on both simulators; the report says which.  Each simulator runs the same ``brunel()``
function in its own process (see ``common.py`` for the phases timed).  Writes
``<out>/brunel_<date>_<host>[_scale<s>].{json,md,png}``; exit status 1 if a run failed.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "brunel"


def parameters(scale: float = 1.0) -> dict:
    """The derived quantities of examples/brunel.py for a given scale (1: order 50000 / downscale 50)."""
    order, downscale = 50000, 50.0 / scale
    epsilon, eta, g, J, delay = 0.1, 2.0, 5.0, 0.1, 1.5
    tau_mem, tau_syn, tau_ref, u0, theta = 20.0, 0.1, 2.0, 0.0, 20.0
    order_eff = int(float(order) / downscale)
    j_eff = J * downscale
    ne, ni = 4 * order_eff, order_eff
    ce = int(epsilon * ne)
    fudge = 0.00041363506632638  # ensures dV = J at V=0
    je = (j_eff / tau_syn) * fudge
    nu_thresh = theta / (j_eff * ce * tau_mem)
    nu_ext = eta * nu_thresh
    return {"NE": ne, "NI": ni, "CE": ce, "CI": int(epsilon * ni), "epsilon": epsilon, "JE_nA": je, "JI_nA": -g * je,
            "delay_ms": delay, "p_rate_hz": 1000.0 * nu_ext * ce, "J_eff_mV": j_eff,
            "cell_params": {"tau_m": tau_mem, "tau_syn_E": tau_syn, "tau_syn_I": tau_syn, "tau_refrac": tau_ref,
                            "v_rest": u0, "v_reset": u0, "v_thresh": theta, "cm": 0.001},
            "v_init": [u0, theta]}


def brunel(sim, params: dict) -> common.Model:
    """Build the network on ``sim`` (a pyNN backend module): setup, populations, projections, recording."""
    from pyNN.random import NumpyRNG, RandomDistribution

    p = parameters(params["scale"])
    dt = 0.1
    sim.setup(timestep=dt, max_delay=p["delay_ms"])
    rng = NumpyRNG(43210987, parallel_safe=True)   # the script's kernelseed, for v and the connectivity
    celltype = getattr(sim, params["cell"])(**p["cell_params"])
    exc = sim.Population(p["NE"], celltype, label="E")
    inh = sim.Population(p["NI"], celltype, label="I")
    uniform = RandomDistribution("uniform", low=p["v_init"][0], high=p["v_init"][1], rng=rng)
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    source = sim.SpikeSourcePoisson(rate=p["p_rate_hz"])
    ex_poisson = sim.Population(p["NE"], source, label="expoisson")
    in_poisson = sim.Population(p["NI"], source, label="inpoisson")
    exc.record("spikes")
    inh.record("spikes")
    exc[0:2].record("v")
    inh[0:2].record("v")

    procedural = bool(params.get("procedural")) and sim.__name__ == "pyNN.gpu"
    if procedural:
        connector = sim.FixedProbabilityConnector(p["epsilon"], procedural=True)
    else:
        connector = sim.FixedProbabilityConnector(p["epsilon"], rng=rng)
    e_syn = sim.StaticSynapse(weight=p["JE_nA"], delay=p["delay_ms"])
    i_syn = sim.StaticSynapse(weight=p["JI_nA"], delay=p["delay_ms"])
    ext_connector = sim.OneToOneConnector()
    ext_syn = sim.StaticSynapse(weight=p["JE_nA"], delay=dt)
    projections = {
        "E->E": sim.Projection(exc, exc, connector, e_syn, receptor_type="excitatory"),
        "I->E": sim.Projection(inh, exc, connector, i_syn, receptor_type="inhibitory"),
        "input->E": sim.Projection(ex_poisson, exc, ext_connector, ext_syn, receptor_type="excitatory"),
        "E->I": sim.Projection(exc, inh, connector, e_syn, receptor_type="excitatory"),
        "I->I": sim.Projection(inh, inh, connector, i_syn, receptor_type="inhibitory"),
        "input->I": sim.Projection(in_poisson, inh, ext_connector, ext_syn, receptor_type="excitatory"),
    }
    # (procedural connections are not counted: counting draws them all on the host, which the run never does)
    return common.Model(populations={"E": exc, "I": inh}, projections=projections, t_sim=params["t_sim"],
                        count_synapses=not procedural, info={"cell_type": params["cell"]})


def choose_cell(option: str) -> tuple[str, str]:
    """The cell type to use on every simulator, and why."""
    if option == "alpha":
        return "IF_curr_alpha", "requested (--cell alpha)"
    if option == "exp":
        return "IF_curr_exp", "requested (--cell exp)"
    try:
        gpu = importlib.import_module("pyNN.gpu")
    except Exception as err:  # the gpu run will then fail and say why
        return "IF_curr_alpha", f"pyNN.gpu does not import ({type(err).__name__}: {err})"
    if hasattr(gpu, "IF_curr_alpha"):
        return "IF_curr_alpha", "as in examples/brunel.py (pyNN.gpu has it)"
    return "IF_curr_exp", "pyNN.gpu has no IF_curr_alpha: IF_curr_exp with the same parameters on every simulator"


def markdown(report: dict) -> str:
    p = report["parameters"]
    lines = [f"# Brunel (2000) network, {report['date']}", "",
             f"PyNN `examples/brunel.py` network (case C), scale {report['params']['scale']:g}: "
             f"{p['NE']} E + {p['NI']} I **{report['params']['cell']}** cells ({report['cell_choice']}), "
             f"epsilon {p['epsilon']}, C_E {p['CE']}, C_I {p['CI']}, J_E {p['JE_nA']:.4g} nA, J_I {p['JI_nA']:.4g} nA, "
             f"delay {p['delay_ms']} ms, Poisson drive {p['p_rate_hz']:g} Hz per cell, dt 0.1 ms, "
             f"{report['params']['t_sim']:g} ms simulated; spikes recorded from every cell. "
             + ("**Procedural** recurrent connections on pyNN.gpu (drawn at every spike, not stored; another draw "
                "than pyNN.nest's). " if report["params"].get("procedural") else "") +
             "The same `brunel(sim)` function in one process per simulator.", "",
             common.header_line(report), "", *common.runs_table(report["runs"]), "",
             common.phases_note(any(r["sim"] == "gpu" for r in report["runs"])), "",
             *common.rates_table(report["runs"]), ""]
    lines += common.comparison_lines(report.get("comparison"))
    lines += common.failure_lines(report["runs"])
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path):
    pr = report["params"]
    return common.plot_runs(report, path, f"Brunel 2000, scale {pr['scale']:g}, {pr['cell']}, {pr['t_sim']:g} ms"
                                          f"{', procedural on gpu' if pr.get('procedural') else ''}\n"
                                          f"{common.gpu_device(report)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the cell counts (1: 4000 E + 1000 I, as examples/brunel.py)")
    parser.add_argument("--t-sim", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    parser.add_argument("--cell", choices=["auto", "alpha", "exp"], default="auto")
    parser.add_argument("--procedural", action="store_true",
                        help="pyNN.gpu draws the recurrent connections at every spike instead of storing them")
    common.add_arguments(parser, timeout=1800.0)
    args = parser.parse_args(argv)
    if args.worker:
        return common.worker_main(brunel, args)

    cell, why = choose_cell(args.cell)
    params = {"scale": args.scale, "t_sim": args.t_sim, "cell": cell, "procedural": args.procedural}
    now = datetime.datetime.now().astimezone()
    report = {"benchmark": "Brunel 2000 (PyNN examples/brunel.py network)", **common.stamp(now),
              "params": params, "cell_choice": why, "parameters": parameters(args.scale)}
    print(f"Brunel network, scale {args.scale:g}: {cell} ({why})", flush=True)
    report["runs"] = common.run_all(Path(__file__), params, args.sims, args.timeout, args.kernel_cache,
                                    max_rss_mb=args.max_rss_mb)
    report["comparison"] = common.comparison(report["runs"])
    suffix = ("" if args.scale == 1.0 else f"_scale{args.scale:g}") + ("_procedural" if args.procedural else "")
    stem = common.result_stem(args.out, NAME, now, suffix)
    return common.finish(report, stem, markdown(report), lambda path: plot(report, path))


if __name__ == "__main__":
    sys.exit(main())
