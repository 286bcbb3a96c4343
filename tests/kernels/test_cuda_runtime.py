"""The CUDA runtime's host side against a recording stand-in for the driver API (no GPU needed).

The stand-in keeps "device" memory in host memory and executes the stream in order at synchronise: copies and
memsets for real, kernel launches as records of (kernel, effective step, arguments), where the effective step
is what the kernel computes, ``step_base + pg_launch_step``.  Captured graphs replay their launches with the
argument values of capture time, as CUDA does.  The CUBINs are real (NVRTC), so the test needs NVRTC.
"""
import ctypes
from types import SimpleNamespace

import numpy as np
import pytest

from pynn_gpu.codegen import simulation as simulation_module
from pynn_gpu.codegen.generator import Generator
from pynn_gpu.codegen.simulation import Simulation
from pynn_gpu.kernels.runtime import cuda as cuda_module
from pynn_gpu.kernels.runtime import nvrtc

pytestmark = [pytest.mark.cuda_compile,
              pytest.mark.skipif(not nvrtc.available(), reason=f"NVRTC not installed: {nvrtc.INSTALL_HINT}")]


class FakeDriver:
    CUstream_flags = SimpleNamespace(CU_STREAM_NON_BLOCKING=1)
    CUdevice_attribute = SimpleNamespace(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR=75,
                                         CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR=76)
    CUfunction_attribute = SimpleNamespace(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK=1, CU_FUNC_ATTRIBUTE_NUM_REGS=4)
    CUstreamCaptureMode = SimpleNamespace(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL=1)

    def __init__(self, arity):
        self.arity = arity              # kernel name -> number of arguments
        self.memory = {}                # address -> numpy array holding it
        self.queue, self.capture, self.graphs = [], None, {}
        self.launches, self.calls = [], {}
        self.step_ptr = None

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if not name.startswith("cu"):
            return value
        calls = object.__getattribute__(self, "calls")

        def counted(*args):                 # counts calls, also through bound methods the runtime keeps
            calls[name] = calls.get(name, 0) + 1
            return value(*args)
        return counted

    def _alloc(self, n):
        arr = np.zeros(n, np.uint8)
        self.memory[arr.ctypes.data] = arr
        return arr.ctypes.data

    def cuInit(self, flags):
        return (0,)

    def cuDeviceGetCount(self):
        return 0, 1

    def cuDeviceGet(self, k):
        return 0, k

    def cuDevicePrimaryCtxRetain(self, dev):
        return 0, "ctx"

    def cuCtxSetCurrent(self, ctx):
        return (0,)

    def cuStreamCreate(self, flags):
        return 0, "stream"

    def cuDeviceGetName(self, n, dev):
        return 0, b"Fake GPU\0\0\0"

    def cuDeviceTotalMem(self, dev):
        return 0, 1 << 30

    def cuDeviceGetAttribute(self, attr, dev):
        return 0, 9 if attr == 75 else 0

    def cuDriverGetVersion(self):
        return 0, 12040

    def cuMemAlloc(self, n):
        return 0, self._alloc(n)

    def cuMemFree(self, p):
        self.memory.pop(int(p), None)
        return (0,)

    def cuMemAllocHost(self, n):
        return 0, self._alloc(n)

    def cuMemFreeHost(self, p):
        return self.cuMemFree(p)

    def cuMemcpyHtoDAsync(self, dst, src, n, stream):
        staged = ctypes.string_at(src, n)            # the driver stages pageable memory before returning
        self.queue.append(lambda: ctypes.memmove(dst, staged, n))
        return (0,)

    def cuMemcpyDtoHAsync(self, dst, src, n, stream):
        self.queue.append(lambda: ctypes.memmove(dst, src, n))
        return (0,)

    def cuMemsetD8Async(self, dst, value, n, stream):
        self.queue.append(lambda: ctypes.memset(dst, value, n))
        return (0,)

    def cuMemsetD32Async(self, dst, value, n, stream):
        self.queue.append(lambda: np.ctypeslib.as_array((ctypes.c_uint32 * n).from_address(dst)).fill(value))
        return (0,)

    def cuModuleLoadData(self, image):
        assert bytes(image[:4]) == b"\x7fELF"            # a CUBIN from NVRTC
        return 0, "module"

    def cuModuleGetGlobal(self, module, name):
        assert name == b"pg_launch_step"
        self.step_ptr = self._alloc(4)
        return 0, self.step_ptr, 4

    def cuModuleGetFunction(self, module, name):
        return 0, name.decode()

    def cuFuncGetAttribute(self, attr, function):
        return 0, 1024 if attr == 1 else 40

    def cuLaunchKernel(self, f, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        pointers = (ctypes.c_uint64 * self.arity[f]).from_address(params)
        args = tuple(ctypes.c_uint64.from_address(p).value for p in pointers)   # copied now, as CUDA does
        op = ("launch", f, gx * bx, args)
        (self.capture if self.capture is not None else self.queue).append(op)
        return (0,)

    def cuStreamBeginCapture(self, stream, mode):
        self.capture = []
        return (0,)

    def cuStreamEndCapture(self, stream):
        graph, self.capture = self.capture, None
        return 0, graph

    def cuGraphInstantiate(self, graph, flags):
        handle = len(self.graphs)
        self.graphs[handle] = list(graph)
        return 0, handle

    def cuGraphLaunch(self, handle, stream):
        self.queue.append(("graph", handle))
        return (0,)

    def cuGraphDestroy(self, graph):
        return (0,)

    def cuGraphExecDestroy(self, handle):
        return (0,)

    def cuStreamSynchronize(self, stream):
        queue, self.queue = self.queue, []
        for op in queue:
            ops = self.graphs[op[1]] if isinstance(op, tuple) and op[0] == "graph" else [op]
            for item in ops:
                if isinstance(item, tuple):
                    _, name, threads, args = item
                    base = np.int32(args[0] & 0xFFFFFFFF)
                    offset = ctypes.c_int32.from_address(self.step_ptr).value
                    self.launches.append((name, int(base) + offset, threads, args[1:]))
                else:
                    item()
        return (0,)


def network(sim):
    sim.setup(timestep=0.1, min_delay="auto")
    cells = sim.Population(50, sim.IF_curr_exp(), label="cells")
    src = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0), label="src")
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.1))
    cells.record(["spikes", "v"])
    return sim.simulator.state.describe()


