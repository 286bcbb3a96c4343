"""Checks on parameter values, applied when a population is created and on every ``set``.

A check is a predicate over a numpy array plus the phrase that says what is allowed; a failure
raises PyNN's ``InvalidParameterValueError`` naming the model, the parameter and the rule.
"""
import numpy as np
from pyNN.errors import InvalidParameterValueError

POSITIVE = (lambda x: x > 0, "must be > 0")
NON_NEGATIVE = (lambda x: x >= 0, "must be >= 0")
FINITE = (lambda x: np.isfinite(x), "must be a finite number")


def check_values(model_name: str, values: dict, checks: dict, where: str = ""):
    """Raise for NaN (anywhere) or any value that fails its parameter's check."""
    for name, value in values.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue   # sequences (spike times) are checked by their cell type
        if np.isnan(arr).any():
            raise InvalidParameterValueError(f"{model_name}{where}: parameter '{name}' is NaN; a number is required")
        if name in checks:
            ok, phrase = checks[name]
            bad = ~ok(arr)
            if np.any(bad):
                example = arr[bad].flat[0] if arr.ndim else float(arr)
                raise InvalidParameterValueError(
                    f"{model_name}{where}: parameter '{name}' {phrase} (got {example})")


def check_reset_below_threshold(model_name: str, values: dict, where: str = "", reset="v_reset",
                                threshold="v_thresh"):
    if reset in values and threshold in values:
        r, th = np.asarray(values[reset], float), np.asarray(values[threshold], float)
        if np.any(r >= th):
            raise InvalidParameterValueError(f"{model_name}{where}: '{reset}' must be below '{threshold}' "
                                             f"(got {reset}={np.max(r)}, {threshold}={np.min(th)})")
