"""Recorder: device recording buffers -> the arrays PyNN's common code turns into Neo blocks."""
from __future__ import annotations

import numpy as np
import quantities as pq
from neo.core.spiketrainlist import SpikeTrainList
from neo.core.dataobject import DataObject
from neo.core.spiketrain import SpikeTrain
from pyNN import errors, recording

from . import simulator
from .bulk import collector_paused


def model_variable(celltype, name: str) -> str:
    """The codegen model's name of PyNN state variable ``name`` (the same name unless the cell type maps it, as
    PointNeuron maps "AMPA.gsyn" to "AMPA_gsyn")."""
    hook = getattr(celltype, "model_variable", None)
    return hook(name) if hook is not None else name


class RecordingStateError(errors.RecordingError):
    """A recording that cannot be made or read in the simulation's present state; the message says why (PyNN's
    RecordingError only words an unknown variable)."""

    def __init__(self, message):
        super().__init__(None, None)
        self.message = message

    def __str__(self):
        return self.message


class ChannelSortedSpikeTrainList(SpikeTrainList):
    """neo's SpikeTrainList of one population's spikes, whose trains are made by cutting the spike arrays at the
    channel boundaries.  (neo's own compares every channel id with every spike: the trains of 100,000 cells with
    3.3 million spikes took 160 s to appear.)  The trains are neo's, with its annotations, in the same order."""

    def _spiketrains_from_array(self):
        if self._spike_time_array is None:
            self._items = []
            return
        times, channels = self._spike_time_array, np.asarray(self._channel_id_array)
        if len(channels) > 1 and np.any(channels[1:] < channels[:-1]):
            order = np.argsort(channels, kind="stable")      # (each channel's spikes keep their order)
            times, channels = times[order], channels[order]
        values, units = np.asarray(times.magnitude), times.units
        # neo's constructor, with its checks of units and of every spike against t_start and t_stop, once for all
        template = SpikeTrain(values, units=units, **self._spiketrain_metadata)
        ids = np.asarray(self._all_channel_ids)
        starts, stops = np.searchsorted(channels, ids, side="left"), np.searchsorted(channels, ids, side="right")
        n = len(ids)
        per_train = {name: value for name, value in self._annotations.items()
                     if not isinstance(value, str) and hasattr(value, "__len__") and len(value) == n}
        shared = {name: value for name, value in self._annotations.items() if name not in per_train}
        with collector_paused():
            self._items = [
                _cut(template, values[starts[i]:stops[i]].copy(), self.segment,
                     {name: (per_train[name][i] if name in per_train else shared[name]) for name in self._annotations},
                     channel_id)
                for i, channel_id in enumerate(self._all_channel_ids)]


def _cut(template: SpikeTrain, values: np.ndarray, segment, annotations: dict, channel_id) -> SpikeTrain:
    """A SpikeTrain of ``values`` with ``template``'s units, times and sampling rate, as neo's constructor makes it
    (each train its own t_start and t_stop), without repeating the template's checks (~70 -> ~9 µs a train)."""
    train = values.view(SpikeTrain)
    train._dimensionality = template._dimensionality.copy()
    train.t_start, train.t_stop = template.t_start.copy(), template.t_stop.copy()
    train.sampling_rate = template.sampling_rate
    DataObject.__init__(train, **annotations, channel_id=channel_id)
    train.segment = segment
    return train


