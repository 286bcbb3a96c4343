"""Standard synapse types."""
import numpy as np
from pyNN.errors import ConnectionError, InvalidParameterValueError, NonExistentParameterError
from pyNN.standardmodels import build_translations, synapses
from pyNN.standardmodels.base import check_weights as _pynn_check_weights
from pyNN.standardmodels.base import excitatory_receptor_types, inhibitory_receptor_types

from ..codegen.library import synapses as library
from .cells import refuse_bad_distributions, refuse_fractions


def _describe(projection) -> str:
    post = projection.post
    celltype = getattr(post, "celltype", None)
    kind = type(celltype).__name__ if celltype is not None else type(post).__name__
    return (f"projection '{projection.label}' ({projection.pre.label} -> {post.label}, "
            f"receptor_type '{projection.receptor_type}' of {kind})")


#: The receptor types PyNN's sign rule knows.
_SIGNED_RECEPTORS = frozenset(excitatory_receptor_types) | frozenset(inhibitory_receptor_types)


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
    post = projection.post
    if not getattr(post, "conductance_based", False) and getattr(post, "_homogeneous_synapses", True) and \
            projection.receptor_type not in _SIGNED_RECEPTORS:
        return      # a receptor of a user model (or PointNeuron label): no sign rule (PyNN warns it cannot check)
    try:
        _pynn_check_weights(weights, projection)
    except ConnectionError as err:
        if w is None or w.size == 0:
            got = ""
        elif w.min() == w.max():
            got = f" (got {float(w.flat[0])})"
        else:
            got = f" (got values in [{w.min()}, {w.max()}])"
        from ..native import NativeCellType     # (native.py builds on this module)
        hint = ""
        if isinstance(getattr(post, "celltype", None), NativeCellType) and not getattr(post, "conductance_based",
                                                                                      False):
            hint = ("; a user cell type whose receptors take conductances (x * (E - v)) is made with "
                    "conductance_based=True, and its weights are then >= 0")
        raise ConnectionError(f"{_describe(projection)}: parameter 'weight': {err}{got}{hint}") from None


class GPUSynapseMixin:
    """What every pyNN.gpu synapse type adds to PyNN's: the codegen model and its per-synapse variables."""

    codegen_model = None
    parameter_checks = {"weight": check_weights}

    def __init__(self, *args, **kwargs):
        refuse_fractions(type(self).__name__, kwargs, getattr(self, "default_parameters", {}))
        refuse_bad_distributions(type(self).__name__, kwargs)
        try:
            super().__init__(*args, **kwargs)
        except NonExistentParameterError as error:
            if error.model_name != "unknown":
                raise
            # PyNN's synapse types build their ParameterSpace without naming themselves
            raise NonExistentParameterError(error.parameter_name, type(self).__name__,
                                            error.valid_parameter_names) from None

    def model_vars(self, attributes: dict, post_params: dict, receptor: str, initial: dict) -> dict:
        """Per-synapse variables of the codegen model from the native attributes (arrays for the selected
        synapses), the target cells' parameters (arrays aligned with the synapses) and initial values."""
        return {v: attributes[v] for v in self.codegen_model.var_names}

    def derived_values(self, attributes: dict) -> dict:
        """Per-synapse variables computed from the others (``attributes``: arrays); none for standard types."""
        return {}

    def _initial_state(self, initial: dict, n: int) -> dict:
        """Each of the type's ``default_initial_values`` for ``n`` synapses: as set by Projection.initialize
        (``initial``) or the default."""
        out = {}
        for v, default in self.default_initial_values.items():
            start = initial.get(v, default)
            start = start.evaluate(simplify=True) if hasattr(start, "evaluate") else start
            out[v] = np.broadcast_to(np.asarray(start, float), (n,))
        return out

    def get_native_names(self, *names):
        """As PyNN's, but an unknown name (``prj.get('foo', ...)``) raises NonExistentParameterError, not KeyError."""
        unknown = [name for name in names if name not in self.translations]
        if unknown:
            raise NonExistentParameterError(unknown[0], type(self).__name__, self.get_parameter_names())
        return super().get_native_names(*names)

    def _get_minimum_delay(self):
        """The default delay: the minimum delay, with 'auto' the network's smallest so far (dt before any), as
        NEST's kernel min_delay for pyNN.nest."""
        from ..simulator import state
        return state.min_delay



