"""Projection and Connection for pyNN.gpu.

Connections are held as flat arrays (presynaptic index, postsynaptic index and one array per
native synaptic parameter) in the order the connector made them (by target).  PyNN sees them in
NEST's order, by source (``get(format="list")``, ``prj[i]``, iteration, ``save``, ``set`` with one
value per connection), through a permutation computed on the host.  At build time a projection
becomes one synapse group per (presynaptic population, postsynaptic population) pair; delays are
stored as simulated: rounded to whole steps as NEST rounds them, and refused where NEST refuses them.

A procedural projection (a connector with ``procedural=True``) stores nothing: it becomes one procedural group,
whose connections the kernels draw again at every spike, and the host draws the same ones
(:mod:`.codegen.procedural`) only when they are asked for.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from pyNN import common, errors
from pyNN.parameters import LazyArray, ParameterSpace
from pyNN.random import RandomDistribution
from pyNN.space import Space
from pyNN.standardmodels import StandardSynapseType

from . import neuron_vars, simulator
from .bulk import collector_paused
from .codegen import procedural
from .codegen.library.timing import steps_round, steps_to_ms
from .codegen.sorting import compact, index_dtype, stable_order
from .codegen.network import ProceduralGroup, SynapseGroup
from .codegen.simulation import MEMORY_FRACTION, _fmt_bytes
from .kernels.errors import DeviceMemoryError, HostMemoryError
from .kernels.runtime.host import release_freed_memory, short_of_host_memory
from .rng import NativeRNG
from .standardmodels.cells import refuse_bad_distributions, refuse_unknown_names
from .standardmodels.validation import BEYOND_SINGLE, beyond_single
from .standardmodels.synapses import StaticSynapse

#: Bytes one synapse takes on the device (target, delay, weight).
DEVICE_BYTES_PER_SYNAPSE = 12


def _joined(parts) -> np.ndarray:
    """The parts of a connection attribute joined; one value shared by all is kept once, as a read-only
    broadcast array (a plastic synapse type has up to ten parameters per connection, most of them the same for
    every connection: 8 bytes each per connection otherwise)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0)
    first = parts[0][0]
    if all(p.strides[0] == 0 and p[0] == first or (p == first).all() for p in parts):
        return np.broadcast_to(np.float64(first), (sum(len(p) for p in parts),))
    return np.concatenate(parts).astype(float, copy=False)


def _population_index(cells):
    """For a Population, view or Assembly: the owning Population and local index of each cell."""
    ids = np.asarray(cells.all_cells, dtype=np.int64)
    pops = simulator.state.populations
    firsts = np.array([int(p.first_id) for p in pops], dtype=np.int64)
    order = np.argsort(firsts)
    which = order[np.searchsorted(firsts[order], ids, side="right") - 1]
    return which, ids - firsts[which]


def _local_indices(local: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``local[flat]``: the cells' indices in their populations.  Where ``local`` is the identity (the projection's
    side is a whole Population, the usual case) that is ``flat`` itself, kept once instead of twice."""
    if len(local) and local[0] == 0 and local[-1] == len(local) - 1 and np.array_equal(local, np.arange(len(local))):
        return compact(flat)
    return local[flat]


def _repeats(flat: np.ndarray, size: int) -> bool:
    """Whether a cell index (of ``size``) occurs more than once in ``flat``: a byte per cell, no sort."""
    seen = np.zeros(size, bool)
    seen[flat] = True
    return int(np.count_nonzero(seen)) < len(flat)


def _populations_of(cells):
    """The Populations behind a Population, view or Assembly."""
    if isinstance(cells, common.Assembly):
        return [p for part in cells.populations for p in _populations_of(part)]
    while isinstance(cells, common.PopulationView):
        cells = cells.parent
    return [cells]


class _TargetParameters(Mapping):
    """The target cells' parameters aligned with a group's synapses, converted only for a model that asks."""

    def __init__(self, parameters: dict, index: np.ndarray):
        self._parameters, self._index = parameters, index

    def __getitem__(self, name):
        return np.asarray(self._parameters[name], dtype=object)[self._index]

    def __iter__(self):
        return iter(self._parameters)

    def __len__(self):
        return len(self._parameters)


class Connection(common.Connection):
    """One connection of a projection: a view onto the projection's arrays.

    ``index`` is the connection's position in the projection (NEST's order, as ``prj[index]``); ``_k`` its
    position in the projection's arrays."""

    def __init__(self, projection, index, k=None):
        # straight into __dict__: __setattr__ (which routes synaptic parameters to the projection) made building
        # the connections of a large projection three times slower
        self.__dict__.update(projection=projection, index=index, _k=index if k is None else k)

    @property
    def presynaptic_index(self):
        return int(self.projection._pre[self._k])

    @property
    def postsynaptic_index(self):
        return int(self.projection._post[self._k])

    @property
    def source(self):
        """The ID of the presynaptic cell (as pyNN.nest's Connection)."""
        return self.projection.pre[self.presynaptic_index]

    @property
    def target(self):
        """The ID of the postsynaptic cell (as pyNN.nest's Connection)."""
        return self.projection.post[self.postsynaptic_index]

    presynaptic_cell = source
    postsynaptic_cell = target

    def _get(self, name):
        return float(self.projection._attributes[name][self._k])

    def _set(self, name, value):
        self.projection._set_connection_values(name, np.array([self._k]), np.array([value], float))

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def __getattr__(self, name):
        projection = self.__dict__.get("projection")
        if projection is not None and name in projection._attributes:
            return self._get(name)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        # any synaptic parameter of the connection (U, tau_rec, tau_plus...) is written to the projection, as
        # weight and delay are
        projection = self.__dict__.get("projection")
        if projection is not None and name in projection._attributes and name not in type(self).__dict__:
            self._set(name, value)
        else:
            super().__setattr__(name, value)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class NoStateVariablesError(errors.NonExistentParameterError):
    """initialize() of a projection whose synapse type has no state variables."""

    def __str__(self):
        return f"{self.parameter_name}: synapse type {self.model_name} has no state variables to initialize"


