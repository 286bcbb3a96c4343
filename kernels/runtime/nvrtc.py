"""NVRTC through cuda-python: generated CUDA C -> CUBIN (and PTX) for one GPU architecture.

Needs no GPU and no CUDA toolkit: ``pip install "pynn-gpu[cuda]"`` brings ``cuda-python`` and the
NVRTC wheel.  Results are cached on disk (:mod:`..cache`) under a key that adds the architecture,
the NVRTC version and its options to the source hash, so an unchanged network never recompiles.
Resource use per kernel (registers, shared and local memory, spills) comes from ptxas' verbose log,
or from the CUBIN's ``.nv.info`` attributes when the log has none (e.g. an older NVRTC).
"""
from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import asdict, dataclass, field

from .. import cache
from ..errors import DeviceError, KernelCompileError
from .diagnostics import explain, maybe_dump

INSTALL_HINT = 'pip install "pynn-gpu[cuda]"  (or: pip install cuda-python nvidia-cuda-nvrtc)'
#: Options every compilation gets besides the architecture: ptxas' resource report, and no warnings about
#: the parameters a model block loads but does not use (#177, #550: set but never used).
BASE_OPTIONS = ("--ptxas-options=-v", "--diag-suppress=177,550")
SOURCE_NAME = "pynn_gpu.cu"
_ARCH = re.compile(r"^(sm|compute)_(\d+)([af]?)$")


class CompilerNotFoundError(DeviceError):
    """cuda-python or the NVRTC library is not installed."""


class ArchitectureError(ValueError):
    """An architecture the installed NVRTC cannot compile for; the message lists those it can."""


_module = None


def _nvrtc():
    """The NVRTC binding of the installed cuda-python (``cuda.bindings.nvrtc``, or ``cuda.nvrtc`` before 12.6)."""
    global _module
    if _module is not None:
        return _module
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        try:
            from cuda import nvrtc
        except ImportError as err:
            raise CompilerNotFoundError(f"CUDA compilation needs cuda-python and NVRTC: {INSTALL_HINT}") from err
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as err:       # the binding is there but libnvrtc is not (cuda-pathfinder's error, OSError...)
        raise CompilerNotFoundError(f"cuda-python is installed but the NVRTC library was not found ({err}): "
                                    f"{INSTALL_HINT}") from err
    if int(err) != 0:
        raise CompilerNotFoundError(f"NVRTC does not work ({err}): {INSTALL_HINT}")
    _module = nvrtc
    return nvrtc


def available() -> bool:
    """True if NVRTC can be used (no GPU needed)."""
    try:
        _nvrtc()
    except CompilerNotFoundError:
        return False
    return True


def _error_name(err) -> str:
    try:
        return _nvrtc().nvrtcGetErrorString(err)[1].decode()
    except Exception:
        return str(err)


def version() -> tuple:
    """NVRTC's ``(major, minor)``."""
    _, major, minor = _nvrtc().nvrtcVersion()
    return int(major), int(minor)


def version_text() -> str:
    """NVRTC's version with the wheel's full version where known, e.g. '13.5 (nvidia-cuda-nvrtc 13.5.37)'."""
    text = "%d.%d" % version()
    for dist in ("nvidia-cuda-nvrtc", "nvidia-cuda-nvrtc-cu12", "nvidia-cuda-nvrtc-cu11"):
        try:
            from importlib.metadata import version as dist_version
            return f"{text} ({dist} {dist_version(dist)})"
        except Exception:
            continue
    return text


def supported_archs() -> list:
    """Compute capabilities the installed NVRTC compiles for, e.g. ``[75, 80, 86, 89, 90, ...]``;
    empty if this NVRTC cannot tell (before 11.2)."""
    nvrtc = _nvrtc()
    if not hasattr(nvrtc, "nvrtcGetSupportedArchs"):
        return []
    err, archs = nvrtc.nvrtcGetSupportedArchs()
    return [int(a) for a in archs] if int(err) == 0 else []


def _arch_error(arch, archs) -> ArchitectureError:
    listed = ", ".join(f"sm_{a}" for a in archs) if archs else "(this NVRTC cannot list them)"
    return ArchitectureError(f"GPU architecture {arch!r} is not supported by NVRTC {'%d.%d' % version()}; "
                             f"it compiles for: {listed}. Give arch as 'sm_XY' (e.g. 'sm_90' for H100, "
                             "'sm_80' for A100)")


