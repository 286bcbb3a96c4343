"""GPU validation in one command: the test suite on backend='cuda' and on OpenCL-on-GPU, then the benchmarks.

Usage (on a machine with a GPU; exits with status 2 and says why on one without)::

    python benchmarks/gpu_check.py [--skip-tests] [--skip-benchmarks] [--models COBA CUBA] [--no-nest]
                                   [--device DEVICE] [--out benchmarks/results] [--timeout SECONDS]

Each configuration runs in its own processes with ``PYNN_GPU_BACKEND`` / ``PYNN_GPU_DEVICE`` set, which
``sim.setup()`` honours: ``cuda`` (when the CUDA driver sees a GPU and NVRTC is installed) and ``opencl-gpu``
(when an OpenCL platform lists a GPU).  For each: ``pytest tests`` (counts, failures, time from its JUnit
report), ``benchmarks/va_benchmark.py`` (COBA and CUBA) and ``benchmarks/microcircuit.py`` (pyNN.nest once
beside the first configuration for the ratios; its own results go to ``<out>/<configuration>/``), the mushroom-body
example's full default run (accuracy, images/s), and the full-scale microcircuit with procedural connections (gpu
only).  The summary goes into ``<out>/gpu_check_<date>_<device>.json``
(``_tests`` / ``_benchmarks`` added when one part is skipped): device name, compute capability, memory, driver
and NVRTC versions, commit, test results, times and firing rates.  Exit status 1 if a test or a benchmark failed.

On a lent machine that cannot download (see ``benchmarks/device_setup.sh``): fetch the wheels here, then one call
per part, each within a 10-minute command::

    bash benchmarks/device_setup.sh fetch tests          # here; carry .whl-tests
    bash benchmarks/device_setup.sh install .whl-tests && export PYTHONPATH=/tmp/site &&
        python3 benchmarks/gpu_check.py --skip-benchmarks --out $OUT --timeout 240
    bash benchmarks/device_setup.sh fetch benchmarks     # here; carry .whl-benchmarks
    bash benchmarks/device_setup.sh install .whl-benchmarks && export PYTHONPATH=/tmp/site &&
        python3 benchmarks/gpu_check.py --skip-tests --out $OUT --timeout 300
"""
from __future__ import annotations

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
import tempfile
import time
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: The runs after the VA benchmark, per configuration
PARTS = ("microcircuit", "mushroom_body", "microcircuit_full_procedural")
NO_GPU = 2


