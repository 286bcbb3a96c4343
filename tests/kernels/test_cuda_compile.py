"""Every generated CUDA kernel of the test networks compiles with NVRTC, for several GPU architectures and both
precisions, without a GPU (``sim.compile``); compile errors name the model; unknown architectures list the known."""
import dataclasses
import sys

import numpy as np
import pytest

from pynn_gpu.kernels import cache
from pynn_gpu.kernels.errors import DeviceError, KernelCompileError
from pynn_gpu.kernels.runtime import nvrtc

pytestmark = pytest.mark.cuda_compile
needs_nvrtc = pytest.mark.skipif(not nvrtc.available(), reason=f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
ARCHS = ["sm_75", "sm_80", "sm_90"]   # the NVRTC of CUDA 13 (pyproject's cuda-python>=13) starts at sm_75


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path_factory, monkeypatch):
    """A cache folder of this module's own, so that NVRTC really compiles (once per source and arch)."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path_factory.getbasetemp() / "nvrtc-cache"))
    cache._memory.clear()


def supported(arch):
    number = int(arch.split("_")[1])
    if number not in nvrtc.supported_archs():
        pytest.skip(f"NVRTC {'%d.%d' % nvrtc.version()} cannot compile for {arch} (it knows "
                    f"{', '.join(f'sm_{a}' for a in nvrtc.supported_archs())}); an NVRTC of CUDA 12 can")


def every_model(sim, delay):
    """Every cell type the package exports: each spike source (not injectable) feeds every other population
    (excitatory: heterogeneous delays from ``delay`` to ``delay`` + 2 ms; inhibitory: ``delay``), the first one
    also through procedural connections; a DC source into every injectable population; spikes everywhere and v
    where it exists are recorded."""
    sim.setup(timestep=0.1, min_delay="auto", rng_seed=11)
    rng = sim.NumpyRNG(seed=5)
    sources, targets = [], []
    for name in sim.list_standard_models():
        celltype = getattr(sim, name)
        if not celltype.injectable:
            params = {"spike_times": [0.5, 1.0, 4.0]} if name == "SpikeSourceArray" else {}
            sources.append(sim.Population(4, celltype(**params), label=name))
            continue
        pop = sim.Population(6, celltype(), label=name)
        pop.record(["spikes", "v"] if "v" in celltype.recordable else ["spikes"])
        sim.DCSource(amplitude=0.2, start=1.0, stop=3.0).inject_into(pop)
        targets.append(pop)
    assert targets, "the package exports no cell type to compile"
    delays = sim.RandomDistribution("uniform", (delay, delay + 2.0), rng=rng)
    for src in sources:
        src.record("spikes")
        for pop in targets:
            for k, receptor in enumerate(pop.celltype.receptor_types):
                # PyNN's sign rule: current-based inhibitory receptors take negative weights
                weight = -0.1 if "inh" in receptor and not pop.celltype.conductance_based else 0.1
                connector = sim.AllToAllConnector() if k == 0 else sim.FixedProbabilityConnector(0.5, rng=rng)
                sim.Projection(src, pop, connector, sim.StaticSynapse(weight=weight, delay=delays if k == 0 else delay),
                               receptor_type=receptor)
    # and connections drawn at each spike, not stored: procedural projections, with one weight and delay, and with
    # weights and delays drawn on the device (uniform; clipped normal)
    native = sim.NativeRNG()
    for weight, random_delay in ((0.1, None), (sim.RandomDistribution("uniform", (0.1, 0.2), rng=native),
                                               sim.RandomDistribution("uniform", (delay, delay + 1.0), rng=native)),
                                 (sim.RandomDistribution("normal_clipped", mu=0.1, sigma=0.05, low=0.0, high=1.0,
                                                         rng=native),
                                  sim.RandomDistribution("normal_clipped", mu=delay + 1.0, sigma=0.5, low=delay,
                                                         high=np.inf, rng=native))):
        sim.Projection(sources[0], targets[0], sim.FixedProbabilityConnector(0.3, procedural=True),
                       sim.StaticSynapse(weight=weight, delay=random_delay or delay))
    sim.Projection(sources[0], targets[0], sim.FixedTotalNumberConnector(20, procedural=True),
                   sim.StaticSynapse(weight=weight, delay=random_delay))
    return targets


@needs_nvrtc
@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("arch", ARCHS)
def test_every_kernel_compiles_for_the_architecture(sim, arch, precision):
    supported(arch)
    every_model(sim, delay=0.1)                      # one-step delays: neuron_update + spike_propagation
    report = sim.compile(backend="cuda", arch=arch, precision=precision)
    assert report.kernel_names == ["neuron_update", "spike_propagation"]
    assert report.arch == arch and report.precision == precision and not report.cached
    for kernel in report.kernels.values():
        assert kernel.registers > 0, kernel
        assert kernel.spill_bytes == 0, kernel
    text = str(report)
    assert "neuron_update" in text and arch in text and "registers" in text and "4 procedural group(s)" in text


@needs_nvrtc
@pytest.mark.parametrize("precision", ["single", "double"])
def test_fused_step_kernel_compiles(sim, precision):
    every_model(sim, delay=0.5)                      # every delay >= 2 steps: the fused network_step
    report = sim.compile(backend="cuda", arch="sm_80", precision=precision)
    assert report.kernel_names == ["network_step"]
    assert report.kernels["network_step"].registers > 0


@needs_nvrtc
def test_every_exported_synapse_type_compiles(sim):
    sim.setup(timestep=0.1)
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=20.0), label="pre")
    post = sim.Population(5, sim.IF_cond_exp(), label="post")
    synapses = [sim.StaticSynapse(weight=0.1, delay=0.1)]
    for name in ("TsodyksMarkramSynapse", "SimpleStochasticSynapse"):
        if hasattr(sim, name):
            synapses.append(getattr(sim, name)(weight=0.1, delay=0.5))
    if all(hasattr(sim, n) for n in ("STDPMechanism", "SpikePairRule", "AdditiveWeightDependence")):
        synapses.append(sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                                          weight_dependence=sim.AdditiveWeightDependence(), weight=0.1, delay=0.3))
    for synapse in synapses:
        sim.Projection(pre, post, sim.AllToAllConnector(), synapse)
    for precision in ("single", "double"):
        report = sim.compile(backend="cuda", arch="sm_90", precision=precision)
        assert all(k.registers > 0 for k in report.kernels.values())


@needs_nvrtc
def test_second_compile_comes_from_the_cache(sim, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    every_model(sim, delay=0.1)
    first = sim.compile(backend="cuda", arch="sm_90")
    cache._memory.clear()                            # read back from disk
    second = sim.compile(backend="cuda", arch="sm_90")
    assert not first.cached and second.cached
    assert {k: v.registers for k, v in first.kernels.items()} == {k: v.registers for k, v in second.kernels.items()}
    assert len(list(tmp_path.glob("*.bin"))) == 1 and len(list(tmp_path.glob("*.c"))) == 1


@needs_nvrtc
@pytest.mark.parametrize("precision", ["single", "double"])
def test_a_broken_model_names_the_model_and_the_line(sim, precision):
    every_model(sim, delay=0.1)
    net = sim.simulator.state.describe()
    group = next(g for g in net.neuron_groups if g.model.name == "IF_curr_exp")
    # passes the snippet checks (every name is known) but not the C compiler: % of floating-point values
    group.model = dataclasses.replace(group.model, name="broken_lif", sim_code=group.model.sim_code + "\nv = v % 2.0;")
    with pytest.raises(KernelCompileError) as err:
        sim.compile(backend="cuda", arch="sm_80", precision=precision, network=net)
    message = str(err.value)
    assert "model 'broken_lif'" in message and "l_v % 2.0" in message and "NVRTC" in message


@needs_nvrtc
def test_an_unknown_architecture_lists_the_supported_ones(sim):
    every_model(sim, delay=0.1)
    with pytest.raises(nvrtc.ArchitectureError) as err:
        sim.compile(backend="cuda", arch="sm_1")
    assert "sm_1" in str(err.value) and "sm_80" in str(err.value) and "sm_90" in str(err.value)
    with pytest.raises(nvrtc.ArchitectureError):
        sim.compile(backend="cuda", arch="hopper")


def test_missing_nvrtc_names_the_install_command(monkeypatch):
    monkeypatch.setattr(nvrtc, "_module", None)
    monkeypatch.setitem(sys.modules, "cuda", None)
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    with pytest.raises(nvrtc.CompilerNotFoundError, match=r'pip install "pynn-gpu\[cuda\]"'):
        nvrtc.compile_source("extern \"C\" __global__ void k() {}", "sm_90")
    assert not nvrtc.available()


def test_compile_checks_its_arguments(sim):
    sim.setup(timestep=0.1)
    with pytest.raises(ValueError, match="empty"):
        sim.compile(backend="cuda")
    sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(ValueError, match="allowed values"):
        sim.compile(backend="metal")


def test_opencl_compile_without_running(sim):
    every_model(sim, delay=0.1)
    report = sim.compile(backend="opencl")
    assert report.kernel_names == ["neuron_update", "spike_propagation"] and report.backend == "opencl"
    assert sim.simulator.state.simulation is None            # nothing was built or run
    assert "OpenCL" in str(report)


def test_no_cuda_gpu_gives_a_clear_error_and_auto_falls_back_to_opencl():
    from pynn_gpu.kernels.runtime.cuda import CUDARuntime, cuda_gpu_present
    from pynn_gpu.simulator import make_runtime
    if cuda_gpu_present():
        pytest.skip("this machine has a CUDA GPU")
    # without cuda-python installed the error says that instead
    with pytest.raises(DeviceError, match="no CUDA driver/GPU found.*backend='opencl'|needs cuda-python: pip install"):
        CUDARuntime()
    with pytest.raises(DeviceError, match="backend='opencl'|needs cuda-python: pip install"):
        make_runtime("cuda", None)
    assert make_runtime("auto", None).dialect == "opencl"
