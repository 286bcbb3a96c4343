"""Recorder: device recording buffers -> the arrays PyNN's common code turns into Neo blocks."""
from __future__ import annotations

import numpy as np
import quantities as pq
from pyNN import errors, recording

from . import simulator


def model_variable(celltype, name: str) -> str:
    """The codegen model's name of PyNN state variable ``name`` (the same name unless the cell type maps it, as
    PointNeuron maps "AMPA.gsyn" to "AMPA_gsyn")."""
    hook = getattr(celltype, "model_variable", None)
    return hook(name) if hook is not None else name


class Recorder(recording.Recorder):
    """Records spikes and state variables of one population on the device."""

    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._first_samples = {}
        self._var_start = {}     # model variable -> step its recording began, when later than the recorder's start
        self._phase = 0          # the sampling grid in use: steps phase + k * interval

    def _check_sampling_interval(self, sampling_interval):
        super()._check_sampling_interval(sampling_interval)
        if sampling_interval is not None:
            self._interval_steps(sampling_interval)

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        state = simulator.state
        if state.t > 0 and new_ids:
            self._first_samples.pop(model_variable(self.population.celltype, variable.name), None)   # stale
            first = all(not ids for var, ids in self.recorded.items() if var != variable) and \
                self.recorded[variable] == set(new_ids)
            if first:     # nothing else recorded: the recording (its signals and spike trains) starts now
                self._clear_simulator()
                self._recording_start_time = state.t * pq.ms
                self._var_start = {}
            elif variable.name != "spikes":     # (more cells for a variable: it starts again, all its cells)
                self._var_start[model_variable(self.population.celltype, variable.name)] = \
                    int(round(state.t / state.dt))
        state.mark_changed()

    def _reset(self):
        self._var_start = {}
        simulator.state.mark_changed()

    # ---- build --------------------------------------------------------------------------------

    def _interval_steps(self, interval=None):
        dt = simulator.state.dt
        interval = self.sampling_interval if interval is None else interval
        steps = int(round(interval / dt))
        if steps < 1 or abs(steps * dt - interval) > 1e-9 * max(1.0, interval):
            raise errors.InvalidParameterValueError(
                f"sampling_interval {interval} ms of population '{self.population.label}' must be a positive "
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
            if variable.name == "spikes":
                group.record_spikes = True
            else:
                idx = np.sort(np.array([int(i) - first for i in ids], dtype=np.int64))
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
                self._first_samples[var] = sim.read_state(rec.group, var)[rec.indices]

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
            return steps, idx, None
        # times settled before a parameter change are kept; the others computed in one pass (a sort)
        times = np.concatenate([e[2] if len(e) > 2 else np.full(len(e[0]), np.nan) for e in entries])
        open_ = np.isnan(times)
        if open_.any():
            times[open_] = self._times(steps[open_], idx[open_])
        return steps, idx, times

    def _fix_spike_times(self):
        """Before a cell's parameters change, settle the times of the spikes it already emitted."""
        sim, records = self._records()
        rec = records.get("spikes")
        if rec is not None and sim.recorded[rec.index]:
            sim.recorded[rec.index] = [self._spike_data()]

    def _get_spiketimes(self, ids, clear=False):
        steps, idx, times = self._spike_data()
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
        first = self._first_samples.get(name)
        if first is None:
            first = sim.read_state(rec.group, name)[rec.indices]
        chunks = [first.reshape(1, -1)] + list(sim.recorded[rec.index])
        began = self._var_start.get(name)
        if began is not None:
            # recorded since a later step than the other variables: NaN until then, on their sampling grid
            late = began - self._start_step()
            if late % rec.interval:
                chunks = chunks[1:]        # the value when it began lies between two samples
            chunks.insert(0, np.full((-(-late // rec.interval), len(rec.indices)), np.nan))
        data = np.concatenate(chunks, axis=0)
        cols = np.searchsorted(rec.indices, ids - int(self.population.first_id))
        return data[:, cols].astype(float), None

    def _local_count(self, variable, filter_ids=None):
        _, idx, _ = self._spike_data(with_times=False)
        first = int(self.population.first_id)
        counts = np.bincount(idx, minlength=self.population.size)
        return {int(i): int(counts[int(i) - first]) for i in self.filter_recorded(variable, filter_ids)}

    def _clear_simulator(self):
        self._var_start = {}
        if self._start_step() % self._interval_steps() != self._phase:
            simulator.state.mark_changed()      # the samples after the clear need a grid that starts there
        sim, records = self._records()
        for var, rec in records.items():
            if var != "spikes":
                sim.recorded[rec.index] = []
                self._first_samples[var] = sim.read_state(rec.group, var)[rec.indices]
            elif sim.recorded[rec.index]:
                # a SpikeSourceArray time a hair past the end (10.0000000000005 at t = 10) was emitted in the
                # last step and belongs to the next segment, as in NEST
                steps, idx, times = self._spike_data()
                later = times > round(simulator.state.t, 9)
                sim.recorded[rec.index] = [(steps[later], idx[later], times[later])] if later.any() else []
