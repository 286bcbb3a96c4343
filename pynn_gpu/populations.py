"""Population, PopulationView and Assembly for pyNN.gpu.

A Population owns one neuron group of the internal network.  Parameters are kept on the host in
native (= model) units and pushed to the device buffers when they change, so ``set`` and
``initialize`` between runs never recompile.
"""
from __future__ import annotations

import os

import neo
import numpy as np
from pyNN import common, errors
from pyNN.parameters import LazyArray, ParameterSpace, Sequence, simplify
from pyNN.models import BaseCellType
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from . import simulator
from .bulk import collector_paused
from .codegen.network import NeuronGroup
from .codegen.simulation import _fmt_bytes
from .kernels.errors import HostMemoryError
from .kernels.runtime.host import short_of_host_memory
from .recording import Recorder, model_variable
from .standardmodels.cells import refuse_bad_distributions, refuse_fractions, refuse_non_values


def _per_cell(value, size):
    """An evaluated parameter value as an array with one entry per cell (object arrays for Sequences)."""
    arr = np.asarray(value) if not isinstance(value, Sequence) else None
    if arr is not None and arr.shape == (size,):
        return arr
    if arr is not None and arr.ndim == 0 and arr.dtype != object:
        return np.full(size, arr.item())
    out = np.empty(size, dtype=object)
    for k in range(size):
        out[k] = value
    return out


def _evaluate(value, size):
    """A LazyArray/scalar/array evaluated to a float array of ``size``."""
    if hasattr(value, "evaluate"):
        value.shape = (size,)
        value = value.evaluate(simplify=False)
    return np.broadcast_to(np.asarray(value), (size,)).copy()


#: Host memory a cell takes as it is created (its ID object and per-cell parameters; measured 345-360 bytes for
#: IF_curr_exp), checked before a population is made.
HOST_BYTES_PER_CELL = 400


def _shifted_channels(signal, offset: int):
    """A view of ``signal`` (its data shared) whose channel indices are ``offset`` higher."""
    view = signal.view(type(signal))
    shifted = {k: np.array(v, copy=True) for k, v in signal.array_annotations.items()}
    shifted["channel_index"] = shifted["channel_index"] + offset
    view.array_annotate(**shifted)
    return view


_SEGMENT_CONTAINERS = ("analogsignals", "irregularlysampledsignals", "spiketrains", "events", "epochs",
                       "imagesequences")


