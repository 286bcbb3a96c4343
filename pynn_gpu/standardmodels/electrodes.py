"""Standard current sources: parameters on the device, changeable between runs without recompiling.

Timing is NEST's as pyNN.nest drives it; the rules live in ``codegen/library/current_sources.py``
(reference/numerics.md section 4).  A change made between runs acts from the current time on, with
the new parameters as if they had always held (pyNN.nest: from t + 2 min_delay + dt, and a
StepCurrentSource keeps its amplitude until the first new time -- artefacts of NEST running one
min_delay ahead of PyNN's clock).

``record()``/``get_data()`` give the current each step receives, sample t being the current applied
on [t, t + dt) as pyNN.nest returns it: the model's value for DC, AC and step sources, and for a
NoisyCurrentSource the device's own draws, averaged over its targets as NEST records them,
regenerated bit for bit on the host.
"""
import numpy as np
from pyNN import errors
from pyNN.errors import InvalidParameterValueError
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import StandardCurrentSource, build_translations, electrodes

from ..codegen.library import current_sources as library
from ..codegen.network import CurrentSourceGroup
from .. import simulator
from .cells import refuse_non_values, refuse_unknown_names
from .validation import (FINITE, FINITE_NON_NEGATIVE, NON_NEGATIVE, check_on_grid, check_start_before_stop,
                         check_values)


