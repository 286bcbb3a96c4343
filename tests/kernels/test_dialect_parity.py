"""One IR, two dialects: OpenCL and CUDA programs of the same network define the same kernels with the same
arguments, and their sources differ only by the dialect prelude (templates use the prelude's macros only)."""
import re

import pytest

from pynn_gpu.codegen.generator import Generator
from pynn_gpu.kernels.dialects import CUDA, OPENCL

KERNEL = re.compile(r"^KERNEL void (\w+)\(", re.M)


def curr_exp_array_dc(sim):
    """IF_curr_exp driven by a SpikeSourceArray through StaticSynapses (heterogeneous delays), plus a DCSource."""
    cells = sim.Population(12, sim.IF_curr_exp(tau_refrac=2.0), label="cells")
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[1.0, 2.5, 7.0]), label="src")
    delays = sim.RandomDistribution("uniform", (0.1, 3.0), rng=sim.NumpyRNG(seed=3))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=delays))
    sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=-0.2, delay=0.1),
                   receptor_type="inhibitory")
    sim.DCSource(amplitude=0.3, start=2.0, stop=8.0).inject_into(cells[:6])


def cond_exp_poisson(sim):
    """IF_cond_exp (RKF45) driven by SpikeSourcePoisson; every delay >= 2 steps gives the fused network_step."""
    cells = sim.Population(10, sim.IF_cond_exp(), label="cond")
    noise = sim.Population(6, sim.SpikeSourcePoisson(rate=50.0), label="noise")
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=1)),
                   sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="excitatory")


def recording(sim):
    """Both neuron models with spikes and v recorded (v of a subset, at a coarser interval)."""
    curr_exp_array_dc(sim)
    cond_exp_poisson(sim)
    cells, cond = sim.simulator.state.populations[0], sim.simulator.state.populations[2]
    cells.record(["spikes", "v"])
    cond[2:7].record("v", sampling_interval=0.5)
    cond.record("spikes")


def all_synapse_types(sim):
    """Every synapse type the package exports that builds with default parameters (plasticity included)."""
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=20.0), label="pre")
    post = sim.Population(5, sim.IF_curr_exp(), label="post")
    for synapse in synapse_instances(sim):
        sim.Projection(pre, post, sim.AllToAllConnector(), synapse)


def every_cell_type(sim):
    """One population of every cell type the package exports, each spike source feeding every other cell."""
    pops = {}
    for name in sim.list_standard_models():
        params = {"spike_times": [1.0, 3.0]} if name == "SpikeSourceArray" else {}
        pops[name] = sim.Population(3, getattr(sim, name)(**params), label=name)
        pops[name].record("spikes")
    for src in (p for p in pops.values() if not p.celltype.injectable):
        for post in (p for p in pops.values() if p.celltype.injectable):
            sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05, delay=0.2))


def synapse_instances(sim):
    out = [sim.StaticSynapse(weight=0.1, delay=0.5)]
    for name in ("TsodyksMarkramSynapse", "SimpleStochasticSynapse"):
        if hasattr(sim, name):
            out.append(getattr(sim, name)(weight=0.1, delay=0.5))
    if all(hasattr(sim, n) for n in ("STDPMechanism", "SpikePairRule", "AdditiveWeightDependence")):
        out.append(sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                                     weight_dependence=sim.AdditiveWeightDependence(), weight=0.1, delay=0.5))
    return out


NETWORKS = [curr_exp_array_dc, cond_exp_poisson, recording, all_synapse_types, every_cell_type]


def programs(sim, build, precision):
    sim.setup(timestep=0.1, min_delay="auto", rng_seed=7)
    build(sim)
    net = sim.simulator.state.describe()
    return Generator(net, "opencl", precision).generate(), Generator(net, "cuda", precision).generate()


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("build", NETWORKS, ids=[f.__name__ for f in NETWORKS])
def test_dialects_define_the_same_kernels_with_the_same_arguments(sim, build, precision):
    ocl, cuda = programs(sim, build, precision)
    assert list(ocl.kernel_args) == list(cuda.kernel_args)
    for name in ocl.kernel_args:
        assert ocl.kernel_args[name] == cuda.kernel_args[name], name
    # the kernels each source defines are exactly those of the argument lists
    assert KERNEL.findall(ocl.source) == KERNEL.findall(cuda.source) == list(ocl.kernel_args)


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("build", NETWORKS, ids=[f.__name__ for f in NETWORKS])
def test_sources_differ_only_by_the_prelude(sim, build, precision):
    ocl, cuda = programs(sim, build, precision)
    ocl_prelude, cuda_prelude = OPENCL.prelude(precision), CUDA.prelude(precision)
    assert ocl.source.count(ocl_prelude) == 1 and cuda.source.count(cuda_prelude) == 1
    assert ocl.source.replace(ocl_prelude, "<prelude>") == cuda.source.replace(cuda_prelude, "<prelude>")


def test_preludes_define_the_same_macros():
    """Both dialects fill in the same primitives; nothing outside kernels/dialects knows which one it has."""
    names = [{k.split("(")[0] for k, _ in d.defines} for d in (OPENCL, CUDA)]
    # the CUDA dialect also declares the device variable that holds the launch's step (for CUDA graphs)
    assert names[1] - names[0] == {"PG_LAUNCH_STEP_DECLARATION"}
    assert names[0] <= names[1]


def test_the_networks_cover_both_kernel_shapes(sim):
    shapes = set()
    for build in NETWORKS:
        ocl, _ = programs(sim, build, "single")
        shapes.add(tuple(ocl.kernel_args))
        sim.end()
    assert ("network_step",) in shapes and ("neuron_update", "spike_propagation") in shapes
