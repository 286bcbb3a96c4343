"""CUDA runtime through cuda-python's driver API: one NVIDIA GPU, one stream, kernels compiled by NVRTC.

Memory is plain ``cuMemAlloc`` memory; every copy, fill and launch is enqueued on one non-blocking
stream, so the host never waits except in :meth:`CUDARuntime.synchronise` and blocking reads.

Per-step host overhead (see :meth:`CUDARuntime.run_steps`): blocks of ``graph_steps`` steps are captured
once into a CUDA graph and replayed with one ``cuGraphLaunch``.  A captured launch keeps the argument
values it was captured with, so the step cannot travel as a kernel argument; instead step ``j`` of the
block is captured with ``step_base = j`` and the kernels add ``PG_LAUNCH_STEP``, which the CUDA dialect
maps to the module's ``__device__ int pg_launch_step``.  Before each replay one ``cuMemsetD32Async``
sets it to the block's first step.  So a block of B steps costs two driver calls instead of B x kernels.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from .. import cache
from ..errors import DeviceError
from . import nvrtc
from .base import Runtime

DEVICE_ENV = "PYNN_GPU_DEVICE"
#: Threads per block (lowered to what a kernel allows).
BLOCK = 128
#: Steps per captured CUDA graph; runs shorter than this are launched kernel by kernel.
GRAPH_STEPS = 100
#: Instantiated graphs kept (one per kernel set and block length; a rebuild makes a new kernel set).
MAX_GRAPHS = 8
#: Pinned staging memory for asynchronous reads that may wait for the next synchronise.
MAX_PENDING_BYTES = 256 * 2**20
STEP_VARIABLE = b"pg_launch_step"
NO_GPU = ("no CUDA driver/GPU found ({why}): use backend='opencl' (OpenCL on a GPU, or PoCL on the CPU), or run "
          "on a machine with an NVIDIA GPU and driver")
INSTALL_HINT = 'pip install "pynn-gpu[cuda]"  (or: pip install cuda-python nvidia-cuda-nvrtc)'

_driver_module = None
_present = None


def _driver():
    """The driver-API binding of the installed cuda-python (``cuda.bindings.driver``, or ``cuda.cuda`` before 12.6)."""
    global _driver_module
    if _driver_module is None:
        try:
            from cuda.bindings import driver
        except ImportError:
            try:
                from cuda import cuda as driver
            except ImportError as err:
                raise DeviceError(f"backend='cuda' needs cuda-python: {INSTALL_HINT}") from err
        _driver_module = driver
    return _driver_module


def _name(err) -> str:
    try:
        drv = _driver()
        name, text = drv.cuGetErrorName(err)[1], drv.cuGetErrorString(err)[1]
        return f"{name.decode()}: {text.decode()}"
    except Exception:
        return str(err)


def _ok(result, what: str):
    """Raise DeviceError unless the driver call's status is CUDA_SUCCESS; return its outputs."""
    err = result[0]
    if err:
        raise DeviceError(f"{what} failed: {_name(err)}")
    return result[1] if len(result) == 2 else result[1:]


def _init():
    """cuInit and the number of devices; raises DeviceError naming what is missing."""
    drv = _driver()
    try:
        err, = drv.cuInit(0)
    except Exception as exc:            # no libcuda.so: cuda-pathfinder raises before any status exists
        raise DeviceError(NO_GPU.format(why=f"{type(exc).__name__}: {exc}")) from None
    if err:
        raise DeviceError(NO_GPU.format(why=_name(err)))
    count = _ok(drv.cuDeviceGetCount(), "cuDeviceGetCount")
    if count == 0:
        raise DeviceError(NO_GPU.format(why="the driver sees no device"))
    return drv, int(count)


def cuda_gpu_present() -> bool:
    """True if cuda-python is installed and the driver sees a GPU; cheap, quiet and cached."""
    global _present
    if _present is None:
        try:
            # dlopen the driver first: fails in microseconds without one, before cuda-python is imported
            ctypes.CDLL("nvcuda.dll" if os.name == "nt" else "libcuda.so.1")
            _init()
            _present = True
        except Exception:
            _present = False
    return _present


def list_devices():
    """``[(ordinal, name, (major, minor))]`` of every CUDA device."""
    drv, count = _init()
    out = []
    for k in range(count):
        dev = _ok(drv.cuDeviceGet(k), "cuDeviceGet")
        name = _ok(drv.cuDeviceGetName(256, dev), "cuDeviceGetName")
        out.append((k, name.split(b"\0", 1)[0].decode(errors="replace").strip(), _capability(drv, dev)))
    return out


