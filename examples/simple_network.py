"""A small balanced network of IF_cond_exp cells driven by Poisson input, on the default device.

    python examples/simple_network.py [--backend opencl] [--device cpu] [--plot out.png]

Change the import to ``pyNN.nest`` and the same script runs on NEST.
"""
import argparse

import numpy as np

import pyNN.gpu as sim

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--backend", default=None, help="'opencl' or 'cuda' (default: the best available)")
parser.add_argument("--device", default=None, help="device index, 'gpu', 'cpu' or part of its name")
parser.add_argument("--plot", default=None, help="save a raster plot to this file")
args = parser.parse_args()

sim.setup(timestep=0.1, min_delay=0.5, backend=args.backend, device=args.device, rng_seed=42)
rng = sim.NumpyRNG(seed=1234)
exc = sim.Population(800, sim.IF_cond_exp(tau_refrac=2.0), label="exc")
inh = sim.Population(200, sim.IF_cond_exp(tau_refrac=2.0), label="inh")
noise = sim.Population(100, sim.SpikeSourcePoisson(rate=20.0), label="noise")
for pop in (exc, inh):
    pop.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))

connector = sim.FixedProbabilityConnector(0.05, rng=rng)
sim.Projection(exc, exc + inh, connector, sim.StaticSynapse(weight=0.004, delay=1.0), receptor_type="excitatory")
sim.Projection(inh, exc + inh, connector, sim.StaticSynapse(weight=0.05, delay=1.0), receptor_type="inhibitory")
sim.Projection(noise, exc + inh, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="excitatory")

exc.record("spikes")
exc[:5].record("v")
sim.run(1000.0)

spikes = exc.get_data().segments[0].spiketrains
rate = np.mean([len(st) for st in spikes]) / 1.0
print(f"device: {sim.simulator.state.runtime.device_name}")
print(f"excitatory rate: {rate:.2f} Hz over {len(spikes)} cells")
if args.plot:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for k, st in enumerate(spikes[:200]):
        plt.plot(st, np.full(len(st), k), "k.", markersize=1)
    plt.xlabel("time (ms)")
    plt.ylabel("cell")
    plt.savefig(args.plot)
sim.end()
