"""Shared harness of the benchmarks: one process per simulator, phase timings, peak memory, stamps and reports.

A benchmark is a PyNN script written as a function ``build(sim, params) -> Model`` that takes the simulator
module (``pyNN.gpu``, ``pyNN.nest``...), calls ``sim.setup()`` and builds and records the network.  The
benchmark's command (``main``) runs that same function once per simulator, each in a fresh Python process
(``<script> --worker SIM``), and collects from each:

* ``import_s``: ``import pyNN.<sim>``;
* ``build_s``: ``build()``: ``setup()``, populations, projections, recording requests (network construction);
* ``first_step_s``: the first ``run()`` of one time step.  On pyNN.gpu this is where the network is turned
  into kernels: describe, generate, compile (``kernel_compile_s``, the time spent in the device compiler,
  measured around the runtime's ``compile``), allocate and upload; ``device_init_s`` (opening the OpenCL /
  CUDA device) is measured just before it, or is None when ``build`` already opened it.  On pyNN.nest it
  is NEST's ``Prepare`` plus one step (PyNN also simulates one extra ``min_delay`` on the first run);
* ``warmup_s`` (if the model asks for a warm-up): ``run_until(t_warmup)``;
* ``simulation_s``: ``run_until(t_sim)`` from there, with ``simulated_ms`` the biological time it covered
  and ``rtf`` = wall seconds per biological second;
* per-population firing rates (mean and sd over cells, silent fraction, mean ISI CV where spike times are
  read) over ``[t_warmup, t_sim]`` (``readout_s``), synapse counts (``count_s``), ``end()`` (``end_s``),
  and the process's peak RSS (``os.wait4``) and wall time.

The worker writes its record after every phase, so a run that fails or times out still reports what it
finished, plus the traceback (or the tail of stderr).  By default the pyNN.gpu worker gets empty kernel
caches (``PYNN_GPU_CACHE_DIR`` and PoCL's ``POCL_CACHE_DIR`` in a temporary folder): its compile time is
the cold one.

The rest is stamping (date, machine, OpenCL device, commit, versions) and writing JSON, Markdown and plots.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
TAIL_LINES = 30
SIMS = ("gpu", "nest")


# ---- stamping --------------------------------------------------------------------------------------------

def opencl_device() -> str | None:
    """Name of the OpenCL device pyNN.gpu would pick by default, or None if pyopencl has none."""
    try:
        from pynn_gpu.kernels.runtime.opencl import choose_device
        platform_, device = choose_device()
        return f"{device.name.strip()} ({platform_.name.strip()})"
    except Exception:
        pass
    try:  # the backend is not importable: same rule (a GPU first), straight from pyopencl
        import pyopencl as cl
        pairs = [(p, d) for p in cl.get_platforms() for d in p.get_devices()]
        pairs.sort(key=lambda pd: 0 if pd[1].type & cl.device_type.GPU else 1)
        return f"{pairs[0][1].name.strip()} ({pairs[0][0].name.strip()})" if pairs else None
    except Exception:
        return None


def git_commit() -> dict:
    """HEAD of the repository this file is in, and whether tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None,
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except OSError:
        return {"commit": None, "dirty": None}


