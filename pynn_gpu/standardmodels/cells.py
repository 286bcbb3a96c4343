"""Standard cell types: PyNN's names and defaults, translated onto the built-in codegen models.

Each class adds to PyNN's abstract cell only its translation table, the codegen model it runs,
and the checks its parameters must pass; the numerics live in ``pynn_gpu.codegen.library``.
"""
from copy import deepcopy

import numpy as np
from pyNN.errors import InvalidModelError, InvalidParameterValueError, NonExistentParameterError
from pyNN.parameters import ArrayParameter, ParameterSpace, Sequence
from pyNN.standardmodels import ModelNotAvailable, StandardModelType, build_translations, cells
from pyNN.standardmodels import receptors as _receptors

from ..codegen.library import composed, neurons
from ..codegen.library.timing import steps_ceil
from .validation import (FINITE, FINITE_NON_NEGATIVE, FINITE_POSITIVE, NON_NEGATIVE, POSITIVE, check_on_grid,
                         check_reset_below_threshold, check_values)


def refuse_non_values(where: str, values: dict):
    """None, strings and complex numbers are no parameter values (PyNN's lazy arrays fail on them with 'invalid
    base value for array' or a bare AssertionError)."""
    for name, value in values.items():
        if isinstance(value, (list, tuple, np.ndarray)):
            try:
                if np.asarray(value).dtype.kind in "biuf":      # numbers (a per-image input, say): nothing to look at
                    continue
            except ValueError:      # ragged: a list of sequences (spike times)
                pass
            items = np.asarray(value, dtype=object).ravel()
        else:
            items = [value]
        if any(v is None or isinstance(v, (str, bytes, complex)) for v in items):     # (numpy's complex too)
            raise InvalidParameterValueError(f"{where}: parameter '{name}' must be a number, an array, a "
                                             f"RandomDistribution or a function of position, not {value!r}")


def refuse_fractions(where: str, values: dict, defaults: dict):
    """A parameter whose default is a whole number (a Gamma source's alpha, a synapse's number of release sites)
    takes whole numbers: PyNN's integer parameter spaces would truncate 2.5 to 2 without a word."""
    for name, value in values.items():
        default = defaults.get(name)
        if not isinstance(default, (int, np.integer)) or isinstance(default, bool):
            continue
        try:
            numbers = np.asarray(value, float)
        except (TypeError, ValueError):       # a RandomDistribution or a function: drawn later
            continue
        if numbers.size and not np.all(numbers == np.round(numbers)):
            raise InvalidParameterValueError(f"{where}: parameter '{name}' must be a whole number (got {value!r})")


def refuse_bad_shapes(where: str, values: dict, schema: dict):
    """A number parameter takes one value, one per cell (1-D) or a distribution, not a table or a Sequence; a
    Sequence parameter (spike_times) one Sequence or one per cell, not a 2-D array (PyNN's lazy arrays fail on
    these with messages that name no parameter)."""
    for name, value in values.items():
        kind = schema.get(name)
        if kind in (float, int) and (isinstance(value, Sequence) or np.ndim(value) > 1):
            got = "a Sequence" if isinstance(value, Sequence) else f"an array of shape {np.shape(value)}"
            raise InvalidParameterValueError(f"{where}: parameter '{name}' takes a number, one per cell (a list or "
                                             f"1-D array) or a RandomDistribution, not {got}")
        if kind is Sequence and isinstance(value, np.ndarray) and value.ndim > 1:
            raise InvalidParameterValueError(
                f"{where}: parameter '{name}' takes a Sequence, or a list of Sequences (one per cell), not an array of "
                f"shape {value.shape}: write [Sequence(row) for row in array]")


#: What the parameters of PyNN's random distributions must satisfy (numpy draws some of the others silently,
#: uniform(20, 10) from [10, 20]): name -> [(rule, phrase)].
_DISTRIBUTION_RULES = {
    "uniform": [(lambda p: p["low"] <= p["high"], "low <= high")],
    "uniform_int": [(lambda p: p["low"] <= p["high"], "low <= high")],
    "normal": [(lambda p: p["sigma"] >= 0, "sigma >= 0")],
    "normal_clipped": [(lambda p: p["sigma"] >= 0, "sigma >= 0"), (lambda p: p["low"] <= p["high"], "low <= high")],
    "normal_clipped_to_boundary": [(lambda p: p["sigma"] >= 0, "sigma >= 0"),
                                   (lambda p: p["low"] <= p["high"], "low <= high")],
    "exponential": [(lambda p: p["beta"] > 0, "beta > 0")],
    "gamma": [(lambda p: p["k"] > 0 and p["theta"] > 0, "k > 0 and theta > 0")],
    "lognormal": [(lambda p: p["sigma"] >= 0, "sigma >= 0")],
    "poisson": [(lambda p: p["lambda_"] >= 0, "lambda_ >= 0")],
    "binomial": [(lambda p: 0 <= p["p"] <= 1 and p["n"] >= 0, "0 <= p <= 1 and n >= 0")],
}


