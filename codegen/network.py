"""The internal network: neuron groups, synapse groups and current sources (PyNN-free).

The front end fills these in PyNN terms already translated to model units; the generator turns
them into kernels and the simulation binds them to device buffers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .models import CurrentSourceModel, NeuronModel, WeightUpdateModel


@dataclass(eq=False)
class NeuronGroup:
    """``size`` neurons of one model with per-neuron parameters and initial state.

    ``extra_globals`` maps a name to one array per neuron (ragged); ``rng_stream`` keys the
    counter-based RNG so that the same seed gives the same draws on every device.
    """

    name: str
    model: NeuronModel
    size: int
    params: dict
    init: dict
    extra_globals: dict = field(default_factory=dict)
    rng_stream: int = 0
    record_spikes: bool = False
    #: the local indices of the cells whose spikes are kept (None: every cell's)
    spike_cells: object = None
    #: var name -> (local indices recorded, sampling interval in steps)
    record_vars: dict = field(default_factory=dict)


@dataclass(eq=False)
class SynapseGroup:
    """Connections from ``pre`` to ``post`` onto ``receptor``: one entry per synapse."""

    name: str
    pre: NeuronGroup
    post: NeuronGroup
    receptor: str
    model: WeightUpdateModel
    pre_ind: np.ndarray
    post_ind: np.ndarray
    delay_steps: np.ndarray
    vars: dict


@dataclass(eq=False)
class ProceduralGroup:
    """Connections from ``pre`` to ``post`` onto ``receptor`` that are not stored: the kernels draw a presynaptic
    cell's targets again at each of its spikes (:mod:`.procedural`), every connection with the same delay and
    ``weight``, or weights and delays drawn from ``random_weight`` and ``random_delay``.  ``stream`` keys the draws
    of this group."""

    name: str
    pre: NeuronGroup
    post: NeuronGroup
    receptor: str
    #: fixed probability ``p`` (None: ``n_total`` or ``n_per_pre`` connections drawn with replacement)
    p: float | None
    allow_self: bool
    weight: float
    #: the least and the most steps of its delays (equal: one delay)
    delay_range: tuple
    stream: int
    #: random weights instead of ``weight``: ('uniform', {low, high}) or ('normal_clipped', {mu, sigma, low, high})
    random_weight: tuple | None = None
    #: random delays (ms) the same way, or None: ``delay_range[0]`` steps
    random_delay: tuple | None = None
    #: the number of connections, split among the presynaptic cells at random
    n_total: int | None = None
    #: each presynaptic cell's number of connections (fixed number per cell), instead of ``n_total`` split
    n_per_pre: int | None = None
    #: the cells of ``pre`` and ``post`` it joins: (first, count) of a contiguous range, None for all
    pre_range: tuple | None = None
    post_range: tuple | None = None

    @property
    def pre_first(self) -> int:
        return self.pre_range[0] if self.pre_range else 0

    @property
    def post_first(self) -> int:
        return self.post_range[0] if self.post_range else 0

    @property
    def n_pre(self) -> int:
        return self.pre_range[1] if self.pre_range else self.pre.size

    @property
    def n_post(self) -> int:
        return self.post_range[1] if self.post_range else self.post.size

    @property
    def self_shift(self) -> int | None:
        """Without self-connections, the candidate j of presynaptic cell i to pass over is i + self_shift (None:
        self-connections allowed, or pre and post are different populations)."""
        if self.allow_self or self.pre is not self.post:
            return None
        return self.pre_first - self.post_first

    @property
    def drawn_rows(self) -> bool:
        """Whether the rows have given lengths and targets drawn with replacement (not a fixed probability)."""
        return self.n_total is not None or self.n_per_pre is not None

    @property
    def delay_steps(self) -> int:
        """The delay in steps (of a group with one delay)."""
        return int(self.delay_range[0])


@dataclass(eq=False)
class CurrentSourceGroup:
    """One current source injecting into ``targets``: a list of (NeuronGroup, local indices); a cell listed k times
    receives k times the current.  ``state`` gives the initial value of each of the model's variables per
    injection (one array over the targets in order, or a number for all)."""

    name: str
    model: CurrentSourceModel
    params: dict
    targets: list
    extra_globals: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    #: record the current injected in every step (summed over the targets)
    record: bool = False


@dataclass(eq=False)
class Network:
    """Everything the generator needs: groups, the step ``dt`` (ms), the RNG ``seed`` and the choice of ODE
    integrator."""

    dt: float
    seed: int = 0
    #: 'auto' (RK4 where a model declares it equivalent, else the model's own integrator), 'rkf45' or 'rk4'
    ode_integrator: str = "auto"
    neuron_groups: list = field(default_factory=list)
    synapse_groups: list = field(default_factory=list)
    #: ProceduralGroup: connections drawn at each spike, not stored
    procedural_groups: list = field(default_factory=list)
    current_sources: list = field(default_factory=list)
    #: ring-buffer slots the input already on its way needs (a rebuild between runs whose delays got shorter)
    min_slots: int = 0

    def delay_steps(self) -> list:
        """The delays (steps) of every synapse, a list of arrays."""
        return ([sg.delay_steps for sg in self.synapse_groups if len(sg.delay_steps)]
                + [np.array(pg.delay_range) for pg in self.procedural_groups])

    def max_delay_steps(self) -> int:
        return max((int(d.max()) for d in self.delay_steps()), default=1)

    def min_delay_steps(self) -> int:
        return min((int(d.min()) for d in self.delay_steps()), default=1)
