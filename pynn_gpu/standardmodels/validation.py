"""Checks on parameter values, applied when a population or source is created and on every ``set``.

A check is a predicate over a numpy array plus the phrase that says what is allowed; a failure
raises PyNN's ``InvalidParameterValueError`` naming the model, where it is (population or source),
the parameter, the rule and the first offending value.
"""
import numpy as np
from pyNN.errors import InvalidParameterValueError

from ..codegen.library.timing import on_grid

POSITIVE = (lambda x: x > 0, "must be > 0")
NON_NEGATIVE = (lambda x: x >= 0, "must be >= 0")
FINITE = (lambda x: np.isfinite(x), "must be a finite number")
FINITE_NON_NEGATIVE = (lambda x: np.isfinite(x) & (x >= 0), "must be a finite number >= 0")
#: Capacitances and the time constants the propagators divide by: an infinite one gives NaN (NEST's too, silently)
FINITE_POSITIVE = (lambda x: np.isfinite(x) & (x > 0), "must be a finite number > 0")


#: The largest magnitude the device holds in single precision: beyond it a value would become inf there.
SINGLE_MAX = float(np.finfo(np.float32).max)
BEYOND_SINGLE = "is too large for single precision (at most 3.4e38 in magnitude; setup(precision='double') holds it)"


def beyond_single(arr: np.ndarray) -> np.ndarray:
    """Where finite values of ``arr`` would overflow the device's single precision (none in double)."""
    from ..simulator import state
    if state.precision == "double":
        return np.zeros(np.shape(arr), bool)
    return np.isfinite(arr) & (np.abs(arr) > SINGLE_MAX)


def _cell(arr: np.ndarray, bad: np.ndarray):
    """(first offending value, ' for cell k' or '' for a scalar or a single cell)."""
    if arr.ndim == 0:
        return float(arr), ""
    index = int(np.flatnonzero(bad)[0])
    return arr.flat[index], (f" for cell {index}" if arr.size > 1 else "")


def check_values(model_name: str, values: dict, checks: dict, where: str = ""):
    """Raise for NaN (anywhere) or any value that fails its parameter's check."""
    for name, value in values.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue   # sequences (spike times) are checked by their cell type
        nan = np.isnan(arr)
        if nan.any():
            raise InvalidParameterValueError(
                f"{model_name}{where}: parameter '{name}' is NaN{_cell(arr, nan)[1]}; a number is required")
        huge = beyond_single(arr)
        if huge.any():
            value, cell = _cell(arr, huge)
            raise InvalidParameterValueError(f"{model_name}{where}: parameter '{name}' {BEYOND_SINGLE} (got "
                                             f"{value}{cell})")
        if name in checks:
            ok, phrase = checks[name]
            bad = ~np.asarray(ok(arr), dtype=bool)
            if np.any(bad):
                value, cell = _cell(arr, bad)
                raise InvalidParameterValueError(
                    f"{model_name}{where}: parameter '{name}' {phrase} (got {value}{cell})")


def check_reset_below_threshold(model_name: str, values: dict, where: str = "", reset="v_reset",
                                threshold="v_thresh"):
    """Raise if any cell's reset potential is not strictly below its threshold (NEST's rule)."""
    if reset in values and threshold in values:
        r, th = np.broadcast_arrays(np.asarray(values[reset], float), np.asarray(values[threshold], float))
        bad = r >= th
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0]) if bad.ndim else 0
            cell = f" for cell {k}" if bad.size > 1 else ""
            raise InvalidParameterValueError(
                f"{model_name}{where}: parameter '{reset}' must be below '{threshold}' "
                f"(got {reset}={r.flat[k]}, {threshold}={th.flat[k]}{cell})")


def check_start_before_stop(model_name: str, values: dict, where: str = "", start="start", stop="stop"):
    """Raise if ``stop`` < ``start`` (NEST: 'stop >= start required')."""
    if start in values and stop in values:
        a, b = float(np.min(values[start])), float(np.max(values[stop]))
        if b < a:
            raise InvalidParameterValueError(
                f"{model_name}{where}: parameter '{stop}' must be >= '{start}' (got {start}={a}, {stop}={b})")


def check_on_grid(model_name: str, values: dict, names, dt: float, where: str = ""):
    """Raise for a parameter of ``names`` (ms) that is not a whole number of timesteps, as NEST refuses them."""
    for name in names:
        if name in values and not on_grid(values[name], dt):
            arr = np.atleast_1d(np.asarray(values[name], float))
            bad = arr[[not on_grid(x, dt) for x in arr]][0]
            raise InvalidParameterValueError(f"{model_name}{where}: parameter '{name}' must be a multiple of the "
                                             f"timestep {dt} ms (got {bad}), as in NEST")
