"""``sim.compile()``: generate and compile every kernel of the described network without running it.

The login-node workflow and the CI check of the CUDA dialect: with ``backend='cuda'`` the kernels are
compiled by NVRTC for a GPU architecture and no GPU is needed; with ``backend='opencl'`` they are
built for the OpenCL device (PoCL on the CPU when there is no GPU).  Compiled code goes to the same
on-disk cache a later ``sim.run()`` uses, so the run does not compile again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyNN.errors import InvalidParameterValueError

from .codegen.generator import Generator
from .codegen.network import Network

BACKENDS = ("cuda", "opencl")


@dataclass
class KernelReport:
    """One kernel: its arguments, launch size and what the compiler allocated (None where not reported)."""

    name: str
    n_args: int
    threads: int                        # work-items per step
    registers: int | None = None        # per thread (CUDA)
    shared_bytes: int | None = None     # static shared (CUDA) / local (OpenCL) memory per block
    local_bytes: int | None = None      # stack frame (CUDA) / private memory (OpenCL) per thread
    spill_bytes: int | None = None      # register spill stores + loads (CUDA)
    max_block_size: int | None = None   # largest work-group the device allows for it (OpenCL)


@dataclass
class CompileReport:
    """What :func:`compile` built: kernels and their resource use, source size, compile time.

    ``arch`` is the CUDA architecture ('sm_90') or, for OpenCL, the device name.
    """

    backend: str
    arch: str
    precision: str
    compiler: str
    kernels: dict                       # name -> KernelReport
    source_bytes: int
    source_lines: int
    generate_time_s: float
    compile_time_s: float
    cached: bool
    network: dict
    source: str = field(default="", repr=False)
    binary_bytes: int = 0

    @property
    def kernel_names(self) -> list:
        return list(self.kernels)

    def __str__(self) -> str:
        net = self.network
        cached = " (from the compile cache)" if self.cached else ""
        lines = [
            f"pyNN.gpu: {len(self.kernels)} kernel(s) compiled by {self.compiler} for {self.arch}, "
            f"{self.precision} precision",
            f"network: {net['neuron_groups']} neuron group(s), {net['neurons']} neurons; {net['synapse_groups']} "
            f"synapse group(s), {net['synapses']} synapses; {net['procedural_groups']} procedural group(s) "
            f"(connections drawn at each spike); {net['current_sources']} current source(s); "
            f"{net['recordings']} recording(s); max delay {net['max_delay_steps']} step(s)",
            f"source: {self.source_bytes} bytes, {self.source_lines} lines; generated in {self.generate_time_s:.3f} s, "
            f"compiled in {self.compile_time_s:.3f} s{cached}",
        ]
        head = f"{'kernel':<20} {'args':>5} {'threads':>9} {'registers':>10} {'shared B':>9} {'local B':>8} " \
               f"{'spill B':>8}"
        lines += [head, "-" * len(head)]

        def cell(value, width):
            return f"{'-' if value is None else value:>{width}}"

        for k in self.kernels.values():
            lines.append(f"{k.name:<20} {k.n_args:>5} {k.threads:>9} {cell(k.registers, 10)} "
                         f"{cell(k.shared_bytes, 9)} {cell(k.local_bytes, 8)} {cell(k.spill_bytes, 8)}")
        return "\n".join(lines)


def _summary(net: Network, program) -> dict:
    return {"neuron_groups": len(net.neuron_groups), "neurons": sum(g.size for g in net.neuron_groups),
            "synapse_groups": len(net.synapse_groups), "synapses": sum(len(sg.pre_ind) for sg in net.synapse_groups),
            "procedural_groups": len(net.procedural_groups),
            "current_sources": len(net.current_sources), "recordings": len(program.layout.records),
            "max_delay_steps": net.max_delay_steps()}


def compile(backend: str = "cuda", arch="sm_90", precision: str | None = None, device=None,
            network: Network | None = None) -> CompileReport:
    """Generate and compile every kernel of the network as currently described, without running it.

    ``backend='cuda'`` compiles with NVRTC for ``arch`` ('sm_70', 'sm_80', 'sm_90', ...; no GPU needed,
    but cuda-python and NVRTC: ``pip install "pynn-gpu[cuda]"``); ``backend='opencl'`` builds for the
    OpenCL ``device`` (as in ``setup()``; ``arch`` is then ignored).  ``precision`` defaults to the one
    given to ``setup()``.  ``network`` compiles an internal :class:`~pynn_gpu.codegen.network.Network`
    instead of the PyNN one.

    Returns a :class:`CompileReport`; raises ``KernelCompileError`` naming the model and the generated
    line if the device compiler rejects the code, ``ArchitectureError`` for an architecture NVRTC does
    not know (the message lists those it does), ``CompilerNotFoundError`` if NVRTC is missing.
    """
    from . import simulator

    state = simulator.state
    if backend not in BACKENDS:
        hint = f" (an architecture? write compile(arch={backend!r}))" if str(backend).startswith("sm_") else ""
        raise InvalidParameterValueError(f"compile(backend={backend!r}): allowed values are {BACKENDS}{hint}")
    precision = precision or state.precision
    if precision not in ("single", "double"):
        raise InvalidParameterValueError(
            f"compile(precision={precision!r}): allowed values are 'single' and 'double'")
    if network is not None and not isinstance(network, Network):
        raise TypeError(f"compile(network=...): an internal pynn_gpu.codegen.network.Network, or None for the PyNN "
                        f"network (got {type(network).__name__})")
    snapshot = state._snapshot() if network is None else None
    try:        # (describing the PyNN network changes the live groups: put back, the network that ran stays)
        net = network if network is not None else state.describe()
        if not net.neuron_groups:
            raise InvalidParameterValueError(
                "compile(): the network is empty: create populations (after setup()) before compiling")
        start = time.perf_counter()
        program = Generator(net, backend, precision).generate()
    finally:
        if snapshot is not None:
            state._restore(snapshot)
    generated = time.perf_counter()
    names = list(program.kernel_args)
    context = "the network's kernels"
    if backend == "cuda":
        from .kernels.runtime import nvrtc

        module = nvrtc.compile_source(program.source, arch, context=context)
        compiled = time.perf_counter()
        kernels = {}
        for name in names:
            r = module.resources.get(name)
            kernels[name] = KernelReport(
                name, len(program.kernel_args[name]), program.layout.work_items(name),
                registers=r.registers if r else None, shared_bytes=r.shared_bytes if r else None,
                local_bytes=r.local_bytes if r else None, spill_bytes=(r.spill_stores + r.spill_loads) if r else None)
        return CompileReport(backend, module.arch, precision, f"NVRTC {module.nvrtc_version}", kernels,
                             len(program.source.encode()), program.source.count("\n") + 1, generated - start,
                             compiled - generated, module.cached,
                             _summary(net, program), program.source, len(module.cubin or module.ptx))
    from .kernels.runtime.opencl import OpenCLRuntime

    current = state._runtime    # the OpenCL runtime already open, if it is the one asked for
    runtime = current if isinstance(current, OpenCLRuntime) and device in (None, state.device) \
        else simulator.make_runtime("opencl", device if device is not None else state.device)
    built = runtime.compile(program.source, names, context=context)
    compiled = time.perf_counter()
    kernels = {name: _opencl_kernel_report(runtime, name, built[name], len(program.kernel_args[name]),
                                           program.layout.work_items(name)) for name in names}
    compiler = f"OpenCL ({getattr(runtime, 'platform_name', '')})".replace(" ()", "")
    return CompileReport(backend, runtime.device_name, precision, compiler, kernels, len(program.source.encode()),
                         program.source.count("\n") + 1, generated - start, compiled - generated, False,
                         _summary(net, program), program.source)


def _opencl_kernel_report(runtime, name, kernel, n_args, threads) -> KernelReport:
    report = KernelReport(name, n_args, threads)
    try:
        import pyopencl as cl
        info = cl.kernel_work_group_info
        report.local_bytes = int(kernel.get_work_group_info(info.PRIVATE_MEM_SIZE, runtime.device))
        report.shared_bytes = int(kernel.get_work_group_info(info.LOCAL_MEM_SIZE, runtime.device))
        report.max_block_size = int(kernel.get_work_group_info(info.WORK_GROUP_SIZE, runtime.device))
    except Exception:   # not every OpenCL implementation reports these
        pass
    return report