def refuse_bad_distributions(where: str, values: dict):
    """A RandomDistribution whose parameters make no distribution (uniform with low > high, a negative sigma...)."""
    for name, value in values.items():
        rules = _DISTRIBUTION_RULES.get(getattr(value, "name", None), ()) if hasattr(value, "parameters") else ()
        for rule, phrase in rules:
            try:
                ok = rule(value.parameters)
            except (KeyError, TypeError):     # parameters PyNN itself will refuse, in its own words
                continue
            if not ok:
                raise InvalidParameterValueError(f"{where}: parameter '{name}': RandomDistribution('{value.name}', "
                                                 f"{dict(value.parameters)}) needs {phrase}")


def refuse_unknown_names(where: str, names, valid):
    """NonExistentParameterError naming the model and its owner (PyNN's parameter spaces know neither and say
    'valid parameters for unknown')."""
    valid = sorted(valid)
    for name in names:
        if name not in valid:
            raise NonExistentParameterError(name, where, valid)


def _identity(*names):
    return build_translations(*[(n, n) for n in names])


class GPUCellMixin:
    """What every pyNN.gpu cell type adds to PyNN's: the codegen model and parameter checks."""

    codegen_model = None
    parameter_checks: dict = {}

    def __init__(self, *args, **parameters):
        refuse_non_values(type(self).__name__, parameters)
        refuse_fractions(type(self).__name__, parameters, self.default_parameters)
        refuse_bad_shapes(type(self).__name__, parameters, self.get_schema())
        refuse_bad_distributions(type(self).__name__, parameters)
        super().__init__(*args, **parameters)

    #: Native parameters that must be whole numbers of timesteps (NEST refuses others).
    grid_parameters: tuple = ()

    def check(self, native: dict, where: str = ""):
        """Validate native (= model unit) parameter values; raises InvalidParameterValueError."""
        check_values(type(self).__name__, native, self.parameter_checks, where)
        check_reset_below_threshold(type(self).__name__, native, where)
        check_on_grid(type(self).__name__, native, self.grid_parameters, _timestep(), where)

    def get_native_names(self, *names):
        """As PyNN's, but an unknown name (``pop.get('foo')``) raises NonExistentParameterError, not KeyError."""
        unknown = [name for name in names if name not in self.translations]
        if unknown:
            raise NonExistentParameterError(unknown[0], type(self).__name__, self.get_parameter_names())
        return super().get_native_names(*names)

    def model_params(self, native: dict, dt: float) -> dict:
        """Parameters of the codegen model from evaluated native parameters (arrays)."""
        return {p: native[p] for p in self.codegen_model.params}

    def extra_globals(self, native: dict, dt: float) -> dict:
        """Per extra global array of the codegen model, one array per cell."""
        return {}

    def state_after_extra_globals(self, name: str, segments: list, step: int) -> dict:
        """State variables to write when extra global array ``name`` changes at ``step`` (between runs)."""
        return {}

    #: spike_times() reads the cells' parameters (a change must first settle the times of earlier spikes)
    spike_times_read_parameters = False

    def spike_times(self, native: dict, idx, steps, dt: float, precise: bool):
        """Times (ms) of spikes emitted by cells ``idx`` in ``steps``: the end of the step (on-grid), on the grid as
        the simulation time is (7 * 0.1 is 0.7, not 0.7000000000000001, which PyNN would drop past t_stop)."""
        return np.round((steps + 1) * dt, 9)


_IF_CHECKS = {"cm": FINITE_POSITIVE, "tau_m": FINITE_POSITIVE, "tau_refrac": NON_NEGATIVE, "tau_syn_E": FINITE_POSITIVE,
              "tau_syn_I": FINITE_POSITIVE, "v_rest": FINITE, "v_reset": FINITE, "v_thresh": FINITE, "i_offset": FINITE,
              "e_rev_E": FINITE, "e_rev_I": FINITE}