class StaticSynapse(GPUSynapseMixin, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    codegen_model = library.STATIC


def _check_range(model, name, values, ok, phrase):
    values = np.asarray(values, float)
    bad = ~ok(values)
    if bad.any():
        raise InvalidParameterValueError(f"{model}: parameter '{name}' {phrase} (got {values[bad].flat[0]})")


#: A probability or a fraction: (predicate, phrase)
_FRACTION = (lambda x: (x >= 0) & (x <= 1), "must be in [0, 1]")
#: A number of sites: (predicate, phrase)
_WHOLE = (lambda x: (x >= 0) & (x == np.round(x)), "must be a whole number >= 0")
#: NEST's rules for the Tsodyks-Markram family (tsodyks_synapse, quantal_stp_synapse): name -> (predicate, phrase)
_TM_RULES = {"U": _FRACTION,
             "tau_rec": (lambda x: x > 0, "must be > 0"),
             "tau_facil": (lambda x: x >= 0, "must be >= 0")}


def _tm_check(name, rules=_TM_RULES):
    """A ``parameter_checks`` entry: NEST's rule for ``name`` (in ``rules``), refused (InvalidParameterValueError
    naming the projection and the synapse type) when the projection is created or set, as NEST refuses it."""
    ok, phrase = rules[name]

    def check(values, projection):
        _check_range(f"{_describe(projection)}, synapse type {type(projection.synapse_type).__name__}", name,
                     values, ok, phrase)
    return check


def _tm_fraction_check(name, other):
    """An ``initial_value_checks`` entry for tsodyks_synapse's fractions x and y: each in [0, 1] and, with the
    other's initial value (set or default), at most 1 together, as NEST refuses."""
    in_range = _tm_check(name, {name: _FRACTION})

    def check(values, projection):
        in_range(values, projection)
        others = projection._initial_values.get(other, TsodyksMarkramSynapse.default_initial_values[other])
        total = np.asarray(values, float) + np.asarray(others, float)
        if np.any(total > 1.0):
            raise InvalidParameterValueError(
                f"{_describe(projection)}, synapse type {type(projection.synapse_type).__name__}: initial x + y "
                f"must be at most 1 (got {np.max(total):g})")
    return check


class TsodyksMarkramSynapse(GPUSynapseMixin, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"), ("tau_rec", "tau_rec"),
                                      ("tau_facil", "tau_facil"))
    codegen_model = library.TSODYKS_MARKRAM
    parameter_checks = {"weight": check_weights, **{name: _tm_check(name) for name in _TM_RULES}}
    #: NEST's tsodyks_synapse state, which pyNN.nest's Projection.initialize() sets: u (PyNN's one), the recovered
    #: fraction x and the active fraction y
    default_initial_values = {"u": 0.0, "x": 1.0, "y": 0.0}
    #: NEST refuses u, x, y outside [0, 1] (a NaN gave NaN membrane potentials), and x + y above 1
    initial_value_checks = {"u": _tm_check("u", {"u": _FRACTION}),
                            "x": _tm_fraction_check("x", "y"), "y": _tm_fraction_check("y", "x")}

    @staticmethod
    def _tau_name(receptor, post_params):
        """The target parameter holding the receptor's synaptic time constant (NEST's tau_psc), or None.  Standard
        cells name it per receptor type; composed cells (PointNeuron) per receptor label."""
        candidates = ("tau_syn_E" if receptor == "excitatory" else "tau_syn_I", f"{receptor}.tau_syn",
                      f"{receptor}_tau_syn")
        return next((name for name in candidates if name in post_params), None)

    def check_target(self, projection, populations):
        """At creation: every target receptor must have one synaptic time constant (a beta-shaped response has
        two), which NEST's tsodyks_synapse takes as its tau_psc."""
        for pop in populations:
            receptor = getattr(pop.celltype, "model_receptor", str)(projection.receptor_type)
            if self._tau_name(receptor, pop._parameters) is None:
                raise NotImplementedError(
                    f"{_describe(projection)}: TsodyksMarkramSynapse needs a target receptor with a single "
                    f"synaptic time constant (its tau_psc); receptor '{projection.receptor_type}' of "
                    f"{type(pop.celltype).__name__} has none")

    def model_vars(self, attributes, post_params, receptor, initial):
        """NEST's tsodyks_synapse: the PSC time constant is the target's tau_syn of the receptor, and the
        state starts at the initial u, x and y (0, 1 and 0 unless set), last spike at t = 0."""
        n = len(attributes["weight"])
        tau = self._tau_name(receptor, post_params)      # (check_target made sure there is one)
        out = {k: attributes[k] for k in ("weight", "U", "tau_rec", "tau_facil")}
        out.update(self._initial_state(initial, n), tau_psc=np.asarray(post_params[tau], float), t_last=np.zeros(n))
        return out


class SimpleStochasticSynapse(GPUSynapseMixin, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("p", "p"))
    codegen_model = library.SIMPLE_STOCHASTIC
    parameter_checks = {"weight": check_weights,
                        "p": _tm_check("p", {"p": _FRACTION})}


def _check_fraction(values, where: str) -> np.ndarray:
    """``dendritic_delay_fraction`` as floats, or InvalidParameterValueError saying what is allowed.

    PyNN allows 0 <= f <= 1.  pyNN.gpu learns at the presynaptic spike's emission step, comparing with the
    postsynaptic spikes up to (2f - 1) * delay before it; below f = 0.5 those would lie in the future.
    """
    allowed = "pyNN.gpu supports 0.5 <= dendritic_delay_fraction <= 1"
    try:
        f = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterValueError(f"{where}: parameter 'dendritic_delay_fraction' must be a number; "
                                         f"{allowed} (got {values!r})") from None
    outside = ~((f >= 0.0) & (f <= 1.0))
    if outside.any():
        raise InvalidParameterValueError(
            f"{where}: parameter 'dendritic_delay_fraction' is the fraction of the delay that is dendritic and must "
            f"be in [0, 1]; {allowed} (got {f[outside].flat[0]})")
    early = f < 0.5
    if early.any():
        raise InvalidParameterValueError(
            f"{where}: dendritic_delay_fraction={f[early].flat[0]} is not supported; {allowed} (below 0.5 the "
            "synapse would pair the presynaptic spike with postsynaptic spikes that have not happened yet at its "
            "emission step, where pyNN.gpu applies the learning rule)")
    return f


def _set_fraction(values, projection):
    """``Projection.set(dendritic_delay_fraction=...)``: the range check; a mechanism created with f = 1 (whose
    model has no per-synapse fraction) moves to the split-delay model, rebuilt at the next run.  Other projections
    sharing the mechanism move with it, unchanged in effect: their fraction is still 1."""
    f = _check_fraction(values, _describe(projection))
    mechanism = projection.synapse_type
    if (f != 1.0).any() and mechanism.codegen_model is mechanism._models[0]:
        from ..simulator import state
        mechanism.codegen_model = mechanism._models[1]
        state.mark_changed()


#: NEST's rules for the STDP time constants (stdp_synapse: tau_plus; its archiving node: tau_minus; Vogels: tau)
_STDP_RULES = {name: (lambda x: x > 0, "must be > 0") for name in ("tau_plus", "tau_minus", "tau")}


class STDPMechanism(GPUSynapseMixin, synapses.STDPMechanism):
    """Pair-based STDP as NEST's stdp_synapse: a timing dependence (SpikePairRule) with any of PyNN's weight
    dependences, or Vogels2011Rule (NEST's vogels_sprekeler_synapse) with AdditiveWeightDependence.

    ``dendritic_delay_fraction`` f as PyNN defines it: of the delay d, f*d is dendritic and (1-f)*d axonal, so
    pairs are timed at the synapse, Delta = t_post - t_pre + (2f - 1) d; the weight is transmitted after the
    full d.  pyNN.gpu supports 0.5 <= f <= 1 (NEST: f = 1 only).  With f = 1 the model is NEST's; any other
    value adds a per-synapse variable holding f (one more load per synapse and presynaptic spike).
    """

    base_translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                           ("dendritic_delay_fraction", "dendritic_delay_fraction"))
    codegen_model = library.STDP
    parameter_checks = {"weight": check_weights, "dendritic_delay_fraction": _set_fraction,
                        **{name: _tm_check(name, _STDP_RULES) for name in _STDP_RULES}}

    def __init__(self, timing_dependence=None, weight_dependence=None, voltage_dependence=None,
                 dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        f = _check_fraction(dendritic_delay_fraction, "STDPMechanism")
        if f.ndim:
            raise InvalidParameterValueError("STDPMechanism: dendritic_delay_fraction must be a single number "
                                             f"(got {dendritic_delay_fraction!r})")
        dendritic_delay_fraction = float(f)
        if voltage_dependence is not None:
            raise NotImplementedError("STDPMechanism: voltage-dependent plasticity is not supported")
        if not isinstance(timing_dependence, (SpikePairRule, Vogels2011Rule)):
            raise NotImplementedError(f"STDPMechanism: timing dependence {type(timing_dependence).__name__} is "
                                      "not supported; available: SpikePairRule, Vogels2011Rule")
        if isinstance(timing_dependence, Vogels2011Rule):
            if not isinstance(weight_dependence, AdditiveWeightDependence):
                raise NotImplementedError(
                    f"STDPMechanism: Vogels2011Rule takes AdditiveWeightDependence (its w_min, w_max bound the "
                    f"weight), not {type(weight_dependence).__name__}")
            self._models = (library.VOGELS_SPREKELER, library.VOGELS_SPREKELER_SPLIT_DELAY)
        elif not isinstance(weight_dependence, _WEIGHT_DEPENDENCES):
            raise NotImplementedError(f"STDPMechanism: weight dependence {type(weight_dependence).__name__} is "
                                      "not supported; available: " + ", ".join(c.__name__ for c in _WEIGHT_DEPENDENCES))
        else:
            self._models = (library.STDP, library.STDP_SPLIT_DELAY)
        # (all-dendritic model, split-delay model): the first keeps NEST's code and cost for f = 1
        self.codegen_model = self._models[dendritic_delay_fraction != 1.0]
        super().__init__(timing_dependence, weight_dependence, voltage_dependence, dendritic_delay_fraction,
                         weight, delay)
        # the checks of the parameters this mechanism has (its rule's time constants)
        self.parameter_checks = {k: v for k, v in type(self).parameter_checks.items() if k in self.translations}

    def _build_translations(self):
        # PyNN's version updates the class attribute in place; keep each mechanism's table its own
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    def check_connections(self, values, projection):
        """NEST's rule: a weight and its w_max have the same sign (the rule works in units of w_max; negative
        ones for inhibitory current-based synapses); and w_min may not lie beyond w_max."""
        if "w_min" in values and "w_max" in values:
            w_min, w_max = np.broadcast_arrays(values["w_min"], values["w_max"])
            beyond = np.abs(w_min) > np.abs(w_max)
            if beyond.any():
                k = np.flatnonzero(beyond.ravel())[0]
                raise InvalidParameterValueError(
                    f"{_describe(projection)}, synapse type STDPMechanism: w_min must lie between 0 and w_max (got "
                    f"w_min {w_min.ravel()[k]}, w_max {w_max.ravel()[k]}): the weights are kept in [w_min, w_max]")
        if "weight" in values and "w_max" in values:
            w, w_max = np.broadcast_arrays(values["weight"], values["w_max"])
            bad = (w * w_max < 0) | (w_max == 0)
            if bad.any():
                k = np.flatnonzero(bad.ravel())[0]
                raise InvalidParameterValueError(
                    f"{_describe(projection)}, synapse type STDPMechanism: a weight and its w_max must have the same "
                    f"sign, and w_max must not be 0: the rule works in units of w_max (inhibitory current-based "
                    f"weights take a negative w_max and w_min 0) (got weight {w.ravel()[k]}, w_max "
                    f"{w_max.ravel()[k]})")

    def model_vars(self, attributes, post_params, receptor, initial):
        n = len(attributes["weight"])
        if isinstance(self.timing_dependence, Vogels2011Rule):
            out = _vogels_vars(attributes, n)
        else:
            extra = self.weight_dependence.extra_parameters
            out = {k: attributes[k] for k in ("weight", "w_min", "w_max", "A_plus", "A_minus", "tau_plus",
                                              "tau_minus")}
            for mu in ("mu_plus", "mu_minus"):
                out[mu] = attributes[mu] if mu in attributes else np.full(n, float(extra[mu]))
            out.update(kplus=np.zeros(n), t_last=np.zeros(n))
        if "dendritic_delay_fraction" in self.codegen_model.var_names:
            out["dendritic_delay_fraction"] = attributes["dendritic_delay_fraction"]
        return out


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"), ("A_plus", "A_plus"),
                                      ("A_minus", "A_minus"))


