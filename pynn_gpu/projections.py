"""Projection and Connection for pyNN.gpu.

Connections are held as flat arrays (presynaptic index, postsynaptic index and one array per
native synaptic parameter) in the order the connector made them.  At build time a projection
becomes one synapse group per (presynaptic population, postsynaptic population) pair; delays stay
per synapse, rounded to whole steps as NEST rounds them.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pyNN import common, errors
from pyNN.space import Space

from . import simulator
from .codegen.library.timing import steps_round
from .codegen.network import SynapseGroup
from .codegen.simulation import MEMORY_FRACTION, _fmt_bytes
from .kernels.errors import DeviceMemoryError
from .standardmodels.synapses import StaticSynapse

#: Bytes one synapse takes on the device (target, delay, weight).
DEVICE_BYTES_PER_SYNAPSE = 12


def _population_index(cells):
    """For a Population, view or Assembly: the owning Population and local index of each cell."""
    ids = np.asarray(cells.all_cells, dtype=np.int64)
    pops = simulator.state.populations
    firsts = np.array([int(p.first_id) for p in pops], dtype=np.int64)
    order = np.argsort(firsts)
    which = order[np.searchsorted(firsts[order], ids, side="right") - 1]
    return which, ids - firsts[which]


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
    """One connection of a projection: a view onto the projection's arrays."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._pre[self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._post[self.index])

    def _get(self, name):
        return float(self.projection._attributes[name][self.index])

    def _set(self, name, value):
        self.projection._set_connection_values(name, np.array([self.index]), np.array([value], float))

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def __getattr__(self, name):
        attributes = self.__dict__.get("projection")._attributes
        if name in attributes:
            return float(attributes[name][self.index])
        raise AttributeError(name)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _check_neuron_refs(synapse_type, pre, post, label):
    """A synapse snippet reading ``<var>_pre`` / ``<var>_post`` needs that variable in the neurons' model."""
    model = synapse_type.codegen_model
    for side, refs, cells in (("pre", model.neuron_refs()[0], pre), ("post", model.neuron_refs()[1], post)):
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
        if synapse_type is not None and getattr(synapse_type, "codegen_model", None) is None:
            raise NotImplementedError(
                f"pyNN.gpu does not support synapse type {type(synapse_type).__name__} "
                f"(projection {label!r}); supported: StaticSynapse")
        if synapse_type is not None:
            _check_neuron_refs(synapse_type, presynaptic_population, postsynaptic_population, label)
        super().__init__(presynaptic_population, postsynaptic_population, connector, synapse_type, source,
                         receptor_type, space, label)
        self._chunks = []
        self._initial_values = dict(getattr(self.synapse_type, "default_initial_values", {}))
        self._pre = np.zeros(0, np.int64)
        self._post = np.zeros(0, np.int64)
        self._attributes = {name: np.zeros(0) for name in self.synapse_type.get_native_names()}
        simulator.state.projections.append(self)
        try:
            connector.connect(self)
        except Exception:
            simulator.state.projections.remove(self)   # a refused projection leaves nothing behind
            raise
        self._finalise()
        simulator.state.mark_changed()

    # ---- connecting ---------------------------------------------------------------------------

    def _reserve_connections(self, n):
        """Refuse, before generating them, ``n`` connections that would not fit on the device."""
        runtime = simulator.state.runtime
        need = int(n) * DEVICE_BYTES_PER_SYNAPSE
        budget = int(runtime.global_mem_size * MEMORY_FRACTION)
        if need > budget:
            raise DeviceMemoryError(
                f"projection '{self.label}' would create about {int(n):,} connections, needing "
                f"{_fmt_bytes(need)} of device memory, but {runtime.device_name} has {_fmt_bytes(budget)} usable")

    def _add_connections(self, pre_indices, post_indices, **parameters):
        """Append connections (indices into pre/post, native parameter arrays aligned with them)."""
        pre = np.asarray(pre_indices, dtype=np.int64)
        post = np.broadcast_to(np.asarray(post_indices, dtype=np.int64), pre.shape)
        values = {}
        for name, value in parameters.items():
            arr = np.broadcast_to(np.asarray(value, dtype=float), pre.shape)
            values[name] = arr
        self._check_values(values)
        self._chunks.append((pre, post, values))

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("pyNN.gpu does not support multicompartment location selectors")
        self._add_connections(presynaptic_indices, postsynaptic_index, **connection_parameters)

    def _check_values(self, values):
        state = simulator.state
        for name, arr in values.items():
            bad = ~np.isfinite(arr)
            if arr.size and bad.any():
                raise errors.ConnectionError(f"projection '{self.label}': synaptic parameter '{name}' must be a "
                                             f"finite number (got {arr[bad].flat[0]})")
        if "delay" in values and values["delay"].size:
            d = values["delay"]
            short = steps_round(d, state.dt) < 1
            if short.any():
                raise errors.ConnectionError(
                    f"projection '{self.label}': delay {d[short].flat[0]} ms is below the timestep {state.dt} ms; "
                    "delays must be at least one timestep")
        check = getattr(self.synapse_type, "parameter_checks", {}).get("weight")
        if (check is not None and "weight" in values and values["weight"].size
                and getattr(self._connector, "safe", True)):
            check(values["weight"], self)

    def _finalise(self):
        if self._chunks:
            self._pre = np.concatenate([self._pre] + [c[0] for c in self._chunks])
            self._post = np.concatenate([self._post] + [c[1] for c in self._chunks])
            for name in self._attributes:
                parts = [c[2][name] if name in c[2] else np.full(len(c[0]), np.nan) for c in self._chunks]
                self._attributes[name] = np.concatenate([self._attributes[name]] + parts)
            self._chunks = []

    def __len__(self):
        self._finalise()
        return len(self._pre)

    def _min_delay_value(self):
        return float(self._attributes["delay"].min())

    # ---- access -------------------------------------------------------------------------------

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            if not -len(self) <= i < len(self):
                raise IndexError(f"projection '{self.label}' has {len(self)} connections")
            return Connection(self, int(i) % len(self))
        return [Connection(self, j) for j in range(len(self))[i]]

    def _get_attributes_as_list(self, names):
        self._finalise()
        self._sync_from_device()
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre)
            elif name == "postsynaptic_index":
                columns.append(self._post)
            else:
                columns.append(self._attribute(name))
        return [tuple(row) for row in zip(*[c.tolist() for c in columns])]

    def _attribute(self, name):
        if name not in self._attributes:
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__, list(self._attributes))
        return self._attributes[name]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        self._finalise()
        self._sync_from_device()
        out = []
        for name in names:
            if name.endswith("s") and name[:-1] in self._attributes:
                name = name[:-1]
            values = self._attribute(name)
            array = np.full((self.pre.size, self.post.size), np.nan)
            flat = self._pre * self.post.size + self._post
            if multiple_synapses in ("last", "first"):
                order = np.arange(len(flat)) if multiple_synapses == "last" else np.arange(len(flat))[::-1]
                array.flat[flat[order]] = values[order]
            else:
                ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[multiple_synapses]
                uniq, inverse = np.unique(flat, return_inverse=True)
                acc = np.full(len(uniq), {"sum": 0.0, "min": np.inf, "max": -np.inf}[multiple_synapses])
                ufunc.at(acc, inverse, values)
                array.flat[uniq] = acc
            out.append(array)
        return out

    def _set_attributes(self, parameter_space):
        self._finalise()
        parameter_space.evaluate(mask=(slice(None), self.post._mask_local))
        for name, value in parameter_space.items():
            if name not in self._attributes:
                raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                       list(self._attributes))
            if isinstance(value, np.ndarray) and value.ndim == 2:
                new = value[self._pre, self._post]
            else:
                new = np.broadcast_to(np.asarray(value, dtype=float), self._pre.shape)
            self._set_connection_values(name, np.arange(len(self._pre)), np.asarray(new, float))

    def _set_connection_values(self, name, index, values):
        check = getattr(self.synapse_type, "parameter_checks", {}).get(name)
        if check is not None:
            check(values, self)
        self._check_values({name: values})
        self._sync_from_device()
        self._attributes[name][index] = values
        sim = self._device()
        if sim is not None and name != "delay" and name in self.synapse_type.codegen_model.var_names:
            for sg, sel in self._built_groups:       # in place on the device: no rebuild
                sim.write_synapse_var(sg, name, self._attributes[name][sel])
        else:
            simulator.state.mark_changed()

    def _set_initial_value_array(self, variable, initial_value):
        allowed = list(getattr(self.synapse_type, "default_initial_values", {}))
        if variable not in allowed:
            raise errors.NonExistentParameterError(variable, type(self.synapse_type).__name__, allowed)
        self._initial_values[variable] = initial_value
        simulator.state.mark_changed()

    # ---- to the device ------------------------------------------------------------------------

    def _synapse_groups(self):
        """One synapse group per (presynaptic population, postsynaptic population) pair."""
        self._finalise()
        state = simulator.state
        pops = state.populations
        pre_pop, pre_local = _population_index(self.pre)
        post_pop, post_local = _population_index(self.post)
        groups = []
        self._built_groups = []
        model = self.synapse_type.codegen_model
        delay_steps = steps_round(self._attributes["delay"], state.dt)
        if not len(self._pre):
            pairs = []
        elif pre_pop.min() == pre_pop.max() and post_pop.min() == post_pop.max():    # one population each side
            pairs = [(int(pre_pop[0]), int(post_pop[0]), slice(None))]
        else:       # one number per (pre, post) population pair
            keys = np.asarray(pre_pop[self._pre], np.int64) * len(pops) + post_pop[self._post]
            pairs = [(*divmod(int(key), len(pops)), np.nonzero(keys == key)[0]) for key in np.unique(keys)]
        for a, b, sel in pairs:
            # the model's name of the receptor (PointNeuron labels that are not identifiers are renamed)
            receptor = getattr(pops[b].celltype, "model_receptor", str)(self.receptor_type)
            post_ind = post_local[self._post[sel]]
            groups.append(SynapseGroup(
                name=f"{self.label}[{pops[a].label}->{pops[b].label}]", pre=pops[a]._group, post=pops[b]._group,
                receptor=receptor, model=model, pre_ind=pre_local[self._pre[sel]],
                post_ind=post_ind, delay_steps=delay_steps[sel],
                vars=self.synapse_type.model_vars(
                    {k: v[sel] for k, v in self._attributes.items()},
                    _TargetParameters(pops[b]._parameters, post_ind), receptor, self._initial_values)))
            self._built_groups.append((groups[-1], sel))
        return groups

    def _device(self):
        """The simulation holding this projection's synapse groups, if built and current."""
        sim = simulator.state.simulation
        groups = getattr(self, "_built_groups", [])
        if sim is None or not groups or simulator.state.structure_changed:
            return None
        return sim

    def _sync_from_device(self, force=False):
        """Copy the synaptic variables the model changes as it runs (learned weights...) back from the device.
        ``force``: even when a structural change is pending (just before the rebuild it calls for)."""
        sim = simulator.state.simulation if force and getattr(self, "_built_groups", []) else self._device()
        if sim is None:
            return
        for sg, sel in self._built_groups:
            for name in self._attributes:
                if sim.changes_on_device(sg, name):
                    self._attributes[name][sel] = sim.read_synapse_var(sg, name)