class IF_curr_exp(GPUCellMixin, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    recordable = ["spikes", "v", "isyn_exc", "isyn_inh"]
    translations = _identity(*cells.IF_curr_exp.default_parameters)
    codegen_model = neurons.IF_CURR_EXP
    parameter_checks = _IF_CHECKS


class IF_cond_exp(GPUCellMixin, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity(*cells.IF_cond_exp.default_parameters)
    codegen_model = neurons.IF_COND_EXP
    parameter_checks = _IF_CHECKS


class IF_curr_alpha(GPUCellMixin, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    recordable = ["spikes", "v", "isyn_exc", "isyn_inh"]
    translations = _identity(*cells.IF_curr_alpha.default_parameters)
    codegen_model = neurons.IF_CURR_ALPHA
    parameter_checks = _IF_CHECKS


class IF_curr_delta(GPUCellMixin, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(*cells.IF_curr_delta.default_parameters)
    codegen_model = neurons.IF_CURR_DELTA
    parameter_checks = _IF_CHECKS


class IF_cond_alpha(GPUCellMixin, cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = _identity(*cells.IF_cond_alpha.default_parameters)
    codegen_model = neurons.IF_COND_ALPHA
    parameter_checks = _IF_CHECKS


class IF_cond_exp_gsfa_grr(GPUCellMixin, cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = _identity(*cells.IF_cond_exp_gsfa_grr.default_parameters)
    codegen_model = neurons.IF_COND_EXP_GSFA_GRR
    parameter_checks = {**_IF_CHECKS, "tau_sfa": POSITIVE, "tau_rr": POSITIVE, "e_rev_sfa": FINITE,
                        "e_rev_rr": FINITE, "q_sfa": FINITE, "q_rr": FINITE}


class IF_facets_hardware1(GPUCellMixin, cells.IF_facets_hardware1):
    __doc__ = cells.IF_facets_hardware1.__doc__
    translations = _identity(*cells.IF_facets_hardware1.default_parameters)
    codegen_model = neurons.IF_FACETS_HARDWARE1
    parameter_checks = {"g_leak": FINITE_POSITIVE, "tau_syn_E": FINITE_POSITIVE, "tau_syn_I": FINITE_POSITIVE,
                        "v_reset": FINITE, "e_rev_I": FINITE, "v_rest": FINITE, "v_thresh": FINITE}


class _EIF(GPUCellMixin):
    parameter_checks = {"cm": FINITE_POSITIVE, "tau_refrac": NON_NEGATIVE, "v_spike": FINITE, "v_reset": FINITE,
                        "v_rest": FINITE, "tau_m": FINITE_POSITIVE, "i_offset": FINITE, "a": FINITE, "b": FINITE,
                        "delta_T": FINITE_NON_NEGATIVE, "tau_w": POSITIVE, "v_thresh": FINITE, "e_rev_E": FINITE,
                        "tau_syn_E": FINITE_POSITIVE, "e_rev_I": FINITE, "tau_syn_I": FINITE_POSITIVE}

    def check(self, native: dict, where: str = ""):
        """NEST's rules for aeif: v_reset < v_spike, v_spike >= v_thresh, and no overflow of the exponential
        term at the spike peak."""
        name = type(self).__name__
        check_values(name, native, self.parameter_checks, where)
        check_reset_below_threshold(name, native, where, reset="v_reset", threshold="v_spike")
        if all(k in native for k in ("v_spike", "v_thresh", "delta_T")):
            v_spike, v_thresh, delta_t = np.broadcast_arrays(*(np.asarray(native[k], float)
                                                               for k in ("v_spike", "v_thresh", "delta_T")))
            low = v_spike < v_thresh
            if np.any(low):
                raise InvalidParameterValueError(
                    f"{name}{where}: parameter 'v_spike' must be >= 'v_thresh' "
                    f"(got v_spike={v_spike[low].flat[0]}, v_thresh={v_thresh[low].flat[0]})")
            with np.errstate(divide="ignore", invalid="ignore"):
                bad = (delta_t > 0) & ((v_spike - v_thresh) / delta_t >= np.log(np.finfo(float).max / 1e20))
            if np.any(bad):
                raise InvalidParameterValueError(
                    f"{name}{where}: (v_spike - v_thresh) / delta_T is too large: exp() would overflow at the "
                    "spike peak; increase 'delta_T' or lower 'v_spike'")


class EIF_cond_exp_isfa_ista(_EIF, cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = _identity(*cells.EIF_cond_exp_isfa_ista.default_parameters)
    codegen_model = neurons.EIF_COND_EXP_ISFA_ISTA


class EIF_cond_alpha_isfa_ista(_EIF, cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = _identity(*cells.EIF_cond_alpha_isfa_ista.default_parameters)
    codegen_model = neurons.EIF_COND_ALPHA_ISFA_ISTA


class HH_cond_exp(GPUCellMixin, cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    recordable = ["spikes", "v", "gsyn_exc", "gsyn_inh", "m", "h", "n"]
    receptor_types = ("excitatory", "inhibitory")   # no gap junctions ('source_section.gap')
    translations = _identity(*cells.HH_cond_exp.default_parameters)
    codegen_model = neurons.HH_COND_EXP
    parameter_checks = {"gbar_Na": FINITE_NON_NEGATIVE, "gbar_K": FINITE_NON_NEGATIVE,
                        "g_leak": FINITE_NON_NEGATIVE, "cm": FINITE_POSITIVE, "v_offset": FINITE, "e_rev_Na": FINITE,
                        "e_rev_K": FINITE, "e_rev_leak": FINITE, "e_rev_E": FINITE, "e_rev_I": FINITE,
                        "tau_syn_E": FINITE_POSITIVE, "tau_syn_I": FINITE_POSITIVE, "i_offset": FINITE}


class Izhikevich(GPUCellMixin, cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    translations = _identity(*cells.Izhikevich.default_parameters)
    codegen_model = neurons.IZHIKEVICH
    parameter_checks = {"a": FINITE, "b": FINITE, "c": FINITE, "d": FINITE, "i_offset": FINITE}


def _components(value) -> list:
    """The per-cell component arrays of an ArrayParameter-valued parameter (evaluated or lazy)."""
    base = getattr(value, "base_value", value)
    if isinstance(base, ArrayParameter):
        return [np.asarray(base.value, float)]
    cells_ = np.atleast_1d(np.asarray(base, dtype=object)) if not isinstance(base, (list, tuple)) else base
    return [np.asarray(getattr(c, "value", c), float).ravel() for c in cells_]


class GIF_cond_exp(GPUCellMixin, cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__
    recordable = ["spikes", "v", "gsyn_exc", "gsyn_inh", "i_eta", "v_t"]
    translations = _identity(*cells.GIF_cond_exp.default_parameters)
    parameter_checks = {**_IF_CHECKS, "delta_v": POSITIVE, "v_t_star": FINITE, "lambda0": FINITE_NON_NEGATIVE}
    #: array parameters: (time constants, amplitudes) per component kind
    _ARRAYS = {"eta": ("tau_eta", "a_eta"), "gamma": ("tau_gamma", "a_gamma")}

    def __init__(self, **parameters):
        for name in (n for pair in self._ARRAYS.values() for n in pair):
            value = parameters.get(name)
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                raise InvalidParameterValueError(
                    f"GIF_cond_exp: '{name}' takes the values of its components, a Sequence or a list such as "
                    f"[10.0, 50.0] (got the number {value})")
        super().__init__(**parameters)

    def _n_components(self, kind, values=None) -> int:
        """The number of ``kind`` components; every cell must have as many, for time constants and amplitudes."""
        lengths = set()
        for name in self._ARRAYS[kind]:
            lengths |= {len(c) for c in _components(values[name] if values else self.parameter_space[name])}
        if len(lengths) != 1:
            tau, amp = self._ARRAYS[kind]
            raise InvalidParameterValueError(
                f"GIF_cond_exp: '{tau}' and '{amp}' must have the same number of components in every cell "
                f"(got lengths {sorted(lengths)})")
        return lengths.pop()

    @property
    def codegen_model(self):
        return neurons.gif_cond_exp(self._n_components("eta"), self._n_components("gamma"))

    def check(self, native: dict, where: str = ""):
        """Scalars as for the IF models; the time constants of every component must be > 0."""
        check_values("GIF_cond_exp", {k: v for k, v in native.items() if k not in ("tau_eta", "a_eta", "tau_gamma",
                                                                                  "a_gamma")},
                     self.parameter_checks, where)
        for kind, (tau, amp) in self._ARRAYS.items():
            if tau in native and amp in native:
                self._n_components(kind, native)
                for name, ok in ((tau, lambda x: x > 0), (amp, np.isfinite)):
                    for k, c in enumerate(_components(native[name])):
                        if not np.all(ok(c)):
                            raise InvalidParameterValueError(
                                f"GIF_cond_exp{where}: parameter '{name}' of cell {k} must hold "
                                f"{'time constants > 0 ms' if name == tau else 'finite amplitudes'} (got {c})")

    def model_params(self, native: dict, dt: float) -> dict:
        """Scalars as they are; each array parameter split into one parameter per component (``tau_eta_0``...).
        The number of components is fixed when the population is created."""
        model = self.codegen_model
        out = {p: native[p] for p in model.params if p in native}
        for kind, names in self._ARRAYS.items():
            n = sum(1 for p in model.params if p.startswith(f"tau_{kind}_"))
            for name in names:
                comps = _components(native[name])
                if any(len(c) != n for c in comps):
                    raise InvalidParameterValueError(
                        f"GIF_cond_exp: the number of '{name}' components is fixed when the population is created "
                        f"({n}); got {sorted({len(c) for c in comps})}")
                stacked = np.array(comps).reshape(len(comps), n)
                for k in range(n):
                    out[f"{name}_{k}"] = stacked[:, k] if len(comps) > 1 else stacked[0, k]
        return out


class SpikeSourcePoisson(GPUCellMixin, cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity("rate", "start", "duration")
    codegen_model = neurons.SPIKE_SOURCE_POISSON
    grid_parameters = ("start", "duration")
    parameter_checks = {"rate": FINITE_NON_NEGATIVE, "start": FINITE_NON_NEGATIVE, "duration": NON_NEGATIVE}
    #: State written when parameters change: the step of the next spike is drawn again and the counts drawn
    #: ahead are dropped (see SPIKE_SOURCE_POISSON)
    state_after_change = neurons.POISSON_REDRAW

    def check(self, native: dict, where: str = ""):
        """As the base check, and at most POISSON_MAX_MEAN_COUNT spikes per step on average (a step's count is
        a byte)."""
        super().check(native, where)
        if "rate" in native:
            dt = _timestep()
            rate = np.asarray(native["rate"], float)
            bad = rate * dt / 1000.0 > neurons.POISSON_MAX_MEAN_COUNT
            if np.any(bad):
                worst = rate[bad].flat[0]
                raise InvalidParameterValueError(
                    f"SpikeSourcePoisson{where}: 'rate' {worst:g} Hz gives {worst * dt / 1000:g} spikes per step of "
                    f"{dt:g} ms on average; at most {neurons.POISSON_MAX_MEAN_COUNT:g} (rate up to "
                    f"{neurons.POISSON_MAX_MEAN_COUNT * 1000 / dt:g} Hz): use several sources or a smaller timestep")


class SpikeSourcePoissonRefractory(GPUCellMixin, cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = _identity("rate", "tau_refrac", "start", "duration")
    codegen_model = neurons.SPIKE_SOURCE_POISSON_REFRACTORY
    state_after_change = neurons.REDRAW
    grid_parameters = ("start", "duration")
    parameter_checks = {"rate": FINITE_NON_NEGATIVE, "tau_refrac": FINITE_NON_NEGATIVE,
                        "start": FINITE_NON_NEGATIVE, "duration": NON_NEGATIVE}

    def check(self, native: dict, where: str = ""):
        """As the base check, and the dead time must be shorter than the mean interval: rate * tau_refrac < 1000."""
        super().check(native, where)
        if "rate" in native and "tau_refrac" in native:
            rate, tau = np.broadcast_arrays(np.asarray(native["rate"], float), np.asarray(native["tau_refrac"], float))
            bad = rate * tau >= 1000.0
            if np.any(bad):
                raise InvalidParameterValueError(
                    f"SpikeSourcePoissonRefractory{where}: 'tau_refrac' must be shorter than the mean interval "
                    f"1000/rate ms (got rate={rate[bad].flat[0]} Hz, tau_refrac={tau[bad].flat[0]} ms)")
            # at most one spike per step: the free part of the mean interval must last a step at least
            dt = _timestep()
            bad = (rate > 0) & (1000.0 / np.maximum(rate, 1e-300) - tau < dt * (1 - 1e-12))
            if np.any(bad):
                raise InvalidParameterValueError(
                    f"SpikeSourcePoissonRefractory{where}: 1000/rate - tau_refrac must be at least the timestep "
                    f"{dt} ms, as the process fires at most once per step (got rate={rate[bad].flat[0]} Hz, "
                    f"tau_refrac={tau[bad].flat[0]} ms)")


class SpikeSourceGamma(GPUCellMixin, cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = _identity("alpha", "beta", "start", "duration")
    codegen_model = neurons.SPIKE_SOURCE_GAMMA
    state_after_change = neurons.REDRAW

    def check(self, native: dict, where: str = ""):
        """As the base check, and beta at most 1000/dt Hz: the process moves at most one state per step."""
        super().check(native, where)
        if "beta" in native:
            beta, dt = np.asarray(native["beta"], float), _timestep()
            bad = beta * dt / 1000.0 > 1.0 + 1e-12
            if np.any(bad):
                raise InvalidParameterValueError(
                    f"SpikeSourceGamma{where}: 'beta' must be at most 1000/dt = {1000.0 / dt:g} Hz, as the process "
                    f"moves at most one state per step (got {beta[bad].flat[0]} Hz)")
    grid_parameters = ("start", "duration")
    parameter_checks = {"alpha": (lambda x: np.isfinite(x) & (x >= 1),
                                  "must be an integer >= 1 (PyNN stores the gamma shape as an integer)"),
                        "beta": FINITE_NON_NEGATIVE, "start": FINITE_NON_NEGATIVE, "duration": NON_NEGATIVE}


def _timestep() -> float:
    from ..simulator import state
    return state.dt


def _times_of(seq) -> np.ndarray:
    """One cell's spike_times (a PyNN Sequence or a list) as an array of ms."""
    return np.asarray(seq.value if isinstance(seq, Sequence) else seq, dtype=float).ravel()


class SpikeSourceArray(GPUCellMixin, cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity("spike_times")
    codegen_model = neurons.SPIKE_SOURCE_ARRAY
    spike_times_read_parameters = True

    def check(self, native: dict, where: str = ""):
        """Each cell's spike_times must be finite, >= 0 and sorted (PyNN's issue 511: unsorted is an error)."""
        for k, seq in enumerate(np.atleast_1d(native.get("spike_times", []))):
            try:
                times = _times_of(seq)
            except (TypeError, ValueError):
                raise InvalidParameterValueError(f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} "
                                                 f"must be a sequence of numbers (ms), got {seq!r}") from None
            bad = ~np.isfinite(times) | (times < 0)
            if bad.any():
                raise InvalidParameterValueError(
                    f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} must hold finite times >= 0 ms "
                    f"(got {times[bad][0]} at position {int(np.flatnonzero(bad)[0])})")
            if len(times) and times[0] == 0.0:     # (its step would end at 0; pyNN.nest refuses it too)
                raise InvalidParameterValueError(
                    f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} holds a spike at 0 ms, which no "
                    "step can emit: a spike is stamped at the end of its step, the first at dt (pyNN.nest refuses it "
                    "too)")
            unsorted = np.diff(times) < 0
            if unsorted.any():
                i = int(np.flatnonzero(unsorted)[0])
                raise InvalidParameterValueError(
                    f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} must be sorted in increasing "
                    f"order (got {times[i]} before {times[i + 1]} at position {i})")

    def model_params(self, native, dt):
        return {}

    def spike_times(self, native, idx, steps, dt, precise):
        """With ``precise`` (PyNN's default spike_precision='off_grid') the given times themselves, as NEST's
        precise parrots report them (the n-th spike of a step the n-th time given in it); a spike no longer in the
        list keeps its grid time.  One sorted pass over all cells: (cell, step) keys of the emitted spikes are
        looked up among those of the given times."""
        times = np.round((steps + 1) * dt, 9)
        if not precise or len(idx) == 0:
            return times
        cells = np.unique(idx)
        given = [_times_of(native["spike_times"][k]) for k in cells]
        given_cell = np.repeat(np.arange(len(cells)), [len(g) for g in given])
        given = np.concatenate(given) if given else np.zeros(0)
        given_steps = steps_ceil(given, dt) - 1
        span = int(max(given_steps.max(initial=0), steps.max())) + 2
        given_keys = given_cell * span + given_steps          # sorted: cells ascending, times sorted within
        order = np.lexsort((steps, idx))
        keys = np.searchsorted(cells, idx[order]) * span + steps[order]
        rank = np.arange(len(keys)) - np.searchsorted(keys, keys, side="left")   # among spikes of its step
        pos = np.searchsorted(given_keys, keys, side="left") + rank
        ok = pos < len(given_keys)
        ok[ok] = given_keys[pos[ok]] == keys[ok]
        times[order[ok]] = given[pos[ok]]
        return times

    def extra_globals(self, native, dt):
        """Each spike at t is emitted in the step that ends at t rounded up to the grid (NEST's on-grid rule)."""
        return {"spike_steps": [steps_ceil(_times_of(seq), dt) - 1 for seq in np.atleast_1d(native["spike_times"])]}

    def state_after_extra_globals(self, name, segments, step):
        """New spike times between runs: each cell continues from its first spike not yet due."""
        return {"next_spike": np.asarray([np.searchsorted(seg, step) for seg in segments], np.int32)}


class _NotAvailable(ModelNotAvailable):
    """A PyNN standard model pyNN.gpu cannot run: creating one raises NotImplementedError with the reason."""

    reason = ""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"pyNN.gpu does not support the {type(self).__name__} model: {self.reason}")


class SpikeSourceInhGamma(_NotAvailable):
    __doc__ = cells.SpikeSourceInhGamma.__doc__
    reason = ("the inhomogeneous gamma process (time-binned a, b sequences) is not implemented; NEST 3 has no "
              "inh_gamma_generator either, so pyNN.nest cannot run it and there is no reference to match")


# ---- composed cells: PyNN's PointNeuron(neuron, **receptors) ------------------------------------------------------


class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = _identity(*cells.LIF.default_parameters)
    parameter_checks = {"cm": FINITE_POSITIVE, "tau_m": FINITE_POSITIVE, "tau_refrac": NON_NEGATIVE, "v_rest": FINITE,
                        "v_reset": FINITE, "v_thresh": FINITE, "i_offset": FINITE}


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = _identity(*cells.AdExp.default_parameters)
    parameter_checks = {k: v for k, v in _EIF.parameter_checks.items() if k in cells.AdExp.default_parameters}


class CurrExpPostSynapticResponse(_receptors.CurrExpPostSynapticResponse):
    __doc__ = _receptors.CurrExpPostSynapticResponse.__doc__
    translations = _identity(*_receptors.CurrExpPostSynapticResponse.default_parameters)
    recordable = ["isyn"]


class CondExpPostSynapticResponse(_receptors.CondExpPostSynapticResponse):
    __doc__ = _receptors.CondExpPostSynapticResponse.__doc__
    translations = _identity(*_receptors.CondExpPostSynapticResponse.default_parameters)
    recordable = ["gsyn"]


class CondAlphaPostSynapticResponse(_receptors.CondAlphaPostSynapticResponse):
    __doc__ = _receptors.CondAlphaPostSynapticResponse.__doc__
    translations = _identity(*_receptors.CondAlphaPostSynapticResponse.default_parameters)
    recordable = ["gsyn"]


class CondBetaPostSynapticResponse(_receptors.CondBetaPostSynapticResponse):
    __doc__ = _receptors.CondBetaPostSynapticResponse.__doc__
    translations = _identity(*_receptors.CondBetaPostSynapticResponse.default_parameters)
    recordable = ["gsyn"]


ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse

#: PyNN component classes -> the kinds the composed-model factory knows (pyNN's own classes are accepted too)
_NEURON_KINDS = ((cells.LIF, "LIF"), (cells.AdExp, "AdExp"))
_RECEPTOR_KINDS = ((_receptors.CurrExpPostSynapticResponse, "CurrExp"),
                   (_receptors.CondExpPostSynapticResponse, "CondExp"),
                   (_receptors.CondAlphaPostSynapticResponse, "CondAlpha"),
                   (_receptors.CondBetaPostSynapticResponse, "CondBeta"))
_RECEPTOR_CHECKS = {"tau_syn": FINITE_POSITIVE, "tau_rise": FINITE_POSITIVE, "tau_decay": FINITE_POSITIVE,
                    "e_syn": FINITE}


def _kind(component, kinds, what):
    for cls, kind in kinds:
        if isinstance(component, cls):
            return kind
    raise NotImplementedError(
        f"pyNN.gpu's PointNeuron does not support the {what} component {type(component).__name__}; supported: "
        + ", ".join(cls.__name__ for cls, _ in kinds))


def _getter(name):
    return lambda **p: p[name]


class PointNeuron(GPUCellMixin, cells.PointNeuron):
    """A point neuron composed of a neuron component (``LIF`` or ``AdExp``) and any number of labelled
    postsynaptic receptors (``CurrExpPostSynapticResponse``, ``CondExpPostSynapticResponse``/``ExpPSR``,
    ``CondAlphaPostSynapticResponse``/``AlphaPSR``, ``CondBetaPostSynapticResponse``/``BetaPSR``), e.g.::

        PointNeuron(AdExp(tau_m=10.0), AMPA=AlphaPSR(tau_syn=1.0), GABAA=AlphaPSR(tau_syn=1.5, e_syn=-70.0))

    Receptor parameters and state variables are named ``"<label>.<name>"`` (``"AMPA.tau_syn"``,
    ``"AMPA.gsyn"``) in ``get``/``set``/``initialize``/``record``; projections name the label as their
    ``receptor_type``.  Numerics: NEST's multisynapse models (see :mod:`pynn_gpu.codegen.library.composed`).
    Receptor kinds cannot be mixed in one cell; the receptors' ``locations`` parameter has no meaning for a point
    neuron and is ignored, as in pyNN.nest.
    """

    def __init__(self, neuron, **receptors):
        neuron_kind = _kind(neuron, _NEURON_KINDS, "neuron")
        kinds = {label: _kind(psr, _RECEPTOR_KINDS, "receptor") for label, psr in receptors.items()}
        if len({composed.RECEPTORS[k][2] for k in kinds.values()}) > 1:
            raise InvalidModelError("PointNeuron: cannot mix conductance-based and current-based receptors in one "
                                    f"cell (got {', '.join(f'{k}={v}' for k, v in sorted(kinds.items()))})")
        super().__init__(neuron, **receptors)
        self._ids = composed.receptor_identifiers(self.receptor_types)
        self.codegen_model = composed.point_neuron(neuron_kind, tuple((self._ids[label], kinds[label])
                                                                      for label in self.receptor_types))
        # a flat view: the neuron's names, then "<label>.<parameter>" -> native "<identifier>_<parameter>"
        self.default_parameters = dict(neuron.default_parameters)
        self.translations = _identity(*neuron.default_parameters)
        self._native = {}
        self._variables = {}
        checks = {k: v for k, v in (LIF if neuron_kind == "LIF" else AdExp).parameter_checks.items()}
        for label in self.receptor_types:
            psr, ident = receptors[label], self._ids[label]
            for p, default in psr.default_parameters.items():
                if p == "locations":
                    continue
                name, native = f"{label}.{p}", f"{ident}_{p}"
                self.default_parameters[name] = default
                self.translations[name] = {"translated_name": native, "forward_transform": _getter(name),
                                           "reverse_transform": _getter(native), "type": "simple"}
                self._native[name] = native
                checks[name] = _RECEPTOR_CHECKS[p]
            for var in psr.default_initial_values:
                self._variables[f"{label}.{var}"] = f"{ident}_{var}"
        self.parameter_checks = checks
        self._neuron_kind = neuron_kind

    def get_parameter_names(self):
        return list(self.default_parameters)

    @property
    def recordable(self):
        """The neuron's recordables, then each receptor's state variable as "<label>.<variable>"."""
        return list(self.neuron.recordable) + list(self._variables)

    @property
    def conductance_based(self):
        return all(psr.conductance_based for psr in self.post_synaptic_receptors.values())

    # every translation is one-to-one: use the flat table, not the components'
    simple_parameters = StandardModelType.simple_parameters
    scaled_parameters = StandardModelType.scaled_parameters
    computed_parameters = StandardModelType.computed_parameters
    computed_parameters_include = StandardModelType.computed_parameters_include

    @property
    def native_parameters(self):
        """The neuron's parameters and every receptor's as ``<identifier>_<parameter>`` (no ``locations``)."""
        values = {name: value for name, value in self.neuron.parameter_space.items()}
        for label, psr in self.post_synaptic_receptors.items():
            for p, value in psr.parameter_space.items():
                if p != "locations":
                    values[f"{self._ids[label]}_{p}"] = value
        ps = ParameterSpace({}, shape=self.neuron.parameter_space.shape)
        ps._parameters.update(deepcopy(values))      # as PyNN's translate(): the components stay untouched
        return ps

    def model_receptor(self, label: str) -> str:
        """The codegen model's name of receptor ``label`` (the label itself when it is an identifier)."""
        return self._ids.get(label, label)

    def model_variable(self, name: str) -> str:
        """The codegen model's name of PyNN state variable ``name`` ("AMPA.gsyn" -> "AMPA_gsyn")."""
        return self._variables.get(name, name)

    def check(self, native: dict, where: str = ""):
        """Each value under its PyNN name (parameter_checks), the neuron's rules (v_reset below v_thresh; for
        AdExp as EIF_*: v_reset < v_spike, v_spike >= v_thresh, no overflow at the peak) and, for AdExp with
        beta receptors, tau_rise <= tau_decay (aeif_cond_beta_multisynapse)."""
        pynn = {k: native[v] for k, v in self._native.items() if v in native}
        pynn.update({k: v for k, v in native.items() if k in self.neuron.default_parameters})
        check_values("PointNeuron", pynn, self.parameter_checks, where)
        if self._neuron_kind == "LIF":
            check_reset_below_threshold("PointNeuron", pynn, where)
        else:
            _EIF.check(self, {k: v for k, v in pynn.items() if "." not in k}, where)
            for label in self.receptor_types:
                rise, decay = f"{label}.tau_rise", f"{label}.tau_decay"
                if rise in pynn and decay in pynn:
                    r, d = np.broadcast_arrays(np.asarray(pynn[rise], float), np.asarray(pynn[decay], float))
                    bad = r > d
                    if np.any(bad):
                        raise InvalidParameterValueError(
                            f"PointNeuron{where}: parameter '{rise}' must be <= '{decay}' with AdExp, as in NEST's "
                            f"aeif_cond_beta_multisynapse (got {r[bad].flat[0]} > {d[bad].flat[0]})")
