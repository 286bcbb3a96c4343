"""Vogels-Abbott benchmarks: PyNN's own ``examples/VAbenchmarks.py``, unchanged, on pyNN.gpu and pyNN.nest.

Usage::

    python benchmarks/va_benchmark.py [--models COBA CUBA] [--sims gpu nest] [--out benchmarks/results]

The script is taken from the PyNN 0.13.0 sdist (downloaded once with pip into ``~/.cache/pynn-gpu/``).
Each (simulator, model) pair runs as ``python VAbenchmarks.py <sim> <model>`` in its own process, in a
temporary directory (the script writes ``Results/`` there).  From its stdout we take the firing rates,
the synapse counts and the build, simulation and writing times; the peak RSS is the child's own
(``os.wait4``).  Results go to ``<out>/va_<date>_<host>.json``, a Markdown table and a plot beside it
(process handling, stamping and writing are shared with the other benchmarks: ``common.py``).
A simulator that fails is reported with its exit status and the tail of its stderr; the exit status
of this script is then 1.
"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PYNN_VERSION = "0.13.0"
SCRIPT = "VAbenchmarks.py"
REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pynn-gpu"
TAIL_LINES = 30

# Lines printed by VAbenchmarks.py at the end of a run -> (key, converter).
FIELDS = {
    "Excitatory rate": ("exc_rate_hz", float),
    "Inhibitory rate": ("inh_rate_hz", float),
    "Build time": ("build_s", float),
    "Simulation time": ("simulation_s", float),
    "Writing time": ("writing_s", float),
}
LINE = re.compile(r"^(?P<name>[A-Z][A-Za-z ]*?)\s*:\s*(?P<value>\S+)")
SYNAPSES = re.compile(r"(\d+)\s+([ei])\s*\S\s*([ei,]+)")  # "25686 e→e", or "... e→e,i" with --use-views


def va_script() -> Path:
    """Path of the cached, unmodified ``examples/VAbenchmarks.py`` from the PyNN sdist (fetched once)."""
    target = CACHE / f"pynn-{PYNN_VERSION}" / "examples" / SCRIPT
    if target.is_file():
        return target
    sdist_dir = CACHE / "sdist"
    sdists = sorted(sdist_dir.glob(f"[pP][yY][nN][nN]-{PYNN_VERSION}.tar.gz"))
    if not sdists:
        subprocess.run([sys.executable, "-m", "pip", "download", f"pyNN=={PYNN_VERSION}", "--no-binary", ":all:",
                        "--no-deps", "-q", "-d", str(sdist_dir)], check=True)
        sdists = sorted(sdist_dir.glob(f"[pP][yY][nN][nN]-{PYNN_VERSION}.tar.gz"))
    with tarfile.open(sdists[0]) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(f"/examples/{SCRIPT}"))
        data = tar.extractfile(member).read()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def parse_output(stdout: str) -> dict:
    """Figures from the summary VAbenchmarks.py prints; missing lines are simply absent."""
    out = {}
    for line in stdout.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        name = m["name"].strip()
        if name in FIELDS:
            key, conv = FIELDS[name]
            try:
                out[key] = conv(m["value"])
            except ValueError:
                pass
        elif name == "Number of Synapses":
            counts = {f"{pre}->{post}": int(n) for n, pre, post in SYNAPSES.findall(line.split(":", 1)[1])}
            out["synapses"] = counts
            out["n_synapses"] = sum(counts.values())
    return out


def run_one(sim: str, model: str, script: Path, timeout: float) -> dict:
    """Run ``python VAbenchmarks.py sim model`` in a fresh temporary directory; return figures and status."""
    record = {"sim": sim, "model": model}
    with tempfile.TemporaryDirectory(prefix=f"va_{sim}_{model}_") as tmp:
        shutil.copy(script, Path(tmp) / SCRIPT)
        proc = common.run_process([sys.executable, SCRIPT, sim, model], cwd=tmp, env=common.child_env(),
                                  timeout=timeout)
    record["wall_s"] = proc.wall_s
    record["returncode"] = proc.returncode
    record["peak_rss_mb"] = proc.peak_rss_mb
    record.update(parse_output(proc.stdout))
    missing = [key for key, _ in FIELDS.values() if key not in record]
    record["ok"] = proc.returncode == 0 and not missing
    if not record["ok"]:
        why = f"killed after {timeout:g} s" if proc.timed_out else f"exit status {proc.returncode}"
        if proc.returncode == 0:
            why = f"missing from its output: {', '.join(missing)}"
        record["error"] = why
        record["stderr_tail"] = common.tail(proc.stderr, TAIL_LINES)
        record["stdout_tail"] = common.tail(proc.stdout, 10)
    return record


fmt, ratio = common.fmt, common.ratio


def markdown(report: dict) -> str:
    """The report as Markdown: one table of runs, one of nest/gpu comparisons, then any failures."""
    m = report["machine"]
    lines = [f"# Vogels-Abbott benchmarks, {report['date']}", "",
             f"PyNN {PYNN_VERSION} `examples/{SCRIPT}`, unchanged, one process per run. "
             f"Machine: {m['hostname']}, {m['platform']}, {m['cpu_count']} CPUs; "
             f"OpenCL device: {report['opencl_device'] or '—'}. "
             f"Commit {(report['git']['commit'] or '?')[:10]}{' (dirty)' if report['git']['dirty'] else ''}. "
             "The script times its `run()` as the simulation, which on gpu includes generating the kernels and, "
             "on a cold cache, compiling them: "
             + ("here an untimed run of each model filled the kernel caches first, as GeNN's simulation figures "
                "leave out code generation and compilation (a cold compile adds about 0.6 s; see the first-step "
                "column of the other benchmarks)." if report.get("kernel_cache") == "warm" else
                "here the caches were as they were found (`--kernel-cache as-is`)."),
             "", "| model | sim | build (s) | simulation (s) | writing (s) | exc. rate (Hz) | inh. rate (Hz) "
             "| synapses | peak RSS (MB) | wall (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    runs = {(r["model"], r["sim"]): r for r in report["runs"]}
    for r in report["runs"]:
        if r["ok"]:
            lines.append(f"| {r['model']} | {r['sim']} | {fmt(r['build_s'])} | {fmt(r['simulation_s'])} "
                         f"| {fmt(r['writing_s'])} | {fmt(r['exc_rate_hz'], 4)} | {fmt(r['inh_rate_hz'], 4)} "
                         f"| {r.get('n_synapses', '—')} | {fmt(r['peak_rss_mb'], 4)} | {fmt(r['wall_s'])} |")
        else:
            lines.append(f"| {r['model']} | {r['sim']} | **failed**: {r['error']} | | | | | | "
                         f"{fmt(r['peak_rss_mb'], 4)} | {fmt(r['wall_s'])} |")
    pairs = [(g, n) for model in report["models"]
             if (g := runs.get((model, "gpu"))) and (n := runs.get((model, "nest"))) and g["ok"] and n["ok"]]
    if pairs:
        lines += ["", "| model | build nest/gpu | simulation nest/gpu | exc. rate gpu vs nest | "
                  "inh. rate gpu vs nest |", "|---|---|---|---|---|"]
        for g, n in pairs:
            diff = [ratio(g[k] - n[k], n[k]) for k in ("exc_rate_hz", "inh_rate_hz")]
            lines.append(f"| {g['model']} | {fmt(ratio(n['build_s'], g['build_s']))}× "
                         f"| {fmt(ratio(n['simulation_s'], g['simulation_s']))}× "
                         + " ".join(f"| {'—' if d is None else f'{100 * d:+.1f} %'}" for d in diff) + " |")
    for r in report["runs"]:
        if not r["ok"]:
            lines += ["", f"## {r['sim']} {r['model']} failed: {r['error']}", "", "```",
                      r["stderr_tail"] or "(no stderr)", "```"]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> Path | None:
    """Build and simulation time per model and simulator (log scale), and the excitatory / inhibitory rates."""
    plt = common.pyplot()
    if plt is None:
        return None
    import numpy as np
    runs = [r for r in report["runs"] if r["ok"]]
    if not runs:
        return None
    sims = list(dict.fromkeys(r["sim"] for r in runs))
    keys = [(m, k) for m in report["models"] for k in ("build_s", "simulation_s")]
    fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(12, 4.3))
    width = 0.8 / len(sims)
    by = {(r["model"], r["sim"]): r for r in runs}
    for i, sim in enumerate(sims):
        vals = [by.get((m, sim), {}).get(k) for m, k in keys]
        x = np.arange(len(keys)) + (i - (len(sims) - 1) / 2) * width
        bars = ax_t.bar(x, [v or np.nan for v in vals], width, label=sim, color=common.COLOURS.get(sim))
        for b, v in zip(bars, vals):
            if v:
                ax_t.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
        rates = [(m, k) for m in report["models"] for k in ("exc_rate_hz", "inh_rate_hz")]
        xr = np.arange(len(rates)) + (i - (len(sims) - 1) / 2) * width
        ax_r.bar(xr, [by.get((m, sim), {}).get(k) or np.nan for m, k in rates], width, label=sim,
                 color=common.COLOURS.get(sim))
    ax_t.set_xticks(np.arange(len(keys)), [f"{m}\n{k[:-2]}" for m, k in keys])
    ax_t.set_yscale("log")
    ax_t.set_ylabel("wall time (s)")
    ax_t.set_title("build and simulation of 1 s (gpu: kernels generated and compiled in the first run, "
                   "so within simulation)", fontsize=8)
    ax_t.legend(fontsize=8)
    ax_r.set_xticks(np.arange(len(rates)), [f"{m}\n{k.split('_')[0]}." for m, k in rates])
    ax_r.set_ylabel("mean firing rate (Hz)")
    ax_r.set_title("rates", fontsize=9)
    ax_r.legend(fontsize=8)
    fig.suptitle(f"VAbenchmarks.py — {report['opencl_device'] or ''}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    """Run the requested pairs, write the JSON and Markdown reports; 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["COBA", "CUBA"], choices=["COBA", "CUBA"])
    parser.add_argument("--sims", nargs="+", default=["gpu", "nest"], metavar="SIM",
                        help="PyNN backend names (pyNN.<SIM>); default: gpu nest")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run (default 1800)")
    parser.add_argument("--kernel-cache", choices=["warm", "as-is"], default="warm",
                        help="'warm' (default): an untimed run of each model on gpu first, so that the timed run's "
                             "kernels come from the caches (GeNN's figures leave out code generation and "
                             "compilation); 'as-is': the caches as they are")
    args = parser.parse_args(argv)

    script = va_script()
    now = datetime.datetime.now().astimezone()
    stamp = common.stamp(now)
    report = {
        "benchmark": f"PyNN {PYNN_VERSION} examples/{SCRIPT} (unchanged)",
        **stamp,
        "models": args.models,
        "kernel_cache": args.kernel_cache,
        "runs": [],
    }
    for model in args.models:
        for sim in args.sims:
            if sim == "gpu" and args.kernel_cache == "warm":
                print(f"--- {sim} {model}: untimed run to fill the kernel caches ...", flush=True)
                run_one(sim, model, script, args.timeout)
            print(f"--- {sim} {model} ...", flush=True)
            r = run_one(sim, model, script, args.timeout)
            report["runs"].append(r)
            if r["ok"]:
                print(f"    build {fmt(r['build_s'])} s, simulation {fmt(r['simulation_s'])} s, "
                      f"rates {fmt(r['exc_rate_hz'], 4)} / {fmt(r['inh_rate_hz'], 4)} Hz, "
                      f"{r.get('n_synapses')} synapses, peak RSS {fmt(r['peak_rss_mb'], 4)} MB", flush=True)
            else:
                print(f"    FAILED ({r['error']}); stderr tail:", file=sys.stderr)
                print("      " + r["stderr_tail"].replace("\n", "\n      "), file=sys.stderr, flush=True)

    stem = common.result_stem(args.out, "va", now)
    paths = common.write_report(report, stem, markdown(report))
    png = plot(report, common.with_ext(stem, ".png"))
    print("wrote " + ", ".join(str(p) for p in paths + ([png] if png else [])))
    return 0 if all(r["ok"] for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