def versions() -> dict:
    """Installed versions of the packages that matter here."""
    out = {"python": platform.python_version()}
    for dist in ("PyNN", "pynn-gpu", "nest-simulator", "pyopencl", "pocl-binary-distribution", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def cpu_model() -> str | None:
    """The CPU's model name (Linux), else whatever ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def host() -> str:
    return socket.gethostname().split(".")[0]


def stamp(now: datetime.datetime) -> dict:
    """Date, machine, OpenCL device, PYNN_GPU_* settings, commit and versions, for a report's header."""
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gib = None
    return {
        "date": now.isoformat(timespec="seconds"),
        "machine": {"hostname": host(), "platform": platform.platform(), "processor": platform.processor(),
                    "cpu": cpu_model(), "cpu_count": os.cpu_count(), "memory_gib": mem_gib},
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "opencl_device": opencl_device(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("PYNN_GPU_")},
        "git": git_commit(),
        "versions": versions(),
    }


def gpu_device(report: dict) -> str:
    """The device pyNN.gpu ran on (from its run's record), else the default OpenCL device, else '—'."""
    for r in report.get("runs", []):
        if r.get("sim") == "gpu" and r.get("device"):
            return f"{r['device']} ({r.get('gpu_backend', '?')}, {r.get('precision', '?')} precision)"
    return report.get("opencl_device") or "—"


def header_line(report: dict) -> str:
    """One Markdown sentence: machine, device, commit."""
    m = report["machine"]
    git = report["git"]
    dev = gpu_device(report)
    env = ", ".join(f"{k}={v}" for k, v in report.get("env", {}).items())
    mem = f", {m['memory_gib']} GiB" if m.get("memory_gib") else ""
    env = f" ({env})" if env else ""
    load = report.get("load_avg_at_start")
    load = f", load average {load[0]:.2f} at start" if load else ""
    return (f"Machine: {m['hostname']}, {m.get('cpu') or m['platform']}, {m['cpu_count']} CPUs{mem}{load}; "
            f"pyNN.gpu device: {dev}{env}. "
            f"Commit {(git['commit'] or '?')[:10]}{' (dirty)' if git['dirty'] else ''}.")


# ---- child processes -------------------------------------------------------------------------------------

@dataclass
class ProcessResult:
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mb: float
    timed_out: bool
    killed_for_memory: bool = False


def meminfo_mb(key: str = "MemAvailable") -> float | None:
    """A line of /proc/meminfo in MB (Linux), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_memory_limit_mb() -> float | None:
    """80 % of the memory available now: a run that needs more is stopped before it takes the machine down."""
    avail = meminfo_mb()
    return None if avail is None else round(0.8 * avail)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_process(cmd: list, cwd, env: dict, timeout: float, max_rss_mb: float | None = None) -> ProcessResult:
    """Run ``cmd``; kill it after ``timeout`` s, or once its RSS exceeds ``max_rss_mb`` (polled every 0.2 s).
    Peak RSS is the child's own (``os.wait4``), not all children's."""
    with tempfile.TemporaryDirectory(prefix="bench_io_") as io:
        out_path, err_path = Path(io) / "stdout.txt", Path(io) / "stderr.txt"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            killed, memory, done = threading.Event(), threading.Event(), threading.Event()

            def kill():
                killed.set()
                proc.kill()
            timer = threading.Timer(timeout, kill)
            timer.start()

            def watch():
                while not done.wait(0.2):
                    rss = _rss_mb(proc.pid)
                    if rss is not None and rss > max_rss_mb:
                        memory.set()
                        proc.kill()
                        return
            watchdog = threading.Thread(target=watch, daemon=True) if max_rss_mb else None
            if watchdog:
                watchdog.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                done.set()
            wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        return ProcessResult(proc.returncode, out_path.read_text(encoding="utf-8", errors="replace"),
                             err_path.read_text(encoding="utf-8", errors="replace"), round(wall, 3),
                             round(usage.ru_maxrss / 1024, 1), killed.is_set(),  # Linux: ru_maxrss in KiB
                             memory.is_set())


def tail(text: str, n: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])


def child_env(**extra) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", MPLBACKEND="Agg")
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


# ---- the worker: one PyNN script, one simulator, one process ---------------------------------------------

@dataclass
class Model:
    """What ``build(sim, params)`` returns.

    ``populations``: label -> Population whose spikes are recorded (its rates are reported);
    ``projections``: label -> Projection (synapses counted after the run); ``t_sim``: total biological time
    (ms); ``t_warmup``: the first part of it, run and timed separately and left out of the rates and the
    real-time factor; ``spike_times``: read spike trains (rate sd, ISI CV) rather than only spike counts;
    ``count_synapses``: call ``Projection.size()`` after the run (pyNN.nest takes minutes for 10^7 synapses);
    ``info``: anything to add to the record (derived parameters...).
    """

    populations: dict
    t_sim: float
    projections: dict = field(default_factory=dict)
    t_warmup: float = 0.0
    spike_times: bool = True
    count_synapses: bool = True
    info: dict = field(default_factory=dict)


def _population_stats(pop, t0: float, t1: float, spike_times: bool) -> dict:
    import numpy as np
    span_s = (t1 - t0) / 1000.0
    n = pop.size
    if spike_times:
        trains = pop.get_data("spikes", gather=True, clear=False).segments[-1].spiketrains
        counts, cvs = np.zeros(n), []
        for k, st in enumerate(trains):
            t = np.asarray(st.magnitude, float)
            t = t[(t >= t0) & (t < t1)]
            counts[k] = t.size
            if t.size >= 3:
                isi = np.diff(t)
                if isi.mean() > 0:
                    cvs.append(isi.std() / isi.mean())
        rates = counts / span_s
        return {"n": n, "rate_hz": float(rates.mean()), "rate_sd_hz": float(rates.std()),
                "silent_fraction": float(np.mean(counts == 0)), "cv_isi": float(np.mean(cvs)) if cvs else None,
                "spikes": int(counts.sum())}
    counts = np.fromiter(pop.get_spike_counts(gather=True).values(), float, count=n)
    rates = counts / span_s
    return {"n": n, "rate_hz": float(rates.mean()), "rate_sd_hz": float(rates.std()),
            "silent_fraction": float(np.mean(counts == 0)), "spikes": int(counts.sum())}


class _Recorder:
    """The worker's record, rewritten (atomically) after each phase."""

    def __init__(self, path: Path, record: dict):
        self.path, self.record = path, record
        self.save()

    def save(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.record, indent=1, default=str))
        os.replace(tmp, self.path)

    def phase(self, name: str):
        self.record["phase"] = name
        self.save()

    def set(self, **values):
        self.record.update(values)
        self.save()