def _check_neuron_refs(synapse_type, pre, post, label):
    """A synapse snippet reading ``<var>_pre`` / ``<var>_post`` needs that variable in the neurons' model."""
    model = synapse_type.codegen_model
    per_neuron = getattr(synapse_type, "neuron_var_names", {})       # the model's own per-neuron variables
    sides = getattr(synapse_type, "neuron_sides", {})
    for side, refs, cells in (("pre", model.neuron_refs()[0], pre), ("post", model.neuron_refs()[1], post)):
        refs = sorted({r for r in refs if r not in per_neuron} | set(sides[side].neuron_refs if side in sides else ()))
        for population in getattr(cells, "populations", [cells]):      # an Assembly: each of its populations
            cell = getattr(population.celltype, "codegen_model", None) if refs else None
            missing = [v for v in refs if cell is not None and v not in cell.var_names]
            if missing:
                raise errors.NonExistentParameterError(
                    missing[0], f"the {side}synaptic cell type {type(population.celltype).__name__} (read as "
                    f"'{missing[0]}_{side}' by synapse type {type(synapse_type).__name__} of projection "
                    f"{label!r}; its state variables", [v for v in cell.var_names if not v.startswith("pg_")])


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        for side, cells in (("pre", presynaptic_population), ("post", postsynaptic_population)):
            if not isinstance(cells, (common.BasePopulation, common.Assembly)):     # as PyNN says it, first
                raise errors.ConnectionError(f"{side}synaptic_neurons must be a Population, PopulationView or "
                                             f"Assembly, not a {type(cells)}" + (f" (projection {label!r})" if label
                                                                                 else ""))
        for what, value in (("connector", connector), ("synapse_type", synapse_type)):
            if isinstance(value, type):      # a class where PyNN wants an instance: say so, not an AttributeError
                where = repr(label) if label else \
                    f"from '{presynaptic_population.label}' to '{postsynaptic_population.label}'"
                raise TypeError(f"`{what}` should be an instance, not the class {value.__name__} (projection "
                                f"{where}): write {value.__name__}(...)")
        if synapse_type is not None and getattr(synapse_type, "codegen_model", None) is None:
            raise NotImplementedError(
                f"pyNN.gpu does not support synapse type {type(synapse_type).__name__} (projection {label!r}); "
                "supported: StaticSynapse, TsodyksMarkramSynapse, SimpleStochasticSynapse, "
                "StochasticTsodyksMarkramSynapse, MultiQuantalSynapse, STDPMechanism and user-defined weight-update "
                "models (create_weight_update_model)")
        if synapse_type is not None:
            _check_neuron_refs(synapse_type, presynaptic_population, postsynaptic_population,
                               label or f"{presynaptic_population.label}→{postsynaptic_population.label}")
        name = repr(label) if label else f"from '{presynaptic_population.label}' to '{postsynaptic_population.label}'"
        for side, cells in (("presynaptic", presynaptic_population), ("postsynaptic", postsynaptic_population)):
            for pop in _populations_of(cells):
                if not any(pop is p for p in simulator.state.populations):
                    raise errors.ConnectionError(
                        f"projection {name}: the {side} population '{pop.label}' was made before the last "
                        "setup() (or end()); a projection connects populations of the current network")
                if side == "postsynaptic" and not list(getattr(pop.celltype, "receptor_types", ["?"])):
                    raise errors.ConnectionError(
                        f"projection {name}: the cells of population '{pop.label}' ({type(pop.celltype).__name__}) "
                        "have no receptor types: they cannot be a projection's target")
        if isinstance(postsynaptic_population, common.Assembly):     # (PyNN's own check: a bare AssertionError)
            shared = list(postsynaptic_population.receptor_types)
            if not shared or (receptor_type is not None and receptor_type not in shared):
                kinds = "; ".join(f"'{p.label}': {', '.join(p.celltype.receptor_types)}"
                                  for p in postsynaptic_population.populations)
                raise errors.ConnectionError(
                    f"projection {name}: receptor type {receptor_type!r} is not one that every population of the "
                    f"Assembly has (shared: {', '.join(shared) or 'none'}; {kinds})")
        shape = (presynaptic_population.size, postsynaptic_population.size)
        for pname, value in (synapse_type.parameter_space.items() if synapse_type is not None else ()):
            base = getattr(value, "base_value", None)        # (lazyarray: a bare IndexError)
            if isinstance(base, np.ndarray) and base.ndim >= 1 and base.shape != shape:
                raise errors.InvalidDimensionsError(
                    f"projection {name}: '{pname}' is an array of shape {base.shape}; an array gives a value per pair "
                    f"of cells, of shape {shape} (presynaptic x postsynaptic cells)")
        super().__init__(presynaptic_population, postsynaptic_population, connector, synapse_type, source,
                         receptor_type, space, label)
        check_target = getattr(self.synapse_type, "check_target", None)
        if check_target is not None:        # what the synapse type needs of its targets, before any connection
            check_target(self, _populations_of(postsynaptic_population))
        self._chunks = []
        self._initial_values = dict(getattr(self.synapse_type, "default_initial_values", {}))
        # cell indices as int32 where they fit: with the weight and delay, the bulk of a projection's memory
        self._index_type = index_dtype(max(self.pre.size, self.post.size))
        self._pre = np.zeros(0, self._index_type)
        self._post = np.zeros(0, self._index_type)
        self._attributes = {name: np.zeros(0) for name in self.synapse_type.get_native_names()}
        self._order = None      # NEST's order of the connections (see _source_order), computed when first needed
        self._procedural = None     # a procedural projection's description (see _procedural_spec)
        simulator.state.projections.append(self)
        try:
            if getattr(connector, "procedural", False):
                self._procedural = self._procedural_spec(connector)
            else:
                connector.connect(self)
        except Exception:
            simulator.state.projections.remove(self)   # a refused projection leaves nothing behind
            raise
        if self._procedural is None:      # (a procedural one draws its connections only when asked for them)
            self._finalise()
        simulator.state.mark_changed()

    # ---- connecting ---------------------------------------------------------------------------

    def _procedural_spec(self, connector) -> dict:
        """Check a procedural projection and return what its procedural group needs."""
        where = f"projection '{self.label}' (procedural connections)"
        ranges = []
        for side, cells in (("presynaptic", self.pre), ("postsynaptic", self.post)):
            which, local = _population_index(cells)
            if not cells.size or which.min() != which.max() or np.any(local != local[0] + np.arange(cells.size)):
                raise errors.ConnectionError(
                    f"{where}: the {side} cells must be a Population or a view of consecutive cells of one (a "
                    f"slice), not this {type(cells).__name__}; or draw stored connections (procedural=False)")
            pop = simulator.state.populations[int(which[0])]
            whole = cells.size == pop.size
            ranges.append((pop, None if whole else (int(local[0]), int(cells.size))))
        if type(self.synapse_type) is not StaticSynapse:
            raise errors.ConnectionError(
                f"{where}: the synapse type must be StaticSynapse (connections not stored cannot learn or keep a "
                f"state), not {type(self.synapse_type).__name__}")
        values, random = {}, {}
        for name in ("weight", "delay"):
            value = self.synapse_type.native_parameters[name]
            if isinstance(value.base_value, RandomDistribution) and not value.operations:
                random[name], values[name] = self._procedural_random(value.base_value, name, where)
                continue
            if not value.is_homogeneous:
                raise errors.ConnectionError(
                    f"{where}: every connection has the same {name}, or one drawn on the device from a "
                    "RandomDistribution 'uniform', 'normal' or 'normal_clipped' with rng=sim.NativeRNG(); not "
                    f"{type(value.base_value).__name__}")
            values[name] = np.array([float(value.base_value)]) if not value.operations else \
                LazyArray(value, shape=(1,)).evaluate()
        if "delay" in random and values["delay"].min() < simulator.state.dt:
            dist, low = self.synapse_type.native_parameters["delay"].base_value, values["delay"].min()
            raise errors.ConnectionError(
                f"{where}: random delays drawn from {dist.name} {dict(dist.parameters)} can be as short as {low:g} ms"
                + (" (mu - 6.5 sigma, the device's most extreme normal deviate)" if dist.name != "uniform" else "")
                + f", below the timestep {simulator.state.dt} ms: give the distribution low >= the timestep "
                "('uniform' or 'normal_clipped')")
        values = self._check_values(values)       # the extremes of random values: the sign rule, the delay range
        state = simulator.state
        if "delay" in random:       # the least and the most steps, rounded as the kernels round drawn delays
            delay_range = procedural.delay_steps(np.array([values["delay"].min(), values["delay"].max()]), state.dt,
                                                 state.precision)
        else:
            delay_range = steps_round(values["delay"][[0, 0]], state.dt)
        spec = dict(cells=ranges, **{"p": None, "n_total": None, "n_per_pre": None, **connector._procedural_rule()},
                    allow_self=bool(connector.allow_self_connections), weight=float(values["weight"][0]),
                    delay=float(values["delay"][0]), delay_range=tuple(int(x) for x in delay_range),
                    random_weight=random.get("weight"), random_delay=random.get("delay"),
                    stream=state.procedural_streams)
        state.procedural_streams += 1
        connector._done()
        return spec

    @staticmethod
    def _procedural_random(dist, name, where):
        """(kind, parameters) of random weights or delays drawn on the device, and the extreme values they can
        take (for the sign rule and the delay range)."""
        if not isinstance(dist.rng, NativeRNG):
            raise errors.ConnectionError(
                f"{where}: random {name}s are drawn on the device, by the simulator's own generator: give the "
                f"RandomDistribution rng=sim.NativeRNG() (not a {type(dist.rng).__name__})")
        params = {k: float(v) for k, v in dist.parameters.items()}
        if dist.name == "uniform" and params["low"] <= params["high"]:
            return ("uniform", params), np.array([params["low"], params["high"]])
        if dist.name in ("normal", "normal_clipped") and params["sigma"] >= 0:
            params.setdefault("low", -np.inf)
            params.setdefault("high", np.inf)
            mu, sigma, low, high = params["mu"], params["sigma"], params["low"], params["high"]

            def cdf(x):
                return 0.5 * (1.0 + math.erf((x - mu) / (sigma * math.sqrt(2.0)))) if sigma > 0 else float(x >= mu)
            if cdf(high) - cdf(low) < 0.5:
                raise errors.ConnectionError(
                    f"{where}: the bounds [{low}, {high}] of the {name}s' normal distribution keep less than half of "
                    "it; a procedural value is drawn again while outside them, at most 64 times")
            # every value the device draws lies within 6.5 sigma of mu (its normal table ends at 6.4)
            return ("normal_clipped", params), np.array([max(low, mu - 6.5 * sigma), min(high, mu + 6.5 * sigma)])
        raise errors.ConnectionError(
            f"{where}: random {name}s may be 'uniform' (low <= high), 'normal' or 'normal_clipped' (sigma >= 0), "
            f"not {dist.name!r} with {params}")

    def _draw_procedural(self):
        """The connections the kernels draw, drawn on the host (kept until the projection goes)."""
        spec = self._procedural
        expected = self._procedural_count()
        need = int(expected * 8 * 6)        # indices, weights, delays and the draws' temporaries
        free = short_of_host_memory(need)
        if free is not None:
            raise HostMemoryError(
                f"projection '{self.label}': drawing its procedural connections on the host (about {int(expected):,}, "
                f"for get(), size(), iteration or save()) needs about {_fmt_bytes(need)}, but {_fmt_bytes(free)} "
                "is available; the simulation itself does not need them")
        if not expected:
            pre = post = np.zeros(0, np.int64)
        else:
            group = self._procedural_groups()[0]
            seed = simulator.state.rng_seed
            if group.drawn_rows:
                pre, post = procedural.with_replacement(procedural.procedural_rows(group, seed), group.n_post, seed,
                                                        group.stream)
            else:
                pre, post = procedural.fixed_probability(group.n_pre, group.n_post, group.p, seed, group.stream,
                                                         group.self_shift)
        self._pre, self._post = pre.astype(self._index_type), post.astype(self._index_type)
        state = simulator.state
        key = (state.rng_seed, spec["stream"], state.precision)
        if spec["random_weight"] is not None:
            weight = procedural.values(pre, *spec["random_weight"], *key, word=procedural.WEIGHT_WORD)
        else:
            weight = np.full(len(pre), spec["weight"])
        if spec["random_delay"] is not None:
            drawn = procedural.values(pre, *spec["random_delay"], *key, word=procedural.DELAY_WORD)
            delay = steps_to_ms(procedural.delay_steps(drawn, state.dt, state.precision), state.dt)
        else:
            delay = np.full(len(pre), spec["delay"])
        self._attributes = {"weight": weight, "delay": delay}
        spec["drawn"] = True

    def _refuse_procedural(self, what: str):
        if self._procedural is not None:
            raise errors.ConnectionError(
                f"projection '{self.label}': its connections are procedural, drawn again at every spike and not "
                f"stored, so {what} cannot change them; create the projection with procedural=False")

    def _reserve_connections(self, n):
        """Refuse, before generating them, ``n`` connections that would not fit on the device."""
        runtime = simulator.state.runtime
        need = int(n) * DEVICE_BYTES_PER_SYNAPSE
        budget = int(runtime.global_mem_size * MEMORY_FRACTION)
        if need > budget:
            raise DeviceMemoryError(
                f"projection '{self.label}' would create about {int(n):,} connections, needing "
                f"{_fmt_bytes(need)} of device memory, but {runtime.device_name} has {_fmt_bytes(budget)} usable")
        # on the host: source and target indices and each native parameter (8 bytes each), three times over
        # while they are drawn and the device layout is built from them (peaks measured: 97 bytes per connection
        # for StaticSynapse, 275 for STDP)
        host_need = 3 * int(n) * 8 * (2 + len(self._attributes))
        free = short_of_host_memory(host_need)
        if free is not None:
            raise HostMemoryError(
                f"projection '{self.label}' would create about {int(n):,} connections, needing about "
                f"{_fmt_bytes(host_need)} of host memory ({len(self._attributes)} parameters per connection), but "
                f"{_fmt_bytes(free)} is available; reduce the network size")

    def _check_dense(self, what: str, arrays: float, advice: str):
        """Refuse, before they are allocated, ``arrays`` dense (pre x post) arrays of 8-byte values that the host's
        free memory cannot hold: PyNN's common code makes them for get(format='array') and for set() with a list,
        a random distribution or a function of distance, whatever the number of connections."""
        need = int(arrays * self.pre.size * self.post.size * 8)
        free = short_of_host_memory(need)
        if free is not None:
            raise HostMemoryError(
                f"projection '{self.label}': {what} works on {self.pre.size:,} x {self.post.size:,} arrays (one "
                f"value per pair of cells, {_fmt_bytes(need)} in all), but {_fmt_bytes(free)} of host memory is "
                f"available; {advice}")

    def _add_connections(self, pre_indices, post_indices, **parameters):
        """Append connections (indices into pre/post, native parameter arrays aligned with them)."""
        pre = np.asarray(pre_indices, dtype=self._index_type)
        post = np.broadcast_to(np.asarray(post_indices, dtype=self._index_type), pre.shape)
        values = {}
        for name, value in parameters.items():
            arr = np.broadcast_to(np.asarray(value, dtype=float), pre.shape)
            values[name] = arr
        values = self._check_values(values)
        self._chunks.append((pre, post, values))

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("pyNN.gpu does not support multicompartment location selectors")
        self._add_connections(presynaptic_indices, postsynaptic_index, **connection_parameters)

    def _check_values(self, values, type_checks=True):
        """``values`` checked, with delays as simulated; ConnectionError (or the synapse type's error) otherwise.

        With ``type_checks``, the synapse type's ``parameter_checks`` too (Tsodyks-Markram's U, tau_rec...); the
        weight-sign rule only for a safe connector (``safe=False`` skips it when connecting, as in PyNN)."""
        model = getattr(self.synapse_type, "codegen_model", None)
        weights = values.get("weight")
        if getattr(self.synapse_type, "user_model", False) and "weight" not in model.var_names \
                and weights is not None and np.any(weights != 0):
            raise errors.ConnectionError(
                f"projection '{self.label}': the connector gives weights, but synapse type "
                f"{type(self.synapse_type).__name__} does not declare 'weight', so nothing would read them; give its "
                f"own variables ({', '.join(model.var_names) or 'none'}) or declare 'weight' in vars")
        for name, arr in values.items():
            bad = ~np.isfinite(arr)
            if arr.size and bad.any():
                raise errors.ConnectionError(f"projection '{self.label}': synaptic parameter '{name}' must be a "
                                             f"finite number (got {arr[bad].flat[0]})")
            huge = beyond_single(arr)
            if arr.size and huge.any():
                raise errors.ConnectionError(f"projection '{self.label}': synaptic parameter '{name}' {BEYOND_SINGLE} "
                                             f"(got {arr[huge].flat[0]})")
        if "delay" in values and values["delay"].size:
            values = {**values, "delay": self._simulated_delays(values["delay"])}
        for name, check in getattr(self.synapse_type, "parameter_checks", {}).items() if type_checks else ():
            if name in values and values[name].size and (name != "weight" or getattr(self._connector, "safe", True)):
                check(values[name], self)
        if type_checks:
            self._check_together(values)
        return values

    def _check_together(self, values):
        """The synapse type's rules that tie parameters of one connection together (``check_connections``)."""
        hook = getattr(self.synapse_type, "check_connections", None)
        if hook is not None:
            hook(values, self)

    def _simulated_delays(self, delays):
        """The delays (ms) NEST simulates: whole steps, rounded as NEST rounds them, back in ms.

        As NEST, refuses a delay under one step, and one outside [min_delay, max_delay] where setup() was given
        them; with 'auto' NEST widens the range instead (and get_min_delay() follows the delays)."""
        state = simulator.state
        dt = state.dt
        steps = steps_round(delays, dt)
        short = steps < 1
        if short.any():
            raise errors.ConnectionError(
                f"projection '{self.label}': delay {delays[short].flat[0]} ms is below the timestep {dt} ms (it "
                "rounds to 0 steps); delays must be at least one timestep")
        given = {k: v for k, v in (("min_delay", state._min_delay), ("max_delay", state._max_delay)) if v != "auto"}
        if given:
            low = int(steps_round(float(given.get("min_delay", dt)), dt))
            high = int(steps_round(float(given["max_delay"]), dt)) if "max_delay" in given else None
            bad = (steps < low) | ((steps > high) if high is not None else False)
            if bad.any():
                k = np.flatnonzero(bad.ravel())[0]
                upper = f"{float(steps_to_ms(high, dt))}]" if high is not None else "inf)"
                raise errors.ConnectionError(
                    f"projection '{self.label}': delay {delays.ravel()[k]} ms ({steps.ravel()[k]} steps of {dt} ms) "
                    f"is outside [{float(steps_to_ms(low, dt))}, {upper} ms, the range allowed by setup("
                    + ", ".join(f"{name}={value}" for name, value in given.items()) + ")")
        return steps_to_ms(steps, dt)

    def _finalise(self):
        if self._procedural is not None and not self._procedural.get("drawn"):
            self._draw_procedural()
        if self._chunks:
            # one array at a time, each chunk's part released once copied: the peak is one attribute over the
            # connections' own size, not twice that
            sizes = [len(c[0]) for c in self._chunks]
            self._pre = np.concatenate([self._pre] + [c[0] for c in self._chunks])
            self._post = np.concatenate([self._post] + [c[1] for c in self._chunks])
            self._chunks = [(None, None, c[2]) for c in self._chunks]
            for name in self._attributes:
                parts = [c[2].pop(name) if name in c[2] else np.full(n, np.nan) for c, n in zip(self._chunks, sizes)]
                self._attributes[name] = _joined([self._attributes[name]] + parts)
                del parts
            self._chunks = []
            self._order = None
            release_freed_memory()

    def _writable(self, name):
        """The array of attribute ``name``, made writable (a value shared by every connection is stored once)."""
        values = self._attributes[name]
        if not values.flags.writeable:
            self._attributes[name] = values = np.array(values)
        return values

    def __len__(self):
        self._finalise()
        return len(self._pre)

    def _min_delay_value(self):
        if self._procedural is not None:
            return float(steps_to_ms(self._procedural["delay_range"][0], simulator.state.dt))
        return float(self._attributes["delay"].min())      # as simulated: a whole number of steps, >= dt

    def _max_delay_value(self):
        if self._procedural is not None:
            return float(steps_to_ms(self._procedural["delay_range"][1], simulator.state.dt))
        return float(self._attributes["delay"].max())

    def _procedural_count(self) -> float:
        """A procedural projection's number of connections: exact with a fixed number, expected with a fixed
        probability (counting them would draw them all on the host)."""
        spec = self._procedural
        if spec["n_total"] is not None:
            return spec["n_total"]
        if spec["n_per_pre"] is not None:
            return spec["n_per_pre"] * self.pre.size
        return spec["p"] * self.pre.size * self.post.size

    def _may_connect(self) -> bool:
        """Whether the projection has connections; for a procedural one, whether it may have any."""
        return len(self) > 0 if self._procedural is None else self._procedural_count() > 0

    def _source_order(self):
        """Position ``i`` of NEST's connection order -> index into the arrays.

        NEST lists connections by source ID (within a source: small projections in creation order, larger ones as
        its unstable sort leaves them); here, within a source, the order of creation (by target, for every
        connector).  The arrays themselves stay in creation order: the device layout sorts by source itself, and
        the vectorised connectors' chunks rely on it."""
        self._finalise()
        if self._order is None:
            ids = np.asarray(self.pre.all_cells, dtype=np.int64)
            key = self._pre
            if ids.size > 1 and (ids[1:] < ids[:-1]).any():    # a view or assembly not in ID order
                rank = np.empty(ids.size, np.int64)
                rank[np.argsort(ids, kind="stable")] = np.arange(ids.size)
                key = rank[self._pre]
            if key.size < 2 or (key[1:] >= key[:-1]).all():
                self._order = np.arange(key.size, dtype=index_dtype(key.size))
            else:
                self._order = compact(stable_order(key, max(ids.size, 1)))
        return self._order

    # ---- access -------------------------------------------------------------------------------

    @property
    def connections(self):
        return list(self)

    def __iter__(self):
        order = self._source_order()
        self._sync_from_device()        # learned weights as they are now
        return (Connection(self, i, int(k)) for i, k in enumerate(order.tolist()))

    def __getitem__(self, i):
        order = self._source_order()
        if isinstance(i, (int, np.integer)):
            if not -len(order) <= i < len(order):
                raise IndexError(f"projection '{self.label}' has {len(order)} connections")
            i = int(i) % len(order)
            self._sync_from_device(index=order[i:i + 1])        # its learned values as they are now
            return Connection(self, i, int(order[i]))
        positions = range(len(order))[i]
        self._sync_from_device(index=self._few(order[np.asarray(positions, np.int64)]))
        return [Connection(self, j, int(order[j])) for j in positions]

    def _get_attributes_as_list(self, names):
        order = self._source_order()
        self._sync_from_device()
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre)
            elif name == "postsynaptic_index":
                columns.append(self._post)
            else:
                columns.append(self._attribute(name))
        with collector_paused():
            return list(zip(*[c[order].tolist() for c in columns]))        # zip makes the tuples

    def _attribute(self, name):
        if name not in self._attributes:
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__, list(self._attributes))
        return self._attributes[name]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        self._finalise()
        self._check_dense("get(format='array')", len(names) + 1 / 8,      # and a byte per pair to find repeats
                          "use format='list', which holds the connections only")
        self._sync_from_device()
        out = []
        flat = self._pre.astype(np.int64) * self.post.size + self._post
        # the connections of one pair keep their relative order in NEST's order too: the last written wins
        order = slice(None, None, -1) if multiple_synapses == "first" else slice(None)
        combine = multiple_synapses not in ("last", "first") and _repeats(flat, self.pre.size * self.post.size)
        if combine:     # some pair has several connections: their values are summed (or min, max)
            uniq, inverse = np.unique(flat, return_inverse=True)
            ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[multiple_synapses]
        for name in names:
            if name.endswith("s") and name[:-1] in self._attributes:
                name = name[:-1]
            values = self._attribute(name)
            array = np.full((self.pre.size, self.post.size), np.nan)
            if combine:
                acc = np.full(len(uniq), {"sum": 0.0, "min": np.inf, "max": -np.inf}[multiple_synapses])
                ufunc.at(acc, inverse, values)
                array.flat[uniq] = acc
            else:
                array.flat[flat[order]] = values[order]
            out.append(array)
        return out

    def get(self, attribute_names, format, gather=True, with_address=True, multiple_synapses="sum"):
        if format not in ("list", "array"):     # (PyNN: a bare Exception)
            raise errors.InvalidParameterValueError(
                f"get() of projection '{self.label}': format must be 'list' or 'array' (got {format!r})")
        return super().get(attribute_names, format, gather, with_address, multiple_synapses)

    get.__doc__ = common.Projection.get.__doc__

    def set(self, **attributes):
        """As PyNN's; besides, a list or 1-D array with one value per connection is taken in the order of
        ``get(..., format="list")`` and iteration (so what get() returned can be written back, several
        connections between one pair of cells included)."""
        self._refuse_stale("set()")
        self._refuse_procedural("set()")
        refuse_unknown_names(f"{type(self.synapse_type).__name__} (projection '{self.label}')", attributes,
                             self.synapse_type.get_schema())
        refuse_bad_distributions(f"set() of projection '{self.label}'", attributes)
        self._finalise()
        per_connection = {name: value for name, value in attributes.items()
                          if isinstance(value, (list, np.ndarray)) and np.ndim(value) == 1
                          and len(value) == len(self._pre)}
        if per_connection:
            space = ParameterSpace(per_connection, self.synapse_type.get_schema(), (len(self._pre),))
            if isinstance(self.synapse_type, StandardSynapseType):
                space = self.synapse_type.translate(space)
            space.evaluate()
            for name, value in space.items():
                self._attribute(name)       # NonExistentParameterError for a name the synapse type lacks
                self._set_connection_values(name, self._source_order(), np.asarray(value, float))
        rest = {name: value for name, value in attributes.items() if name not in per_connection}
        if rest:
            super().set(**rest)

    def _value_list_to_array(self, attributes):
        """PyNN's conversion of a list of values (one per connected pair of cells) to a (pre, post) array, only when
        a list is given: PyNN builds the dense weight matrix for every set(), a scalar's too (two arrays of 3.2 GB at
        20,000 x 20,000 cells; set(weight=0.02) on 5 M connections took 11.5 s).  A list of another length, or one
        whose arrays would not fit in memory, is refused naming the projection."""
        lists = [n for n, v in attributes.items() if isinstance(v, list) or (isinstance(v, np.ndarray) and v.ndim == 1)]
        if lists:
            pairs = len(np.unique(self._pre.astype(np.int64) * self.post.size + self._post))
            for name in lists:
                if len(attributes[name]) != pairs:
                    raise errors.InvalidParameterValueError(
                        f"projection '{self.label}': set({name}=...) got {len(attributes[name]):,} values; give one "
                        f"per connection ({len(self._pre):,}, in the order of get(format='list')) or, as PyNN, one per "
                        f"connected pair of cells ({pairs:,}, by presynaptic then postsynaptic index)")
            self._check_dense(f"set() with a list for {', '.join(repr(n) for n in lists)}", 1 + 1 / 8 + 2 * len(lists),
                              f"give one value per connection ({len(self._pre):,}), in the order of get()")
            return super()._value_list_to_array(attributes)
        return attributes

    def _set_attributes(self, parameter_space):
        self._finalise()
        dense = [name for name, value in parameter_space.items()
                 if not value.is_homogeneous and not isinstance(value.base_value, np.ndarray)]
        if dense:       # drawn or computed for every pair of cells, as PyNN (and pyNN.nest) do
            self._check_dense(f"set() of {', '.join(repr(n) for n in dense)}", 2 * len(dense),
                              "give one value per connection instead, e.g. prj.set(weight=distribution.next(len(prj)))"
                              " (other draws than pyNN.nest's)")
        # simplify: a single value stays one number, not a (pre, post) array
        parameter_space.evaluate(mask=(slice(None), self.post._mask_local), simplify=True)
        for name, value in parameter_space.items():
            if name not in self._attributes:
                raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                       list(self._attributes))
            if isinstance(value, np.ndarray) and value.ndim == 2:
                new = value[self._pre, self._post]
            else:
                new = np.broadcast_to(np.asarray(value, dtype=float), self._pre.shape)
            self._set_connection_values(name, slice(None), np.asarray(new, float))

    def _set_connection_values(self, name, index, values):
        check = getattr(self.synapse_type, "parameter_checks", {}).get(name)
        if check is not None:
            check(values, self)
        values = self._check_values({name: np.asarray(values, float)}, type_checks=False)[name]
        # a few connections (Connection attributes, prj[i].weight = w) are read and written element by element:
        # whole arrays made a loop over the connections quadratic (57 ms a connection at 4 M)
        few = None if isinstance(index, slice) else self._few(np.asarray(index, np.int64))
        self._sync_from_device(force=True, index=few)
        per_neuron = getattr(self.synapse_type, "neuron_var_names", {})
        if name in per_neuron:
            raise errors.InvalidParameterValueError(
                f"projection '{self.label}': '{name}' is a variable of the {per_neuron[name]}synaptic neurons "
                f"({per_neuron[name]}_vars of {type(self.synapse_type).__name__}), updated by their own code; it "
                "cannot be set per connection")
        self._check_together({**{n: a[index] for n, a in self._attributes.items()}, name: values})
        self._writable(name)[index] = values
        if name in self._reset_values:       # a value set is what reset() returns to
            self._reset_values[name][index] = values
        # into the device copy even with a rebuild pending (a delay changed): the rebuild reads it back from there
        built = getattr(self, "_built_groups", [])
        sim = simulator.state.simulation if built else None
        if sim is not None and name != "delay" and name in built[0][0].model.var_names:
            for sg, sel, local, at in self._group_parts(few):       # in place on the device: no rebuild
                sim.write_synapse_var(sg, name, self._attributes[name][at], index=local)
                if getattr(self.synapse_type, "derived", ()):     # a user model's derived parameters follow
                    derived = self.synapse_type.derived_values({n: a[at] for n, a in self._attributes.items()})
                    for d, values in derived.items():
                        sim.write_synapse_var(sg, d, values, index=local)
        else:
            simulator.state.mark_changed()
        if name in getattr(self.synapse_type, "neuron_params", ()):
            simulator.state.mark_changed()       # the neurons' code holds its own copy of it

    def _few(self, index: np.ndarray):
        """``index`` if it selects few of the connections (read and written on the device element by element), else
        None (the whole arrays)."""
        return index if len(index) <= max(64, len(self._pre) // 64) else None

    def _group_parts(self, index=None):
        """Per built synapse group: (group, its connections, ``index``'s connections among them as indices into
        the group (None: all of them), the same as indices into the projection)."""
        for sg, sel in self._built_groups:
            if index is None:
                yield sg, sel, None, sel
            elif isinstance(sel, slice):
                yield sg, sel, index, index
            else:
                pos = np.searchsorted(sel, index).clip(max=max(len(sel) - 1, 0))
                hit = sel[pos] == index if len(sel) else np.zeros(len(index), bool)
                if hit.any():
                    yield sg, sel, pos[hit], index[hit]

    def initialize(self, **initial_values):
        """As PyNN's, whose lazy arrays took the bound method ``size`` as their length (so a list of values, one
        per connection, failed with a shape error)."""
        self._refuse_stale("initialize()")
        self._refuse_procedural("initialize()")
        self._finalise()
        for variable, value in initial_values.items():
            try:
                initial_value = LazyArray(value, shape=(len(self._pre),), dtype=float)
            except (ValueError, TypeError) as err:
                raise errors.InvalidParameterValueError(
                    f"projection '{self.label}': initial value of '{variable}': one number, one per connection "
                    f"({len(self._pre):,}) or a RandomDistribution ({err})") from None
            self._set_initial_value_array(variable, initial_value)
            self.initial_values[variable] = initial_value

    def _set_initial_value_array(self, variable, initial_value):
        allowed = list(getattr(self.synapse_type, "default_initial_values", {}))
        if not allowed:
            raise NoStateVariablesError(variable, f"{type(self.synapse_type).__name__} (projection '{self.label}')", [])
        if variable not in allowed:
            raise errors.NonExistentParameterError(
                variable, f"{type(self.synapse_type).__name__} (projection '{self.label}')", allowed)
        try:
            values = np.asarray(initial_value.evaluate(simplify=True), float)
        except (ValueError, TypeError) as err:
            raise errors.InvalidParameterValueError(
                f"projection '{self.label}': initial value of '{variable}': one number, one per connection "
                f"({len(self._pre):,}) or a RandomDistribution ({err})") from None
        check = getattr(self.synapse_type, "initial_value_checks", {}).get(variable)
        if check is not None:
            check(values, self)
        self._initial_values[variable] = values
        self.__dict__.setdefault("_fresh_initial", set()).add(variable)   # a rebuild starts it from these
        simulator.state.mark_changed()

    # ---- to the device ------------------------------------------------------------------------

    def _procedural_groups(self):
        """The projection's procedural group, if it is procedural and may have connections."""
        spec = self._procedural
        if spec is None or not self._may_connect():
            return []
        (pre, pre_range), (post, post_range) = spec["cells"]
        receptor = getattr(post.celltype, "model_receptor", str)(self.receptor_type)
        return [ProceduralGroup(
            name=self.label, pre=pre._group, post=post._group, receptor=receptor, pre_range=pre_range,
            post_range=post_range, p=spec["p"], n_total=spec["n_total"], n_per_pre=spec["n_per_pre"],
            allow_self=spec["allow_self"], weight=spec["weight"], random_weight=spec["random_weight"],
            random_delay=spec["random_delay"], delay_range=spec["delay_range"], stream=spec["stream"])]

    def _synapse_groups(self):
        """One synapse group per (presynaptic population, postsynaptic population) pair."""
        if self._procedural is not None:
            return []
        self._finalise()
        state = simulator.state
        pops = state.populations
        pre_pop, pre_local = _population_index(self.pre)
        post_pop, post_local = _population_index(self.post)
        groups = []
        self._built_groups = []
        model = self.synapse_type.codegen_model
        delay_steps = compact(steps_round(self._attributes["delay"], state.dt))
        pre_local, post_local = compact(pre_local), compact(post_local)     # (kept by the groups for the run)
        if not len(self._pre):
            pairs = []
        elif pre_pop.min() == pre_pop.max() and post_pop.min() == post_pop.max():    # one population each side
            pairs = [(int(pre_pop[0]), int(post_pop[0]), slice(None))]
        else:       # one number per (pre, post) population pair
            keys = np.asarray(pre_pop[self._pre], np.int64) * len(pops) + post_pop[self._post]
            order = np.argsort(keys, kind="stable")          # one sort, not a pass over all keys per pair
            keys_sorted = keys[order]
            starts = np.flatnonzero(np.r_[True, keys_sorted[1:] != keys_sorted[:-1]])
            pairs = [(*divmod(int(keys_sorted[a]), len(pops)), order[a:b])
                     for a, b in zip(starts, np.r_[starts[1:], len(keys)])]
        for a, b, sel in pairs:
            # the model's name of the receptor (PointNeuron labels that are not identifiers are renamed)
            receptor = getattr(pops[b].celltype, "model_receptor", str)(self.receptor_type)
            post_ind = _local_indices(post_local, self._post[sel])
            groups.append(SynapseGroup(
                name=f"{self.label}[{pops[a].label}->{pops[b].label}]", pre=pops[a]._group, post=pops[b]._group,
                receptor=receptor, model=model, pre_ind=_local_indices(pre_local, self._pre[sel]),
                post_ind=post_ind, delay_steps=delay_steps[sel],
                vars=self.synapse_type.model_vars(
                    {k: v[sel] for k, v in self._attributes.items()},
                    _TargetParameters(pops[b]._parameters, post_ind), receptor,
                    {k: v[sel] if np.ndim(v) == 1 else v for k, v in self._initial_values.items()})))
            self._built_groups.append((groups[-1], sel))
        return groups

    @property
    def _reset_values(self) -> dict:
        """Per variable the device changes (a learned weight), the values ``reset()`` returns to: as given or last
        set, kept from the first time a learned value replaced them."""
        return self.__dict__.setdefault("_reset_values_", {})

    def _keep_reset_values(self):
        """After a build from learned values: the device goes on from them, and reset() returns to the values as
        given or last set (not to those learned before the rebuild)."""
        sim = simulator.state.simulation
        for sg, sel in getattr(self, "_built_groups", []):
            for name, values in self._reset_values.items():
                if sim.changes_on_device(sg, name):
                    sim.write_synapse_var(sg, name, values[sel])
                    sim.write_synapse_var(sg, name, self._attributes[name][sel], reset_value=False)

    def _device(self):
        """The simulation holding this projection's synapse groups, if built and current."""
        sim = simulator.state.simulation
        groups = getattr(self, "_built_groups", [])
        if sim is None or not groups or simulator.state.structure_changed or self._stale():
            return None
        return sim

    def _stale(self) -> bool:
        """Made before the last setup() (or end()): no part of the simulation now."""
        return not any(p is self for p in simulator.state.projections)

    def _refuse_stale(self, what: str):
        if self._stale():
            raise errors.ConnectionError(
                f"{what} of projection '{self.label}': it belongs to an earlier setup() (or was made before end()); "
                "only the projections of the current network can be changed (get() still reads it)")

    def _sync_from_device(self, force=False, index=None):
        """Copy the synaptic variables the model changes as it runs (learned weights...) back from the device.
        ``force``: even when a structural change is pending (just before the rebuild it calls for); ``index``:
        of those connections only."""
        sim = simulator.state.simulation if force and getattr(self, "_built_groups", []) and not self._stale() \
            else self._device()
        if sim is None:
            return
        states = {}      # a neuron group's per-neuron variable, read once
        for sg, sel, local, at in self._group_parts(index):
            for name in self._attributes:
                if sim.changes_on_device(sg, name):
                    if name not in self._reset_values:      # what reset() returns to, before it is overwritten
                        self._reset_values[name] = np.array(self._attributes[name], float)
                    given = self._attributes[name][at]
                    read = sim.read_synapse_var(sg, name, index=local)
                    # a value the device left alone keeps the form it was given in: in single precision the
                    # device holds 0.3 as 0.30000001192092896
                    self._writable(name)[at] = np.where(read == given.astype(sim.dtype), given, read)
            for name, side in getattr(self.synapse_type, "neuron_var_names", {}).items():   # each its neuron's
                group, cells = (sg.pre, sg.pre_ind) if side == "pre" else (sg.post, sg.post_ind)
                key = (id(group), name)
                if key not in states:
                    states[key] = sim.read_state(group, neuron_vars.hidden(name, self._neuron_tag))
                self._writable(name)[at] = states[key][cells if local is None else cells[local]]