def nvidia_smi() -> list:
    """``[{name, driver, memory}]`` from nvidia-smi, if it is installed."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = [[c.strip() for c in line.split(",")] for line in out.splitlines() if line.strip()]
    return [{"name": r[0], "driver": r[1], "memory": r[2]} for r in rows if len(r) == 3]


def probe_cuda() -> dict:
    """What backend='cuda' would find: devices, driver and NVRTC versions, or why it cannot run."""
    try:
        from pynn_gpu.kernels.runtime import cuda, nvrtc
    except Exception as err:            # pragma: no cover - the package itself is broken
        return {"usable": False, "why": f"pyNN.gpu does not import: {err}"}
    info = {"usable": False}
    try:
        info["devices"] = [{"index": k, "name": name, "arch": f"sm_{a}{b}"} for k, name, (a, b) in cuda.list_devices()]
        version = int(cuda._driver().cuDriverGetVersion()[1])
        info["driver_cuda_version"] = f"{version // 1000}.{version % 1000 // 10}"
    except Exception as err:
        info["why"] = str(err)
        return info
    try:
        info["nvrtc"] = nvrtc.version_text()
        info["nvrtc_archs"] = [f"sm_{a}" for a in nvrtc.supported_archs()]
    except Exception as err:
        info["why"] = str(err)
        return info
    info["usable"] = True
    return info


def probe_opencl_gpu() -> dict:
    """OpenCL GPU devices (what backend='opencl', device='gpu' would use), or why there are none."""
    try:
        import pyopencl as cl
        pairs = [(p, d) for p in cl.get_platforms() for d in p.get_devices()]
    except Exception as err:
        return {"usable": False, "why": f"no OpenCL platform: {err}"}
    gpus = [{"name": d.name.strip(), "platform": p.name.strip(), "driver": d.driver_version,
             "memory_bytes": int(d.global_mem_size)} for p, d in pairs if d.type & cl.device_type.GPU]
    if not gpus:
        return {"usable": False, "why": "OpenCL lists no GPU, only: " + "; ".join(d.name.strip() for _, d in pairs)}
    return {"usable": True, "devices": gpus}


def run_tests(env: dict, timeout: float) -> dict:
    """``pytest tests`` in a subprocess with ``env``; counts and failures from its JUnit report."""
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        junit = Path(tmp) / "junit.xml"
        # -P: the checkout's pynn_gpu/ folder must not shadow the installed package (whose codegen/ and kernels/
        # are mapped into it at install time)
        safe_path = ["-P"] if sys.version_info >= (3, 11) else []
        cmd = [sys.executable, *safe_path, "-m", "pytest", "-q", "tests", "-p", "no:cacheprovider",
               f"--junitxml={junit}"]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
            status, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        except subprocess.TimeoutExpired as err:
            status, tail = None, [f"timed out after {timeout:g} s"] + str(err.stdout or "").splitlines()[-10:]
        result = {"exit_status": status, "wall_s": round(time.perf_counter() - t0, 1), "tail": tail}
        if junit.is_file():
            root = ET.parse(junit).getroot()
            suite = root if root.tag == "testsuite" else root.find("testsuite")
            for key in ("tests", "failures", "errors", "skipped"):
                result[key] = int(suite.get(key, 0))
            result["passed"] = result["tests"] - result["failures"] - result["errors"] - result["skipped"]
            result["failed"] = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
                                if case.find("failure") is not None or case.find("error") is not None][:100]
    result["ok"] = status == 0
    return result


def run_va(env: dict, sims: list, models: list, timeout: float) -> dict:
    """benchmarks/va_benchmark.py for ``sims`` x ``models`` with ``env``; its JSON report's runs."""
    with tempfile.TemporaryDirectory(prefix="gpu_check_va_") as tmp:
        cmd = [sys.executable, str(REPO / "benchmarks" / "va_benchmark.py"), "--sims", *sims, "--models", *models,
               "--out", tmp, "--timeout", str(timeout)]
        try:
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout * 4 + 600)
            status, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-20:]
        except subprocess.TimeoutExpired:
            status, tail = None, ["timed out"]
        reports = sorted(Path(tmp).glob("va_*.json"))
        runs = json.loads(reports[0].read_text())["runs"] if reports else []
    keep = ("sim", "model", "ok", "error", "build_s", "simulation_s", "writing_s", "wall_s", "exc_rate_hz",
            "inh_rate_hz", "n_synapses", "peak_rss_mb")
    return {"exit_status": status, "ok": status == 0 and bool(runs),
            "runs": [{k: r[k] for k in keep if k in r} for r in runs], "tail": tail if status != 0 else []}