class GPUCurrentSource(StandardCurrentSource):
    """A current source injected into any cells; its parameters live in device buffers."""

    codegen_model = None
    parameter_checks: dict = {}
    #: Native parameters that must be whole numbers of timesteps (NEST refuses others).
    grid_parameters: tuple = ()

    def __init__(self, **parameters):
        refuse_non_values(type(self).__name__, parameters)
        refuse_unknown_names(type(self).__name__, parameters, self.get_schema())
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_targets", [])     # cell ids
        object.__setattr__(self, "_recording", False)
        object.__setattr__(self, "_epochs", [])      # what the device injects, from (segment, step) on
        # the minimum delay the timing rules use: the network's when the source is made, as pyNN.nest keeps it (with
        # min_delay='auto' projections made later do not move the source's current)
        object.__setattr__(self, "_min_delay", float(simulator.state.min_delay))
        super().__init__(**parameters)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        ps.update(**parameters)
        self.set_native_parameters(self.translate(ps))   # validates: a rejected source is never registered
        simulator.state.current_sources.append(self)

    # ---- parameters -----------------------------------------------------------------------------

    def set_parameters(self, copy=True, **parameters):
        refuse_unknown_names(type(self).__name__, parameters, self.get_schema())
        super().set_parameters(copy=copy, **parameters)

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native), shape=(1,))

    def _native_value(self, name, value):
        return float(value)

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        values = {name: self._native_value(name, value) for name, value in parameters.items()}
        self.check({**self._native, **values})
        self._native.update(values)
        self._changed()

    def check(self, native: dict):
        """Validate native parameter values (all of them, old and new); raises InvalidParameterValueError."""
        name = type(self).__name__
        check_values(name, native, self.parameter_checks, self._where())
        check_on_grid(name, native, self.grid_parameters, simulator.state.dt, self._where())

    def _where(self):
        """' DCSource#0' once registered, for error messages."""
        return f" '{self._name}'" if self._registered() else ""

    def _registered(self):
        return any(s is self for s in simulator.state.current_sources)

    def _index(self):
        """Position in the simulator's list of sources (the one it gets, before registration)."""
        sources = simulator.state.current_sources
        return next((k for k, s in enumerate(sources) if s is self), len(sources))

    @property
    def _name(self):
        return f"{type(self).__name__}#{self._index()}"

    # ---- targets and the device -----------------------------------------------------------------

    def inject_into(self, cells):
        """Inject into a Population, PopulationView, Assembly or a list of cell ids.  A cell injected into again
        (by another call) receives the current once more, as in NEST; a cell repeated within one call, once."""
        what = f"{type(self).__name__}.inject_into()"
        if not self._registered():
            raise errors.ConnectionError(
                f"{what}: this current source was made before the last setup() (or end()); make it again in the "
                "current network")
        try:
            cells = list(dict.fromkeys(cells))
        except TypeError:
            raise TypeError(f"{what} takes a Population, PopulationView, Assembly or a list of cell IDs (got "
                            f"{type(cells).__name__})") from None
        for cell in cells:
            parent = getattr(cell, "parent", None)
            if not isinstance(cell, simulator.ID) or parent is None:
                raise TypeError(f"{what} takes a Population, PopulationView, Assembly or a list of cell IDs (got "
                                f"{cell!r} of type {type(cell).__name__} among them)")
            if not any(parent is p for p in simulator.state.populations):
                raise errors.ConnectionError(
                    f"{what}: cell {int(cell)} belongs to population {parent.label!r} of an earlier setup() (or before "
                    "end()); a current source is injected into cells of the current network")
            if not cell.celltype.injectable:
                reason = getattr(cell.celltype, "not_injectable_because", "spike sources are not injectable")
                raise TypeError(f"cannot inject current into {cell.celltype.__class__.__name__} cell {int(cell)}: "
                                f"{reason}")
        self._targets.extend(cells)
        simulator.state.mark_changed()

    def _target_groups(self):
        """[(NeuronGroup, sorted local indices)] of the cells injected into (a cell injected into twice: twice)."""
        by_pop = {}
        for cell in self._targets:
            pop = cell.parent
            by_pop.setdefault(pop, []).append(int(cell) - int(pop.first_id))
        return [(pop._group, np.sort(idx)) for pop, idx in by_pop.items()]

    def _model_params(self) -> dict:
        """Native parameters plus what the timing rules need: min_delay (ms) and the source's RNG stream."""
        return {**self._native, "min_delay": self._min_delay, "stream": self._index()}

    def _device_view(self):
        """(model parameters, extra-global arrays, target groups) as the device gets them now."""
        params = self._model_params()
        arrays = library.ARRAYS[self.codegen_model.name](params, simulator.state.dt)
        return params, arrays, self._target_groups()

    def _current_source_group(self):
        """The codegen group of this source (at build time), or None without targets."""
        params, arrays, targets = self._device_view()
        self._note_epoch(params, arrays, targets)
        if not targets:
            return None
        return CurrentSourceGroup(self._name, self.codegen_model, dict(params), targets, extra_globals=dict(arrays))

    def _changed(self):
        """After a parameter change: note it for recording and re-upload it if the network is built."""
        params, arrays, targets = self._device_view()
        self._note_epoch(params, arrays, targets)
        state = simulator.state
        sim = state.simulation
        if sim is None or state.structure_changed or not self._targets:
            return
        spec = next((s for s in sim.layout.sources if s.source.name == self._name), None)
        if spec is not None:
            spec.source.params.update(params)
            spec.source.extra_globals.update(arrays)
            sim.set_source(spec.index)

    # ---- recording ------------------------------------------------------------------------------

    def _note_epoch(self, params, arrays, targets):
        state = simulator.state
        key = (state.segment_counter, state.step)
        epoch = {"key": key, "params": params, "arrays": arrays,
                 "targets": [(g.rng_stream, idx) for g, idx in targets]}
        epochs = [e for e in self._epochs if e["key"] != key]
        earlier = [e for e in epochs if e["key"][0] < key[0]]
        epochs = earlier[-1:] + [e for e in epochs if e["key"][0] >= key[0]] + [epoch]
        object.__setattr__(self, "_epochs", sorted(epochs, key=lambda e: e["key"]))

    def _segment_epochs(self):
        """[(first step, epoch)] of the current recording segment."""
        segment = simulator.state.segment_counter
        current = [(e["key"][1], e) for e in self._epochs if e["key"][0] == segment]
        earlier = [e for e in self._epochs if e["key"][0] < segment]
        if earlier and (not current or current[0][0] > 0):     # from the segment's start: the last parameters
            current.insert(0, (0, earlier[-1]))
        return current         # (a source made during this segment injects nothing before it was made)

    def record(self):
        object.__setattr__(self, "_recording", True)

    def _get_data(self):
        """The injected current at every step: sample t is the current applied on [t, t + dt)."""
        state = simulator.state
        steps = np.arange(state.step + 1)
        current = np.zeros(len(steps))
        epochs = self._segment_epochs()
        for k, (first, epoch) in enumerate(epochs):
            last = epochs[k + 1][0] if k + 1 < len(epochs) else len(steps)
            if first < last:
                current[first:last] = self._current(epoch, steps[first:last])
        return steps * state.dt, current

    def _current(self, epoch, steps):
        state = simulator.state
        return library.CURRENT[self.codegen_model.name](epoch["params"], epoch["arrays"], steps, state.dt)


_TIMING_CHECKS = {"start": FINITE_NON_NEGATIVE, "stop": NON_NEGATIVE}


class _WindowedSource(GPUCurrentSource):
    """A source acting between ``start`` and ``stop`` (ms), both multiples of the timestep."""

    grid_parameters = ("start", "stop")

    def check(self, native: dict):
        super().check(native)
        check_start_before_stop(type(self).__name__, native, self._where())


class DCSource(_WindowedSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))
    codegen_model = library.DC
    parameter_checks = {"amplitude": FINITE, **_TIMING_CHECKS}


class ACSource(_WindowedSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"),
                                      ("frequency", "frequency"), ("offset", "offset"), ("phase", "phase"))
    codegen_model = library.AC
    parameter_checks = {"amplitude": FINITE, "offset": FINITE, "frequency": FINITE, "phase": FINITE,
                        **_TIMING_CHECKS}