def _capability(drv, dev) -> tuple:
    attr = drv.CUdevice_attribute
    major = _ok(drv.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "attribute")
    minor = _ok(drv.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "attribute")
    return int(major), int(minor)


def choose_device(spec=None) -> int:
    """The ordinal for ``spec``: None/'auto'/'gpu' (device 0), an index, or a substring of the device name.
    ``$PYNN_GPU_DEVICE`` is used when ``spec`` is None."""
    spec = spec if spec is not None else os.environ.get(DEVICE_ENV)
    devices = list_devices()
    listing = "; ".join(f"{k}: {name} (sm_{a}{b})" for k, name, (a, b) in devices)
    if spec in (None, "", "auto", "gpu"):
        return 0
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        k = int(spec)
        if not 0 <= k < len(devices):
            raise DeviceError(f"CUDA device index {k} out of range: {len(devices)} CUDA devices: {listing}")
        return k
    for k, name, _ in devices:
        if str(spec).lower() in name.lower():
            return k
    raise DeviceError(f"no CUDA device matches {spec!r}; available: {listing} (device='cpu' needs backend='opencl')")


class CUDABuffer:
    """Device memory from ``cuMemAlloc``; freed when the last reference goes."""

    __slots__ = ("ptr", "nbytes", "_handle", "_free")

    def __init__(self, handle, nbytes: int, free):
        self._handle, self.nbytes, self._free = handle, int(nbytes), free
        self.ptr = int(handle)

    def __int__(self):
        return self.ptr

    def __del__(self):
        try:
            self._free(self._handle)
        except Exception:
            pass


class CUDAKernel:
    """A kernel function with its argument array.

    Each argument has an 8-byte slot; ``params`` is the address of the array of pointers to the slots,
    which ``cuLaunchKernel`` reads (and copies) at launch or capture.  Setting an argument writes into
    its slot, so launching allocates nothing.
    """

    def __init__(self, name: str, function, block: int, step_ptr, registers: int):
        self.name, self.function, self.block, self.step_ptr, self.registers = name, function, block, step_ptr, \
            registers
        self._bind(0)

    def _bind(self, n: int):
        self._slots = np.zeros(max(n, 1), np.uint64)
        self._i32, self._u32 = self._slots.view(np.int32), self._slots.view(np.uint32)
        self._f32, self._f64 = self._slots.view(np.float32), self._slots.view(np.float64)
        base = self._slots.ctypes.data
        self._pointers = np.array([base + 8 * k for k in range(max(n, 1))], np.uint64)
        self.params = self._pointers.ctypes.data if n else 0
        self.n_args = n

    def set_args(self, args):
        if len(args) != self.n_args:
            self._bind(len(args))
        for k, value in enumerate(args):
            self.set_arg(k, value)

    def set_arg(self, index: int, value):
        if not 0 <= index < self.n_args:
            raise DeviceError(f"kernel '{self.name}': argument {index} out of range (bind all {self.n_args} "
                              "arguments with set_args first)")
        if isinstance(value, CUDABuffer):
            self._slots[index] = value.ptr
        elif isinstance(value, (np.int32, int)) and not isinstance(value, bool):
            self._i32[2 * index] = value
        elif isinstance(value, np.uint32):
            self._u32[2 * index] = value
        elif isinstance(value, np.float32):
            self._f32[2 * index] = value
        elif isinstance(value, np.float64):
            self._f64[index] = value
        elif isinstance(value, np.int64):
            self._slots.view(np.int64)[index] = value
        elif isinstance(value, np.uint64):
            self._slots[index] = value
        else:
            raise DeviceError(f"kernel '{self.name}': argument {index} has unsupported type {type(value).__name__} "
                              "(give numpy scalars of the declared type, or buffers from allocate)")

    def snapshot(self) -> bytes:
        """Every argument but the step (argument 0): what a captured graph depends on."""
        return self._slots[1:self.n_args].tobytes()


class _Graph:
    """An instantiated CUDA graph of ``steps`` steps, and the arguments it was captured with."""

    def __init__(self, exec_, key, kernels):
        self.exec, self.key = exec_, key
        self.kernels = kernels      # held, so that the ids in the graph's cache key stay theirs


