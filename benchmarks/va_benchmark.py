"""Vogels-Abbott benchmarks: PyNN's own ``examples/VAbenchmarks.py``, unchanged, on pyNN.gpu and pyNN.nest.

Usage::

    python benchmarks/va_benchmark.py [--models COBA CUBA] [--sims gpu nest] [--out benchmarks/results]

The script is taken from the PyNN 0.13.0 sdist (downloaded once with pip into ``~/.cache/pynn-gpu/``).
Each (simulator, model) pair runs as ``python VAbenchmarks.py <sim> <model>`` in its own process, in a
temporary directory (the script writes ``Results/`` there).  From its stdout we take the firing rates,
the synapse counts and the build, simulation and writing times; the peak RSS is the child's own
(``os.wait4``).  Results go to ``<out>/va_<date>_<host>.json`` and a Markdown table beside it.
A simulator that fails is reported with its exit status and the tail of its stderr; the exit status
of this script is then 1.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

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
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory(prefix=f"va_{sim}_{model}_") as tmp:
        shutil.copy(script, Path(tmp) / SCRIPT)
        out_path, err_path = Path(tmp) / "stdout.txt", Path(tmp) / "stderr.txt"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, SCRIPT, sim, model], cwd=tmp, env=env,
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
            finally:
                timer.cancel()
            record["wall_s"] = round(time.perf_counter() - t0, 3)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    record["returncode"] = proc.returncode
    record["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: KiB
    record.update(parse_output(stdout))
    missing = [key for key, _ in FIELDS.values() if key not in record]
    record["ok"] = proc.returncode == 0 and not missing
    if not record["ok"]:
        why = f"killed after {timeout:g} s" if proc.returncode == -9 else f"exit status {proc.returncode}"
        if proc.returncode == 0:
            why = f"missing from its output: {', '.join(missing)}"
        record["error"] = why
        record["stderr_tail"] = "\n".join(stderr.rstrip().splitlines()[-TAIL_LINES:])
        record["stdout_tail"] = "\n".join(stdout.rstrip().splitlines()[-10:])
    return record


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


def fmt(x, digits=3) -> str:
    """A number to ``digits`` significant figures, or an em dash."""
    return "—" if x is None else f"{x:.{digits}g}"


def ratio(a, b):
    """a / b, or None."""
    return a / b if a is not None and b else None


def markdown(report: dict) -> str:
    """The report as Markdown: one table of runs, one of nest/gpu comparisons, then any failures."""
    m = report["machine"]
    lines = [f"# Vogels-Abbott benchmarks, {report['date']}", "",
             f"PyNN {PYNN_VERSION} `examples/{SCRIPT}`, unchanged, one process per run. "
             f"Machine: {m['hostname']}, {m['platform']}, {m['cpu_count']} CPUs; "
             f"OpenCL device: {report['opencl_device'] or '—'}. "
             f"Commit {(report['git']['commit'] or '?')[:10]}{' (dirty)' if report['git']['dirty'] else ''}.",
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


def main(argv=None) -> int:
    """Run the requested pairs, write the JSON and Markdown reports; 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["COBA", "CUBA"], choices=["COBA", "CUBA"])
    parser.add_argument("--sims", nargs="+", default=["gpu", "nest"], metavar="SIM",
                        help="PyNN backend names (pyNN.<SIM>); default: gpu nest")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run (default 1800)")
    args = parser.parse_args(argv)

    script = va_script()
    now = datetime.datetime.now().astimezone()
    host = socket.gethostname().split(".")[0]
    report = {
        "benchmark": f"PyNN {PYNN_VERSION} examples/{SCRIPT} (unchanged)",
        "date": now.isoformat(timespec="seconds"),
        "machine": {"hostname": host, "platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count()},
        "opencl_device": opencl_device(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("PYNN_GPU_")},
        "git": git_commit(),
        "versions": versions(),
        "models": args.models,
        "runs": [],
    }
    for model in args.models:
        for sim in args.sims:
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

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"va_{now:%Y-%m-%d}_{host}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {stem}.json and {stem}.md")
    return 0 if all(r["ok"] for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