def _detached(block):
    """A new block of new segments holding ``block``'s data objects: neo's merge changes the segments it merges
    into, and a population's past segments are its recorder's cache (each get_data() after a reset() added the
    other populations' data to them once more)."""
    fresh = neo.Block(name=block.name, description=block.description, file_origin=block.file_origin,
                      file_datetime=block.file_datetime, rec_datetime=block.rec_datetime, **dict(block.annotations))
    for segment in block.segments:
        new = neo.Segment(name=segment.name, description=segment.description, file_origin=segment.file_origin,
                          file_datetime=segment.file_datetime, rec_datetime=segment.rec_datetime,
                          index=segment.index, **dict(segment.annotations))
        for container in _SEGMENT_CONTAINERS:
            # (the items list itself: appending one by one checks each against all before it)
            getattr(new, container)._items = list(getattr(segment, container))
        fresh.segments.append(new)
    return fresh


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator

    def get_data(self, variables="all", gather=True, clear=False, annotations=None):
        """As PyNN's, with the populations' spike trains joined in one pass: neo's merge checks each train it adds
        against every train it holds (10 populations of 2,000 cells recording spikes took 10 s).  The rest
        (signals, annotations) is merged by neo as in PyNN."""
        blocks = [_detached(p.get_data(variables, gather, clear)) for p in self.populations]
        if len({len(b.segments) for b in blocks}) != 1:
            return self._merge_slowly(blocks, annotations)
        trains = [[list(seg.spiketrains) for seg in b.segments] for b in blocks]
        for b in blocks:
            for seg in b.segments:
                seg.spiketrains._items = []
        merged = self._merge_slowly(blocks, annotations)
        for j, seg in enumerate(merged.segments):
            joined = [st for per_block in trains for st in per_block[j]]
            for st in joined:
                st.segment = seg
            seg.spiketrains._items = joined
        return merged

    def _merge_slowly(self, blocks, annotations):
        """PyNN's Assembly.get_data from the populations' blocks (channel indices offset, then neo's merge)."""
        offset = 0
        for block, p in zip(blocks, self.populations):
            for segment in block.segments:
                if offset and len(segment.analogsignals):
                    # on views of the signals: PyNN shifted the population's own (cached) signals in place, so
                    # each call after a reset() shifted the earlier segments' channel indices once more
                    segment.analogsignals = [_shifted_channels(signal, offset) for signal in segment.analogsignals]
            offset += p.size
        for block in blocks:
            for j, segment in enumerate(block.segments):
                segment.block = blocks[0]
                for signal in segment.analogsignals:
                    signal.segment = blocks[0].segments[j]
        merged = blocks[0]
        for block in blocks[1:]:
            merged.merge(block)
        merged.name = self.label
        merged.description = self.describe()
        if annotations:
            merged.annotate(**annotations)
        return merged

    @property
    def receptor_types(self):
        """The receptor types common to all populations, in the first one's order (PyNN's list of a set had no
        order from one run to the next, so a projection onto an Assembly without receptor_type picked
        'excitatory' or 'inhibitory' by chance)."""
        common_types = set.intersection(*(set(p.celltype.receptor_types) for p in self.populations))
        return [r for r in self.populations[0].celltype.receptor_types if r in common_types]


def _check_lengths(what: str, values: dict, size: int, schema: dict | None = None):
    """An array or list of values holds one per cell (PyNN's lazy arrays failed on another length with a bare
    ValueError naming no parameter); parameters whose values are themselves sequences (spike_times) are not
    per-cell lists."""
    for name, value in values.items():
        if not isinstance(value, (list, tuple, np.ndarray)) or isinstance(value, Sequence) or len(value) == size:
            continue
        kind = None if schema is None else schema.get(name)
        if kind in (float, int, None) and np.ndim(value):
            raise errors.InvalidDimensionsError(
                f"{what}: '{name}' has {len(value)} values for {size} cells; give one value, one per cell or a "
                "RandomDistribution")
        if kind is Sequence and len(value) and all(isinstance(v, Sequence) for v in value):
            raise errors.InvalidDimensionsError(
                f"{what}: '{name}' has {len(value)} Sequences for {size} cells; give one Sequence for all or one per "
                "cell")


#: The file name extensions PyNN's get_io writes Neo data to.
OUTPUT_EXTENSIONS = (".pkl", ".pickle", ".h5", ".nix", ".nwb", ".mat")


def _check_output_file(what: str, filename: str):
    """A file that end() will write: an extension PyNN can write, in a folder that exists or can be made."""
    extension = os.path.splitext(filename)[1]
    if extension not in OUTPUT_EXTENSIONS:
        raise errors.InvalidParameterValueError(
            f"{what}: cannot write {filename!r}: the extension must be one of {', '.join(OUTPUT_EXTENSIONS)}")
    folder = os.path.dirname(os.path.abspath(filename))
    while not os.path.isdir(folder):        # the nearest folder that exists: PyNN makes the ones below it
        folder = os.path.dirname(folder)
    if not os.access(folder, os.W_OK):
        raise errors.InvalidParameterValueError(f"{what}: cannot write {filename!r}: folder {folder!r} is not writable")


def _refuse_stale(population, what: str, error):
    """A population of an earlier setup() (or from before end()) is no part of the simulation now: changing or
    recording it would be accepted and have no effect."""
    if not any(p is population for p in simulator.state.populations):
        raise error(f"{what} of population '{population.label}': it belongs to an earlier setup() (or was made before "
                    "end()); only the populations of the current network can be changed or recorded")


