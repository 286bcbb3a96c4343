"""Generator: groups of one model merge into one block; layout and kernels as expected."""
import numpy as np
import pytest

from pynn_gpu.codegen.errors import ModelError
from pynn_gpu.codegen.generator import Generator
from pynn_gpu.codegen.library import neurons, synapses
from pynn_gpu.codegen.models import NeuronModel
from pynn_gpu.codegen.network import Network, NeuronGroup, SynapseGroup

LIF = dict(v_rest=-65., cm=1., tau_m=20., tau_refrac=2., tau_syn_E=5., tau_syn_I=5., i_offset=0., v_reset=-70.,
           v_thresh=-50., e_rev_E=0.0, e_rev_I=-70.0)


def group(name, n, model=neurons.IF_CURR_EXP, **params):
    p = {k: np.full(n, v) for k, v in {**LIF, **params}.items() if k in model.params}
    return NeuronGroup(name, model, n, p, {})


def test_same_model_groups_merge_into_one_block():
    a, b, c = group("a", 10), group("b", 5, tau_m=10.0), group("c", 3, neurons.IF_COND_EXP)
    net = Network(dt=0.1, neuron_groups=[a, c, b])
    layout = Generator(net).layout()
    assert [blk.model.name for blk in layout.neuron_blocks] == ["IF_curr_exp", "IF_cond_exp"]
    first = layout.neuron_blocks[0]
    assert first.size == 15 and [s.group.name for s in first.slots] == ["a", "b"]
    assert layout.group_slot[b][1].global_start == 10 and layout.group_slot[c][1].global_start == 15
    assert layout.n_total == 18


@pytest.mark.parametrize("delay,kernels", [(1, ["neuron_update", "spike_propagation"]), (2, ["network_step"])])
def test_kernels_depend_on_the_smallest_delay(delay, kernels):
    a, b = group("a", 4), group("b", 4)
    sg = SynapseGroup("s", a, b, "excitatory", synapses.STATIC, np.arange(4), np.arange(4), np.full(4, delay),
                      {"weight": np.ones(4)})
    program = Generator(Network(dt=0.1, neuron_groups=[a, b], synapse_groups=[sg])).generate()
    assert list(program.kernel_args) == kernels
    assert program.source.count("typedef float scalar;") == 1
    for name in kernels:
        assert f"void {name}(" in program.source


def test_model_errors_surface_before_compilation():
    bad = NeuronModel(name="bad", params=("tau",), vars=("v",), sim_code="v += dt / tau;\nv = v_th;")
    g = NeuronGroup("g", bad, 2, {"tau": np.ones(2)}, {})
    with pytest.raises(ModelError, match=r"\[neuron model 'bad' sim_code, line 2\] unknown name 'v_th'"):
        Generator(Network(dt=0.1, neuron_groups=[g])).generate()
    with pytest.raises(ModelError, match="declared twice"):
        NeuronModel(name="dup", params=("v",), vars=("v",))
