"""Recorder: device recording buffers -> the arrays PyNN's common code turns into Neo blocks."""
from __future__ import annotations

import numpy as np
from pyNN import recording

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
        self._cleared = {}       # variable -> number of samples/steps already handed out and cleared

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        simulator.state.mark_changed()

    def _reset(self):
        simulator.state.mark_changed()

    # ---- build --------------------------------------------------------------------------------

    def _interval_steps(self):
        dt = simulator.state.dt
        steps = int(round(self.sampling_interval / dt))
        if steps < 1 or abs(steps * dt - self.sampling_interval) > 1e-9 * max(1.0, self.sampling_interval):
            raise ValueError(f"sampling_interval {self.sampling_interval} ms of population "
                             f"'{self.population.label}' must be a multiple of the timestep {dt} ms")
        return steps

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
                group.record_vars[model_variable(self.population.celltype, variable.name)] = \
                    (idx, self._interval_steps())

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

    def _spike_data(self):
        """Emission steps, cell indices and times (ms) of the spikes recorded so far."""
        sim, records = self._records()
        rec = records.get("spikes")
        if rec is None or not sim.recorded[rec.index]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        entries = sim.recorded[rec.index]
        steps = np.concatenate([e[0] for e in entries])
        idx = np.concatenate([e[1] for e in entries])
        times = np.concatenate([e[2] if len(e) > 2 else self._times(e[0], e[1]) for e in entries])
        return steps, idx, times

    def _fix_spike_times(self):
        """Before a cell's parameters change, settle the times of the spikes it already emitted."""
        sim, records = self._records()
        rec = records.get("spikes")
        if rec is not None:
            sim.recorded[rec.index] = [e if len(e) > 2 else (e[0], e[1], self._times(e[0], e[1]))
                                       for e in sim.recorded[rec.index]]

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
        data = np.concatenate(chunks, axis=0)
        cols = np.searchsorted(rec.indices, ids - int(self.population.first_id))
        return data[:, cols].astype(float), None

    def _local_count(self, variable, filter_ids=None):
        _, idx, _ = self._spike_data()
        first = int(self.population.first_id)
        counts = np.bincount(idx, minlength=self.population.size)
        return {int(i): int(counts[int(i) - first]) for i in self.filter_recorded(variable, filter_ids)}

    def _clear_simulator(self):
        sim, records = self._records()
        for var, rec in records.items():
            sim.recorded[rec.index] = []
            if var != "spikes":
                self._first_samples[var] = sim.read_state(rec.group, var)[rec.indices]
