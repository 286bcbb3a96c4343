"""Axonal delays for learning rules, GeNN's default: the rule's presynaptic code runs when a spike arrives.

PyNN's delays are dendritic here (as NEST's): a presynaptic spike runs the synapse code when it is emitted, and its
input reaches the target ``delay`` later.  A weight-update model made with ``axonal_delay=True`` is GeNN's instead:
the spike travels the delay first, so ``pre_spike_code`` runs at its arrival (``t`` and ``st_pre`` are then the
arrival time, ``st_post`` the target's last spike before it) and ``post_spike_code`` sees ``st_pre`` of the last
spike that has arrived.

It is done with a delay line: a hidden group of as many cells as the presynaptic population, each firing the spikes
of its cell ``delay - dt`` later; the rule's synapses start there, with a delay of one step.  The input reaches the
target at the same time as with dendritic delays.  As GeNN's axonal delays are per synapse group, a projection's
connections from one population need one delay.
"""
from __future__ import annotations

import numpy as np
from pyNN import errors

from .codegen.library.neurons import DELAY_LINE
from .codegen.library.synapses import STATIC
from .codegen.network import NeuronGroup, SynapseGroup


def delay_lines(projection, groups: list) -> tuple[list, list]:
    """Route the synapse groups ``groups`` of ``projection`` through delay lines: (the delay lines' neuron groups,
    the static synapse groups feeding them).  The groups made are kept on the projection, so that a rebuild keeps
    the spikes on their way."""
    kept = projection.__dict__.setdefault("_delay_lines", {})
    lines, feeds = [], []
    for sg in groups:
        steps = np.unique(sg.delay_steps)
        if len(steps) > 1:
            dt = projection._simulator.state.dt
            raise errors.InvalidParameterValueError(
                f"projection '{projection.label}': {type(projection.synapse_type).__name__} has axonal delays, which "
                f"are one per projection (per population pair of an Assembly), as GeNN's are per synapse group; its "
                f"delays range from {steps[0] * dt:g} to {steps[-1] * dt:g} ms")
        delay = int(steps[0]) if len(steps) else 1
        if delay <= 1:
            continue
        key = (sg.pre.name, id(sg.pre), delay)
        line = kept.get(key)
        if line is None or line.size != sg.pre.size:
            line = NeuronGroup(name=f"{projection.label} (axonal delay of {sg.pre.name})", model=DELAY_LINE,
                               size=sg.pre.size, params={}, init={})
            kept[key] = line
        line.model, line.params, line.init = DELAY_LINE, {}, {}     # (per-neuron variables are added again)
        if all(line is not other for other in lines):
            cells = np.arange(sg.pre.size)
            lines.append(line)
            feeds.append(SynapseGroup(name=f"{line.name} feed", pre=sg.pre, post=line, receptor="spikes",
                                      model=STATIC, pre_ind=cells, post_ind=cells,
                                      delay_steps=np.full(sg.pre.size, delay - 1),
                                      vars={"weight": np.ones(sg.pre.size)}))
        sg.pre = line
        sg.delay_steps = np.ones_like(sg.delay_steps)
    return lines, feeds