def _weight_dependence(base, mu_plus, mu_minus):
    """PyNN weight dependence ``base`` with NEST's exponents of the normalised weight."""
    return type(base.__name__, (base,), {
        "__doc__": base.__doc__,
        "translations": build_translations(("w_max", "w_max"), ("w_min", "w_min")),
        "extra_parameters": {"mu_plus": mu_plus, "mu_minus": mu_minus},
        "__module__": __name__,
    })


AdditiveWeightDependence = _weight_dependence(synapses.AdditiveWeightDependence, 0.0, 0.0)
MultiplicativeWeightDependence = _weight_dependence(synapses.MultiplicativeWeightDependence, 1.0, 1.0)
AdditivePotentiationMultiplicativeDepression = _weight_dependence(
    synapses.AdditivePotentiationMultiplicativeDepression, 0.0, 1.0)


class GutigWeightDependence(synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = build_translations(("w_max", "w_max"), ("w_min", "w_min"), ("mu_plus", "mu_plus"),
                                      ("mu_minus", "mu_minus"))


_WEIGHT_DEPENDENCES = (AdditiveWeightDependence, MultiplicativeWeightDependence,
                       AdditivePotentiationMultiplicativeDepression, GutigWeightDependence)


class Vogels2011Rule(synapses.Vogels2011Rule):
    """Vogels et al. (2011) symmetric inhibitory STDP, as NEST's vogels_sprekeler_synapse: at each presynaptic
    spike w += eta * (x_post - alpha), at each postsynaptic spike w += eta * x_pre (applied, as in NEST, at the
    next presynaptic spike), with pre and post traces of time constant ``tau`` (ms) and alpha = 2 rho tau / 1000
    (rho: the target rate, Hz).  ``eta`` is in PyNN's weight units (nA or uS); weights stay within the
    AdditiveWeightDependence's [w_min, w_max].
    """

    translations = build_translations(("tau", "tau"), ("eta", "eta"), ("rho", "rho"))


def _vogels_vars(attributes, n):
    out = {k: attributes[k] for k in ("weight", "w_min", "w_max", "tau", "eta", "rho")}
    out.update(kplus=np.zeros(n), t_last=np.zeros(n))
    return out


class StochasticTsodyksMarkramSynapse(GPUSynapseMixin, synapses.StochasticTsodyksMarkramSynapse):
    """Tsodyks-Markram short-term plasticity in its stochastic form (Fuhrmann et al. 2002), with the semantics of
    PyNN's NEST extension ``stochastic_stp_synapse``: one release site, recovered or not; an unrecovered site
    recovers as a Poisson process of rate 1/tau_rec; a recovered one releases with probability u (facilitating
    with tau_facil, u = U when tau_facil = 0) and the spike is then transmitted with the full weight.  Draws use
    the device RNG.  Averaged over trials, the release probability equals the deterministic model's u*x.
    """

    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"), ("tau_rec", "tau_rec"),
                                      ("tau_facil", "tau_facil"))
    codegen_model = library.STOCHASTIC_TSODYKS_MARKRAM
    parameter_checks = {"weight": check_weights, **{name: _tm_check(name) for name in _TM_RULES}}

    def model_vars(self, attributes, post_params, receptor, initial):
        n = len(attributes["weight"])
        name = type(self).__name__
        for rule, (ok, phrase) in _TM_RULES.items():
            _check_range(name, rule, attributes[rule], ok, phrase)
        out = {k: attributes[k] for k in ("weight", "U", "tau_rec", "tau_facil")}
        # the extension's initial state: u = 0, recovered, last check and last spike at t = 0
        out.update(u=np.zeros(n), R=np.ones(n), t_surv=np.zeros(n), t_last=np.zeros(n))
        return out


