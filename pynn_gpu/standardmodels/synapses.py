"""Standard synapse types."""
import numpy as np
from pyNN.errors import ConnectionError, NonExistentParameterError
from pyNN.standardmodels import build_translations, synapses
from pyNN.standardmodels.base import check_weights as _pynn_check_weights

from ..codegen.library import synapses as library


def _describe(projection) -> str:
    post = projection.post
    celltype = getattr(post, "celltype", None)
    kind = type(celltype).__name__ if celltype is not None else type(post).__name__
    return (f"projection '{projection.label}' ({projection.pre.label} -> {post.label}, "
            f"receptor_type '{projection.receptor_type}' of {kind})")


def check_weights(weights, projection):
    """PyNN's sign rule for weights (ConnectionError), plus: weights must be finite numbers.

    Excitatory and conductance-based receptors take weights >= 0, current-based inhibitory receptors
    weights <= 0.  The message names the projection, the parameter, the rule and the offending values.
    """
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        w = None          # let PyNN's check word the error for non-numeric weights
    if w is not None:
        bad = ~np.isfinite(w)
        if bad.any():
            raise ConnectionError(f"{_describe(projection)}: parameter 'weight' must be a finite number "
                                  f"(got {w[bad].flat[0] if w.ndim else float(w)})")
    try:
        _pynn_check_weights(weights, projection)
    except ConnectionError as err:
        if w is None or w.size == 0:
            got = ""
        elif w.min() == w.max():
            got = f" (got {float(w.flat[0])})"
        else:
            got = f" (got values in [{w.min()}, {w.max()}])"
        raise ConnectionError(f"{_describe(projection)}: parameter 'weight': {err}{got}") from None


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    codegen_model = library.STATIC
    parameter_checks = {"weight": check_weights}

    def get_native_names(self, *names):
        """As PyNN's, but an unknown name (``prj.get('foo', ...)``) raises NonExistentParameterError, not KeyError."""
        unknown = [name for name in names if name not in self.translations]
        if unknown:
            raise NonExistentParameterError(unknown[0], type(self).__name__, self.get_parameter_names())
        return super().get_native_names(*names)

    def _get_minimum_delay(self):
        from ..simulator import state
        return state.min_delay if state._min_delay != "auto" else state.dt