class _ParameterAccess:
    """get/set of native parameters and initial values, shared by Population and PopulationView."""

    def set(self, **parameters):
        _refuse_stale(self._owner()[0], "set()", errors.InvalidParameterValueError)
        refuse_non_values(f"population '{self._owner()[0].label}'", parameters)
        refuse_fractions(f"population '{self._owner()[0].label}'", parameters, self.celltype.default_parameters)
        refuse_bad_distributions(f"set() of population '{self._owner()[0].label}'", parameters)
        _check_lengths(f"set() of population '{self._owner()[0].label}'", parameters, self.size,
                       self.celltype.get_schema())
        super().set(**parameters)

    def record(self, variables, to_file=None, sampling_interval=None, locations=None):
        if isinstance(to_file, str):        # (PyNN finds a bad file name only at end(), after the run)
            _check_output_file(f"record(to_file=...) of population '{self._owner()[0].label}'", to_file)
        super().record(variables, to_file, sampling_interval, locations)

    def initialize(self, **initial_values):
        _refuse_stale(self._owner()[0], "initialize()", errors.InvalidParameterValueError)
        refuse_non_values(f"population '{self._owner()[0].label}'", initial_values)
        refuse_bad_distributions(f"initialize() of population '{self._owner()[0].label}'", initial_values)
        _check_lengths(f"initialize() of population '{self._owner()[0].label}'", initial_values, self.size)
        super().initialize(**initial_values)
        pop = self._owner()[0]
        if pop is self:     # a whole population's values replace what its views were given
            pop._view_draws = [d for d in getattr(pop, "_view_draws", []) if d[1] not in initial_values]

    def _get_parameters(self, *names):
        if isinstance(self.celltype, StandardCellType):
            if any(name in self.celltype.computed_parameters() for name in names):
                native_names = self.celltype.get_native_names()
            else:
                native_names = self.celltype.get_native_names(*names)
            return self.celltype.reverse_translate(self._get_native_parameters(*native_names))
        return self._get_native_parameters(*names)

    def _get_native_parameters(self, *names):
        pop, mask = self._owner()
        values = {}
        for name in names:
            if name not in pop._parameters:
                raise errors.NonExistentParameterError(name, pop.celltype.__class__.__name__,
                                                       list(pop._parameters))
            values[name] = simplify(pop._parameters[name][mask])
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        pop, mask = self._owner()
        parameter_space.evaluate(simplify=False)
        new = {name: np.array(pop._parameters[name], copy=True) for name in parameter_space.keys()}
        for name, value in parameter_space.items():
            new[name][mask] = _per_cell(value, self.size)
        # only the cells set are checked and re-derived: a loop setting one cell at a time was quadratic
        merged = {**pop._parameters, **new}
        where = f" in population '{pop.label}'"
        try:
            pop.celltype.check(merged if isinstance(mask, slice) else
                               {k: v[mask] if np.ndim(v) == 1 and len(v) == pop.size else v for k, v in merged.items()},
                               where=where)
        except errors.InvalidParameterValueError:
            pop.celltype.check(merged, where=where)     # again on every cell: the message names the cell's index
            raise
        pop.recorder._fix_spike_times()
        pop._parameters.update(new)
        pop._push_parameters(list(new), cells=None if isinstance(mask, slice) else mask)

    def _set_initial_value_array(self, variable, value):
        pop, mask = self._owner()
        allowed = list(pop.celltype.default_initial_values)
        if variable not in allowed:
            raise errors.NonExistentParameterError(variable, type(pop.celltype).__name__, allowed)
        values = _evaluate(value, self.size).astype(float)
        if not np.isfinite(values).all():
            raise errors.InvalidParameterValueError(
                f"initial value of '{variable}' in population '{pop.label}' must be a finite number "
                f"(got {values[~np.isfinite(values)][0]})")
        if (variable.startswith("gsyn") or variable.endswith(".gsyn")) and np.any(values < 0):
            raise errors.InvalidParameterValueError(      # (NEST ignores initial conductances, with a warning)
                f"initial value of '{variable}' in population '{pop.label}' must be >= 0: a conductance (got "
                f"{values[values < 0][0]})")
        name = variable
        variable = model_variable(pop.celltype, variable)       # pop._init holds the model's names
        if any(v.name == variable and v.type == "int" for v in pop.celltype.codegen_model.vars) \
                and np.any(values != np.round(values)):
            raise errors.InvalidParameterValueError(
                f"initial value of '{name}' in population '{pop.label}' must be a whole number: the variable is an "
                f"integer (got {values[values != np.round(values)][0]})")
        full = pop._init.get(variable, np.zeros(pop.size)).astype(float)
        full[mask] = values
        pop._init[variable] = full
        pop._push_initial_value(variable)