def normalise_arch(arch) -> str:
    """``'sm_90'``-style name for ``arch`` given as 'sm_90', 'sm_90a', 'compute_90', '9.0', '90', 90 or (9, 0);
    raises :class:`ArchitectureError` (listing the supported ones) if NVRTC cannot compile for it."""
    if isinstance(arch, tuple) and len(arch) == 2:
        text = f"sm_{int(arch[0])}{int(arch[1])}"
    elif isinstance(arch, int):
        text = f"sm_{arch}"
    else:
        text = str(arch).strip().lower()
        if re.fullmatch(r"\d+\.\d", text):
            text = "sm_" + text.replace(".", "")
        elif text.isdigit():
            text = "sm_" + text
    m = _ARCH.match(text)
    archs = supported_archs()
    if m is None or (archs and int(m.group(2)) not in archs):
        raise _arch_error(arch, archs)
    return text


# ---- resource use -------------------------------------------------------------------------------


@dataclass
class KernelResources:
    """What ptxas allocated for one kernel: registers per thread and bytes of memory."""

    registers: int = 0
    shared_bytes: int = 0        # static shared memory per block
    local_bytes: int = 0         # stack frame per thread (local memory)
    spill_stores: int = 0
    spill_loads: int = 0
    constant_bytes: int = 0      # cmem[0]: parameters and literals, where reported
    source: str = ""             # 'ptxas log' or 'cubin'

    def to_dict(self) -> dict:
        return asdict(self)


_PTXAS_FIELDS = ((r"(\d+) bytes stack frame", "local_bytes"), (r"(\d+) bytes spill stores", "spill_stores"),
                 (r"(\d+) bytes spill loads", "spill_loads"), (r"Used (\d+) registers", "registers"),
                 (r"(\d+) bytes smem", "shared_bytes"), (r"(\d+) bytes cmem\[0\]", "constant_bytes"))


def resources_from_log(log: str) -> dict:
    """``{kernel: KernelResources}`` from ptxas' ``-v`` report (entry functions only)."""
    out = {}
    current = None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = out.setdefault(m.group(1), KernelResources(source="ptxas log"))
            continue
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            current = out.get(m.group(1))      # None for device functions (e.g. __internal_accurate_pow)
            continue
        if current is None:
            continue
        for pattern, attr in _PTXAS_FIELDS:
            m = re.search(pattern, line)
            if m:
                setattr(current, attr, int(m.group(1)))
    return out


# EIATTR codes in a CUBIN's .nv.info sections (all in the 4-byte-header, sized-value format 0x04)
_EIATTR_FRAME_SIZE, _EIATTR_REGCOUNT = 0x11, 0x2F


