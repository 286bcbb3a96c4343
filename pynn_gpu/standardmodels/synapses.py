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


class GPUSynapseMixin:
    """What every pyNN.gpu synapse type adds to PyNN's: the codegen model and its per-synapse variables."""

    codegen_model = None
    parameter_checks = {"weight": check_weights}

    def model_vars(self, attributes: dict, post_params: dict, receptor: str, initial: dict) -> dict:
        """Per-synapse variables of the codegen model from the native attributes (arrays for the selected
        synapses), the target cells' parameters (arrays aligned with the synapses) and initial values."""
        return {v: attributes[v] for v in self.codegen_model.var_names}

    def get_native_names(self, *names):
        """As PyNN's, but an unknown name (``prj.get('foo', ...)``) raises NonExistentParameterError, not KeyError."""
        unknown = [name for name in names if name not in self.translations]
        if unknown:
            raise NonExistentParameterError(unknown[0], type(self).__name__, self.get_parameter_names())
        return super().get_native_names(*names)

    def _get_minimum_delay(self):
        from ..simulator import state
        return state.min_delay if state._min_delay != "auto" else state.dt



class StaticSynapse(GPUSynapseMixin, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    codegen_model = library.STATIC


class TsodyksMarkramSynapse(GPUSynapseMixin, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"), ("tau_rec", "tau_rec"),
                                      ("tau_facil", "tau_facil"))
    codegen_model = library.TSODYKS_MARKRAM

    def model_vars(self, attributes, post_params, receptor, initial):
        """NEST's tsodyks_synapse: the PSC time constant is the target's tau_syn of the receptor, and the
        state starts at u = initial u, x = 1, y = 0, last spike at t = 0."""
        n = len(attributes["weight"])
        tau = "tau_syn_E" if receptor == "excitatory" else "tau_syn_I"
        if tau not in post_params:
            raise NotImplementedError(f"TsodyksMarkramSynapse needs a target cell with '{tau}' "
                                      f"(an exponential synaptic current or conductance)")
        out = {k: attributes[k] for k in ("weight", "U", "tau_rec", "tau_facil")}
        u0 = initial.get("u", 0.0)
        u0 = u0.evaluate(simplify=True) if hasattr(u0, "evaluate") else u0
        out.update(tau_psc=np.asarray(post_params[tau], float), u=np.broadcast_to(np.asarray(u0, float), (n,)),
                   x=np.ones(n), y=np.zeros(n), t_last=np.zeros(n))
        return out


class SimpleStochasticSynapse(GPUSynapseMixin, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("p", "p"))
    codegen_model = library.SIMPLE_STOCHASTIC
