"""OpenCL runtime through pyopencl: PoCL on the CPU, or any OpenCL GPU."""
from __future__ import annotations

import os

import numpy as np

from .. import cache
from ..errors import DeviceError, KernelCompileError
from .base import Runtime
from .diagnostics import DUMP_ENV, explain, maybe_dump  # noqa: F401 (DUMP_ENV re-exported)

DEVICE_ENV = "PYNN_GPU_DEVICE"
#: '0': never run many steps per launch in one work-item; '1': whenever the device is a CPU; unset: where it pays
SERIAL_ENV = "PYNN_GPU_SERIAL_STEPS"
WORK_GROUP = 64
#: steps per launch of network_steps at most, so that a long run is still a sequence of short commands
STEPS_PER_LAUNCH = 1000


def _cl():
    try:
        import pyopencl as cl
    except ImportError as err:  # pragma: no cover - pyopencl is a hard dependency
        raise DeviceError("pyopencl is not installed: pip install pyopencl pocl-binary-distribution") from err
    return cl


def list_devices():
    """All OpenCL devices as ``(platform, device)`` pairs, GPUs first."""
    cl = _cl()
    try:
        platforms = cl.get_platforms()
    except cl.LogicError:
        platforms = []
    pairs = [(p, d) for p in platforms for d in p.get_devices()]
    return sorted(pairs, key=lambda pd: 0 if pd[1].type & cl.device_type.GPU else 1)


