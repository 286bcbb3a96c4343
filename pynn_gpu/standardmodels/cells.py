"""Standard cell types: PyNN's names and defaults, translated onto the built-in codegen models.

Each class adds to PyNN's abstract cell only its translation table, the codegen model it runs,
and the checks its parameters must pass; the numerics live in ``pynn_gpu.codegen.library``.
"""
import numpy as np
from pyNN.errors import InvalidParameterValueError, NonExistentParameterError
from pyNN.parameters import Sequence
from pyNN.standardmodels import build_translations, cells

from ..codegen.library import neurons
from ..codegen.library.timing import steps_ceil
from .validation import (FINITE, FINITE_NON_NEGATIVE, NON_NEGATIVE, POSITIVE, check_reset_below_threshold,
                         check_values)


def _identity(*names):
    return build_translations(*[(n, n) for n in names])


class GPUCellMixin:
    """What every pyNN.gpu cell type adds to PyNN's: the codegen model and parameter checks."""

    codegen_model = None
    parameter_checks: dict = {}

    def check(self, native: dict, where: str = ""):
        """Validate native (= model unit) parameter values; raises InvalidParameterValueError."""
        check_values(type(self).__name__, native, self.parameter_checks, where)
        check_reset_below_threshold(type(self).__name__, native, where)

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
        return {}

    def spike_times(self, native: dict, idx, steps, dt: float, precise: bool):
        """Times (ms) of spikes emitted by cells ``idx`` in ``steps``: the end of the step (on-grid)."""
        return (steps + 1) * dt


_IF_CHECKS = {"cm": POSITIVE, "tau_m": POSITIVE, "tau_refrac": NON_NEGATIVE, "tau_syn_E": POSITIVE,
              "tau_syn_I": POSITIVE, "v_rest": FINITE, "v_reset": FINITE, "v_thresh": FINITE, "i_offset": FINITE,
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


class SpikeSourcePoisson(GPUCellMixin, cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity("rate", "start", "duration")
    codegen_model = neurons.SPIKE_SOURCE_POISSON
    parameter_checks = {"rate": FINITE_NON_NEGATIVE, "start": FINITE_NON_NEGATIVE, "duration": NON_NEGATIVE}


class SpikeSourceArray(GPUCellMixin, cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity("spike_times")
    codegen_model = neurons.SPIKE_SOURCE_ARRAY

    def check(self, native: dict, where: str = ""):
        """Each cell's spike_times must be finite, >= 0 and sorted (PyNN's issue 511: unsorted is an error)."""
        for k, seq in enumerate(np.atleast_1d(native.get("spike_times", []))):
            try:
                times = np.asarray(seq.value if isinstance(seq, Sequence) else seq, dtype=float).ravel()
            except (TypeError, ValueError):
                raise InvalidParameterValueError(f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} "
                                                 f"must be a sequence of numbers (ms), got {seq!r}") from None
            bad = ~np.isfinite(times) | (times < 0)
            if bad.any():
                raise InvalidParameterValueError(
                    f"SpikeSourceArray{where}: parameter 'spike_times' of cell {k} must hold finite times >= 0 ms "
                    f"(got {times[bad][0]} at position {int(np.flatnonzero(bad)[0])})")
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
        precise parrots report them; a spike no longer in the list keeps its grid time."""
        times = (steps + 1) * dt
        if not precise:
            return times
        for k in np.unique(idx):
            seq = native["spike_times"][k]
            given = np.asarray(seq.value if isinstance(seq, Sequence) else seq, dtype=float)
            given_steps = steps_ceil(given, dt) - 1
            sel = np.nonzero(idx == k)[0]
            pos = np.searchsorted(given_steps, steps[sel], side="right") - 1
            ok = (pos >= 0) & (given_steps[np.maximum(pos, 0)] == steps[sel])
            times[sel[ok]] = given[pos[ok]]
        return times

    def extra_globals(self, native, dt):
        """Each spike at t is emitted in the step that ends at t rounded up to the grid (NEST's on-grid rule)."""
        steps = []
        for seq in np.atleast_1d(native["spike_times"]):
            times = np.asarray(seq.value if isinstance(seq, Sequence) else seq, dtype=float)
            steps.append(steps_ceil(times, dt) - 1)
        return {"spike_steps": steps}