#: The state NEST's quantal_stp_synapse starts from when PyNN creates it: pyNN.nest sets U and n but not u or a,
#: so every synapse starts from NEST's defaults u = 0.5 and a = 1 available site, whatever U and n are.
QUANTAL_INITIAL_U = 0.5
QUANTAL_INITIAL_A = 1.0


class MultiQuantalSynapse(GPUSynapseMixin, synapses.MultiQuantalSynapse):
    """Multi-quantal stochastic short-term plasticity, with the semantics of NEST's ``quantal_stp_synapse``
    (Fuhrmann et al. 2002, Loebel et al. 2009): ``n`` release sites; at each spike the depleted sites recover
    (each with probability 1 - exp(-h/tau_rec)), each available site releases with probability u (facilitating
    with tau_facil, u = U when tau_facil = 0) and the synapse transmits weight * (sites released), as NEST: the
    weight is each site's.  As on pyNN.nest, each synapse starts with u = 0.5 and one available
    site (NEST's defaults, which pyNN.nest leaves in place) unless ``Projection.initialize(u=..., a=...)`` sets
    them (pyNN.nest passes both to NEST's synapses; PyNN's own example sets a = n and u = U); the first spike does
    not update them.
    """

    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"), ("n", "n"),
                                      ("tau_rec", "tau_rec"), ("tau_facil", "tau_facil"))
    codegen_model = library.MULTI_QUANTAL
    parameter_checks = {"weight": check_weights, "n": _tm_check("n", {"n": _WHOLE}),
                        **{name: _tm_check(name) for name in _TM_RULES}}
    default_initial_values = {"u": QUANTAL_INITIAL_U, "a": QUANTAL_INITIAL_A}
    initial_value_checks = {
        "u": _tm_check("u", {"u": _FRACTION}),
        "a": _tm_check("a", {"a": _WHOLE})}

    def model_vars(self, attributes, post_params, receptor, initial):
        n = len(attributes["weight"])
        name = type(self).__name__
        rules = {"U": _TM_RULES["U"], "n": _WHOLE,
                 **_TM_RULES}
        for rule, (ok, phrase) in rules.items():
            _check_range(name, rule, attributes[rule], ok, phrase)
        out = {k: attributes[k] for k in ("weight", "U", "n", "tau_rec", "tau_facil")}
        out.update(self._initial_state(initial, n), t_last=np.full(n, -1.0))
        return out