def choose_device(spec=None):
    """Pick a device: ``spec`` is None/'auto' (a GPU if any, else the CPU), 'gpu', 'cpu', an index
    into :func:`list_devices`, or a substring of the device or platform name.  ``$PYNN_GPU_DEVICE``
    is used when ``spec`` is None."""
    cl = _cl()
    spec = spec if spec is not None else os.environ.get(DEVICE_ENV)
    pairs = list_devices()
    if not pairs:
        raise DeviceError("no OpenCL device found: pip install pocl-binary-distribution gives a CPU device")
    if spec in (None, "", "auto"):
        return pairs[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        k = int(spec)
        if not 0 <= k < len(pairs):
            raise DeviceError(f"device index {k} out of range: {len(pairs)} OpenCL devices: "
                              + "; ".join(f"{i}: {d.name}" for i, (_, d) in enumerate(pairs)))
        return pairs[k]
    kinds = {"gpu": cl.device_type.GPU, "cpu": cl.device_type.CPU}
    for p, d in pairs:
        if (spec.lower() in kinds and d.type & kinds[spec.lower()]) or spec.lower() in d.name.lower() \
                or spec.lower() in p.name.lower():
            return p, d
    raise DeviceError(f"no OpenCL device matches {spec!r}; available: "
                      + "; ".join(f"{i}: {d.name} ({p.name})" for i, (p, d) in enumerate(pairs)))


class OpenCLRuntime(Runtime):
    """One OpenCL device with one in-order command queue."""

    dialect = "opencl"

    def __init__(self, device=None):
        cl = _cl()
        self.cl = cl
        self.platform, self.device = choose_device(device)
        self.context = cl.Context([self.device])
        self.queue = cl.CommandQueue(self.context)
        import pyopencl.invoker  # noqa: F401  (pyopencl's kernel-call code generator: loaded with the device)
        self.device_name = self.device.name.strip()
        self.platform_name = self.platform.name.strip()
        self.global_mem_size = int(self.device.global_mem_size)
        self.max_alloc_size = int(self.device.max_mem_alloc_size)
        self.is_cpu = bool(self.device.type & cl.device_type.CPU)
        # propagation work-items: on a CPU a work-group per core, each item checking a share of the neurons'
        # spike flags (per-work-item overhead is what costs there); elsewhere None, one per neuron
        self.spike_workers = WORK_GROUP * int(self.device.max_compute_units) if self.is_cpu else None
        # on a CPU, many steps per launch in one work-item where it pays (Generator.runs_serially): launches cost
        # more than a small network's step, and the work-item's loops over the cells vectorise
        choice = os.environ.get(SERIAL_ENV, "auto")
        self.serial_steps = False if not self.is_cpu or choice == "0" else True if choice == "1" else "auto"
        self._mf = cl.mem_flags

    def __repr__(self):
        return f"OpenCLRuntime({self.device_name!r} on {self.platform_name!r})"

    def supports_double(self) -> bool:
        return "cl_khr_fp64" in self.device.extensions

    def identity(self) -> str:
        d = self.device
        return "|".join([self.platform_name, self.platform.version, d.vendor, d.name, d.version, d.driver_version])

    # ---- memory -------------------------------------------------------------------------------

    def allocate(self, nbytes: int):
        return self.cl.Buffer(self.context, self._mf.READ_WRITE, size=max(int(nbytes), 4))

    def to_device(self, array: np.ndarray):
        array = np.ascontiguousarray(array)
        if array.nbytes == 0:
            return self.allocate(4)
        return self.cl.Buffer(self.context, self._mf.READ_WRITE | self._mf.COPY_HOST_PTR, hostbuf=array)

    def copy_to_device(self, buffer, array: np.ndarray, offset: int = 0, blocking: bool = False):
        # Not blocking: queued behind running kernels without waiting for them, from a private copy (the caller
        # may change its array at once), which the returned event keeps alive until the transfer is done.
        if array.nbytes:
            source = np.ascontiguousarray(array) if blocking else np.array(array, order="C", copy=True)
            self.cl.enqueue_copy(self.queue, buffer, source, dst_offset=int(offset), is_blocking=blocking)

    def copy_from_device(self, buffer, out: np.ndarray, blocking: bool = True, offset: int = 0):
        if out.nbytes == 0:
            return None
        return self.cl.enqueue_copy(self.queue, out, buffer, is_blocking=blocking, src_offset=int(offset))

    def fill_zero(self, buffer, nbytes: int, offset: int = 0):
        if nbytes:
            self.cl.enqueue_fill_buffer(self.queue, buffer, np.uint8(0), int(offset), int(nbytes))

    # ---- code ---------------------------------------------------------------------------------

    def compile(self, source: str, kernel_names, context: str = "", options=()):
        cl = self.cl
        # Denormal numbers (a quiet cell's decaying current, say) cost a CPU ~50x more per operation: flushed to 0.
        options = ["-cl-denorms-are-zero", *options]
        key = cache.cache_key(source, " ".join(options), self.dialect, self.identity(), cl.VERSION_TEXT,
                              cache.package_version())
        maybe_dump(source)
        binary = cache.load(key)
        program = None
        if binary is not None:
            try:
                program = cl.Program(self.context, [self.device], [binary]).build(options=options)
            except cl.Error:
                program = None
        if program is None:
            try:
                program = cl.Program(self.context, source).build(options=options)
            except cl.RuntimeError as err:
                raise KernelCompileError(explain(str(err), source, context, "OpenCL")) from None
            binaries = program.get_info(cl.program_info.BINARIES)
            if binaries and binaries[0]:
                cache.store(key, bytes(binaries[0]), source)
        return {name: getattr(program, name) for name in kernel_names}

    def set_args(self, kernel, args):
        kernel.set_args(*args)

    def set_arg(self, kernel, index, value):
        kernel.set_arg(index, value)

    def run_steps(self, first, stop, launches):
        # The step travels as the launch's offset in dimension 1 (PG_LAUNCH_STEP), cheaper than set_arg: step + 1
        # with step_base = -1, as PoCL compiles a kernel once more for a launch whose offsets are all zero.
        enqueue, queue = self.cl.enqueue_nd_range_kernel, self.queue
        padded = [(k, (-(-int(n) // WORK_GROUP) * WORK_GROUP, 1)) for k, n in launches]
        local = (WORK_GROUP, 1)
        for kernel, _ in padded:
            kernel.set_arg(0, np.int32(-1))
        for step in range(first, stop):
            offset = (0, step + 1)
            for kernel, size in padded:
                enqueue(queue, kernel, size, local, offset)

    def run_steps_serially(self, first, stop, kernel):
        # one launch per STEPS_PER_LAUNCH steps: the first step as step_base, no offset (see run_steps)
        steps_arg = kernel.num_args - 1
        for start in range(first, stop, STEPS_PER_LAUNCH):
            kernel.set_arg(0, np.int32(start))
            kernel.set_arg(steps_arg, np.int32(min(STEPS_PER_LAUNCH, stop - start)))
            self.cl.enqueue_nd_range_kernel(self.queue, kernel, (1, 1), (1, 1))

    def launch(self, kernel, global_size: int, args=None):
        if args is not None:
            kernel.set_args(*args)
        padded = -(-int(global_size) // WORK_GROUP) * WORK_GROUP
        self.cl.enqueue_nd_range_kernel(self.queue, kernel, (padded,), (WORK_GROUP,))

    def synchronise(self):
        self.queue.finish()