def _hook_gpu(sim, rec: _Recorder) -> list:
    """pyNN.gpu only: open the device now (timed) and time each call into the device compiler."""
    state = sim.simulator.state
    already_open = getattr(state, "_runtime", None) is not None
    t0 = time.perf_counter()
    rt = state.runtime
    # None: the device was already opened during build (its cost is then in build_s)
    rec.set(device_init_s=None if already_open else round(time.perf_counter() - t0, 4),
            device=" on ".join(x for x in (getattr(rt, "device_name", None), getattr(rt, "platform_name", None))
                               if x) or repr(rt),
            gpu_backend=type(rt).__name__, precision=state.precision)
    compile_times = []
    original = rt.compile

    def timed_compile(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            compile_times.append(time.perf_counter() - t)
    rt.compile = timed_compile
    return compile_times


def measure(build, sim_name: str, params: dict, rec: _Recorder) -> None:
    """Import pyNN.<sim_name>, build the model, run it in timed phases, read rates and synapse counts."""
    t0 = time.perf_counter()
    rec.phase("import")
    sim = importlib.import_module(f"pyNN.{sim_name}")
    rec.set(import_s=round(time.perf_counter() - t0, 4))

    rec.phase("build")
    t0 = time.perf_counter()
    model = build(sim, params)
    rec.set(build_s=round(time.perf_counter() - t0, 4), t_sim_ms=model.t_sim, t_warmup_ms=model.t_warmup,
            n_neurons={k: p.size for k, p in model.populations.items()}, **model.info)

    compile_times = _hook_gpu(sim, rec) if sim_name == "gpu" else None
    dt = sim.get_time_step()
    rec.phase("first step")
    t0 = time.perf_counter()
    sim.run(dt)
    rec.set(first_step_s=round(time.perf_counter() - t0, 4))
    if compile_times is not None:
        rec.set(kernel_compile_s=round(sum(compile_times), 4), kernel_compiles=len(compile_times))

    if model.t_warmup > sim.get_current_time() + dt / 2:
        rec.phase("warm-up")
        t0 = time.perf_counter()
        sim.run_until(model.t_warmup)
        rec.set(warmup_s=round(time.perf_counter() - t0, 4))

    rec.phase("simulation")
    t_start = sim.get_current_time()
    t0 = time.perf_counter()
    sim.run_until(model.t_sim)
    elapsed = time.perf_counter() - t0
    simulated = sim.get_current_time() - t_start
    rec.set(simulation_s=round(elapsed, 4), simulated_ms=round(simulated, 4),
            rtf=round(elapsed / (simulated / 1000.0), 4) if simulated > 0 else None)

    rec.phase("read-out")
    t0 = time.perf_counter()
    window = (min(model.t_warmup, t_start), model.t_sim)
    rec.set(rate_window_ms=list(window),
            populations={k: _population_stats(p, *window, model.spike_times) for k, p in model.populations.items()})
    rec.set(readout_s=round(time.perf_counter() - t0, 4))
    if model.count_synapses:
        rec.phase("synapse count")
        t0 = time.perf_counter()
        synapses = {k: int(prj.size()) for k, prj in model.projections.items()}
        rec.set(synapses=synapses, n_synapses=sum(synapses.values()), count_s=round(time.perf_counter() - t0, 4))
    rec.phase("end")
    t0 = time.perf_counter()
    sim.end()
    rec.set(end_s=round(time.perf_counter() - t0, 4))
    rec.phase("done")


def worker_main(build, args) -> int:
    """The child side: ``args.worker`` is the simulator, ``args.params`` a JSON object, ``args.result`` a path."""
    params = json.loads(args.params)
    rec = _Recorder(Path(args.result), {"sim": args.worker, "pid": os.getpid()})
    try:
        measure(build, args.worker, params, rec)
    except BaseException as err:  # report everything, KeyboardInterrupt included
        rec.set(error=f"{type(err).__name__} in phase '{rec.record.get('phase')}': {err}",
                traceback=traceback.format_exc())
        traceback.print_exc()
        return 1
    return 0


# ---- the parent: run the worker once per simulator -------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser, timeout: float) -> None:
    """Options every benchmark command has, plus the hidden worker ones."""
    parser.add_argument("--sims", nargs="+", default=list(SIMS), metavar="SIM",
                        help="PyNN backend names (pyNN.<SIM>), each run in its own process; default: gpu nest")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON, Markdown and PNG results")
    parser.add_argument("--timeout", type=float, default=timeout, help=f"seconds per run (default {timeout:g})")
    parser.add_argument("--kernel-cache", choices=["cold", "user"], default="cold",
                        help="pyNN.gpu kernel caches: 'cold' (empty temporary pyNN.gpu and PoCL caches: compile time "
                             "from scratch, the default) or 'user' (the usual ones, possibly warm)")
    parser.add_argument("--max-rss-mb", type=float, default=None,
                        help="stop a run whose memory passes this (default: 80 %% of what is available at its start)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)


def run_worker(script: Path, sim: str, params: dict, timeout: float, kernel_cache: str = "cold",
               max_rss_mb: float | None = None) -> dict:
    """Run ``script --worker sim`` in its own process; its record plus wall time, peak RSS and any failure.
    ``max_rss_mb``: stop it beyond that much memory (default: 80 % of what is available when it starts)."""
    default_limit = max_rss_mb is None
    max_rss_mb = default_memory_limit_mb() if default_limit else max_rss_mb
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix=f"bench_{sim}_") as tmp:
        result = Path(tmp) / "result.json"
        cold = sim == "gpu" and kernel_cache == "cold"
        # cold: both pyNN.gpu's cache and PoCL's own kernel cache start empty
        env = child_env(PYNN_GPU_CACHE_DIR=str(Path(tmp) / "kernel-cache") if cold else None,
                        POCL_CACHE_DIR=str(Path(tmp) / "pocl-cache") if cold else None)
        cmd = [sys.executable, str(script), "--worker", sim, "--params", json.dumps(params), "--result", str(result)]
        proc = run_process(cmd, cwd=tmp, env=env, timeout=timeout, max_rss_mb=max_rss_mb)
        try:
            record = json.loads(result.read_text())
        except (OSError, ValueError):
            record = {"sim": sim}
    record.pop("pid", None)
    record.update(returncode=proc.returncode, wall_s=proc.wall_s, peak_rss_mb=proc.peak_rss_mb,
                  kernel_cache=kernel_cache if sim == "gpu" else None, load_avg_1min_at_start=load,
                  max_rss_mb=max_rss_mb)
    record["ok"] = proc.returncode == 0 and record.get("phase") == "done"
    if not record["ok"]:
        if proc.killed_for_memory:
            why = (f"stopped when its memory passed {max_rss_mb:.0f} MB"
                   f"{' (80 % of what was available at its start)' if default_limit else ''} in phase "
                   f"'{record.get('phase', 'start-up')}'")
        elif proc.timed_out:
            why = f"timed out after {timeout:g} s in phase '{record.get('phase', 'start-up')}'"
        elif "error" in record:
            why = record["error"]
        else:
            why = f"exit status {proc.returncode} in phase '{record.get('phase', 'start-up')}'"
        record["error"] = why
        record["timed_out"] = proc.timed_out
        record["killed_for_memory"] = proc.killed_for_memory
        record.setdefault("traceback", None)
        record["stderr_tail"] = tail(proc.stderr)
        record["stdout_tail"] = tail(proc.stdout, 10)
    return record


def run_all(script: Path, params: dict, sims, timeout: float, kernel_cache: str, label: str = "",
            max_rss_mb: float | None = None) -> list:
    """``run_worker`` for each simulator in turn, printing a line of progress for each."""
    runs = []
    for sim in sims:
        print(f"--- {label}{sim} ...", flush=True)
        r = run_worker(script, sim, params, timeout, kernel_cache, max_rss_mb)
        runs.append(r)
        print("    " + summary_line(r), flush=True)
        if not r["ok"]:
            print("      " + (r.get("traceback") or r["stderr_tail"] or "(no stderr)").rstrip().replace(
                "\n", "\n      "), file=sys.stderr, flush=True)
    return runs


def summary_line(r: dict) -> str:
    if not r["ok"] and r.get("build_s") is None:
        return f"{r['sim']}: FAILED ({r['error']})"
    parts = [f"{r['sim']}: build {fmt(r.get('build_s'))} s"]
    if r.get("kernel_compile_s") is not None:
        parts.append(f"first step {fmt(r.get('first_step_s'))} s (kernel compile {fmt(r['kernel_compile_s'])} s)")
    else:
        parts.append(f"first step {fmt(r.get('first_step_s'))} s")
    parts.append(f"simulation {fmt(r.get('simulation_s'))} s (RTF {fmt(r.get('rtf'))})")
    if r.get("populations"):
        parts.append("rates " + " / ".join(f"{k} {fmt(v['rate_hz'], 4)}" for k, v in r["populations"].items())
                     + " Hz")
    parts.append(f"peak RSS {fmt_mb(r.get('peak_rss_mb'))} MB")
    line = ", ".join(parts)
    return line if r["ok"] else f"FAILED ({r['error']}) after: {line}"


# ---- formatting and reports ------------------------------------------------------------------------------

def fmt(x, digits=3) -> str:
    """A number to ``digits`` significant figures, or an em dash."""
    return "—" if x is None else f"{x:.{digits}g}"


def fmt_mb(x) -> str:
    """Megabytes without exponent: '263', '10,520', or an em dash."""
    return "—" if x is None else f"{x:,.0f}"


def ratio(a, b):
    """a / b, or None."""
    return a / b if a is not None and b else None


def time_to_first_step(r: dict):
    """build + device opening + first step: everything before the simulation proper."""
    parts = [r.get("build_s"), r.get("first_step_s")]
    if None in parts:
        return None
    return sum(parts) + (r.get("device_init_s") or 0.0)


def comparison(runs: list, base: str = "nest", other: str = "gpu") -> dict | None:
    """Ratios base/other (above 1: ``other`` is faster) of the phases both finished, and rate differences."""
    by_sim = {r["sim"]: r for r in runs}
    a, b = by_sim.get(base), by_sim.get(other)
    if not a or not b:
        return None
    out = {"ratios": f"{base}/{other}",
           "build": ratio(a.get("build_s"), b.get("build_s")),
           "build_incl_first_step": ratio(time_to_first_step(a), time_to_first_step(b)),
           "simulation": ratio(a.get("simulation_s"), b.get("simulation_s")),
           "peak_rss": ratio(a.get("peak_rss_mb"), b.get("peak_rss_mb"))}
    rates = {}
    for k in (a.get("populations") or {}):
        ra, rb = a["populations"][k]["rate_hz"], (b.get("populations") or {}).get(k, {}).get("rate_hz")
        if rb is not None:
            rates[k] = {base: ra, other: rb, "rel_diff": ratio(rb - ra, ra)}
    out["rates"] = rates
    return out


def runs_table(runs: list) -> list:
    """Markdown lines: one row per simulator with every phase."""
    lines = ["| sim | build (s) | device init (s) | first step (s) | of which kernel compile (s) | warm-up (s) "
             "| simulation (s) | simulated (ms) | RTF | read-out (s) | synapse count (s) | end (s) | synapses "
             "| peak RSS (MB) | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        status = "" if r["ok"] else " **(failed)**"
        lines.append(
            f"| {r['sim']}{status} | {fmt(r.get('build_s'))} | {fmt(r.get('device_init_s'))} "
            f"| {fmt(r.get('first_step_s'))} | {fmt(r.get('kernel_compile_s'))} | {fmt(r.get('warmup_s'))} "
            f"| {fmt(r.get('simulation_s'))} | {fmt(r.get('simulated_ms'), 5)} | {fmt(r.get('rtf'))} "
            f"| {fmt(r.get('readout_s'))} | {fmt(r.get('count_s'))} | {fmt(r.get('end_s'))} "
            f"| {r.get('n_synapses', '—')} | {fmt_mb(r.get('peak_rss_mb'))} "
            f"| {fmt(r.get('wall_s'))} |")
    return lines


def rates_table(runs: list, reference: dict | None = None, reference_name: str = "published") -> list:
    """Markdown lines: one row per population, rate (mean ± sd over cells) per simulator (and a reference)."""
    sims = [r for r in runs if r.get("populations")]
    if not sims:
        return []
    labels = list(sims[0]["populations"])
    head = "| population | cells | " + " | ".join(f"{r['sim']} rate (Hz) | {r['sim']} CV ISI" for r in sims)
    if reference:
        head += f" | {reference_name} (Hz)"
    lines = [head + " |", "|---" * (2 + 2 * len(sims) + (1 if reference else 0)) + "|"]
    for k in labels:
        row = f"| {k} | {sims[0]['populations'][k]['n']} | "
        cells = []
        for r in sims:
            s = r["populations"].get(k)
            cells.append("—" if s is None else f"{s['rate_hz']:.3f} ± {s['rate_sd_hz']:.2f}")
            cells.append("—" if s is None else fmt(s.get("cv_isi")))
        row += " | ".join(cells)
        if reference:
            row += f" | {fmt(reference.get(k), 4)}"
        lines.append(row + " |")
    return lines


def comparison_lines(cmp: dict | None) -> list:
    if not cmp:
        return []
    base, other = cmp["ratios"].split("/")
    lines = [f"Ratios {base}/{other} (above 1: {other} is faster / smaller):", "",
             "| build | build + first step | simulation | peak RSS |", "|---|---|---|---|",
             f"| {fmt(cmp['build'])}× | {fmt(cmp['build_incl_first_step'])}× | {fmt(cmp['simulation'])}× "
             f"| {fmt(cmp['peak_rss'])}× |"]
    if cmp["rates"]:
        diffs = [f"{k} {'—' if v['rel_diff'] is None else format(100 * v['rel_diff'], '+.1f') + ' %'}"
                 for k, v in cmp["rates"].items()]
        lines += ["", f"Rate differences {other} vs {base}: " + ", ".join(diffs) + "."]
    return lines


def failure_lines(runs: list) -> list:
    lines = []
    for r in runs:
        if not r["ok"]:
            label = r.get("label", r["sim"])
            lines += ["", f"### {label} failed: {r['error']}", "", "```",
                      (r.get("traceback") or r.get("stderr_tail") or "(no stderr)").rstrip(), "```"]
    return lines


def phases_note(has_gpu: bool) -> str:
    note = ("*build*: `setup()` and network construction (populations, projections, recording requests); "
            "*first step*: the first `run()` of one time step")
    if has_gpu:
        note += (" — on gpu this generates the kernels, compiles them (*kernel compile*, the device compiler "
                 "alone) and uploads the network; *device init* (opening the OpenCL device) precedes it "
                 "(— when `build` had already opened the device)")
    note += ("; on nest it is NEST's preparation plus one step (PyNN adds one min_delay on a first run); "
             "*simulation*: the rest of the run (after the warm-up, if any); RTF = simulation wall time per "
             "biological second; *read-out*: spike data to rates; *synapse count*: `Projection.size()` of every "
             "projection; *wall*: the whole process, Python start-up and import included; rates over the "
             "simulated window shown in the JSON (`rate_window_ms`).")
    return note


def write_report(report: dict, stem: Path, markdown: str) -> list:
    """``stem``.json and ``stem``.md; returns the paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [with_ext(stem, ".json"), with_ext(stem, ".md")]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(markdown, encoding="utf-8")
    return paths


def finish(report: dict, stem: Path, markdown: str, make_plot) -> int:
    """Write the report (JSON, Markdown, and the plot ``make_plot(path)`` makes), print where and the ratios;
    the exit status: 0 if every run succeeded, else 1."""
    paths = write_report(report, stem, markdown)
    png = make_plot(with_ext(stem, ".png"))
    print("wrote " + ", ".join(str(p) for p in paths + ([png] if png else [])))
    for line in comparison_lines(report["comparison"]):
        print(line)
    return 0 if all(r["ok"] for r in report["runs"]) else 1


def result_stem(out: Path, name: str, now: datetime.datetime, suffix: str = "") -> Path:
    """``<out>/<name>_<date>_<host><suffix>``, without extension (use ``with_ext``: suffix may hold dots)."""
    return out / f"{name}_{now:%Y-%m-%d}_{host()}{suffix}"


def with_ext(stem: Path, ext: str) -> Path:
    """``stem`` + ``ext`` (not ``Path.with_suffix``, which would eat a '.5' of a scale in the name)."""
    return stem.parent / (stem.name + ext)


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (the plot is then skipped with a message)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError as err:
        print(f"no plot: {err}", file=sys.stderr)
        return None


COLOURS = {"gpu": "tab:green", "nest": "tab:blue"}


def plot_runs(report: dict, path: Path, title: str, reference: dict | None = None,
              reference_name: str = "published") -> Path | None:
    """Two panels: wall time per phase and simulator; rate per population and simulator (and a reference)."""
    plt = pyplot()
    if plt is None:
        return None
    import numpy as np
    runs = report["runs"]
    fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.6]})
    phases = [("build_s", "build"), ("first_step_s", "first step"), ("warmup_s", "warm-up"),
              ("simulation_s", "simulation")]
    phases = [p for p in phases if any(r.get(p[0]) for r in runs)]
    x = np.arange(len(phases))
    width = 0.8 / max(len(runs), 1)
    for k, r in enumerate(runs):
        vals = [r.get(key) or 0.0 for key, _ in phases]
        bars = ax_t.bar(x + (k - (len(runs) - 1) / 2) * width, vals, width, label=r["sim"],
                        color=COLOURS.get(r["sim"]))
        if r.get("kernel_compile_s") is not None and "first_step_s" in [p[0] for p in phases]:
            i = [p[0] for p in phases].index("first_step_s")
            ax_t.bar(bars[i].get_x() + width / 2, r["kernel_compile_s"], width, fill=False, hatch="//",
                     edgecolor="k", label=f"{r['sim']}: of which kernel compile")
        for b, v in zip(bars, vals):
            if v:
                ax_t.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
    ax_t.set_xticks(x, [name for _, name in phases])
    ax_t.set_ylabel("wall time (s)")
    ax_t.set_yscale("log")
    ax_t.set_ylim(top=ax_t.get_ylim()[1] * 6)   # room for the legend above the bars
    ax_t.legend(fontsize=8, loc="upper left", ncol=2)
    ax_t.set_title("time per phase")
    labels = []
    for r in runs:
        for k in (r.get("populations") or {}):
            if k not in labels:
                labels.append(k)
    series = [(r["sim"], [(r.get("populations") or {}).get(k, {}).get("rate_hz") for k in labels],
               [(r.get("populations") or {}).get(k, {}).get("rate_sd_hz") for k in labels], COLOURS.get(r["sim"]))
              for r in runs]
    if reference:
        series.append((reference_name, [reference.get(k) for k in labels], [None] * len(labels), "0.6"))
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for k, (name, vals, sds, colour) in enumerate(series):
        v = [np.nan if a is None else a for a in vals]
        ax_r.bar(x + (k - (len(series) - 1) / 2) * width, v, width, label=name, color=colour)
    ax_r.set_xticks(x, labels, rotation=30 if len(labels) > 4 else 0)
    ax_r.set_ylabel("mean firing rate (Hz)")
    ax_r.legend(fontsize=8)
    ax_r.set_title("rates per population")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
