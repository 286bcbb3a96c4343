"""post_spike_code runs once per synapse for every spike of its target, through the transposed index."""
import numpy as np
import pytest

from pynn_gpu.codegen.library import neurons
from pynn_gpu.codegen.models import WeightUpdateModel
from pynn_gpu.codegen.network import Network, NeuronGroup, SynapseGroup
from pynn_gpu.codegen.simulation import Simulation
from pynn_gpu.kernels.runtime.opencl import OpenCLRuntime

LIF = dict(v_rest=-65., cm=1., tau_m=20., tau_refrac=2., tau_syn_E=5., tau_syn_I=5., v_reset=-70., v_thresh=-50.)

COUNTER = WeightUpdateModel(
    name="PostCounter", vars=("weight", "count", "last"),
    pre_spike_code="add_to_post(weight);",
    post_spike_code="count += 1.0; last = t_post;",
)


@pytest.mark.parametrize("serial", [False, True], ids=["kernel per phase", "one work-item"])
def test_post_spike_code_counts_target_spikes(serial):
    n_post = 5
    drive = np.array([0.0, 0.8, 1.0, 1.5, 2.5])                 # nA: from silent to fast
    post = NeuronGroup("post", neurons.IF_CURR_EXP, n_post,
                       {**{k: np.full(n_post, v) for k, v in LIF.items()}, "i_offset": drive},
                       {"v": np.full(n_post, -65.0)}, record_spikes=True)
    pre = NeuronGroup("pre", neurons.SPIKE_SOURCE_ARRAY, 3, {}, {}, extra_globals={"spike_steps": [[]] * 3})
    # every pre cell onto every post cell, listed in a scrambled order
    pre_ind, post_ind = np.meshgrid(np.arange(3), np.arange(n_post), indexing="ij")
    perm = np.random.default_rng(1).permutation(15)
    pre_ind, post_ind = pre_ind.ravel()[perm], post_ind.ravel()[perm]
    sg = SynapseGroup("s", pre, post, "excitatory", COUNTER, pre_ind, post_ind, np.full(15, 2),
                      {"weight": np.zeros(15), "count": np.zeros(15), "last": np.zeros(15)})
    runtime = OpenCLRuntime()
    runtime.serial_steps = serial
    sim = Simulation(Network(dt=0.1, neuron_groups=[post, pre], synapse_groups=[sg]), runtime, "double")
    assert ("network_steps" if serial else "post_learning") in sim.kernels
    sim.run(2000)
    steps, idx = (np.concatenate(x) for x in zip(*sim.recorded[0]))
    spikes_per_post = np.bincount(idx, minlength=n_post)
    assert spikes_per_post[0] == 0 and spikes_per_post[-1] > spikes_per_post[1] > 0
    count = sim.read_synapse_var(sg, "count")
    np.testing.assert_array_equal(count, spikes_per_post[post_ind])
    last = sim.read_synapse_var(sg, "last")
    for k in range(1, n_post):
        np.testing.assert_allclose(last[post_ind == k], (steps[idx == k].max() + 1) * 0.1)
