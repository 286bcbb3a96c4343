"""Random numbers for pyNN.gpu.

:class:`NativeRNG` marks draws as the simulator's own.  pyNN.gpu draws them with numpy's generator
seeded from ``seed`` on the host (connectivity and parameter values are built on the host), so a
script written for another backend's ``NativeRNG`` runs unchanged and reproducibly; the device's
Philox generator serves what happens during the run (Poisson input, stochastic synapses, noise), and the random
weights and delays of procedural connections (a connector with ``procedural=True``), which a distribution with
``rng=NativeRNG()`` asks for.
"""
from pyNN.random import NumpyRNG


class NativeRNG(NumpyRNG):
    """pyNN.gpu's native RNG: a seeded numpy generator (the same interface as ``NumpyRNG``)."""

    def __init__(self, seed=None, parallel_safe=True):
        super().__init__(seed=seed, parallel_safe=parallel_safe)

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)        # (PyNN's makes a NumpyRNG: PyNN copies parameters it evaluates)
        copy.__class__ = NativeRNG
        return copy