class NoisyCurrentSource(_WindowedSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean"), ("stdev", "stdev"), ("start", "start"), ("stop", "stop"),
                                      ("dt", "dt"))
    codegen_model = library.NOISY
    parameter_checks = {"mean": FINITE, "stdev": FINITE_NON_NEGATIVE, "dt": (lambda x: x > 0, "must be > 0"),
                        **_TIMING_CHECKS}
    grid_parameters = ("start", "stop", "dt")

    def _current(self, epoch, steps):
        state = simulator.state
        # the device's key: the seed with the recording segment added to its high word (Simulation.set_rng_epoch)
        seed = state.rng_seed + ((state.segment_counter % 2**31) << 32)
        return library.noise_current(epoch["params"], epoch["arrays"], steps, epoch["targets"], seed,
                                     state.precision)


class StepCurrentSource(GPUCurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))
    codegen_model = library.STEP

    def _native_value(self, name, value):
        if isinstance(value, np.ndarray) and value.dtype == object:
            value = value.flat[0]
        value = value.value if isinstance(value, Sequence) else value
        return np.array(value, dtype=float).ravel()

    def check(self, native: dict):
        """PyNN's rules: times >= 0 and strictly increasing (ValueError), one amplitude per time."""
        name = f"StepCurrentSource{self._where()}"
        times, amps = native.get("times", np.zeros(0)), native.get("amplitudes", np.zeros(0))
        if len(times) != len(amps):
            raise InvalidParameterValueError(f"{name}: 'times' and 'amplitudes' must have the same length "
                                             f"(got {len(times)} times and {len(amps)} amplitudes)")
        for p, arr in (("times", times), ("amplitudes", amps)):
            if not np.all(np.isfinite(arr)):
                raise InvalidParameterValueError(f"{name}: parameter '{p}' must hold finite numbers (got {arr})")
        if len(times) and times.min() < 0:
            raise InvalidParameterValueError(f"{name}: parameter 'times' must be >= 0 (got {times.min()})")
        if len(times) > 1 and np.min(np.diff(times)) <= 0:
            k = int(np.argmin(np.diff(times)))
            raise InvalidParameterValueError(f"{name}: parameter 'times' must be strictly increasing "
                                             f"(got {times[k]} then {times[k + 1]})")

    def set_native_parameters(self, parameters):
        """As any source's, but a schedule changed between runs follows pyNN.nest's rules for it: the times up to
        ``2 min_delay + dt`` after the change are not passed yet for NEST's generator, which runs min_delay ahead
        of the cells; pyNN.nest moves the last of them there (and drops the others).  Until the first time, the
        amplitude in effect goes on (and what the generator has already sent stays), as NEST's generator keeps its
        current.  Only in this trial: reset() goes back to the schedule as given."""
        state = simulator.state
        if state.step > 0 and "times" in self._native:
            steps, amps = library.step_switches(self._native["times"], self._native["amplitudes"], state.dt,
                                                self._min_delay)
            first, ahead = state.step, state.step + library.delay_steps(self._min_delay, state.dt) - 1
            passed = np.flatnonzero(steps <= first)
            sent = [(first, float(amps[passed[-1]]) if len(passed) else 0.0)]
            sent += [(int(k), float(a)) for k, a in zip(steps, amps) if first < k <= ahead]
            object.__setattr__(self, "_held", (state.segment_counter, state.step, sent))
        super().set_native_parameters(parameters)

    def _model_params(self) -> dict:
        params = super()._model_params()
        state = simulator.state
        segment, changed, sent = self.__dict__.get("_held", (None, 0, []))
        if segment != state.segment_counter or "times" not in params:
            return params
        times, amps = np.asarray(params["times"], float), np.asarray(params["amplitudes"], float)
        earliest = round(changed * state.dt + 2 * self._min_delay + state.dt, 9)   # pyNN.nest's first usable time
        early = np.flatnonzero(times <= earliest + 1e-9)
        if len(early):
            times, amps = np.r_[earliest, times[early[-1] + 1:]], amps[early[-1]:]
        d = library.delay_steps(self._min_delay, state.dt)      # the times step_switches puts at the sent steps
        return {**params, "times": np.r_[[(k - d) * state.dt + self._min_delay for k, _ in sent], times],
                "amplitudes": np.r_[[a for _, a in sent], amps]}

    def _on_reset(self):
        """A new trial: the schedule as given, from its start."""
        if self.__dict__.pop("_held", None) is not None:
            self._changed()

    def get_native_parameters(self):
        """The times (ms) from which the amplitudes act -- on the grid, not before min_delay + dt, of equal
        times the last -- and those amplitudes."""
        state = simulator.state
        steps, amps = library.step_switches(self._native["times"], self._native["amplitudes"], state.dt,
                                            self._min_delay)
        return ParameterSpace({"times": steps * state.dt, "amplitudes": amps})
