"""Standard current sources: parameters on the device, changeable between runs without recompiling."""
import numpy as np
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import StandardCurrentSource, build_translations, electrodes

from ..codegen.library import current_sources as library
from ..codegen.network import CurrentSourceGroup
from .. import simulator
from .validation import FINITE, FINITE_NON_NEGATIVE, NON_NEGATIVE, check_start_before_stop, check_values


class GPUCurrentSource(StandardCurrentSource):
    """A current source injected into any cells; its parameters live in a device buffer."""

    codegen_model = None
    parameter_checks: dict = {}

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_targets", [])     # list of Population/ID collections
        object.__setattr__(self, "_recording", False)
        super().__init__(**parameters)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        ps.update(**parameters)
        self.set_native_parameters(self.translate(ps))   # validates: a rejected source is never registered
        simulator.state.current_sources.append(self)

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native), shape=(1,))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        values = {name: float(value) for name, value in parameters.items()}
        self.check({**self._native, **values})
        self._native.update(values)
        sim = simulator.state.simulation
        if sim is not None and not simulator.state.structure_changed and self._targets:
            spec = next((s for s in sim.layout.sources if s.source.name == self._name), None)
            if spec is not None:
                spec.source.params.update(self._model_params())
                sim.set_source(spec.index)

    def check(self, native: dict):
        """Validate native parameter values (all of them, old and new); raises InvalidParameterValueError."""
        check_values(type(self).__name__, native, self.parameter_checks, self._where())

    def _where(self):
        """' DCSource#0' once registered, for error messages."""
        registered = any(s is self for s in simulator.state.current_sources)
        return f" '{self._name}'" if registered else ""

    @property
    def _name(self):
        return f"{type(self).__name__}#{simulator.state.current_sources.index(self)}"

    def inject_into(self, cells):
        """Inject into a Population, PopulationView, Assembly or a list of cell ids."""
        for cell in cells:
            if not cell.celltype.injectable:
                raise TypeError(f"cannot inject current into {cell.celltype.__class__.__name__} cell {int(cell)}: "
                                "spike sources are not injectable")
        self._targets.extend(list(cells))
        simulator.state.mark_changed()

    def _effective_start(self, start):
        """NEST's timing: a generator acts from max(start, min_delay + dt) (reference/numerics.md section 4)."""
        state = simulator.state
        return max(start, state.min_delay + state.dt)

    def _model_params(self) -> dict:
        params = dict(self._native)
        params["start"] = self._effective_start(params["start"])
        return params

    def _current_source_group(self):
        if not self._targets:
            return None
        by_pop = {}
        for cell in self._targets:
            pop = cell.parent
            by_pop.setdefault(pop, []).append(int(cell) - int(pop.first_id))
        targets = [(pop._group, np.unique(idx)) for pop, idx in by_pop.items()]
        return CurrentSourceGroup(self._name, self.codegen_model, self._model_params(), targets)

    def record(self):
        object.__setattr__(self, "_recording", True)

    def _get_data(self):
        """The injected current, sampled at every step: sample t is the current applied on [t, t + dt)."""
        state = simulator.state
        t = np.arange(state.step + 1) * state.dt
        return t, self._current_at(t)


class DCSource(GPUCurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))
    codegen_model = library.DC
    parameter_checks = {"amplitude": FINITE, "start": FINITE_NON_NEGATIVE, "stop": NON_NEGATIVE}

    def check(self, native: dict):
        super().check(native)
        check_start_before_stop(type(self).__name__, native, self._where())

    def _current_at(self, t):
        p = self._model_params()
        eps = 1e-9
        return np.where((t >= p["start"] - eps) & (t < p["stop"] - eps), p["amplitude"], 0.0)