def resources_from_cubin(cubin: bytes) -> dict:
    """``{kernel: KernelResources}`` read from the CUBIN (an ELF file): register counts and frame sizes from
    ``.nv.info``, static shared memory from the ``.nv.shared.<kernel>`` section sizes."""
    if cubin[:4] != b"\x7fELF" or cubin[4] != 2:          # 64-bit ELF only
        return {}
    shoff, = struct.unpack_from("<Q", cubin, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", cubin, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", cubin, shoff + k * shentsize) for k in range(shnum)]

    def name_at(table, offset):
        start = sections[table][4] + offset
        return cubin[start:cubin.index(b"\0", start)].decode(errors="replace")

    names = [name_at(shstrndx, s[0]) for s in sections]
    symbols = {}
    for s in sections:
        if s[1] == 2:                                       # SHT_SYMTAB: index -> name
            for k in range(s[5] // 24):
                st_name, = struct.unpack_from("<I", cubin, s[4] + 24 * k)
                symbols[k] = name_at(s[6], st_name)
    out = {n[len(".text."):]: KernelResources(source="cubin") for n in names if n.startswith(".text.")}
    for n, s in zip(names, sections):
        if n == ".nv.info":
            pos, end = s[4], s[4] + s[5]
            while pos + 4 <= end:
                fmt, attr = cubin[pos], cubin[pos + 1]
                size = struct.unpack_from("<H", cubin, pos + 2)[0] if fmt == 0x04 else 0
                if fmt == 0x04 and size == 8 and attr in (_EIATTR_REGCOUNT, _EIATTR_FRAME_SIZE):
                    sym, value = struct.unpack_from("<II", cubin, pos + 4)
                    res = out.get(symbols.get(sym, ""))
                    if res is not None:
                        setattr(res, "registers" if attr == _EIATTR_REGCOUNT else "local_bytes", value)
                pos += 4 + size
        elif n.startswith(".nv.shared.") and n[len(".nv.shared."):] in out:
            out[n[len(".nv.shared."):]].shared_bytes = s[5]
        elif n.startswith(".nv.constant0.") and n[len(".nv.constant0."):] in out:
            out[n[len(".nv.constant0."):]].constant_bytes = s[5]
    return out


# ---- compilation --------------------------------------------------------------------------------


@dataclass
class CompiledModule:
    """One NVRTC compilation: the CUBIN (None for a 'compute_XY' target), the PTX and the ptxas report."""

    arch: str
    cubin: bytes | None
    ptx: bytes
    log: str
    resources: dict = field(default_factory=dict)   # kernel name -> KernelResources
    nvrtc_version: str = ""
    options: tuple = ()
    compile_time_s: float = 0.0
    cached: bool = False

    @property
    def image(self) -> bytes:
        """What ``cuModuleLoadData`` takes: the CUBIN, or the NUL-terminated PTX for a JIT by the driver."""
        return self.cubin if self.cubin else self.ptx.rstrip(b"\0") + b"\0"


def _pack(module: CompiledModule) -> bytes:
    meta = {"arch": module.arch, "log": module.log, "nvrtc_version": module.nvrtc_version,
            "options": list(module.options), "compile_time_s": module.compile_time_s,
            "cubin": len(module.cubin or b""), "ptx": len(module.ptx),
            "resources": {k: r.to_dict() for k, r in module.resources.items()}}
    head = json.dumps(meta).encode()
    return struct.pack("<I", len(head)) + head + (module.cubin or b"") + module.ptx


def _unpack(blob: bytes) -> CompiledModule | None:
    try:
        n, = struct.unpack_from("<I", blob, 0)
        meta = json.loads(blob[4:4 + n])
        body = blob[4 + n:]
        cubin, ptx = body[:meta["cubin"]], body[meta["cubin"]:meta["cubin"] + meta["ptx"]]
        return CompiledModule(arch=meta["arch"], cubin=cubin or None, ptx=ptx, log=meta["log"],
                              resources={k: KernelResources(**r) for k, r in meta["resources"].items()},
                              nvrtc_version=meta["nvrtc_version"], options=tuple(meta["options"]),
                              compile_time_s=meta["compile_time_s"], cached=True)
    except (ValueError, KeyError, TypeError, struct.error):
        return None


def _read(nvrtc, prog, size_fn, get_fn) -> bytes:
    err, n = size_fn(prog)
    if int(err) != 0 or n == 0:
        return b""
    buf = bytearray(n)
    err, = get_fn(prog, buf)
    return bytes(buf) if int(err) == 0 else b""


def compile_source(source: str, arch="sm_90", context: str = "", options=()) -> CompiledModule:
    """Compile CUDA C ``source`` for ``arch`` ('sm_XY' gives a CUBIN and PTX, 'compute_XY' PTX only).

    Raises :class:`CompilerNotFoundError` if NVRTC is missing, :class:`ArchitectureError` for an
    architecture NVRTC does not know, and :class:`~..errors.KernelCompileError` (with the generated
    line and model block of each error; ``context`` names what was compiled) if the source is rejected.
    """
    nvrtc = _nvrtc()
    arch = normalise_arch(arch)
    opts = (f"--gpu-architecture={arch}",) + BASE_OPTIONS + tuple(options)
    nvrtc_version = version_text()
    key = cache.cache_key(source, " ".join(opts), "cuda", arch, "nvrtc", nvrtc_version, cache.package_version())
    maybe_dump(source)
    blob = cache.load(key)
    if blob is not None:
        module = _unpack(blob)
        if module is not None:
            return module
    start = time.perf_counter()
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), SOURCE_NAME.encode(), 0, [], [])
    if int(err) != 0:
        raise DeviceError(f"NVRTC could not create a program: {_error_name(err)}")
    try:
        err, = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        log = _read(nvrtc, prog, nvrtc.nvrtcGetProgramLogSize, nvrtc.nvrtcGetProgramLog).rstrip(b"\0").decode(
            errors="replace")
        if int(err) != 0:
            if "--gpu-architecture" in log or "-arch" in log:
                raise _arch_error(arch, supported_archs())
            raise KernelCompileError(explain(log, source, context, f"NVRTC {nvrtc_version} for {arch}")) from None
        ptx = _read(nvrtc, prog, nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX)
        cubin = None
        if arch.startswith("sm_") and hasattr(nvrtc, "nvrtcGetCUBIN"):
            cubin = _read(nvrtc, prog, nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN) or None
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    resources = resources_from_log(log)
    if cubin and not any(r.registers for r in resources.values()):
        resources = resources_from_cubin(cubin)
    module = CompiledModule(arch=arch, cubin=cubin, ptx=ptx, log=log, resources=resources,
                            nvrtc_version=nvrtc_version, options=opts,
                            compile_time_s=time.perf_counter() - start)
    cache.store(key, _pack(module), source)
    return module