class Recorder(recording.Recorder):
    """Records spikes and state variables of one population on the device."""

    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._first_samples = {}  # model variable -> (cells, values) at the recording start
        self._forget_late()
        self._phase = 0          # the sampling grid in use: steps phase + k * interval

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None, locations=None):
        owner = getattr(self.population, "parent", None) or self.population
        if not any(p is owner for p in simulator.state.populations):
            raise RecordingStateError(f"get_data() of population '{owner.label}': it belongs to an earlier setup() (or "
                                      "was made before end()), and its recordings went with it; read them before")
        if not any(True for _ in self.cache) and not simulator.state.running:   # (PyNN's code: an IndexError)
            raise RecordingStateError(f"get_data() of population '{self.population.label}': there is no data yet; "
                                      "run() the simulation first")
        for variable in [v for v, ids in self.recorded.items() if not ids]:
            # PyNN's count() leaves an empty entry for a variable not recorded (get_spike_counts() without spikes
            # recorded): its get_data() then failed with a bare ValueError, in pyNN.nest too
            del self.recorded[variable]
        self._refuse_unknown(variables)
        return super().get(variables, gather, filter_ids, clear, annotations, locations)

    def _refuse_unknown(self, variables):
        """A name no cell type of the network can record is a mistake (PyNN returns no signal for it); one that
        another cell type records, or that was not recorded, gives no signal, as in pyNN.nest (an Assembly's
        get_data() asks each of its populations for the same names)."""
        names = [variables] if isinstance(variables, str) else list(variables or [])
        known = set(self.population.celltype.recordable)
        for population in simulator.state.populations:
            known.update(population.celltype.recordable)
        for name in names:
            if name != "all" and name not in known:
                raise errors.RecordingError(name, self.population.celltype)

    def _localize_variables(self, variables, locations):
        """As PyNN's, but 'all' records every variable the cell type can (PyNN 0.13 took it for the names 'a', 'l',
        'l'), and what is neither a name nor a list of names (record(5)) is a RecordingError, not a bare TypeError."""
        if isinstance(variables, str) and variables == "all":
            variables = list(self.population.celltype.recordable)
        names = [variables] if isinstance(variables, str) else variables
        try:
            names = list(names)
        except TypeError:
            raise errors.RecordingError(variables, self.population.celltype) from None
        for name in names:
            if not isinstance(name, str):
                raise errors.RecordingError(name, self.population.celltype)
        return super()._localize_variables(variables, locations)

    def _check_sampling_interval(self, sampling_interval):
        super()._check_sampling_interval(sampling_interval)
        if sampling_interval is not None:
            self._interval_steps(sampling_interval)

    def _record(self, variable, new_ids, sampling_interval=None):
        from .populations import _refuse_stale
        _refuse_stale(self.population, "record()", RecordingStateError)
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        state = simulator.state
        if state.t > 0 and new_ids:
            name = model_variable(self.population.celltype, variable.name)
            now = int(round(state.t / state.dt))
            earlier = self.recorded[variable] != set(new_ids)
            first = not earlier and all(not ids for var, ids in self.recorded.items() if var != variable)
            if first:     # nothing else recorded: the recording (its signals and spike trains) starts now
                self._clear_simulator()
                self._recording_start_time = state.t * pq.ms
                self._var_start = {}
            elif earlier:     # more cells for a variable: they start now, the others go on
                cells = np.sort(np.array([int(i) for i in new_ids], np.int64) - int(self.population.first_id))
                sim, records = self._records()
                if name == "spikes":
                    if self._spikes_from is None:
                        self._spikes_from = np.zeros(self.population.size, np.int64)
                    self._spikes_from[cells] = now
                elif name in records:     # (their earlier rows are NaN: Simulation.adopt_recordings)
                    values = sim.read_state(records[name].group, name)[cells]
                    self._late_values.setdefault(name, []).append((now, cells, values))
            elif variable.name != "spikes":     # a variable recorded later than the others
                self._first_samples.pop(name, None)
                self._var_start[name] = now
        state.mark_changed()

    def _forget_late(self):
        """Every recorded variable and cell starts with the recording (at its start, a clear or a reset)."""
        self._var_start = {}     # model variable -> step its recording began, when later than the recorder's start
        self._spikes_from = None  # per cell: the step its spikes are recorded from, if cells were added late
        self._late_values = {}   # model variable -> [(step, cells, values)]: cells added, their value then

    def _reset(self):
        self._forget_late()
        simulator.state.mark_changed()

    def _new_trial(self):
        """After reset(): every recorded variable and cell starts at t = 0 (on the sampling grid from there)."""
        self._first_samples = {}
        self._forget_late()
        if self._phase:
            simulator.state.mark_changed()

    # ---- build --------------------------------------------------------------------------------

    def _interval_steps(self, interval=None):
        dt = simulator.state.dt
        interval = self.sampling_interval if interval is None else interval
        number = isinstance(interval, (int, float, np.integer, np.floating)) and not isinstance(interval, bool)
        steps = int(round(interval / dt)) if number and np.isfinite(interval) else 0
        if steps < 1 or abs(steps * dt - interval) > 1e-9 * max(1.0, interval):
            raise errors.InvalidParameterValueError(
                f"sampling_interval {interval!r} ms of population '{self.population.label}' must be a positive "
                f"multiple of the timestep {dt} ms")
        return steps

    def _start_step(self) -> int:
        """The step the recorder's signals start at (PyNN's recording start: creation, clear or reset)."""
        return int(round(float(self._recording_start_time.rescale(pq.ms).magnitude) / simulator.state.dt))

    def _request(self, network):
        """Tell this population's neuron group what to record."""
        group = self.population._group
        first = int(self.population.first_id)
        for variable, ids in self.recorded.items():
            if not ids:
                continue
            idx = np.sort(np.array([int(i) - first for i in ids], dtype=np.int64))
            if variable.name == "spikes":
                group.record_spikes = True
                group.spike_cells = idx if len(idx) < group.size else None
            else:
                interval = self._interval_steps()
                self._phase = self._start_step() % interval
                group.record_vars[model_variable(self.population.celltype, variable.name)] = \
                    (idx, interval, self._phase)

    # ---- data ---------------------------------------------------------------------------------

    def _records(self):
        sim = simulator.state.simulation
        if sim is None or self.population._group not in sim.layout.group_slot:
            return sim, {}
        return sim, sim.records_of(self.population._group)

    def _capture_first_samples(self):
        """Sample 0 of each trace is the value at the recording start (PyNN's convention)."""
        sim, records = self._records()
        for var, rec in records.items():
            if var != "spikes" and var not in self._first_samples:
                self._first_samples[var] = (rec.indices, sim.read_state(rec.group, var)[rec.indices])

    def _times(self, steps, idx):
        pop = self.population
        return pop.celltype.spike_times(pop._parameters, idx, steps, simulator.state.dt,
                                        precise=simulator.state.spike_precision == "off_grid")

    def _spike_data(self, with_times: bool = True):
        """Emission steps, cell indices and times (ms; None without ``with_times``) of the spikes recorded so
        far."""
        sim, records = self._records()
        rec = records.get("spikes")
        if rec is None or not sim.recorded[rec.index]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        entries = sim.recorded[rec.index]
        steps = np.concatenate([e[0] for e in entries])
        idx = np.concatenate([e[1] for e in entries])
        if not with_times:
            if all(len(e) == 2 for e in entries):
                sim.recorded[rec.index] = [(steps, idx)]      # joined once: each run adds a chunk
            return steps, idx, None
        # times settled before a parameter change are kept; the others computed in one pass (a sort)
        times = np.concatenate([e[2] if len(e) > 2 else np.full(len(e[0]), np.nan) for e in entries])
        open_ = np.isnan(times)
        if open_.any():
            times[open_] = self._times(steps[open_], idx[open_])
        sim.recorded[rec.index] = [(steps, idx, times)]
        return steps, idx, times

    def _late_filtered(self, steps, idx, times):
        """Without the spikes of cells added to the recording before they were added."""
        if self._spikes_from is None:
            return steps, idx, times
        keep = steps >= self._spikes_from[idx]
        return steps[keep], idx[keep], None if times is None else times[keep]

    def _fix_spike_times(self):
        """Before a cell's parameters change, settle the times of the spikes it already emitted, where they depend
        on the parameters (SpikeSourceArray): chunk by chunk, for the chunks recorded since the last change (joining
        all of them each time made a loop of set() and run() quadratic)."""
        if not getattr(self.population.celltype, "spike_times_read_parameters", False):
            return
        sim, records = self._records()
        rec = records.get("spikes")
        if rec is None:
            return
        entries = sim.recorded[rec.index]
        for k, entry in enumerate(entries):
            if len(entry) == 2:
                entries[k] = (entry[0], entry[1], self._times(entry[0], entry[1]))

    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        segment = super()._get_current_segment(filter_ids, variables, clear)
        if type(segment.spiketrains) is SpikeTrainList and segment.spiketrains._items is None:
            # the same object, its trains made faster when first read (_get_spiketimes sorts by cell)
            segment.spiketrains.__class__ = ChannelSortedSpikeTrainList
        return segment

    def _get_spiketimes(self, ids, clear=False):
        steps, idx, times = self._late_filtered(*self._spike_data())
        first = int(self.population.first_id)
        wanted = np.asarray([int(i) - first for i in ids], dtype=np.int64)
        keep = np.isin(idx, wanted)
        order = np.lexsort((times[keep], idx[keep]))
        return (idx[keep][order] + first, times[keep][order])

    def _get_all_signals(self, variable, ids, clear=False):
        sim, records = self._records()
        name = model_variable(self.population.celltype, variable.name)
        rec = records.get(name)
        ids = np.asarray([int(i) for i in ids], dtype=np.int64)
        if rec is None:
            return np.zeros((0, len(ids))), None
        if name in self._first_samples:      # cells added since have none
            cells, values = self._first_samples[name]
            first = np.full(len(rec.indices), np.nan)
            first[np.searchsorted(rec.indices, cells)] = values
        else:
            first = sim.read_state(rec.group, name)[rec.indices]
        chunks = [first.reshape(1, -1)] + list(sim.recorded[rec.index])
        began = self._var_start.get(name)
        if began is not None:
            # recorded since a later step than the other variables: NaN until then, on their sampling grid
            late = began - self._start_step()
            if late % rec.interval:
                chunks = chunks[1:]        # the value when it began lies between two samples
            chunks.insert(0, np.full((-(-late // rec.interval), len(rec.indices)), np.nan))
        cols = np.searchsorted(rec.indices, ids - int(self.population.first_id))
        every = len(cols) == len(rec.indices) and np.array_equal(cols, np.arange(len(cols)))
        # the chunks' wanted columns copied once into the double-precision result
        data = np.empty((sum(len(c) for c in chunks), len(cols)))
        row = 0
        for chunk in chunks:
            data[row:row + len(chunk)] = chunk if every else chunk[:, cols]
            row += len(chunk)
        # cells added on the sampling grid: their value when they began
        column = np.full(len(rec.indices), -1)
        column[cols] = np.arange(len(cols))
        for step, cells, values in self._late_values.get(name, ()):
            row, off = divmod(step - self._start_step(), rec.interval)
            if not off and row < len(data):
                where = column[np.searchsorted(rec.indices, cells)]
                data[row, where[where >= 0]] = np.asarray(values)[where >= 0]
        return data, None

    def _local_count(self, variable, filter_ids=None):
        _, idx, _ = self._late_filtered(*self._spike_data(with_times=False))
        first = int(self.population.first_id)
        counts = np.bincount(idx, minlength=self.population.size)
        return {int(i): int(counts[int(i) - first]) for i in self.filter_recorded(variable, filter_ids)}

    def _clear_simulator(self):
        self._forget_late()
        if self._start_step() % self._interval_steps() != self._phase:
            simulator.state.mark_changed()      # the samples after the clear need a grid that starts there
        sim, records = self._records()
        for var, rec in records.items():
            if var != "spikes":
                sim.recorded[rec.index] = []
                self._first_samples[var] = (rec.indices, sim.read_state(rec.group, var)[rec.indices])
            elif sim.recorded[rec.index]:
                # a SpikeSourceArray time a hair past the end (10.0000000000005 at t = 10) was emitted in the
                # last step and belongs to the next segment, as in NEST
                steps, idx, times = self._spike_data()
                later = times > round(simulator.state.t, 9)
                sim.recorded[rec.index] = [(steps[later], idx[later], times[later])] if later.any() else []
