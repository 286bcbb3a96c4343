"""The low-level state of pyNN.gpu used by the common implementation of the API.

``state`` is the only singleton: time, timestep, delays, device choice and the build lifecycle.
PyNN calls only describe the network; the first ``run`` (or the first after a structural change)
builds it into an internal :class:`~pynn_gpu.codegen.network.Network`, generates and compiles
the kernels and binds them to the device.  Everything else in this module is private.
"""
from __future__ import annotations

import logging
import os

import numpy as np
from pyNN.parameters import LazyArray
from pyNN import common, errors
from pyNN.random import RandomDistribution

from .codegen.library.timing import TICS_PER_MS, on_grid
from . import axonal_delays, neuron_vars
from .codegen.network import Network
from .codegen.simulation import Simulation
from .kernels.runtime.host import release_freed_memory

logger = logging.getLogger("PyNN")

name = "pyNN.gpu"
BACKEND_ENV = "PYNN_GPU_BACKEND"
PRECISION_ENV = "PYNN_GPU_PRECISION"
BACKENDS = ("auto", "opencl", "cuda")
#: 'auto': classical RK4 for the conductance-based LIF models (shown to give NEST's spikes), NEST's adaptive
#: RKF45 for the others; 'rkf45': NEST's scheme everywhere; 'rk4': RK4 wherever a model allows it.
ODE_INTEGRATORS = ("auto", "rkf45", "rk4")