def run_script(env: dict, args: list, timeout: float, lines: int = 30) -> dict:
    """A benchmark or example command line (``args`` after the interpreter) with ``env``; its last ``lines``."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout)
        status, out = proc.returncode, proc.stdout.strip().splitlines()[-lines:]      # progress bars: stderr
        if status != 0:
            out += proc.stderr.strip().splitlines()[-lines:]
    except subprocess.TimeoutExpired:
        status, out = None, [f"timed out after {timeout:g} s"]
    return {"ok": status == 0, "exit_status": status, "wall_s": round(time.perf_counter() - t0, 1), "output": out}


def run_microcircuit(env: dict, sims: list, out: Path, timeout: float, extra: tuple = ()) -> dict:
    """benchmarks/microcircuit.py (scale 0.1, Poisson drive, unless ``extra`` arguments say otherwise) for
    ``sims``, its results into ``out``."""
    return run_script(env, [str(REPO / "benchmarks" / "microcircuit.py"), "--sims", *sims, "--out", str(out),
                            "--timeout", str(timeout), *extra], timeout * len(sims) + 300)


def run_mushroom_body(env: dict, timeout: float) -> dict:
    """The mushroom-body example's default run (4,000 training and 1,000 test images); its last lines."""
    return run_script(env, [str(REPO / "examples" / "mushroom_body.py"), "--train", "4000", "--test", "1000"],
                      timeout, lines=6)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("PyNN", "pynn-gpu", "cuda-python", "cuda-bindings", "nvidia-cuda-nvrtc", "pyopencl",
                 "pocl-binary-distribution", "nest-simulator", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-benchmarks", action="store_true")
    parser.add_argument("--models", nargs="+", default=["COBA", "CUBA"], choices=["COBA", "CUBA"])
    parser.add_argument("--no-nest", action="store_true", help="do not run pyNN.nest beside the first configuration")
    parser.add_argument("--device", default=None, help="PYNN_GPU_DEVICE for the CUDA runs (index or name part)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per test-suite or benchmark run")
    args = parser.parse_args(argv)

    cuda, opencl = probe_cuda(), probe_opencl_gpu()
    configs = []
    if cuda["usable"]:
        configs.append(("cuda", {"PYNN_GPU_BACKEND": "cuda", "PYNN_GPU_DEVICE": args.device or ""}))
    if opencl["usable"]:
        configs.append(("opencl-gpu", {"PYNN_GPU_BACKEND": "opencl", "PYNN_GPU_DEVICE": "gpu"}))
    if not configs:
        print("gpu_check: no GPU to check on this machine.\n"
              f"  CUDA:   {cuda.get('why', 'not usable')}\n  OpenCL: {opencl.get('why', 'not usable')}\n"
              "Run it on a machine with an NVIDIA GPU (driver installed; pip install \"pynn-gpu[cuda]\") or an "
              "OpenCL GPU driver.", file=sys.stderr)
        return NO_GPU

    now = datetime.datetime.now().astimezone()
    smi = nvidia_smi()
    device = (cuda.get("devices") or opencl.get("devices") or [{"name": "gpu"}])[0]["name"]
    report = {
        "check": "benchmarks/gpu_check.py", "date": now.isoformat(timespec="seconds"),
        "machine": {"hostname": socket.gethostname().split(".")[0], "platform": platform.platform(),
                    "cpu_count": os.cpu_count()},
        "device": device, "nvidia_smi": smi, "cuda": cuda, "opencl_gpu": opencl, "git": common.git_commit(),
        "versions": versions(), "configurations": [name for name, _ in configs], "tests": {}, "benchmarks": {},
    }
    print(f"gpu_check on {device}: configurations {', '.join(report['configurations'])}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", device).strip("-").lower()[:40] or "gpu"
    stage = "_tests" if args.skip_benchmarks else "_benchmarks" if args.skip_tests else ""
    path = args.out / f"gpu_check_{now:%Y-%m-%d}_{slug}{stage}.json"

    def save():
        """The report so far: a run stopped from outside keeps what was done."""
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    for k, (name, extra) in enumerate(configs):
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", **extra)
        for key in [key for key, value in extra.items() if not value]:
            del env[key]
        if not args.skip_tests:
            print(f"--- {name}: pytest tests ...", flush=True)
            r = report["tests"][name] = run_tests(env, args.timeout)
            print(f"    {r.get('passed', '?')} passed, {r.get('failures', '?')} failed, {r.get('errors', '?')} errors, "
                  f"{r.get('skipped', '?')} skipped in {r['wall_s']} s", flush=True)
            save()
        if not args.skip_benchmarks:
            sims = ["gpu"] + (["nest"] if k == 0 and not args.no_nest else [])
            print(f"--- {name}: VA benchmark ({' '.join(args.models)}; {' '.join(sims)}) ...", flush=True)
            va = run_va(env, sims, args.models, args.timeout)
            for run in va["runs"]:
                if run.get("ok"):
                    print(f"    {run['sim']} {run['model']}: build {run['build_s']:.3g} s, simulation "
                          f"{run['simulation_s']:.3g} s, rates {run['exc_rate_hz']:.4g} / {run['inh_rate_hz']:.4g} Hz",
                          flush=True)
                else:
                    print(f"    {run['sim']} {run['model']}: FAILED ({run.get('error')})", flush=True)
            report["benchmarks"][name] = {"va": va}
            save()
            print(f"--- {name}: microcircuit, mushroom body ...", flush=True)
            micro = run_microcircuit(env, sims, args.out / name, args.timeout)     # its files per configuration
            report["benchmarks"][name]["microcircuit"] = micro
            save()
            report["benchmarks"][name]["mushroom_body"] = run_mushroom_body(env, args.timeout)
            save()
            # the full-scale model with procedural connections (GeNN's way at this size): gpu only
            report["benchmarks"][name]["microcircuit_full_procedural"] = run_microcircuit(
                env, ["gpu"], args.out / name, args.timeout, ("--scale", "1", "--procedural"))
            for part in PARTS:
                r = report["benchmarks"][name][part]
                print(f"    {part}: {'ok' if r['ok'] else 'FAILED'} in {r['wall_s']} s; {(r['output'] or [''])[-1]}",
                      flush=True)

    save()
    print(f"wrote {path}")
    results = [r["ok"] for r in report["tests"].values()]
    results += [b["va"]["ok"] for b in report["benchmarks"].values()]
    results += [b[part]["ok"] for b in report["benchmarks"].values() for part in PARTS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