class PopulationView(_ParameterAccess, common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _simulator = simulator
    _assembly_class = Assembly

    def _owner(self):
        """The Population holding the data and this view's indices into it."""
        pop, idx = self.parent, np.arange(self.parent.size)[self.mask]
        while isinstance(pop, PopulationView):
            idx = np.arange(pop.parent.size)[pop.mask][idx]
            pop = pop.parent
        return pop, idx

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def initialize(self, **initial_values):
        """Initial values for the viewed cells, given as to ``Population.initialize``; they are kept by the parent
        population (its ``initial_values`` show them).  (PyNN's own view code fails after setting them.)"""
        pop, _ = self._owner()
        _refuse_stale(pop, "initialize()", errors.InvalidParameterValueError)
        refuse_non_values(f"population '{pop.label}'", initial_values)
        _check_lengths(f"initialize() of a view of population '{pop.label}'", initial_values, self.size)
        for variable, value in initial_values.items():
            self._set_initial_value_array(variable, LazyArray(value, shape=(self.size,), dtype=float))
            full = pop._init[model_variable(pop.celltype, variable)]
            pop.initial_values[variable] = LazyArray(full.copy(), shape=(pop.size,), dtype=float)
            # a distribution is drawn again at each reset(), as a whole population's
            draws = [d for d in getattr(pop, "_view_draws", []) if d[1] != variable or not np.array_equal(
                d[0]._owner()[1], self._owner()[1])]
            if isinstance(value, RandomDistribution):
                draws.append((self, variable, value))
            pop._view_draws = draws


class Population(_ParameterAccess, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _set_cell_initial_value(self, id, variable, value):
        """``ID.set_initial_value``: as ``initialize`` of that cell (PyNN's common code only edits
        ``initial_values``, which the simulation never saw)."""
        index = self.id_to_index(id)
        self[index:index + 1].initialize(**{variable: value})

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={}, label=None):
        # a cell type class without parameters gets its defaults (PyNN's deprecated form failed on **None), and
        # what is neither a cell type nor one's class is a TypeError saying so (issubclass() failed on it)
        if isinstance(cellclass, type) and cellparams is None:
            cellparams = {}
        if not (isinstance(cellclass, BaseCellType) or (isinstance(cellclass, type)
                                                        and issubclass(cellclass, BaseCellType))):
            raise TypeError(f"Population{'' if label is None else f' {label!r}'}: the cell type must be a cell type "
                            f"such as IF_curr_exp() (or its class), not {cellclass!r}")
        state = simulator.state
        before = (len(state.populations), set(state.recorders), state.id_counter)
        try:
            super().__init__(size, cellclass, cellparams, structure, initial_values, label)
        except Exception:       # a refused population leaves nothing behind (PyNN registered its recorder)
            del state.populations[before[0]:]
            state.recorders, state.id_counter = before[1], before[2]
            raise

    def _owner(self):
        return self, slice(None)

    def _create_cells(self):
        state = simulator.state
        if self.size < 1:
            raise errors.InvalidDimensionsError(
                f"Population '{self.label}': the size must be a positive number of cells (got {self.size})")
        params = self.celltype.parameter_space
        _check_lengths(f"Population '{self.label}' of {type(self.celltype).__name__}",
                       {name: getattr(params[name], "base_value", None) for name in params.keys()}, self.size,
                       params.schema)
        if not isinstance(self.celltype, StandardCellType) or getattr(self.celltype, "codegen_model", None) is None:
            raise NotImplementedError(f"pyNN.gpu cannot simulate cell type {type(self.celltype).__name__}")
        need = self.size * HOST_BYTES_PER_CELL
        free = short_of_host_memory(need)
        if free is not None:
            raise HostMemoryError(
                f"Population '{self.label}' of {self.size:,} cells needs about {_fmt_bytes(need)} of host memory (its "
                f"cell IDs and parameters), but {_fmt_bytes(free)} is available; reduce the network size")
        id_range = np.arange(state.id_counter, state.id_counter + self.size)
        with collector_paused():
            self.all_cells = np.array([simulator.ID(i) for i in id_range], dtype=simulator.ID)
            for cell in self.all_cells:
                cell.parent = self
        self._mask_local = np.ones(self.size, dtype=bool)
        state.id_counter += self.size
        self.celltype.parameter_space.shape = (self.size,)      # as pyNN.nest: describe() shows it
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._parameters = {name: _per_cell(value, self.size) for name, value in ps.items()}
        self.celltype.check(self._parameters, where=f" in population '{self.label}'")
        self._init = {}
        self._group = NeuronGroup(name=self.label, model=self.celltype.codegen_model, size=self.size, params={},
                                  init={}, rng_stream=len(state.populations) + 1)
        state.populations.append(self)
        state.mark_changed()

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    # ---- to the device ------------------------------------------------------------------------

    def _neuron_group(self) -> NeuronGroup:
        """Refresh this population's neuron group from the host copies (at build time)."""
        g, dt = self._group, simulator.state.dt
        g.model = self.celltype.codegen_model      # (projections may add their neurons' variables: neuron_vars)
        g.params = {k: np.asarray(v, float) for k, v in self.celltype.model_params(self._parameters, dt).items()}
        g.extra_globals = self.celltype.extra_globals(self._parameters, dt)
        init = {v.name: np.zeros(self.size, int if v.type == "int" else float) for v in g.model.vars}
        init.update({k: v for k, v in self._init.items() if k in init})
        g.init = init
        g.record_spikes, g.spike_cells, g.record_vars = False, None, {}
        return g

    def _built(self):
        sim = simulator.state.simulation
        return sim if sim is not None and self._group in sim.layout.group_slot else None

    def _push_parameters(self, names, cells=None):
        """The parameters to the device; ``cells``: only those cells changed (their indices)."""
        sim = self._built()
        if sim is None:
            return
        dt = simulator.state.dt
        params = self.celltype.model_params(self._parameters, dt)
        if params and not sim.set_group_params(self._group, {k: np.asarray(v, float) for k, v in params.items()},
                                               cells=cells):
            simulator.state.mark_changed()        # a shared parameter now differs between cells: regenerate
        for var, value in getattr(self.celltype, "state_after_change", {}).items():
            sim.write_state(self._group, var, value)
        for name, segments in self.celltype.extra_globals(self._parameters, dt).items():
            sim.set_extra_global(self._group, name, segments)
            for var, value in self.celltype.state_after_extra_globals(name, segments, simulator.state.step).items():
                sim.write_state(self._group, var, value)

    def _push_initial_value(self, variable):
        sim = self._built()
        if sim is not None and variable in self._group.model.var_names:
            self._group.init[variable] = self._init[variable]
            sim.write_state(self._group, variable, self._init[variable])

    def _push_initial_values(self):
        """After a reset: the device already holds the initial values; refresh the group's copy."""
        for variable in self._init:
            if variable in self._group.model.var_names:
                self._group.init[variable] = self._init[variable]