class ID(int, common.IDMixin):
    """A cell id: an int that knows its parent population."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


def _auto_prefers_cuda(device) -> bool:
    """With backend='auto': does ``device`` (or ``$PYNN_GPU_DEVICE``) leave the choice of a CUDA GPU open?
    An index or a name keeps its OpenCL meaning; 'cpu' means PoCL."""
    spec = device if device is not None else os.environ.get("PYNN_GPU_DEVICE")
    return spec in (None, "", "auto", "gpu")


def make_runtime(backend: str, device):
    """Open the device runtime for ``backend``: 'cuda', 'opencl', or 'auto' (a CUDA GPU when one is present
    and ``device`` allows it, else OpenCL: a GPU if any, else PoCL on the CPU)."""
    if backend == "cuda":
        from .kernels.runtime.cuda import CUDARuntime
        return CUDARuntime(device)
    if backend == "auto" and _auto_prefers_cuda(device):
        from .kernels.errors import DeviceError
        from .kernels.runtime import nvrtc
        from .kernels.runtime.cuda import CUDARuntime, cuda_gpu_present
        if cuda_gpu_present():
            if nvrtc.available():
                try:
                    return CUDARuntime(device)
                except DeviceError as err:
                    logger.warning("backend='auto': the CUDA GPU is not usable (%s); using OpenCL", err)
            else:
                logger.warning("backend='auto': a CUDA GPU is present but NVRTC is not installed (%s); using "
                               "OpenCL", nvrtc.INSTALL_HINT)
    from .kernels.runtime.opencl import OpenCLRuntime
    return OpenCLRuntime(device)


def _random(value) -> bool:
    """Whether an initial value (a LazyArray) draws from a random distribution."""
    return isinstance(getattr(value, "base_value", value), RandomDistribution)


def _checked_seed(seed) -> int:
    """setup(rng_seed=...): a whole number in [0, 2**64) (the counter-based generator's key); None is 0."""
    if seed is None:
        return 0
    try:
        value = int(seed)
        whole = value == seed
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or isinstance(seed, bool) or not 0 <= value < 2 ** 64:
        raise errors.InvalidParameterValueError(
            f"setup(rng_seed={seed!r}): the seed must be a whole number from 0 to 2**64 - 1")
    return value


class State(common.control.BaseState):
    """Simulation time, timestep and the lifecycle of the device network."""

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self._min_delay = "auto"
        self._max_delay = "auto"
        self.backend = "auto"
        self.device = None
        self.precision = "single"
        self.rng_seed = 0
        self.spike_precision = "off_grid"
        self.ode_integrator = "auto"
        self._runtime = None
        self._runtime_key = None
        self.clear()

    # ---- configuration ------------------------------------------------------------------------

    def configure(self, timestep, min_delay, max_delay, backend=None, device=None, precision=None, rng_seed=None,
                  spike_precision="off_grid", ode_integrator="auto"):
        backend = backend or os.environ.get(BACKEND_ENV, "auto")
        precision = precision or os.environ.get(PRECISION_ENV, "single")
        if backend not in BACKENDS:
            raise errors.InvalidParameterValueError(f"setup(backend={backend!r}): allowed values are {BACKENDS}")
        if precision not in ("single", "double"):
            raise errors.InvalidParameterValueError(
                f"setup(precision={precision!r}): allowed values are 'single' and 'double'")
        if isinstance(timestep, (bool, np.bool_)) or not isinstance(timestep, (int, float, np.integer, np.floating)) \
                or not (np.isfinite(timestep) and timestep > 0):
            raise errors.InvalidParameterValueError(f"setup(timestep={timestep!r}): the timestep must be a positive "
                                                    "number of ms")
        if not on_grid(timestep, 1.0 / TICS_PER_MS):        # NEST counts time in whole tics of 1 us
            raise errors.InvalidParameterValueError(
                f"setup(timestep={timestep!r}): the timestep must be a whole number of microseconds (NEST's tic, "
                f"0.001 ms), e.g. {max(round(timestep * TICS_PER_MS), 1) / TICS_PER_MS:g}")
        for name, delay in (("min_delay", min_delay), ("max_delay", max_delay)):
            if delay != "auto" and delay is not None and not on_grid(delay, timestep):
                raise errors.InvalidParameterValueError(
                    f"setup({name}={delay}): delays are whole numbers of timesteps; give a multiple of the timestep "
                    f"{timestep} ms (or 'auto')")
        self.dt = float(timestep)
        self._min_delay = min_delay
        self._max_delay = max_delay
        if device is not None and (isinstance(device, (bool, np.bool_))
                                   or not isinstance(device, (int, np.integer, str))):
            raise errors.InvalidParameterValueError(
                f"setup(device={device!r}): a device is an index, 'gpu', 'cpu' or part of a device or platform name")
        self.backend, self.device, self.precision = backend, device, precision
        self.rng_seed = _checked_seed(rng_seed)
        if ode_integrator not in ODE_INTEGRATORS:
            raise errors.InvalidParameterValueError(
                f"setup(ode_integrator={ode_integrator!r}): allowed values are {ODE_INTEGRATORS}")
        self.ode_integrator = ode_integrator
        # Spikes of cells are on the grid; 'off_grid' (PyNN's default) reports the given times of spike sources.
        self.spike_precision = spike_precision

    @property
    def runtime(self):
        key = (self.backend, self.device)
        if self._runtime is None or self._runtime_key != key:
            self._runtime = make_runtime(self.backend, self.device)
            self._runtime_key = key
        return self._runtime

    @property
    def min_delay(self):
        """The smallest synaptic delay: as set, or with 'auto' the smallest delay in the network (else dt)."""
        if self._min_delay == "auto":
            delays = [p._min_delay_value() for p in self.projections if p._may_connect()]
            return round(min(delays), 9) if delays else self.dt   # 3 steps of 0.1: 0.3, as NEST says, not 0.3000...04
        return self._min_delay

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def max_delay(self):
        """The largest synaptic delay allowed: as set, or with 'auto' the largest delay in the network, at least
        10 ms where min_delay was given (pyNN.nest's default then) and at least min_delay otherwise."""
        if self._max_delay == "auto":
            delays = [p._max_delay_value() for p in self.projections if p._may_connect()]
            return max(delays + [10.0 if self._min_delay != "auto" else self.min_delay])
        return self._max_delay

    @max_delay.setter
    def max_delay(self, value):
        self._max_delay = value

    @property
    def t(self):
        """The current time (ms), on the grid as NEST's (0.3, not 0.30000000000000004, after three 0.1 ms steps)."""
        return round(self.step * self.dt, 9)

    # ---- lifecycle ----------------------------------------------------------------------------

    def clear(self):
        if getattr(self, "simulation", None) is not None and not self.structure_changed:
            for prj in self.projections:    # what the device learned stays readable with Projection.get
                try:
                    prj._sync_from_device()
                except Exception:           # (a device in error): setup() starts afresh all the same
                    logger.warning("the learned values of projection '%s' could not be read back", prj.label)
        self.populations = []
        self.projections = []
        self.procedural_streams = 0     # procedural projections made: each draws from its own stream
        self.current_sources = []
        self.recorders = set()
        self.id_counter = 0
        self.segment_counter = -1
        self.simulation = None
        self.network = None
        self.structure_changed = True
        self.reset()

    def reset(self):
        """Back to t = 0 with the initial values; a new recording segment begins."""
        self.running = False
        self.t_start = 0
        self.step = 0
        self.segment_counter += 1
        if self.simulation is not None:
            self.simulation.reset()
            self.simulation.set_rng_epoch(self.segment_counter)      # a new trial: new random draws
            for p in self.populations:
                p._push_initial_values()
            for src in self.current_sources:     # (PyNN's sources answer unknown attributes with an error)
                hook = getattr(type(src), "_on_reset", None)
                if hook is not None:
                    hook(src)
        for p in self.populations:      # initial values drawn from distributions are drawn again, as in NEST
            for variable, value in p.initial_values.items():
                if _random(value):
                    p._set_initial_value_array(variable, value)
            for view, variable, value in getattr(p, "_view_draws", []):     # (given to views of it)
                view._set_initial_value_array(variable, LazyArray(value, shape=(view.size,), dtype=float))
        for rec in self.recorders:
            rec._new_trial()

    def mark_changed(self):
        """A structural change (new population, projection, source or recording): rebuild at the next run."""
        self.structure_changed = True

    def describe(self) -> Network:
        """The internal network (neuron, synapse and current-source groups) as currently described."""
        net = Network(dt=self.dt, seed=self.rng_seed, ode_integrator=self.ode_integrator)
        for pop in self.populations:
            net.neuron_groups.append(pop._neuron_group())
        for k, prj in enumerate(self.projections):
            groups = prj._synapse_groups()
            if getattr(prj.synapse_type, "axonal_delay", False):     # GeNN's: the rule runs at the spikes' arrival
                lines, feeds = axonal_delays.delay_lines(prj, groups)
                net.neuron_groups.extend(lines)
                net.synapse_groups.extend(feeds)
            if getattr(prj.synapse_type, "neuron_sides", None):    # GeNN 5's per-neuron variables, in the neurons
                prj._neuron_tag = f"p{k}"
                neuron_vars.attach(prj, groups, prj._neuron_tag, self.dt)
            net.synapse_groups.extend(groups)
            net.procedural_groups.extend(prj._procedural_groups())
        for src in self.current_sources:
            group = src._current_source_group()
            if group is not None:
                net.current_sources.append(group)
        for rec in self.recorders:
            rec._request(net)
        return net

    def build(self):
        """Describe the network to the code generator, then generate, compile and upload it."""
        if self.simulation is not None:
            for prj in self.projections:      # what synapses learned so far survives the rebuild
                prj._sync_from_device(force=True)
        old_groups = {prj: list(getattr(prj, "_built_groups", [])) for prj in self.projections}
        release_freed_memory()
        snapshot = self._snapshot()
        try:
            net = self.describe()
            carried = self._carry_state() if self.simulation is not None and self.step > 0 else None
            if carried is not None:     # spikes on their way keep their delays, however the delays change
                net.min_slots = self.simulation.pending_slots()
            sources = self._carry_source_state() if carried is not None else {}
            simulation = Simulation(net, self.runtime, self.precision)
        except BaseException:       # refused (a value to fix, memory): the network that ran stays usable
            self._restore(snapshot)
            raise
        self.network = net
        old, self.simulation = self.simulation, simulation
        self.simulation.step = self.step
        self.simulation.set_rng_epoch(self.segment_counter)
        if old is not None and self.step > 0:
            self.simulation.adopt_recordings(old)
        if carried:
            for group, values in carried.items():
                if group in self.simulation.layout.group_slot:
                    block, _ = self.simulation.layout.group_slot[group]
                    for var, v in values.items():
                        if var in block.scalar_vars or var in block.int_vars:
                            self.simulation.write_state(group, var, v)
            self.simulation.carry_dynamic(old)    # spikes on their way, spike histories
            self._carry_synapse_state(old, old_groups)
            for spec in self.simulation.layout.sources:
                for var, values in sources.get(spec.source.name, {}).items():
                    if len(values) == len(self.simulation.get_source_state(spec.index, var)):   # same targets
                        self.simulation.set_source_state(spec.index, var, values)
        for prj in self.projections:
            prj._keep_reset_values()
            prj.__dict__.pop("_fresh_initial", None)
        for src in self.current_sources:
            src.__dict__.pop("_fresh_initial", None)
        self.structure_changed = False

    def _snapshot(self):
        """What :meth:`describe` changes in the live network (the neuron groups' models and values, the
        projections' built groups), to put back where the description is not the one that runs: a build that is
        refused, or ``compile()``."""
        groups = [pop._group for pop in self.populations if getattr(pop, "_group", None) is not None]
        for prj in self.projections:
            groups += list(prj.__dict__.get("_delay_lines", {}).values())
        return ([(g, dict(vars(g))) for g in groups],
                [(prj, list(getattr(prj, "_built_groups", []))) for prj in self.projections])

    @staticmethod
    def _restore(snapshot):
        groups, projections = snapshot
        for group, fields in groups:
            group.__dict__.update(fields)
        for prj, built in projections:
            prj._built_groups = built

    def _carry_synapse_state(self, old, old_groups):
        """Synaptic state the model changes as it runs and that is no PyNN parameter (depression and
        facilitation of Tsodyks-Markram synapses, STDP traces...) goes on from where it was (the parameters,
        learned weights among them, are carried by the projections themselves)."""
        for prj, before in old_groups.items():
            after = getattr(prj, "_built_groups", [])
            if len(before) != len(after):
                continue
            for (old_sg, _), (new_sg, _) in zip(before, after):
                if len(old_sg.pre_ind) != len(new_sg.pre_ind):
                    continue
                written = old._synapse_slice(old_sg)[0].written_vars
                # (a variable initialize()d since the last build starts from its new value, as in pyNN.nest)
                for var in sorted(set(written) - set(prj._attributes) - prj.__dict__.get("_fresh_initial", set())):
                    self.simulation.write_synapse_var(new_sg, var, old.read_synapse_var(old_sg, var),
                                                      reset_value=False)

    def _carry_source_state(self) -> dict:
        """The current sources' state variables (a value per injection, by source name), so that a rebuild
        continues from them too."""
        sim = self.simulation
        fresh = {src._name: src.__dict__.get("_fresh_initial", set()) for src in self.current_sources}
        # (not a variable initialize()d while the rebuild was pending: it starts from its new value)
        return {spec.source.name: {v: sim.get_source_state(spec.index, v) for v in spec.table.model.var_names
                                   if v not in fresh.get(spec.source.name, ())}
                for spec in sim.layout.sources if spec.table.model.vars}

    def _carry_state(self):
        """State of every already-built neuron group, so a rebuild between runs continues from it: the model's
        variables and the integrator's own (the step size RKF45 proposes, kept per cell as NEST keeps it)."""
        out = {}
        # the populations' groups, and the hidden ones the projections keep (delay lines)
        for group in self.simulation.layout.group_slot:
            block, _ = self.simulation.layout.group_slot[group]
            names = [v for v in list(group.model.var_names) + list(block.internal_vars)
                     if v in block.scalar_vars or v in block.int_vars or v in block.internal_vars]
            out[group] = {v: self.simulation.read_state(group, v) for v in names}
        return out

    def ensure_built(self):
        if self.simulation is None or self.structure_changed:
            self.build()

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if not np.isfinite(tstop):
            raise errors.InvalidParameterValueError(f"cannot run until {tstop} ms: the time must be a finite number "
                                                    "of ms")
        steps = (tstop - self.t) / self.dt
        n_steps = int(round(steps))
        if n_steps < 0:
            raise errors.InvalidParameterValueError(f"cannot run until {tstop} ms from {self.t} ms: the simulation "
                                                    "cannot go back (reset() starts again from 0)")
        if abs(steps - n_steps) > 1e-6:
            below, above = (self.t + k * self.dt for k in (np.floor(steps), np.ceil(steps)))
            raise errors.InvalidParameterValueError(
                f"cannot run until {tstop} ms from {self.t} ms: the simulation advances in whole timesteps of "
                f"{self.dt} ms ({below:.10g} or {above:.10g} ms)")
        self.ensure_built()
        for rec in self.recorders:
            rec._capture_first_samples()
        if n_steps > 0:
            self.simulation.run(n_steps)
        self.step = self.simulation.step
        self.running = True


state = State()