@pytest.fixture
def fake(sim, monkeypatch, tmp_path):
    monkeypatch.setenv("PYNN_GPU_CACHE_DIR", str(tmp_path))
    net = network(sim)
    program = Generator(net, "cuda", "single").generate()
    driver = FakeDriver({name: len(args) for name, args in program.kernel_args.items()})
    monkeypatch.setattr(cuda_module, "_driver_module", driver)
    return driver, net


def test_run_steps_replays_graphs_with_the_right_steps_and_arguments(fake, monkeypatch):
    driver, net = fake
    monkeypatch.setattr(simulation_module, "CHUNK_STEPS", 256)
    rt = cuda_module.CUDARuntime(graph_steps=100)
    assert rt.device_name == "Fake GPU" and rt.arch == "sm_90" and rt.driver_text == "12.4"
    simulation = Simulation(net, rt, "single")
    chunk_start_of = {}
    n = 620                                               # chunks 256 + 256 + 108: graphs and leftovers
    simulation.run(n)
    for name in ("neuron_update", "spike_propagation"):
        steps = [(step, args) for k, step, _, args in driver.launches if k == name]
        assert [s for s, _ in steps] == list(range(n)), name
        for step, args in steps:
            chunk_start_of.setdefault(name, []).append(np.int32(args[0] & 0xFFFFFFFF))
        assert chunk_start_of[name] == [256 * (s // 256) for s in range(n)]
        buffers = {a for _, a in steps}
        assert len(buffers) == 3                          # one argument set per chunk
    # per step the order is neuron_update then spike_propagation
    names = [k for k, *_ in driver.launches]
    assert names == ["neuron_update", "spike_propagation"] * n
    # 2 + 2 + 1 graph replays; a graph is captured once per chunk (its start is an argument), not per block
    assert driver.calls["cuGraphLaunch"] == 5
    assert driver.calls["cuGraphInstantiate"] == 3 and driver.calls["cuGraphExecDestroy"] == 2
    # leftovers (56 + 56 + 8 steps) launched directly, plus 2 x 100 x 2 launches captured
    assert driver.calls["cuLaunchKernel"] == 2 * 120 + 3 * 200
    assert ctypes.c_int32.from_address(driver.step_ptr).value == 0   # reset for direct launches
    # recordings were copied back through pinned staging memory
    assert driver.calls["cuMemAllocHost"] >= 1 and not rt._pending


def test_asynchronous_reads_land_at_synchronise(fake):
    driver, _ = fake
    rt = cuda_module.CUDARuntime()
    data = np.arange(1000, dtype=np.float32)
    buf = rt.to_device(data)
    out = np.zeros_like(data)
    rt.copy_from_device(buf, out, blocking=False)
    assert not out.any()                                  # still in flight
    rt.synchronise()
    np.testing.assert_array_equal(out, data)
    rt.fill_zero(buf, data.nbytes)
    rt.copy_from_device(buf, out)                         # blocking
    assert not out.any()


def test_kernel_arguments_are_packed_by_type(fake):
    driver, _ = fake
    rt = cuda_module.CUDARuntime()
    kernel = cuda_module.CUDAKernel("k", "k", 128, None, 10)
    buf = rt.allocate(16)
    kernel.set_args([np.int32(-3), buf, np.float32(1.5), np.float64(2.25), 7])
    raw = kernel._slots
    assert raw.view(np.int32)[0] == -3 and raw[1] == buf.ptr and raw.view(np.float32)[4] == 1.5
    assert raw.view(np.float64)[3] == 2.25 and raw.view(np.int32)[8] == 7
    pointers = (ctypes.c_uint64 * 5).from_address(kernel.params)
    assert [p - raw.ctypes.data for p in pointers] == [0, 8, 16, 24, 32]
    with pytest.raises(cuda_module.DeviceError, match="unsupported type"):
        kernel.set_arg(0, 1.5)
