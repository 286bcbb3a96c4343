"""The model description language: neuron, postsynaptic, weight-update and current-source models.

A model is a frozen dataclass: named parameters and state variables, derived parameters computed
on the host as callables of ``(params, dt)``, and C-like code snippets that the generator parses
and renders into kernels (see :mod:`pynn_gpu.codegen.snippets`).  The standard library
(``pynn_gpu.standardmodels``) is written with exactly this API.

Units follow PyNN: mV, ms, nA, nF, uS, Hz.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import keyword
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .errors import ModelError

#: ODE integrators: GSL's adaptive Runge-Kutta-Fehlberg 4(5) as NEST uses it, or classical RK4 with step dt.
INTEGRATORS = ("rkf45", "rk4")

#: Types a state variable or extra global array may have.
VAR_TYPES = ("scalar", "int")


@dataclass(frozen=True)
class Var:
    """A state variable: ``type`` is ``'scalar'`` (float or double, by precision) or ``'int'``."""

    name: str
    type: str = "scalar"
    unit: str = ""


@dataclass(frozen=True)
class ExtraGlobal:
    """A per-neuron ragged array uploaded from the host (e.g. spike times of a spike source).

    In snippets ``name[k]`` reads element ``k`` of this neuron's segment and ``name_len`` its length.
    """

    name: str
    type: str = "int"


@dataclass(frozen=True)
class DerivedParam:
    """A parameter computed on the host at build time from ``(params, dt)`` -> array or scalar."""

    name: str
    func: Callable


def _as_vars(items) -> tuple:
    return tuple(v if isinstance(v, Var) else Var(*v) if isinstance(v, tuple) else Var(v) for v in items)


def _check_identifier(model: str, kind: str, name: str):
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("pg_"):
        raise ModelError(f"model '{model}': {kind} name '{name}' is not a valid identifier "
                         "(letters, digits and '_', not starting with 'pg_')")


@dataclass(frozen=True)
class _ModelBase:
    name: str
    params: tuple = ()
    vars: tuple = ()
    derived_params: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "vars", _as_vars(self.vars))
        object.__setattr__(self, "derived_params",
                           tuple(d if isinstance(d, DerivedParam) else DerivedParam(*d) for d in self.derived_params))
        seen = set()
        for kind, names in (("parameter", self.params), ("variable", [v.name for v in self.vars]),
                            ("derived parameter", [d.name for d in self.derived_params])):
            for n in names:
                _check_identifier(self.name, kind, n)
                if n in seen:
                    raise ModelError(f"model '{self.name}': name '{n}' is declared twice")
                seen.add(n)
        for v in self.vars:
            if v.type not in VAR_TYPES:
                raise ModelError(f"model '{self.name}': variable '{v.name}' has type '{v.type}'; "
                                 f"allowed: {VAR_TYPES}")

    @property
    def var_names(self) -> tuple:
        return tuple(v.name for v in self.vars)

    @property
    def all_param_names(self) -> tuple:
        return self.params + tuple(d.name for d in self.derived_params)

    def snippets(self) -> dict:
        """The model's code strings by snippet name (overridden per model kind)."""
        return {}

    def digest(self) -> str:
        """SHA-256 of a canonical form: equal digests mean the same generated code."""
        h = hashlib.sha256()
        h.update(type(self).__name__.encode())
        h.update(repr((self.name, self.params, self.vars)).encode())
        for d in self.derived_params:
            h.update(d.name.encode() + _source(d.func).encode())
        for k, v in sorted(self.snippets().items()):
            h.update(k.encode() + b"\0" + repr(v).encode())
        return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _source(func) -> str:
    """The source of a derived parameter's function (read once per process: inspect reads files)."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return repr(func)


def _ode_pairs(model: str, ode) -> tuple:
    """``ode`` as ``((variable, right-hand side), ...)`` from a mapping or a sequence of pairs."""
    items = list(ode.items()) if isinstance(ode, Mapping) else list(ode) if isinstance(ode, (list, tuple)) else None
    if items is None or not all(isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(y, str) for y in x)
                                for x in items):
        raise ModelError(f"model '{model}': ode must be {{variable: right-hand side}} or [(variable, right-hand "
                         f"side), ...] with strings, e.g. {{'v': '(v_rest - v) / tau_m'}}; got {ode!r}")
    return tuple(tuple(x) for x in items)


@dataclass(frozen=True)
class NeuronModel(_ModelBase):
    """A point-neuron model.

    ``sim_code`` advances the state by one step ``dt``; ``threshold_code`` is a boolean expression
    evaluated after it; ``reset_code`` runs when it is true.  Built-in names: ``t`` (time at the
    start of the step, ms), ``dt``, ``step``, ``i_inj`` (injected current, nA), ``in_<receptor>``
    (summed weights arriving in this step for each receptor), ``uniform()`` (a counter-based
    random number in [0, 1)), and the usual math functions.

    ``ode`` optionally gives ``{variable: right-hand side}`` (or ``(variable, right-hand side)`` pairs),
    integrated over the step by ``integrator`` before ``sim_code`` runs (``'rkf45'``: NEST/GSL's adaptive
    Runge-Kutta-Fehlberg; ``'rk4'``: one classical Runge-Kutta step of dt); ``pre_ode_code`` runs before
    integration.

    RKF45 follows GSL's ``gsl_odeiv_control_standard``: a step is accepted when, for every variable,
    ``|err| <= ode_tolerance + ode_eps_rel * (ode_a_y * |y| + ode_a_dydt * h * |y'|)`` (within GSL's
    1.1 slack), with ``y'`` the derivative at the new point.  ``ode_tolerance`` is a number or a
    mapping ``{variable: absolute tolerance}`` naming every ODE variable (so a model written in PyNN's
    units, e.g. uS, keeps NEST's error control, which is stated in nS).  ``ode_initial_step`` (ms) is
    the first trial step (``None``: dt; it is capped at dt).  ``ode_step_code`` runs after every
    accepted internal step, inside the integration loop (NEST's aeif models detect and reset spikes
    there); it may change the state variables.
    """

    sim_code: str = ""
    threshold_code: str = "false"
    reset_code: str = ""
    receptors: tuple = ()
    extra_globals: tuple = ()
    ode: tuple = ()
    integrator: str | None = None
    #: classical RK4 with step dt has been shown to give this model the same spikes as ``integrator`` (e.g.
    #: NEST's iaf_cond models): with ``ode_integrator='auto'`` the generator then uses the cheaper RK4
    rk4_equivalent: bool = False
    #: a fixed RK4 step of dt cannot integrate this model (HH's sodium upstroke diverges at dt = 0.1 ms):
    #: ``ode_integrator='rk4'`` leaves it on ``integrator``
    rk4_unstable: bool = False
    #: the fastest rates of the ODE's linear parts (1/ms, e.g. 1/tau_syn), per cell, from its parameters and derived
    #: parameters (``{name: array}``): RK4 takes as many equal sub-steps as keep dt/n times the largest at most
    #: RK4_RATE_STEP (one step of dt, stable only below 2.8, gave NaN and false spikes for a fast synapse)
    rk4_rates: Callable | None = None
    ode_tolerance: float | Mapping = 1e-3
    ode_eps_rel: float = 0.0
    ode_a_y: float = 1.0
    ode_a_dydt: float = 0.0
    ode_initial_step: float | None = None
    ode_step_code: str = ""
    pre_ode_code: str = ""
    spike_source: bool = False
    #: the threshold expression may count several spikes in one step (e.g. a Poisson source): each is
    #: delivered and recorded (spike times repeat, as NEST records a spike's multiplicity)
    multiple_spikes: bool = False
    #: a condition on the state at the end of a step that means the integration has broken down (NEST's aeif
    #: models stop with NumericalInstability): the run then raises NumericalInstabilityError naming the cell
    instability_condition: str = ""

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "receptors", tuple(self.receptors))
        object.__setattr__(self, "ode", _ode_pairs(self.name, self.ode))
        object.__setattr__(self, "extra_globals",
                           tuple(e if isinstance(e, ExtraGlobal) else ExtraGlobal(e) for e in self.extra_globals))
        for r in self.receptors:
            _check_identifier(self.name, "receptor", r)
        for e in self.extra_globals:
            _check_identifier(self.name, "extra global", e.name)
        if self.ode and self.integrator not in INTEGRATORS:
            raise ModelError(f"model '{self.name}': ode given with integrator={self.integrator!r}; "
                             f"allowed: {INTEGRATORS}")
        for var, _ in self.ode:
            if var not in self.var_names:
                raise ModelError(f"model '{self.name}': ode for '{var}', which is not a state variable")
        if isinstance(self.ode_tolerance, Mapping):
            object.__setattr__(self, "ode_tolerance", tuple(sorted(dict(self.ode_tolerance).items())))
        if isinstance(self.ode_tolerance, tuple):
            tol = dict(self.ode_tolerance)
            ode_vars = [var for var, _ in self.ode]
            if sorted(tol) != sorted(ode_vars):
                raise ModelError(f"model '{self.name}': ode_tolerance must name every ODE variable {ode_vars} "
                                 f"exactly once (got {sorted(tol)})")
            tolerances = list(tol.values())
        else:
            tolerances = [self.ode_tolerance]
        if any(not float(x) > 0 for x in tolerances) or self.ode_eps_rel < 0:
            raise ModelError(f"model '{self.name}': ode_tolerance must be > 0 and ode_eps_rel >= 0")
        if self.ode_initial_step is not None and not self.ode_initial_step > 0:
            raise ModelError(f"model '{self.name}': ode_initial_step must be > 0 ms or None (dt)")
        if self.ode_step_code.strip() and self.integrator != "rkf45":
            raise ModelError(f"model '{self.name}': ode_step_code needs integrator='rkf45' "
                             f"(got {self.integrator!r})")

    def abs_tolerance(self, var: str) -> float:
        """RKF45's absolute error bound for ODE variable ``var``."""
        if isinstance(self.ode_tolerance, tuple):
            return float(dict(self.ode_tolerance)[var])
        return float(self.ode_tolerance)

    def snippets(self) -> dict:
        out = {"sim_code": self.sim_code, "threshold_code": self.threshold_code, "reset_code": self.reset_code,
               "pre_ode_code": self.pre_ode_code, "ode_step_code": self.ode_step_code,
               "instability_condition": self.instability_condition}
        for var, rhs in self.ode:
            out[f"ode {var}"] = rhs
        return out

    def reads(self, name: str) -> bool:
        """Whether a snippet mentions ``name``."""
        return any(re.search(rf"\b{re.escape(name)}\b", code or "") for code in self.snippets().values())

    def digest(self) -> str:
        """As the base digest, plus the integrator's settings (they change the generated code)."""
        settings = repr((self.integrator, self.ode_tolerance, self.ode_eps_rel, self.ode_a_y, self.ode_a_dydt,
                         self.ode_initial_step))
        return hashlib.sha256((super().digest() + settings).encode()).hexdigest()


@dataclass(frozen=True)
class PostsynapticModel(_ModelBase):
    """How summed synaptic input shapes the current into the neuron.

    ``apply_input_code`` runs with ``inp`` (the summed weight arriving this step);
    ``decay_code`` advances the synaptic state by one step; ``current_code`` is an expression for
    the current it injects (may use the neuron's ``v``).
    """

    apply_input_code: str = ""
    decay_code: str = ""
    current_code: str = "0"

    def snippets(self) -> dict:
        return {"apply_input_code": self.apply_input_code, "decay_code": self.decay_code,
                "current_code": self.current_code}


@dataclass(frozen=True)
class WeightUpdateModel(_ModelBase):
    """A synapse model.  ``pre_spike_code`` runs for every synapse of a presynaptic neuron that
    spiked; ``add_to_post(x)`` adds ``x`` to the target's input, after the synapse's delay.

    Built-in names: ``t_spike`` (the spike's time stamp, ms), ``dt``, ``delay`` (this synapse's delay,
    ms), ``uniform()``.  With ``post_trace`` naming a per-synapse variable (a time constant, ms), every
    target neuron keeps a history of its last spikes with a trace that jumps by 1 at each spike and decays
    with that time constant (NEST's archiving node): the snippet reads ``post_spike_count``,
    ``post_spike_time(j)``, ``post_spike_trace(j)`` (the trace just after spike ``j``) for
    ``post_spike_count - history_size <= j < post_spike_count``, and calls ``history_overflow()`` if it
    needed an older entry.

    ``post_spike_code`` runs, after the step's neuron update and spike delivery, for every synapse onto
    a neuron that spiked in that step (through a transposed, column-wise index); it may change the
    synapse's variables and read ``t_post`` (the postsynaptic spike's time stamp, ms), ``dt``, ``delay``
    and ``uniform()``.

    ``synapse_dynamics_code`` runs in every step for every synapse (after the neuron update, before spike
    delivery); it may change the synapse's variables and call ``add_to_post(x)`` (arriving after the delay).

    Every synapse snippet may also read ``t`` (the step's time stamp: the spike's in ``pre_spike_code`` and
    ``post_spike_code``), ``st_pre`` / ``st_post`` (the time stamps of the pre- and postsynaptic neurons' last
    spikes, ms, including this step's; -1e30 before any) and ``<var>_pre`` / ``<var>_post``, the state variable
    ``var`` of the pre- or postsynaptic neuron after this step's update (read-only).
    """

    pre_spike_code: str = "add_to_post(weight);"
    post_trace: str | None = None
    post_spike_code: str = ""
    synapse_dynamics_code: str = ""

    def __post_init__(self):
        super().__post_init__()
        if self.post_trace is not None and self.post_trace not in self.var_names:
            raise ModelError(f"model '{self.name}': post_trace '{self.post_trace}' is not a variable")

    def snippets(self) -> dict:
        return {"pre_spike_code": self.pre_spike_code, "post_trace": self.post_trace,
                "post_spike_code": self.post_spike_code, "synapse_dynamics_code": self.synapse_dynamics_code}

    def neuron_refs(self) -> tuple:
        """The (pre, post) neuron variables the snippets read as ``<var>_pre`` / ``<var>_post`` (sorted names)."""
        found = {"pre": set(), "post": set()}
        own = set(self.var_names) | set(self.all_param_names)
        for code in (self.pre_spike_code, self.post_spike_code, self.synapse_dynamics_code):
            for name in re.findall(r"\b([A-Za-z_]\w*)_(pre|post)\b", re.sub(r"//[^\n]*|/\*.*?\*/", "", code or "",
                                                                          flags=re.DOTALL)):
                if f"{name[0]}_{name[1]}" not in own | {"add_to_post", "t_post", "st_pre", "st_post", "prev_st_pre",
                                                        "prev_st_post"}:
                    found[name[1]].add(name[0])
        return tuple(sorted(found["pre"])), tuple(sorted(found["post"]))

    def uses_spike_times(self) -> bool:
        """Whether a snippet reads ``st_pre`` or ``st_post`` (or the spike times before them)."""
        return any(re.search(r"\b(prev_)?st_(pre|post)\b", code or "")
                   for code in (self.pre_spike_code, self.post_spike_code, self.synapse_dynamics_code))

    def uses_previous_spike_times(self) -> bool:
        """Whether a snippet reads ``prev_st_pre`` or ``prev_st_post``, the spike times before the last."""
        return any(re.search(r"\bprev_st_(pre|post)\b", code or "")
                   for code in (self.pre_spike_code, self.post_spike_code, self.synapse_dynamics_code))


@dataclass(frozen=True)
class CurrentSourceModel(_ModelBase):
    """A current source: ``injection_code`` is an expression for the current (nA) injected in the
    step starting at ``t``; it may read the source's parameters and ``extra_globals``.  Or, GeNN's form,
    statements that call ``injectCurrent(x)``: they may also assign the model's ``vars``, which hold a value
    per injection (per target cell of each source)."""

    injection_code: str = "0"
    extra_globals: tuple = ()
    #: (name in the snippet, state variable of the target cell): the target's state at the start of the step,
    #: read-only (GeNN's neuron variable references)
    neuron_var_refs: tuple = ()

    @property
    def statements(self) -> bool:
        """Whether ``injection_code`` is statements calling ``injectCurrent`` (else one expression)."""
        return re.search(r"\binjectCurrent\s*\(", self.injection_code) is not None

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "extra_globals",
                           tuple(e if isinstance(e, ExtraGlobal) else ExtraGlobal(*e) if isinstance(e, tuple)
                                 else ExtraGlobal(e) for e in self.extra_globals))
        refs = tuple((r, r) if isinstance(r, str) else tuple(r) for r in self.neuron_var_refs)
        own = set(self.params) | set(self.var_names) | {d.name for d in self.derived_params}
        for ref, target in refs:
            _check_identifier(self.name, "neuron variable reference", ref)
            _check_identifier(self.name, "neuron variable", target)
            if ref in own:
                raise ModelError(f"model '{self.name}': name '{ref}' is declared twice (a neuron variable "
                                 "reference and the model's own)")
        object.__setattr__(self, "neuron_var_refs", refs)

    def snippets(self) -> dict:
        return {"injection_code": self.injection_code}

    def digest(self) -> str:
        return hashlib.sha256((super().digest() + repr(self.neuron_var_refs)).encode()).hexdigest()


def evaluate_derived(model: _ModelBase, params: Mapping, dt: float) -> dict:
    """Return ``params`` extended with the model's derived parameters (arrays broadcast as given)."""
    out = dict(params)
    for d in model.derived_params:
        out[d.name] = d.func(out, dt)
    return out


__all__ = ["Var", "ExtraGlobal", "DerivedParam", "NeuronModel", "PostsynapticModel", "WeightUpdateModel",
           "CurrentSourceModel", "evaluate_derived", "field"]