class CUDARuntime(Runtime):
    """One CUDA device (its primary context) with one non-blocking stream."""

    dialect = "cuda"

    def __init__(self, device=None, graph_steps: int = GRAPH_STEPS):
        drv, _ = _init()
        self.drv = drv
        self.ordinal = choose_device(device)
        self.device = _ok(drv.cuDeviceGet(self.ordinal), "cuDeviceGet")
        self.context = _ok(drv.cuDevicePrimaryCtxRetain(self.device), "cuDevicePrimaryCtxRetain")
        _ok(drv.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")
        self.stream = _ok(drv.cuStreamCreate(drv.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate")
        self.device_name = _ok(drv.cuDeviceGetName(256, self.device), "cuDeviceGetName").split(b"\0", 1)[0] \
            .decode(errors="replace").strip()
        self.global_mem_size = int(_ok(drv.cuDeviceTotalMem(self.device), "cuDeviceTotalMem"))
        self.max_alloc_size = self.global_mem_size
        self.is_cpu = False
        self.compute_capability = _capability(drv, self.device)
        self.driver_version = int(_ok(drv.cuDriverGetVersion(), "cuDriverGetVersion"))    # e.g. 12040
        self.graph_steps = int(graph_steps)
        self._modules = {}           # cache key -> (CUmodule, step pointer or None)
        self._graphs = {}            # (kernel ids, grids) -> _Graph
        self._pending = []           # (pinned staging array, host array) read back at synchronise()
        self._pending_bytes = 0
        self._pinned = {}            # nbytes -> [free pinned arrays]
        self._pinned_ptrs = []
        self._launch = drv.cuLaunchKernel
        self._memset32 = drv.cuMemsetD32Async
        self._graph_launch = drv.cuGraphLaunch

    def __repr__(self):
        major, minor = self.compute_capability
        return f"CUDARuntime({self.device_name!r}, sm_{major}{minor}, driver {self.driver_text})"

    @property
    def driver_text(self) -> str:
        return f"{self.driver_version // 1000}.{self.driver_version % 1000 // 10}"

    @property
    def arch(self) -> str:
        """What NVRTC compiles for on this device: 'sm_XY', or 'compute_XY' (PTX, finished by the driver's JIT)
        for a GPU newer than the installed NVRTC knows."""
        cc = 10 * self.compute_capability[0] + self.compute_capability[1]
        archs = nvrtc.supported_archs()
        if not archs or cc in archs:
            return f"sm_{cc}"
        older = [a for a in archs if a < cc]
        if not older:
            raise nvrtc.ArchitectureError(
                f"{self.device_name} (sm_{cc}) is older than anything NVRTC {'%d.%d' % nvrtc.version()} compiles "
                f"for ({', '.join(f'sm_{a}' for a in archs)}): install an older NVRTC with a matching cuda-python "
                "(e.g. pip install 'cuda-python<13' nvidia-cuda-nvrtc-cu12), or use backend='opencl'")
        return f"compute_{max(older)}"

    def supports_double(self) -> bool:
        return True

    def identity(self) -> str:
        return "|".join([self.device_name, "sm_%d%d" % self.compute_capability, str(self.driver_version)])

    def _current(self):
        self.drv.cuCtxSetCurrent(self.context)

    # ---- memory -------------------------------------------------------------------------------

    def allocate(self, nbytes: int):
        self._current()
        nbytes = max(int(nbytes), 4)
        handle = _ok(self.drv.cuMemAlloc(nbytes), f"cuMemAlloc of {nbytes} bytes on {self.device_name}")
        return CUDABuffer(handle, nbytes, self.drv.cuMemFree)

    def to_device(self, array: np.ndarray):
        array = np.ascontiguousarray(array)
        buffer = self.allocate(array.nbytes)
        self.copy_to_device(buffer, array)
        return buffer

    def copy_to_device(self, buffer, array: np.ndarray, offset: int = 0, blocking: bool = False):
        self._current()
        # From pageable memory the driver stages the data before returning: ``array`` may change afterwards
        # (so the call is as good as blocking for the caller).
        array = np.ascontiguousarray(array)
        if array.nbytes:
            _ok(self.drv.cuMemcpyHtoDAsync(int(buffer.ptr) + int(offset), array.ctypes.data, array.nbytes,
                                           self.stream), "cuMemcpyHtoDAsync")

    def copy_from_device(self, buffer, out: np.ndarray, blocking: bool = True, offset: int = 0):
        if out.nbytes == 0:
            return None
        self._current()
        if not out.flags.c_contiguous:
            raise DeviceError("copy_from_device needs a C-contiguous host array")
        source = int(buffer.ptr) + int(offset)
        if blocking:
            _ok(self.drv.cuMemcpyDtoHAsync(out.ctypes.data, source, out.nbytes, self.stream), "cuMemcpyDtoHAsync")
            self.synchronise()
            return None
        # Asynchronous: into pinned staging memory (a copy into pageable memory would block the host), moved
        # into ``out`` at the next synchronise().
        staging = self._take_pinned(out.nbytes)
        _ok(self.drv.cuMemcpyDtoHAsync(staging.ctypes.data, source, out.nbytes, self.stream),
            "cuMemcpyDtoHAsync")
        self._pending.append((staging, out))
        self._pending_bytes += out.nbytes
        if self._pending_bytes > MAX_PENDING_BYTES:
            self.synchronise()
        return None

    def fill_zero(self, buffer, nbytes: int, offset: int = 0):
        self._current()
        if nbytes:
            _ok(self.drv.cuMemsetD8Async(int(buffer.ptr) + int(offset), 0, int(nbytes), self.stream),
                "cuMemsetD8Async")

    def _take_pinned(self, nbytes: int) -> np.ndarray:
        free = self._pinned.setdefault(nbytes, [])
        if free:
            return free.pop()
        ptr = int(_ok(self.drv.cuMemAllocHost(nbytes), f"cuMemAllocHost of {nbytes} bytes"))
        self._pinned_ptrs.append(ptr)
        return np.ctypeslib.as_array((ctypes.c_ubyte * nbytes).from_address(ptr))

    # ---- code ---------------------------------------------------------------------------------

    def compile(self, source: str, kernel_names, context: str = "", options=()):
        """Compile with NVRTC for this GPU (cached on disk by source, options, arch and NVRTC version), load
        the module and return ``{name: CUDAKernel}``."""
        self._current()
        arch = self.arch
        module = nvrtc.compile_source(source, arch, context=context, options=options)
        key = cache.cache_key(source, " ".join(options), arch, module.nvrtc_version)
        if key not in self._modules:
            result = self.drv.cuModuleLoadData(module.image)
            if result[0]:
                raise DeviceError(
                    f"the CUDA driver {self.driver_text} could not load the code NVRTC {module.nvrtc_version} "
                    f"compiled for {arch}: {_name(result[0])}. The driver must be at least as new as NVRTC's CUDA "
                    "version: update the NVIDIA driver, or install the NVRTC of the driver's CUDA version "
                    "(e.g. pip install 'cuda-python<13' nvidia-cuda-nvrtc-cu12 for a CUDA 12 driver)")
            handle = result[1]
            found = self.drv.cuModuleGetGlobal(handle, STEP_VARIABLE)
            self._modules[key] = (handle, int(found[1]) if not found[0] else None)
        handle, step_ptr = self._modules[key]
        kernels = {}
        attr = self.drv.CUfunction_attribute
        for name in kernel_names:
            function = _ok(self.drv.cuModuleGetFunction(handle, name.encode()), f"cuModuleGetFunction('{name}')")
            limit = _ok(self.drv.cuFuncGetAttribute(attr.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function),
                        "cuFuncGetAttribute")
            registers = _ok(self.drv.cuFuncGetAttribute(attr.CU_FUNC_ATTRIBUTE_NUM_REGS, function),
                            "cuFuncGetAttribute")
            kernels[name] = CUDAKernel(name, function, min(BLOCK, int(limit)), step_ptr, int(registers))
        return kernels

    def set_args(self, kernel, args):
        kernel.set_args(args)

    def set_arg(self, kernel, index, value):
        kernel.set_arg(index, value)

    # ---- launches -----------------------------------------------------------------------------

    def launch(self, kernel, global_size: int, args=None):
        if args is not None:
            kernel.set_args(args)
        self._current()
        n = int(global_size)
        if n <= 0:
            return
        grid = -(-n // kernel.block)
        err, = self._launch(kernel.function, grid, 1, 1, kernel.block, 1, 1, 0, self.stream, kernel.params, 0)
        if err:
            raise DeviceError(f"cuLaunchKernel('{kernel.name}', {grid} blocks of {kernel.block}) failed: {_name(err)}")

    def _set_step(self, pointers, step: int):
        for ptr in pointers:
            err, = self._memset32(ptr, step, 1, self.stream)
            if err:
                raise DeviceError(f"cuMemsetD32Async of the step counter failed: {_name(err)}")

    def run_steps(self, first, stop, launches):
        """Enqueue steps ``first`` .. ``stop - 1`` without host synchronisation.

        Whole blocks of ``graph_steps`` steps replay one captured CUDA graph (captured again only when an
        argument other than the step changed, e.g. the recording chunk's start: once per chunk); the rest
        are launched one by one.  Either way step ``j`` of a block runs with ``step_base = j`` and
        ``pg_launch_step`` = the block's first step, and nothing is allocated per step.
        """
        if stop <= first:
            return
        self._current()
        work = [(k, -(-int(n) // k.block)) for k, n in launches if int(n) > 0]
        pointers = sorted({k.step_ptr for k, _ in work if k.step_ptr is not None})
        if not work:
            return
        if not pointers:
            raise DeviceError("the kernels were not generated for the CUDA dialect (no pg_launch_step variable)")
        step = first
        if self.graph_steps > 0 and stop - first >= self.graph_steps:
            graph = self._graph(work, self.graph_steps)
            while stop - step >= self.graph_steps:
                self._set_step(pointers, step)
                err, = self._graph_launch(graph.exec, self.stream)
                if err:
                    raise DeviceError(f"cuGraphLaunch failed: {_name(err)}")
                step += self.graph_steps
        if step < stop:
            self._set_step(pointers, step)
            self._enqueue_block(work, stop - step)
        self._set_step(pointers, 0)     # direct launches with an absolute step_base see pg_launch_step = 0

    def _enqueue_block(self, work, steps: int):
        launch, stream = self._launch, self.stream
        for j in range(steps):
            for kernel, grid in work:
                kernel._i32[0] = j
                err, = launch(kernel.function, grid, 1, 1, kernel.block, 1, 1, 0, stream, kernel.params, 0)
                if err:
                    raise DeviceError(f"cuLaunchKernel('{kernel.name}') failed: {_name(err)}")

    def _graph(self, work, steps: int) -> _Graph:
        """The instantiated graph for ``work`` x ``steps``, captured again if the kernels' arguments changed."""
        drv = self.drv
        shape = (tuple((id(k), grid) for k, grid in work), steps)
        key = tuple(k.snapshot() for k, _ in work)
        graph = self._graphs.get(shape)
        if graph is not None and graph.key == key:
            return graph
        _ok(drv.cuStreamBeginCapture(self.stream, drv.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
            "cuStreamBeginCapture")
        try:
            self._enqueue_block(work, steps)
        finally:
            captured = _ok(drv.cuStreamEndCapture(self.stream), "cuStreamEndCapture")
        try:
            exec_ = _ok(drv.cuGraphInstantiate(captured, 0), "cuGraphInstantiate")
        finally:
            drv.cuGraphDestroy(captured)
        if graph is not None:
            # A new executable rather than cuGraphExecUpdate: replays of the old one may still be queued, and
            # cuGraphExecDestroy is documented to free an in-flight graph only once it has completed.
            # Instantiating ~2 x graph_steps nodes once per recording chunk costs well under a millisecond.
            del self._graphs[shape]
            drv.cuGraphExecDestroy(graph.exec)
        if len(self._graphs) >= MAX_GRAPHS:        # graphs of earlier builds: drop the oldest
            oldest = next(iter(self._graphs))
            drv.cuGraphExecDestroy(self._graphs.pop(oldest).exec)
        graph = self._graphs[shape] = _Graph(exec_, key, [k for k, _ in work])
        return graph

    def synchronise(self):
        _ok(self.drv.cuStreamSynchronize(self.stream), "cuStreamSynchronize")
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        for staging, out in pending:
            out.reshape(-1).view(np.uint8)[:] = staging
            self._pinned.setdefault(staging.nbytes, []).append(staging)

    def close(self):
        """Free graphs, modules, pinned memory and the stream, and release the primary context."""
        drv = self.drv
        try:
            self.synchronise()
        except DeviceError:
            pass
        for graph in self._graphs.values():
            drv.cuGraphExecDestroy(graph.exec)
        for handle, _ in self._modules.values():
            drv.cuModuleUnload(handle)
        self._pinned.clear()
        for ptr in self._pinned_ptrs:
            drv.cuMemFreeHost(ptr)
        self._graphs, self._modules, self._pinned_ptrs = {}, {}, []
        if self.stream is not None:
            drv.cuStreamDestroy(self.stream)
            self.stream = None
            drv.cuDevicePrimaryCtxRelease(self.device)
