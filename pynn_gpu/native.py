"""User-defined (GeNN-style) models, usable exactly like PyNN's standard cell, synapse and current-source types.

A model is written in the same description language the standard library is written in
(:mod:`pynn_gpu.codegen.models`): named parameters, state variables, derived parameters computed on the host
as callables of ``(params, dt)``, and C-like code snippets that are parsed -- not pasted -- into the
generated OpenCL and CUDA kernels (README.md, 'User-defined models', has a worked example).

Four factories build the codegen model from GeNN-like keywords and return a PyNN class:

- :func:`create_neuron_model` -> a cell type (``sim.Population(n, MyNeuron(tau=10.0))``): every parameter is a
  PyNN parameter (``set``/``get``, per-cell values, random distributions), every state variable an initial value
  (``initialize``) and a recordable (plus ``'spikes'``), ``receptor_types`` are the model's receptors, and a
  current source can be injected (unless ``spike_source=True``).
- :func:`create_postsynaptic_model` -> a :class:`~pynn_gpu.codegen.models.PostsynapticModel` to attach to the
  receptors of a neuron model (``create_neuron_model(..., postsynaptic_models={'excitatory': (ExpCurr, {...})})``).
- :func:`create_weight_update_model` -> a synapse type (``synapse_type=MyRule(eta=2e-5, weight=0.0)``): every
  parameter and variable is a per-synapse PyNN synapse parameter, so ``Projection.get``/``set`` work on all of
  them, learned ones included (read back from the device).
- :func:`create_current_source_model` -> a current source (``MySource(amplitude=0.5).inject_into(cells)``).

:func:`native_cell_type`, :func:`native_synapse_type` and :func:`native_current_source` wrap an existing
codegen model (a ``NeuronModel``, ``WeightUpdateModel`` or ``CurrentSourceModel`` dataclass) instead.

**Built-in names** a snippet may use besides the model's own:

- neuron ``sim_code``, ``threshold_condition_code``, ``reset_code``: ``t`` (time at the start of the step, ms),
  ``dt`` (ms), ``step``, ``id`` (the cell's index in its population, GeNN's), ``i_inj`` (current injected by
  current sources, nA), ``in_<receptor>`` (summed weights
  of the spikes arriving in this step at each receptor), ``isyn`` (the summed current of the postsynaptic
  models, when the neuron has any), ``uniform()`` (a counter-based random number in [0, 1)) and ``normal()``
  (a standard normal one), drawn from the cell's stream for the step.
- weight update ``pre_spike_code``: ``t_spike`` (the presynaptic spike's time stamp, ms), ``dt``, ``delay`` (this
  synapse's delay, ms), ``add_to_post(x)`` (add ``x`` to the target's receptor after the delay), ``uniform()``;
  with ``post_trace`` the postsynaptic spike history (see :class:`~pynn_gpu.codegen.models.WeightUpdateModel`).
  ``post_spike_code``: ``t_post``, ``dt``, ``delay``, ``uniform()``.  ``synapse_dynamics_code`` (every synapse,
  every step): ``t`` (the step's time stamp), ``dt``, ``delay``, ``add_to_post(x)``, ``uniform()``.  All three
  also read ``t`` (in the first two, the spike's time stamp), ``st_pre`` / ``st_post`` (the last spike time
  stamps of the synapse's neurons, this step's included; -1e30 before any spike), ``prev_st_pre`` /
  ``prev_st_post`` (the stamps before those) and ``<var>_pre`` /
  ``<var>_post``, a state variable of the pre- or postsynaptic neuron (read-only, after this step's update).
- current source ``injection_code`` (an expression, nA, or as GeNN writes it, statements calling
  ``injectCurrent(x)`` that may update the model's state variables, a value per target): ``t``, ``dt``,
  ``step``, ``uniform()``, ``normal()`` (the target cell's stream).
- synapse snippets draw ``uniform()`` and ``normal()`` from the synapse's stream.
- everywhere: C's math functions (``exp``, ``log``, ``fmin``, ``atan2``, ``erf``, ...) and constants (``M_PI``,
  ``M_E``, ...), locals declared in the snippet
  (``scalar x = ...;``, ``int k;``), ``if``/``else``/``for``/``while``.

**Units** are PyNN's (mV, ms, nA, nF, uS, Hz): values go to the model unchanged.  ``units`` only labels the Neo
output (``{'v': 'mV'}``); a name without a unit is recorded as dimensionless.

**Errors.**  Every snippet is rendered by the code generator when the class is created, so an unknown name,
a local that shadows a model name or hides a name of the generated kernel, a bad character, a misnamed or
mistyped declaration or a derived parameter that reads a missing parameter raises
:class:`~pynn_gpu.codegen.errors.ModelError` (a ``ValueError``) there, naming the model, the snippet and the
line: ``[neuron model 'LIF' sim_code, line 2] unknown name 'v_tresh'; did you mean 'v_thresh'?``; so do brackets
that do not pair, assignments to anything but the model's state variables (parameters included), names that are
not ASCII identifiers, ``return``, ``break`` / ``continue`` outside a loop of the snippet and a math function called
with the wrong number of arguments.  (Other C syntax errors such as ``v = v +;`` are found by the device compiler at
the first run: ``KernelCompileError`` naming the model, the snippet and its line.)  A derived parameter that fails
or is no finite number for the cells' parameters raises ``ModelError`` at the build; an extra global array never
given raises ``InvalidParameterValueError`` there, naming the population or source.  Constructing a type with an
unknown parameter raises PyNN's ``NonExistentParameterError``, a parameter that has no default and is not given,
None or a value of the wrong type (a fraction for an ``'int'`` variable) ``InvalidParameterValueError``.  A model's
name is any non-empty string; two different models may share one.

**GeNN spellings.**  Keywords are GeNN's where GeNN has one (``threshold_condition_code``,
``pre_spike_syn_code``, ``post_spike_syn_code``, ``injection_code``); GeNN 4's ``sim_code`` and
``learn_post_code`` of weight-update models and the ``$(name)`` / ``$(func, args)`` code syntax still work,
with a ``FutureWarning`` that names the model.  Note that ``pre_spike_code`` is the per-synapse code run for
every presynaptic spike here (GeNN 5's ``pre_spike_syn_code``), as in the standard library.

Order within a neuron step (NEST's, as the standard models): current sources are summed into ``i_inj``,
``sim_code`` runs, the threshold is tested and ``reset_code`` runs on a spike; spikes arriving in a step are
seen by the snippets as ``in_<receptor>`` in that step.  With postsynaptic models, ``isyn`` is computed from their
state before ``sim_code``; afterwards each decays (``decay_code``) and takes the step's input
(``apply_input_code``), so an input changes ``isyn`` from the next step on.
"""
from __future__ import annotations

import dataclasses
import inspect
import re
import warnings
from collections.abc import Mapping

import numpy as np
import quantities as pq
from pyNN.errors import InvalidParameterValueError, NonExistentParameterError
from pyNN.parameters import Sequence
from pyNN.standardmodels import StandardCellType, build_translations
from pyNN.standardmodels.base import StandardSynapseType

from .codegen.errors import CodegenError, ModelError
from .codegen.generator import NEURON_BUILTINS, Generator
from .kernels.runtime.diagnostics import mark_snippet
from .codegen.models import (CurrentSourceModel, DerivedParam, ExtraGlobal, NeuronModel, PostsynapticModel, Var,
                             WeightUpdateModel)
from .codegen.network import CurrentSourceGroup, Network, NeuronGroup, SynapseGroup
from .codegen.snippets import KEYWORDS, assigned_names, render
from . import neuron_vars as neuron_vars_of
from . import simulator
from .standardmodels.cells import GPUCellMixin
from .standardmodels.electrodes import GPUCurrentSource
from .standardmodels.synapses import GPUSynapseMixin
from .standardmodels.validation import check_values

__all__ = ["create_neuron_model", "create_postsynaptic_model", "create_weight_update_model",
           "create_current_source_model", "native_cell_type", "native_synapse_type", "native_current_source",
           "ModelError"]

#: Names the snippets of each model kind get from the generator (a model may not declare them).
NEURON_NAMES = frozenset(NEURON_BUILTINS) | {"uniform", "normal", "isyn"}
SYNAPSE_NAMES = frozenset({"t", "t_spike", "t_post", "dt", "delay", "post_spike_count", "history_size",
                           "add_to_post", "uniform", "normal", "post_spike_time", "post_spike_trace",
                           "history_overflow", "st_pre", "st_post", "prev_st_pre", "prev_st_post"})
SOURCE_NAMES = frozenset({"t", "dt", "step", "uniform", "normal", "mulhi", "normal_at", "injectCurrent"})
#: Options of :class:`NeuronModel` that :func:`create_neuron_model` passes through.
NEURON_OPTIONS = ("ode", "integrator", "ode_tolerance", "ode_eps_rel", "ode_a_y", "ode_a_dydt", "ode_initial_step",
                  "ode_step_code", "pre_ode_code", "spike_source", "instability_condition")

_PROBE_DT = 0.1
#: The local that holds, with auto_refractory_required, whether the threshold condition held before the update.
_WAS_ABOVE = "above_threshold_before"
_MISSING = float("nan")       # the default of a parameter that must be given
#: The default of an extra global array: NaN marks it as never given (refused when the network is built).
_NOT_GIVEN = Sequence([_MISSING])


# ---- keyword and code-string handling -----------------------------------------------------------------

_LEGACY_REF = re.compile(r"\$\(\s*([A-Za-z_]\w*)\s*(?:,([^$()]*(?:\([^$()]*\)[^$()]*)*))?\)")
_LEGACY_FUNCTIONS = {"addToInSyn": "add_to_post", "addToPost": "add_to_post", "gennrand_uniform": "uniform",
                     "gennrand_normal": "normal"}
#: GeNN 4's built-in names under their names here: $(DT) the time step, $(t) the time, the random numbers.
_LEGACY_NAMES = {"DT": "dt", "t": "t", "gennrand_uniform": "uniform()", "gennrand_normal": "normal()",
                 "sT_pre": "st_pre", "sT_post": "st_post"}
_PLAIN_DT = re.compile(r"(?<![\w.])DT(?!\w)")
#: GeNN 5's names for the built-ins (its current API, taken without a warning): name -> (pattern, replacement).
_GENN5 = {"addToPost": (re.compile(r"\baddToPost\s*\("), "add_to_post("),
          "gennrand_uniform": (re.compile(r"\bgennrand_uniform\s*\(\s*\)"), "uniform()"),
          "gennrand_normal": (re.compile(r"\bgennrand_normal\s*\(\s*\)"), "normal()"),
          "gennrand_exponential": (re.compile(r"\bgennrand_exponential\s*\(\s*\)"), "(-log1p(-uniform()))"),
          # arguments without brackets or commas of their own: exp(mean + sd * z)
          "gennrand_log_normal": (re.compile(r"\bgennrand_log_normal\s*\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)"),
                                  r"exp((\1) + (\2) * normal())")}
#: GeNN built-in names with no counterpart here, and what to do instead.
_GENN_MISSING = {
    "id_pre": "the presynaptic cell's index is not available to synapse code",
    "id_post": "the postsynaptic cell's index is not available to synapse code",
    "id_syn": "a synapse's index is not available to synapse code",
    "num_pre": "population sizes are not available to synapse code", "num_post": "population sizes are not "
    "available to synapse code",
    "addToPostDelay": "give the connections their delays in PyNN (per-synapse delays are exact)",
    "gennrand_log_normal": "write exp(mean + sd * normal())",
    "gennrand_gamma": "draw it from uniform() and normal() (e.g. Marsaglia and Tsang's method)",
    "gennrand_binomial": "draw it from uniform()",
}


def _upgrade_code(model: str, snippet: str, code) -> str:
    """A code string, with GeNN 4's ``$(name)`` and ``$(func, args)`` rewritten (FutureWarning naming the model)."""
    if code is None:
        return None
    if not isinstance(code, str):
        raise ModelError(f"model '{model}': {snippet} must be a string of code, not {type(code).__name__}")
    if _PLAIN_DT.search(code):
        warnings.warn(f"model '{model}' {snippet}: GeNN 4's DT is 'dt' here", FutureWarning, stacklevel=3)
        code = _PLAIN_DT.sub("dt", code)
    for pattern, replacement in _GENN5.values():
        code = pattern.sub(replacement, code)
    for name, instead in _GENN_MISSING.items():
        if re.search(rf"\b{name}\b", code):
            raise ModelError(f"model '{model}' {snippet}: GeNN's '{name}' has no counterpart here: {instead}")
    if "$(" not in code:
        return code
    warnings.warn(f"model '{model}' {snippet}: the $(name) syntax is deprecated; write plain names "
                  "(e.g. 'V' for '$(V)', 'add_to_post(g)' for '$(addToInSyn, $(g))')", FutureWarning, stacklevel=3)
    previous = None
    while code != previous:
        previous = code

        def upgrade(m):
            name, args = m.group(1), m.group(2)
            name = _LEGACY_FUNCTIONS.get(name, name) if args is not None else _LEGACY_NAMES.get(name, name)
            return name if args is None else f"{name}({args.strip()})"
        code = _LEGACY_REF.sub(upgrade, code)
    return code


def _check_model_name(name, kind: str):
    """A model's name must be a non-empty string (it names the model in messages and labels its kernels)."""
    if not isinstance(name, str) or not name.strip():
        raise ModelError(f"{kind} model name {name!r}: a model's name must be a non-empty string, e.g. 'LIF'")


def _renamed(model: str, options: dict, new: str, old: str, deprecated: bool):
    """Take ``options[old]`` as ``new`` (GeNN's other spelling); a deprecated one warns, naming the model."""
    if old not in options:
        return
    if new in options:
        raise TypeError(f"model '{model}': give '{new}' or '{old}', not both")
    if deprecated:
        warnings.warn(f"model '{model}': '{old}' is deprecated; use '{new}'", FutureWarning, stacklevel=3)
    options[new] = options.pop(old)


def _genn4_declarations(model: str, options: dict, params, vars_):
    """``params`` and ``vars`` given under GeNN 4's keywords ``param_names`` and ``var_name_types`` (FutureWarning)."""
    out = []
    for new, old, value in (("params", "param_names", params), ("vars", "var_name_types", vars_)):
        if old in options:
            if value is not None:
                raise TypeError(f"model '{model}': give '{new}' or '{old}', not both")
            warnings.warn(f"model '{model}': GeNN 4's '{old}' is '{new}' here", FutureWarning, stacklevel=3)
            value = options.pop(old)
        out.append(value)
    return out


#: GeNN 5's neuron-level spike code given without the per-neuron variables it updates.
_PRE_POST_VARS = ("beside pre_spike_syn_code / post_spike_syn_code, GeNN 5's pre_spike_code / post_spike_code is the "
                  "neurons' own code (run once per spike of the neuron): declare the variables it updates as "
                  "pre_vars / post_vars")


def _no_unknown(model: str, options: dict, factory, extra=()):
    """A TypeError for keywords ``factory`` does not take, listing those it does."""
    if options:
        allowed = [p.name for p in inspect.signature(factory).parameters.values()
                   if p.kind is not p.VAR_KEYWORD and p.name != "class_name"] + list(extra)
        raise TypeError(f"{factory.__name__}() for model '{model}': unexpected keyword(s) {sorted(options)}; "
                        f"allowed: {', '.join(allowed)}")


def _params(model: str, params) -> tuple[tuple, dict]:
    """(names, defaults) from a mapping name -> default or a sequence of names, ``(name, default)`` or GeNN's
    ``(name, 'scalar')``.  A parameter without a default must be given when the type is constructed."""
    if params is None:
        return (), {}
    mapping = isinstance(params, Mapping)
    items = params.items() if mapping else [(p, None) if isinstance(p, str) else tuple(p) for p in params]
    names, defaults = [], {}
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str):
            raise ModelError(f"model '{model}': parameter {item!r} must be a name, (name, default) or "
                             "(name, 'scalar')")
        name, value = item
        names.append(name)
        if isinstance(value, str) and not mapping:
            if value not in ("scalar", "float", "double"):
                raise ModelError(f"model '{model}': parameter '{name}' has type '{value}'; parameters are 'scalar' "
                                 "(declare integers as 'int' state variables)")
        elif value is not None:
            defaults[name] = _number(model, "parameter", name, value)
    return tuple(names), defaults


def _number(model, kind, name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ModelError(f"model '{model}': the default of {kind} '{name}' must be a number, "
                         f"not {type(value).__name__} ({value!r})")
    return float(value)


#: GeNN's integer and boolean variable types: whole numbers here ('int').
_INT_SPELLINGS = ("unsigned int", "uint32_t", "int32_t", "uint16_t", "int16_t", "uint8_t", "int8_t", "bool")


def _vars(model: str, vars_, initial_values) -> tuple[tuple, dict]:
    """(Var tuple, initial values) from a mapping name -> initial value or a sequence of names, ``Var`` or
    ``(name, type)``; ``initial_values`` adds initial values (default 0)."""
    initial = {}
    if vars_ is None:
        declared = ()
    elif isinstance(vars_, Mapping):
        declared = tuple(Var(n) for n in vars_)
        initial.update({n: _number(model, "variable", n, v) for n, v in vars_.items()})
    else:
        declared = []
        for v in vars_:
            if isinstance(v, (str, Var)):
                declared.append(v if isinstance(v, Var) else Var(v))
            elif isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v):
                declared.append(Var(v[0], "scalar" if v[1] in ("float", "double") else
                                    "int" if v[1] in _INT_SPELLINGS else v[1]))
            else:
                raise ModelError(f"model '{model}': variable {v!r} must be a name, a Var or (name, type)")
        declared = tuple(declared)
    for name, value in (initial_values or {}).items():
        initial[name] = _number(model, "variable", name, value)
    return declared, initial


def _extra_globals(model: str, specs) -> tuple:
    """ExtraGlobal tuple from names (``scalar`` arrays) or ``(name, type)``, the type ``'scalar'`` or ``'int'``
    (GeNN's pointer spellings ``'scalar*'``, ``'float*'``, ``'double*'``, ``'int*'`` too)."""
    out = []
    for spec in specs or ():
        name, ctype = (spec, "scalar") if isinstance(spec, str) else \
            (spec.name, spec.type) if isinstance(spec, ExtraGlobal) else tuple(spec) if isinstance(spec, tuple) \
            and len(spec) == 2 else (None, None)
        kind = {"scalar": "scalar", "float": "scalar", "double": "scalar", "int": "int"}.get(
            str(ctype).rstrip("*").strip())
        if not isinstance(name, str) or kind is None:
            raise ModelError(f"model '{model}': extra global array {spec!r} must be a name or (name, type) with type "
                             "'scalar' or 'int' ('scalar*', 'int*' as GeNN writes them)")
        out.append(ExtraGlobal(name, kind))
    return tuple(out)


def _never_given(seq) -> bool:
    """Whether an extra global array's value is the default that marks it as never given."""
    try:
        value = np.asarray(getattr(seq, "value", ()), float).ravel()
    except (TypeError, ValueError):
        return False
    return value.size == 1 and bool(np.isnan(value[0]))


def _egp_values(cls_name: str, egps, native: dict, where: str, per_cell: bool, build: bool = False):
    """The arrays of the extra global arrays ``egps`` in ``native`` (PyNN Sequences: one per cell, or one for all
    when ``per_cell``; else the source's one), checked: finite numbers, whole for 'int' arrays.  At the ``build``
    an array never given is refused too."""
    out = {}
    for e in egps:
        value = native[e.name]
        seqs = np.atleast_1d(value) if per_cell else [value]
        arrays = []
        missing = [k for k, seq in enumerate(seqs) if _never_given(seq)]
        if missing and build:
            cells = f" for cell(s) {', '.join(map(str, missing[:10]))}" if len(missing) < len(seqs) else ""
            later = f"population.set({e.name}=...)" if per_cell else f"source.{e.name} = Sequence([...])"
            raise InvalidParameterValueError(
                f"{cls_name}{where}: extra global array '{e.name}' was never given{cells}; give it as a PyNN "
                f"Sequence: {cls_name}({e.name}=Sequence([...])) or {later}")
        for k, seq in enumerate(seqs):
            try:
                array = np.asarray(getattr(seq, "value", seq), float).ravel()
            except (TypeError, ValueError):
                array = np.array([np.nan])
            bad = not np.all(np.isfinite(array)) or (e.type == "int" and np.any(array % 1))
            if bad and k not in missing:        # (one never given may still be set before the build)
                cell = f" of cell {k}" if per_cell and len(seqs) > 1 else ""
                kind = "whole numbers" if e.type == "int" else "finite numbers"
                raise InvalidParameterValueError(f"{cls_name}{where}: extra global array '{e.name}'{cell} must hold "
                                                 f"{kind}, got {seq!r}")
            arrays.append(array)
        out[e.name] = arrays if per_cell else arrays[0]
    return out


def _derived(model: str, derived) -> tuple:
    if derived is None:
        return ()
    items = derived.items() if isinstance(derived, Mapping) else \
        [(d.name, d.func) if isinstance(d, DerivedParam) else tuple(d) for d in derived]
    out = []
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str) or not callable(item[1]):
            raise ModelError(f"model '{model}': derived parameter {item!r} must be (name, callable of (params, dt))")
        out.append(DerivedParam(item[0], _checked_derived(model, *item)))
    return tuple(out)


def _checked_derived(model: str, name: str, func):
    """``func`` evaluated on the cells' parameter arrays, or cell by cell where it takes numbers only (GeNN's
    derived parameters do: ``math.exp(-dt / p["tau"])``); a failure or a value that is no finite number is a
    ModelError naming the model and the derived parameter."""
    where = f"[model '{model}' derived parameter '{name}']"

    def evaluate(p, dt):
        try:
            with np.errstate(all="ignore"):
                value = func(p, dt)
        except KeyError:
            raise
        except Exception:
            n = max((np.size(v) for v in p.values()), default=1)
            try:
                value = [func({k: _cell_value(v, n, i) for k, v in p.items()}, dt) for i in range(n)]
            except Exception as err:
                raise ModelError(f"{where} failed: {type(err).__name__}: {err}") from None
        try:
            value = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ModelError(f"{where} must give numbers, not {value!r}") from None
        cells = max((np.size(v) for v in p.values()), default=1) if value.size != 1 else 1
        if value.ndim > 1 or (value.size != 1 and value.size != cells):
            raise ModelError(f"{where} must give one number, or one per cell ({cells}); it gave an array of shape "
                             f"{value.shape}")
        bad = ~np.isfinite(value)
        if bad.any():
            raise ModelError(f"{where} is {value[bad].flat[0]}, not a finite number, for the parameters "
                             f"{ {k: _cell_value(v, value.size, int(np.flatnonzero(bad)[0])) for k, v in p.items()} }")
        return value
    return evaluate


def _cell_value(values, n: int, i: int) -> float:
    """Cell ``i``'s value of a parameter given per cell (``n`` of them) or once."""
    values = np.asarray(values, dtype=float).ravel()
    return float(values[i] if values.size == n else values[0])


def _units(model, names_units: dict, units) -> dict:
    """Unit strings by name; each must be one the ``quantities`` package knows (Neo uses it)."""
    out = dict(names_units)
    for name, unit in (units or {}).items():
        if name not in out:
            raise ModelError(f"model '{model}': units given for '{name}', which is neither a parameter nor a "
                             f"variable; known: {sorted(out)}")
        out[name] = unit
    for name, unit in out.items():
        try:
            pq.Quantity(1.0, unit or "dimensionless")
        except (LookupError, ValueError, TypeError, AttributeError):
            raise ModelError(f"model '{model}': unit {unit!r} of '{name}' is not a unit the quantities package "
                             "knows (e.g. 'mV', 'nA', 'uS', 'ms', 'nA/ms')") from None
        out[name] = unit or "dimensionless"
    return out


# ---- validation: the code generator renders every snippet of a probe network ----------------------------

def _check_names(model, reserved: frozenset, kind: str):
    _check_model_name(model.name, kind)
    if not (model.name.isascii() and model.name.isprintable()) or "*/" in model.name:
        raise ModelError(f"{kind} model {model.name!r}: a model's name must be printable ASCII without '*/' (it "
                         "labels the generated kernels)")
    for name in (*model.params, *model.var_names, *(d.name for d in model.derived_params)):
        if not (name.isascii() and name.isidentifier()):
            raise ModelError(f"{kind} model '{model.name}': {name!r} is no name a snippet can use; names are "
                             "letters, digits and '_' (ASCII), not starting with a digit")
        if name in reserved or name in KEYWORDS:
            raise ModelError(f"{kind} model '{model.name}': '{name}' is a built-in name of its snippets or a C "
                             "keyword; choose another name")


def _check_derived(model, kind: str, values: dict):
    """Evaluate the derived parameters on probe values: a missing name is a ModelError naming it."""
    p = dict(values)
    for d in model.derived_params:
        try:
            with np.errstate(all="ignore"):
                p[d.name] = d.func(p, _PROBE_DT)
        except KeyError as err:
            known = list(model.params) + [x.name for x in model.derived_params[:model.derived_params.index(d)]]
            raise ModelError(f"[{kind} model '{model.name}' derived parameter '{d.name}'] reads {err.args[0]!r}, "
                             f"which is not a parameter (known here: {', '.join(known) or 'none'})") from None
        except Exception:       # the probe values may lie outside the function's domain; real ones are used at build
            return


def _probe(network: Network, model, kind: str):
    """Generate the kernels of a one-neuron probe network: every snippet of ``model`` is parsed and rendered."""
    try:
        with np.errstate(all="ignore"):
            Generator(network, "opencl", "double").generate()
    except CodegenError as err:
        raise ModelError(f"{kind} model '{model.name}': {err}") from None


def _probe_values(model, defaults: dict) -> dict:
    return {p: np.full(1, defaults.get(p, 1.0)) for p in model.params}


def _flat(model):
    """``model`` with its derived parameters as plain ones (the probe must not depend on their functions)."""
    return dataclasses.replace(model, params=model.all_param_names, derived_params=())


def validate_neuron_model(model: NeuronModel, defaults: dict | None = None):
    """Raise :class:`ModelError` (model, snippet, line) if any snippet of ``model`` does not render."""
    if not isinstance(model, NeuronModel):
        raise TypeError(f"expected a NeuronModel, got {type(model).__name__}")
    _check_names(model, NEURON_NAMES | {f"in_{r}" for r in model.receptors}, "neuron")
    _check_derived(model, "neuron", _probe_values(model, defaults or {}))
    flat = _flat(model)
    group = NeuronGroup("probe", flat, 1, params={p: np.ones(1) for p in flat.params}, init={},
                        extra_globals={e.name: [np.zeros(1)] for e in flat.extra_globals})
    _probe(Network(dt=_PROBE_DT, neuron_groups=[group]), model, "neuron")


_PROBE_NEURON = NeuronModel(name="probe", receptors=("x",))


def validate_weight_update_model(model: WeightUpdateModel):
    """Raise :class:`ModelError` (model, snippet, line) if any snippet of ``model`` does not render."""
    if not isinstance(model, WeightUpdateModel):
        raise TypeError(f"expected a WeightUpdateModel, got {type(model).__name__}")
    _check_names(model, SYNAPSE_NAMES, "weight-update")
    # probe neurons with the variables the snippets read as <var>_pre / <var>_post (checked against the real
    # neuron models when a projection is built)
    pre_refs, post_refs = model.neuron_refs()
    pre = NeuronGroup("pre", dataclasses.replace(_PROBE_NEURON, name="probe_pre", vars=pre_refs), 1, params={},
                      init={})
    post = NeuronGroup("post", dataclasses.replace(_PROBE_NEURON, name="probe_post", vars=post_refs), 1, params={},
                       init={})
    one = np.zeros(1, np.int64)
    sg = SynapseGroup("probe", pre, post, "x", model, one, one, np.ones(1, np.int64),
                      vars={v: np.ones(1) for v in model.var_names})
    _probe(Network(dt=_PROBE_DT, neuron_groups=[pre, post], synapse_groups=[sg]), model, "weight-update")


def validate_current_source_model(model: CurrentSourceModel, defaults: dict | None = None):
    """Raise :class:`ModelError` (model, snippet, line) if the injection code does not render."""
    if not isinstance(model, CurrentSourceModel):
        raise TypeError(f"expected a CurrentSourceModel, got {type(model).__name__}")
    _check_names(model, SOURCE_NAMES, "current-source")
    _check_derived(model, "current-source", {p: (defaults or {}).get(p, 1.0) for p in model.params})
    flat = _flat(model)
    probe = dataclasses.replace(_PROBE_NEURON, vars=tuple(Var(t) for t in dict.fromkeys(t for _, t in
                                                                                       model.neuron_var_refs)))
    target = NeuronGroup("target", probe, 1, params={}, init={})
    source = CurrentSourceGroup(model.name, flat, {p: 1.0 for p in flat.params}, [(target, np.zeros(1, np.int64))],
                                extra_globals={e.name: np.zeros(1) for e in flat.extra_globals})
    _probe(Network(dt=_PROBE_DT, neuron_groups=[target], current_sources=[source]), model, "current-source")


# ---- postsynaptic models: fused into the neuron model, one copy per receptor ------------------------------

def create_postsynaptic_model(class_name: str, params=None, vars=None, derived_params=None, apply_input_code="",
                              decay_code="", current_code="0", **options) -> PostsynapticModel:
    """A postsynaptic model: how the summed weights arriving at a receptor become a current (nA).

    ``params``/``vars``/``derived_params`` as for :func:`create_neuron_model` (variables start at 0 unless given
    as a mapping); ``apply_input_code`` adds ``inp`` (the weights arriving in this step) to the state,
    ``decay_code`` advances the state by one step, ``current_code`` is an expression for the current (it may read
    the neuron's state variables, e.g. ``v`` for a conductance); all three may draw ``uniform()`` and ``normal()``
    from the cell's stream.  Attach it to a receptor with
    ``create_neuron_model(..., postsynaptic_models={'excitatory': (model, {'tau': 5.0})})``: its parameters and
    variables become the neuron's, suffixed with the receptor (``tau_excitatory``), and the neuron's snippets read
    the summed current as ``isyn``.  Example (an exponential current)::

        ExpCurr = sim.create_postsynaptic_model(
            "ExpCurr", params={"tau": 5.0}, vars=["x"],
            derived_params={"decay": lambda p, dt: np.exp(-dt / p["tau"])},
            apply_input_code="x += inp;", decay_code="x *= decay;", current_code="x")
    """
    _check_model_name(class_name, "postsynaptic")
    params, vars = _genn4_declarations(class_name, options, params, vars)
    if "sim_code" in options:
        raise ModelError(f"postsynaptic model '{class_name}': GeNN 5's sim_code (injectCurrent(init * inSyn); inSyn *= "
                         "expDecay;) is written here as vars=['x'], apply_input_code='x += init * inp;', "
                         "decay_code='x *= expDecay;' and current_code='x'")
    _no_unknown(class_name, dict(options), create_postsynaptic_model)
    declared, initial = _vars(class_name, vars, None)
    names, defaults = _params(class_name, params)
    model = PostsynapticModel(name=class_name, params=names, vars=declared,
                              derived_params=_derived(class_name, derived_params),
                              apply_input_code=_upgrade_code(class_name, "apply_input_code", apply_input_code),
                              decay_code=_upgrade_code(class_name, "decay_code", decay_code),
                              current_code=_upgrade_code(class_name, "current_code", current_code))
    object.__setattr__(model, "_defaults", defaults)      # kept with the model for create_neuron_model
    object.__setattr__(model, "_initial", initial)
    return model


def _suffixed_derived(d: DerivedParam, names: dict) -> DerivedParam:
    """A derived parameter of a postsynaptic model reading the neuron's (suffixed) parameters."""
    def func(p, dt, _f=d.func, _names=dict(names)):
        return _f({local: p[glob] for local, glob in _names.items() if glob in p}, dt)
    return DerivedParam(names[d.name], func)


def _input_vars(name: str, specs) -> dict:
    """GeNN's ``additional_input_vars``: ``[(name, type, initial value)]`` (GeNN 5; the type is taken as scalar) or
    ``{name: initial value}``, as ``{name: initial value}``."""
    items = list(specs.items()) if isinstance(specs, Mapping) else \
        [(x[0], x[-1]) if isinstance(x, (tuple, list)) and len(x) in (2, 3) else (x, None) for x in specs]
    out = {}
    for var, value in items:
        if not isinstance(var, str) or not var.isidentifier() or value is None:
            raise ModelError(f"neuron model '{name}': additional_input_vars must be [(name, type, initial value)] or "
                             f"{{name: initial value}}, not {specs!r}")
        out[var] = _number(name, "additional input variable", var, value)
        if not np.isfinite(out[var]):
            raise ModelError(f"neuron model '{name}': additional input variable '{var}' needs a finite initial value "
                             f"(got {value!r})")
    return out


def _fuse(name, params, vars_, derived, receptors, sim_code, postsynaptic_models, defaults, initial,
          input_vars=None):
    """The neuron's parameters, variables, derived parameters and sim_code with the postsynaptic models added; each
    model's current goes to ``isyn`` or, given as ``(model, {param: value}, target)``, to one of ``input_vars``
    (GeNN's additional input variables: locals of the step, from their initial value)."""
    input_vars = input_vars or {}
    if input_vars and not postsynaptic_models:
        raise ModelError(f"neuron model '{name}': additional_input_vars take the current of postsynaptic models that "
                         f"target them: postsynaptic_models={{receptor: (model, {{parameter: value}}, "
                         f"'{next(iter(input_vars))}')}}")
    if not postsynaptic_models:
        return params, vars_, derived, sim_code, ""
    if not isinstance(postsynaptic_models, Mapping):
        raise ModelError(f"neuron model '{name}': postsynaptic_models must be {{receptor: PostsynapticModel or "
                         f"(PostsynapticModel, {{parameter: value}})}}, not {postsynaptic_models!r}")
    params, vars_, derived = list(params), list(vars_), list(derived)
    neuron_names = {n: n for n in (*params, *(v.name for v in vars_), *(d.name for d in derived))}
    currents, after = {"isyn": [], **{v: [] for v in input_vars}}, []
    for receptor, spec in postsynaptic_models.items():
        given = isinstance(spec, (tuple, list)) and len(spec) in (2, 3) and isinstance(spec[1], Mapping)
        psm, values, target = (spec, {}, "isyn") if not given else (*spec[:2], spec[2] if len(spec) == 3 else "isyn")
        if not isinstance(psm, PostsynapticModel):
            raise ModelError(f"neuron model '{name}': postsynaptic_models['{receptor}'] must be a PostsynapticModel "
                             f"(made by create_postsynaptic_model), (PostsynapticModel, {{parameter: value}}) or "
                             f"(PostsynapticModel, {{parameter: value}}, additional input variable), not {spec!r}")
        target = "isyn" if target in ("isyn", "Isyn") else target
        if target not in currents:
            raise ModelError(f"neuron model '{name}': the postsynaptic model of '{receptor}' targets '{target}', "
                             f"which is not an additional input variable ({', '.join(input_vars) or 'none declared'})")
        if receptor not in receptors:
            raise ModelError(f"neuron model '{name}': postsynaptic model for '{receptor}', which is not a receptor "
                             f"({', '.join(receptors)})")
        local = {n: f"{n}_{receptor}" for n in (*psm.params, *psm.var_names, *(d.name for d in psm.derived_params))}
        unknown = set(values) - set(psm.params)
        if unknown:
            raise ModelError(f"neuron model '{name}': postsynaptic model '{psm.name}' has no parameter(s) "
                             f"{sorted(unknown)}; parameters: {', '.join(psm.params)}")
        params += [local[p] for p in psm.params]
        vars_ += [dataclasses.replace(v, name=local[v.name]) for v in psm.vars]
        derived += [_suffixed_derived(d, local) for d in psm.derived_params]
        for p in psm.params:
            given = values.get(p, getattr(psm, "_defaults", {}).get(p))
            if given is not None:
                defaults.setdefault(local[p], _number(name, "parameter", local[p], given))
        for v, value in getattr(psm, "_initial", {}).items():
            initial.setdefault(local[v], value)
        # the neuron's built-ins too: the code is fused into the neuron model's and rendered again with it
        names = {**neuron_names, **local, "inp": f"in_{receptor}", "dt": "dt", "t": "t", "i_inj": "i_inj"}
        context = f"postsynaptic model '{psm.name}' of neuron model '{name}' (receptor '{receptor}')"
        functions = {"uniform": "uniform", "normal": "normal"}      # the neuron's stream, rendered with it
        current, _ = render(psm.current_code, names, context=f"{context} current_code", functions=functions,
                            expression=True)
        decay, _ = render(psm.decay_code, names, context=f"{context} decay_code", functions=functions,
                          writable=psm.var_names)
        apply, _ = render(psm.apply_input_code, names, context=f"{context} apply_input_code", functions=functions,
                          writable=psm.var_names)
        currents[target].append(mark_snippet(f"({current.strip() or '0'})", f"{context} current_code"))
        after.append(mark_snippet(f"{{ {decay.strip()} }}", f"{context} decay_code") + "\n"
                     + mark_snippet(f"{{ {apply.strip()} }}", f"{context} apply_input_code"))
    # each part framed with the snippet it comes from: errors (here and from the device compiler) name it.  The
    # input is summed first, before the ODE is integrated: ode right-hand sides read it too
    inputs = "const scalar isyn =\n" + ("\n+ ".join(currents.pop("isyn")) or "0.0") + ";\n"
    for var, parts in currents.items():
        inputs += f"scalar {var} = {float(input_vars[var])!r}" + "".join(f"\n+ {c}" for c in parts) + ";\n"
    code = mark_snippet(sim_code, f"neuron model '{name}' sim_code") + "\n" + "\n".join(after)
    return tuple(params), tuple(vars_), tuple(derived), code, inputs


# ---- PyNN types ----------------------------------------------------------------------------------------

def _required_check(cls, given: dict):
    missing = [p for p in cls.required_parameters if p not in given]
    if missing:
        raise InvalidParameterValueError(
            f"{cls.__name__}: parameter(s) {', '.join(repr(m) for m in missing)} have no default value and must be "
            f"given, e.g. {cls.__name__}({', '.join(f'{m}=...' for m in missing)})")


def _doc(kind: str, model, defaults: dict, initial: dict, extra: str = "") -> str:
    """A docstring listing the parameters (``defaults``: name -> default, NaN: required) and variables."""
    def show(p, v):
        if v is None:
            return f"{p}=None"
        return f"{p} (required)" if v is _NOT_GIVEN or isinstance(v, float) and np.isnan(v) else f"{p}={v!r}"
    params = ", ".join(show(p, v) for p, v in defaults.items()) or "none"
    lines = [f"User-defined {kind} '{model.name}' (pyNN.gpu native model).", "", f"Parameters: {params}."]
    if initial:
        lines.append("State variables (initial values): " + ", ".join(f"{k}={v!r}" for k, v in initial.items()) + ".")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


class NativeCellType(GPUCellMixin, StandardCellType):
    """Base of the cell types made by :func:`native_cell_type` / :func:`create_neuron_model`.

    Parameters translate one to one (native = PyNN names and units); values are checked for NaN only.
    """

    required_parameters: tuple = ()
    conductance_based = False

    def __init__(self, **parameters):
        _required_check(type(self), parameters)
        super().__init__(**parameters)

    def check(self, native: dict, where: str = ""):
        """No NaN, and the type's ``parameter_checks``; extra global arrays: finite (whole for 'int')."""
        check_values(type(self).__name__, native, self.parameter_checks, where)
        egps = [e for e in self.codegen_model.extra_globals if e.name in native]
        _egp_values(type(self).__name__, egps, native, where, per_cell=True)

    def extra_globals(self, native: dict, dt: float) -> dict:
        """Each cell's arrays (its Sequence of each extra global array); one never given is refused."""
        # ``native`` is the population's own parameter dict: it names the population in the error
        pop = next((p for p in simulator.state.populations if getattr(p, "_parameters", None) is native), None)
        where = f" in population '{pop.label}'" if pop is not None else ""
        return _egp_values(type(self).__name__, self.codegen_model.extra_globals, native, where, per_cell=True,
                           build=True)


def _no_nest_names(model, function: str, creator: str):
    """pyNN.nest's native_* functions take NEST model names; these take model descriptions."""
    if isinstance(model, str):
        raise NotImplementedError(
            f"{function}({model!r}): pyNN.gpu does not run NEST's built-in models by name; describe the model with "
            f"sim.{creator}(...) (parameters, state variables, code snippets) and pass that")


def native_cell_type(model: NeuronModel, defaults: dict | None = None, initial_values: dict | None = None,
                     units: dict | None = None, *, name: str | None = None, conductance_based: bool = False,
                     parameter_checks: dict | None = None) -> type:
    """A PyNN cell type class running the codegen neuron model ``model``.

    ``defaults`` gives default parameter values (a parameter without one must be given to the constructor),
    ``initial_values`` the default initial values of the state variables (0 otherwise), ``units`` unit strings
    for the Neo output (default: each :class:`Var`'s ``unit``, else dimensionless).  ``conductance_based`` selects
    PyNN's weight-sign rule (current-based: negative weights onto 'inhibitory'); ``parameter_checks`` maps a
    parameter to ``(predicate of an array, phrase)`` as in ``pynn_gpu.standardmodels.validation``.  The class
    is named ``name`` (default: the model's name).  Every snippet is validated here (:class:`ModelError`).
    """
    defaults, initial_values = dict(defaults or {}), dict(initial_values or {})
    _no_nest_names(model, "native_cell_type", "create_neuron_model")
    if not isinstance(model, NeuronModel):
        raise TypeError(f"native_cell_type() needs a NeuronModel, got {type(model).__name__}")
    for given, allowed, what in ((defaults, model.params, "parameter"), (initial_values, model.var_names, "variable")):
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise ModelError(f"neuron model '{model.name}': {what} value(s) given for {unknown}, which the model does "
                             f"not declare; {what}s: {', '.join(allowed) or 'none'}")
    for k, v in list(defaults.items()):
        defaults[k] = _number(model.name, "parameter", k, v)
    for k, v in list(initial_values.items()):
        initial_values[k] = _number(model.name, "variable", k, v)
    validate_neuron_model(model, defaults)
    unit_of = _units(model.name, {**{p: "" for p in model.params}, **{v.name: v.unit for v in model.vars}}, units)
    class_name = name or (model.name if model.name.isidentifier() else "NativeCell")
    default_parameters = {p: defaults.get(p, _MISSING) for p in model.params}
    default_parameters.update({e.name: _NOT_GIVEN for e in model.extra_globals})
    initial = {v: initial_values.get(v, 0.0) for v in model.var_names}
    return type(class_name, (NativeCellType,), {
        "__doc__": _doc("cell type", model, default_parameters, initial,
                        f"Receptors: {', '.join(model.receptors) or 'none'}."),
        "__module__": __name__,
        "codegen_model": model,
        "default_parameters": default_parameters,
        "required_parameters": tuple(p for p in model.params if p not in defaults),
        "default_initial_values": initial,
        "translations": build_translations(*[(p, p) for p in default_parameters]),
        "recordable": ["spikes"] + list(model.var_names),
        "units": unit_of,
        "receptor_types": tuple(model.receptors),
        "conductance_based": bool(conductance_based),
        "injectable": not model.spike_source and model.reads("i_inj"),
        "not_injectable_because": "spike sources are not injectable" if model.spike_source else
                                  f"model '{model.name}' never reads i_inj (GeNN's current-source input), so the "
                                  "current would have no effect",
        "parameter_checks": dict(parameter_checks or {}),
    })


#: GeNN's summed input of a neuron, in its neuron code.
_ISYN = re.compile(r"(?<![\w.$])Isyn(?!\w)")


def _genn_isyn(receptors: tuple, postsynaptic: bool) -> str:
    """GeNN's ``Isyn`` here: the postsynaptic models' current, or without them (GeNN's DeltaCurr) the weights
    arriving in the step at every receptor, plus the current sources' ``i_inj``."""
    if postsynaptic:
        return "(isyn + i_inj)"
    return "(" + " + ".join([f"in_{r}" for r in receptors] + ["i_inj"]) + ")"


def _isyn_in_options(model_options: dict, isyn: str):
    """GeNN's ``Isyn`` as ``isyn`` in the code strings among a neuron model's options (an ``ode`` of another form
    than pairs is left to NeuronModel, which refuses it in its own words)."""
    for key in ("pre_ode_code", "ode_step_code"):
        if key in model_options:
            model_options[key] = _ISYN.sub(isyn, model_options[key] or "")
    ode = model_options.get("ode")
    pairs = list(ode.items()) if isinstance(ode, Mapping) else ode if isinstance(ode, (list, tuple)) else None
    if pairs is not None and all(isinstance(x, (list, tuple)) and len(x) == 2 for x in pairs):
        model_options["ode"] = [(var, _ISYN.sub(isyn, rhs) if isinstance(rhs, str) else rhs) for var, rhs in pairs]


def create_neuron_model(class_name: str, params=None, vars=None, derived_params=None, sim_code: str = "",
                        threshold_condition_code: str = "false", reset_code: str = "",
                        receptors=("excitatory", "inhibitory"), initial_values: dict | None = None,
                        units: dict | None = None, postsynaptic_models: dict | None = None,
                        conductance_based: bool = False, parameter_checks: dict | None = None,
                        auto_refractory_required: bool = False, extra_global_params=None,
                        additional_input_vars=None, **options) -> type:
    """Define a neuron model GeNN-style and return it as a PyNN cell type class.

    - ``params``: a mapping ``{name: default}`` or a sequence of names (no default: must be given) or
      ``(name, default)``; values in PyNN's units.
    - ``vars``: state variables, a mapping ``{name: initial value}`` or a sequence of names, ``(name, type)``
      (``'scalar'`` or ``'int'``) or :class:`~pynn_gpu.codegen.models.Var`; ``initial_values`` adds initial values
      (default 0).  Each is recordable and can be set with ``initialize``.
    - ``derived_params``: ``{name: f}`` or ``[(name, f)]`` with ``f(params, dt)`` computed on the host at build
      time (from per-cell arrays) and readable in the snippets like a parameter.
    - ``sim_code`` (one step), ``threshold_condition_code`` (an expression; a spike when true), ``reset_code``
      (after a spike); the built-in names are listed in the module docstring.  A cell spikes in every step its
      threshold condition holds; with ``auto_refractory_required=True`` (GeNN's keyword; GeNN 4's
      ``is_auto_refractory_required``) only in a step that begins below it (the condition was false before the
      step's update), as a cell without reset code needs to fire once per crossing.
    - ``receptors``: the receptor types projections may target (``in_<receptor>`` in the snippets).
    - ``extra_global_params``: arrays of numbers, names or ``(name, 'scalar' | 'int')``: a parameter per cell
      whose value is a PyNN ``Sequence`` (one for all cells, or one per cell; every cell's must be given before
      the run, ``Sequence([])`` for none), changeable with ``set``; the snippets read element ``k`` as
      ``name[k]`` and the length as ``name_len`` (an index outside ``0 .. name_len - 1`` reads another cell's
      data, as in GeNN).
    - ``postsynaptic_models``: ``{receptor: PostsynapticModel or (model, {param: value})}``, see
      :func:`create_postsynaptic_model`; their currents are summed into ``isyn`` (GeNN's ``Isyn`` adds ``i_inj``).
    - ``additional_input_vars``: GeNN's further inputs, ``[(name, type, initial value)]`` or ``{name: initial
      value}``: each a local of the step, from its initial value, that the postsynaptic models given as
      ``(model, {param: value}, name)`` add their current to instead of ``isyn`` (GeNN's target variable).
    - ``units``: unit strings for the Neo output; ``conductance_based``, ``parameter_checks``: as in
      :func:`native_cell_type`.
    - further keywords of :class:`~pynn_gpu.codegen.models.NeuronModel`: ``ode`` (``{variable: right-hand side}``
      or ``[(variable, right-hand side)]``, integrated before ``sim_code``), ``integrator`` (``'rkf45'``/``'rk4'``),
      ``ode_tolerance``, ``pre_ode_code``, ``ode_step_code``, ``spike_source``, ``instability_condition`` (a
      condition on the state after a step under which the run stops with ``NumericalInstabilityError``), ...

    The codegen model's ``threshold_code`` spelling is accepted too.  Raises :class:`ModelError` naming the
    model, the snippet and the line for code that does not render.
    """
    _check_model_name(class_name, "neuron")
    options = dict(options)
    params, vars = _genn4_declarations(class_name, options, params, vars)
    threshold_condition_code = options.pop("threshold_code", threshold_condition_code)   # the codegen spelling
    if "is_auto_refractory_required" in options:      # GeNN 4's spelling
        warnings.warn(f"model '{class_name}': 'is_auto_refractory_required' is deprecated; use "
                      "'auto_refractory_required'", FutureWarning, stacklevel=2)
        auto_refractory_required = options.pop("is_auto_refractory_required")
    model_options = {k: options.pop(k) for k in NEURON_OPTIONS if k in options}
    _no_unknown(class_name, options, create_neuron_model, NEURON_OPTIONS)
    for key in ("pre_ode_code", "ode_step_code"):
        if key in model_options:
            model_options[key] = _upgrade_code(class_name, key, model_options[key])
    if isinstance(receptors, str):
        receptors = (receptors,)
    names, defaults = _params(class_name, params)
    declared, initial = _vars(class_name, vars, initial_values)
    derived = _derived(class_name, derived_params)
    if "Isyn" not in names and all(v.name != "Isyn" for v in declared):
        isyn = _genn_isyn(tuple(receptors), bool(postsynaptic_models))
        sim_code, threshold_condition_code, reset_code = (
            _ISYN.sub(isyn, code or "") for code in (sim_code, threshold_condition_code, reset_code))
        _isyn_in_options(model_options, isyn)
    sim_code = _upgrade_code(class_name, "sim_code", sim_code)
    input_vars = _input_vars(class_name, additional_input_vars) if additional_input_vars is not None else {}
    taken = set(names) | {v.name for v in declared} | {d.name for d in derived} | set(NEURON_BUILTINS) | \
        {"isyn", "Isyn", "id", "inp"} | {f"in_{r}" for r in receptors} | set(KEYWORDS)
    for receptor, spec in (postsynaptic_models or {}).items():     # the postsynaptic models' names, suffixed
        psm = spec[0] if isinstance(spec, (tuple, list)) and spec else spec
        if isinstance(psm, PostsynapticModel):
            taken |= {f"{n}_{receptor}" for n in (*psm.params, *psm.var_names, *(d.name for d in psm.derived_params))}
    for var in input_vars:
        if var in taken or var.startswith("pg_"):
            raise ModelError(f"neuron model '{class_name}': additional input variable '{var}' has the name of a "
                             "parameter, variable, built-in name or C keyword of the model")
    names, declared, derived, sim_code, inputs = _fuse(class_name, names, declared, derived, tuple(receptors),
                                                       sim_code, postsynaptic_models, defaults, initial, input_vars)
    threshold = _upgrade_code(class_name, "threshold_condition_code", threshold_condition_code) or "false"
    # before the integration: the step's input (isyn, additional input variables), then GeNN's oldSpike (the
    # condition before the step's update must be false, with auto_refractory_required), then pre_ode_code
    pre_ode = model_options.get("pre_ode_code", "")
    pre_ode = mark_snippet(pre_ode, f"neuron model '{class_name}' pre_ode_code") if pre_ode and inputs else pre_ode
    if auto_refractory_required:
        pre_ode = mark_snippet(f"const int {_WAS_ABOVE} = ({threshold});",
                               f"neuron model '{class_name}' threshold_condition_code") + "\n" + pre_ode
        threshold = f"({threshold}) && !{_WAS_ABOVE}"
    if inputs or pre_ode:
        model_options["pre_ode_code"] = inputs + pre_ode
    model = NeuronModel(name=class_name, params=names, vars=declared, derived_params=derived, sim_code=sim_code,
                        threshold_code=threshold, extra_globals=_extra_globals(class_name, extra_global_params),
                        reset_code=_upgrade_code(class_name, "reset_code", reset_code), receptors=tuple(receptors),
                        **model_options)
    try:
        return native_cell_type(model, defaults, initial, units, name=class_name if class_name.isidentifier() else None,
                                conductance_based=conductance_based, parameter_checks=parameter_checks)
    except ModelError as err:   # name the snippet by the keyword it was given with
        raise ModelError(str(err).replace(" threshold_code, line", " threshold_condition_code, line")) from None


class NativeSynapseType(GPUSynapseMixin, StandardSynapseType):
    """Base of the synapse types made by :func:`native_synapse_type` / :func:`create_weight_update_model`.

    Every variable of the codegen model is a per-synapse PyNN parameter (``weight`` and ``delay`` always exist).
    Variables the model changes as it runs are read back from the device before ``Projection.get`` and
    ``Projection.set``.
    """

    required_parameters: tuple = ()
    #: A user model (its weight, if it declares none, is read by nothing).
    user_model = True
    #: The model's derived parameters: per-synapse variables computed on the host from the others.
    derived: tuple = ()
    #: The model's 'int' variables (whole numbers only).
    int_vars: tuple = ()
    #: GeNN 5's per-neuron variables: side ('pre', 'post') -> NeuronSide (see :mod:`pynn_gpu.neuron_vars`)
    neuron_sides: dict = {}
    #: their names -> side
    neuron_var_names: dict = {}
    #: the parameters the neurons' code reads (one value per projection)
    neuron_params: tuple = ()
    #: GeNN's axonal delays: the presynaptic code runs at a spike's arrival (see :mod:`pynn_gpu.axonal_delays`)
    axonal_delay: bool = False

    def __init__(self, **parameters):
        _required_check(type(self), parameters)
        for name in parameters:
            if name in self.neuron_var_names:
                side = self.neuron_var_names[name]
                raise InvalidParameterValueError(
                    f"{type(self).__name__}: '{name}' is a variable of the {side}synaptic neurons ({side}_vars), not "
                    f"of the synapses; give its initial value in {side}_vars")
        weight = parameters.get("weight", 0.0)
        if "weight" not in self.codegen_model.var_names and not (isinstance(weight, (int, float)) and weight == 0):
            own = ", ".join(v for v in self.codegen_model.var_names) or "none"
            raise InvalidParameterValueError(
                f"{type(self).__name__}: 'weight' is given, but the model does not declare it, so nothing would read "
                f"it; give the model's own variables (here: {own}), or declare 'weight' in vars")
        for name, value in parameters.items():
            if name in self.int_vars and isinstance(value, (int, float, np.number)) and value % 1:
                raise InvalidParameterValueError(f"{type(self).__name__}: '{name}' must be a whole number: the "
                                                 f"variable is an integer (got {value})")
        super().__init__(**parameters)

    def model_vars(self, attributes, post_params, receptor, initial):
        derived = {d.name for d in self.derived}
        out = {v: attributes[v] for v in self.codegen_model.var_names if v not in derived}
        out.update(self.derived_values(out))
        return out

    def derived_values(self, attributes: dict) -> dict:
        """The derived parameters, one value per synapse, from the synapses' other parameters (arrays)."""
        p = {k: np.asarray(v, float) for k, v in attributes.items()}
        n = len(next(iter(p.values()))) if p else 0
        if n and all(np.all(a == a[0]) for a in p.values()):     # the same for every synapse: computed once
            p = {k: a[:1] for k, a in p.items()}
        out = {}
        for d in self.derived:
            p[d.name] = np.asarray(d.func(p, simulator.state.dt), float)
            out[d.name] = np.broadcast_to(p[d.name], (n,))
        return out


def _whole_check(name: str, other=None):
    """A synapse type's ``parameter_checks`` entry for an 'int' variable: whole numbers only (as a neuron's), then
    the ``other`` check of that parameter, if any (e.g. the weights')."""
    def check(values, projection):
        array = np.asarray(values, float)
        bad = array != np.round(array)
        if np.any(bad):
            raise InvalidParameterValueError(
                f"projection '{projection.label}', synapse type {type(projection.synapse_type).__name__}: '{name}' "
                f"must be a whole number: the variable is an integer (got {array[bad].flat[0]})")
        if other is not None:
            other(values, projection)
    return check


def _spike_like_events(class_name: str, options: dict):
    """GeNN's spike-like events (GeNN 5's ``pre_event_threshold_condition_code`` and ``pre_event_syn_code``, GeNN 4's
    ``event_threshold_condition_code`` and ``event_code``), taken out of ``options``: (condition, code), or None.
    They run as synapse dynamics: in every step where the condition holds (on the presynaptic neuron's state
    after its update, ``V_pre``...), each of the neuron's synapses runs the event code, as GeNN runs it for the
    event (e.g. GeNN's StaticGraded)."""
    _renamed(class_name, options, "pre_event_threshold_condition_code", "event_threshold_condition_code",
             deprecated=True)
    _renamed(class_name, options, "pre_event_syn_code", "event_code", deprecated=True)
    condition = options.pop("pre_event_threshold_condition_code", None)
    code = options.pop("pre_event_syn_code", None)
    if condition is None and code is None:
        return
    if condition is None or code is None:
        raise ModelError(f"weight-update model '{class_name}': spike-like events need both "
                         "pre_event_threshold_condition_code and pre_event_syn_code")
    return condition, code


def _one_line(code: str) -> str:
    """``code`` as a block on one line (its // comments dropped, its locals its own), to go before another snippet
    without moving that snippet's lines."""
    text = " ".join(re.sub(r"//[^\n]*", "", code or "").split())
    return f"{{ {text} }}" if text else ""


def _with_neuron_vars(class_name, params, vars_, neuron_vars, pre_spike_code, post_spike_code, synapse_dynamics_code,
                      derived_params, post_trace, units, options):
    """GeNN 5's weight-update model with per-neuron variables: ``pre_vars`` / ``post_vars`` updated by the neurons'
    own ``pre_spike_code`` / ``post_spike_code`` (once per spike) and ``pre_dynamics_code`` /
    ``post_dynamics_code`` (every step), read by the synapse code (``pre_spike_syn_code``...).

    They are kept per neuron, as in GeNN: each projection's become hidden state of its neurons, whose update runs
    the neurons' code (:mod:`pynn_gpu.neuron_vars`).  In the neurons' spike code ``st_pre`` (``st_post``) is the
    spike before the one being handled, as in GeNN; the parameters that code reads must be one value per
    projection (GeNN's are per synapse group).  ``Projection.get`` gives each synapse its neuron's value."""
    syn_pre = options.pop("pre_spike_syn_code", None)
    syn_post = options.pop("post_spike_syn_code", "")
    dynamics = {"pre": options.pop("pre_dynamics_code", ""), "post": options.pop("post_dynamics_code", "")}
    spike = {"pre": pre_spike_code or "", "post": post_spike_code or ""}
    _no_unknown(class_name, options, create_weight_update_model,
                ("pre_vars", "post_vars", "pre_spike_syn_code", "post_spike_syn_code", "pre_dynamics_code",
                 "post_dynamics_code"))
    declared, initial = _vars(class_name, vars_, None)
    param_names = _params(class_name, params)[0] + tuple(d.name for d in _derived(class_name, derived_params))
    sides, taken = {}, {v.name: "vars" for v in declared}
    taken.update({p: "params" for p in param_names})
    for side, spec in neuron_vars.items():
        if spec is None:
            continue
        if isinstance(spec, str) or not isinstance(spec, (Mapping, list, tuple)):
            raise ModelError(f"weight-update model '{class_name}': {side}_vars must be {{name: initial value}} or a "
                             f"list of names or (name, type), not {spec!r}")
        side_vars, side_initial = _vars(class_name, spec, None)
        for v in side_vars:
            if not v.name.isidentifier() or v.name in KEYWORDS or v.name.startswith("pg_"):
                raise ModelError(f"weight-update model '{class_name}': {side}_vars name '{v.name}' is not a valid "
                                 "identifier (letters, digits and '_', not starting with 'pg_')")
            if v.name in taken:
                raise ModelError(f"weight-update model '{class_name}': '{v.name}' is declared twice ({side}_vars and "
                                 f"{taken[v.name]})")
            taken[v.name] = f"{side}_vars"
            for snippet, code in (("pre_spike_syn_code", syn_pre), ("post_spike_syn_code", syn_post),
                                  ("synapse_dynamics_code", synapse_dynamics_code)):
                if re.search(rf"\b{v.name}_{side}\b", code or ""):
                    raise ModelError(f"weight-update model '{class_name}': {snippet} reads '{v.name}_{side}', the "
                                     f"{side}synaptic cells' own '{v.name}', which the {side}_vars variable "
                                     f"'{v.name}' hides; rename the {side}_vars variable")
        code = {}
        for kind, given in (("spike", spike[side]), ("dynamics", dynamics[side])):
            snippet = f"{side}_{kind}_code"
            code[kind] = _upgrade_code(class_name, snippet, given) if given else ""
            if code[kind]:      # checked on its own: its names resolve against the side's variables and parameters
                try:
                    create_weight_update_model(class_name, params=params, vars=[(v.name, v.type) for v in side_vars],
                                               derived_params=derived_params, synapse_dynamics_code=code[kind])
                except ModelError as err:
                    raise ModelError(str(err).replace(" synapse_dynamics_code,", f" {snippet},")) from None
        sides[side] = neuron_vars_of.side_of(side, side_vars, side_initial, code["spike"], code["dynamics"],
                                             param_names, class_name)
    for side in ("pre", "post"):
        if side not in sides and (spike[side] or dynamics[side]):
            raise ModelError(f"weight-update model '{class_name}': {side}_spike_code / {side}_dynamics_code is the "
                             f"{side}synaptic neurons' own code; declare the variables it updates as {side}_vars")
    of_side = {name: side.side for side in sides.values() for name in side.var_names}
    if syn_pre is None:
        syn_pre = "add_to_post(weight);" if any(v.name == "weight" for v in declared) else ""
    for snippet, code in (("pre_spike_syn_code", syn_pre), ("post_spike_syn_code", syn_post),
                          ("synapse_dynamics_code", synapse_dynamics_code)):
        for name, line in assigned_names(code or "").items():
            if name in of_side:
                side = of_side[name]
                raise ModelError(f"[weight-update model '{class_name}' {snippet}, line {line}] '{name}' cannot be "
                                 f"assigned by synapse code: it is a variable of the {side}synaptic neurons, updated "
                                 f"by their own code ({side}_spike_code, {side}_dynamics_code)")
    model_type = create_weight_update_model(
        class_name, params=params, vars=vars_, derived_params=derived_params, post_trace=post_trace, units=units,
        pre_spike_syn_code=neuron_vars_of.synapse_code(syn_pre, sides),
        post_spike_syn_code=neuron_vars_of.synapse_code(syn_post, sides),
        synapse_dynamics_code=neuron_vars_of.synapse_code(synapse_dynamics_code, sides))
    # each synapse reads its neuron's value with Projection.get
    per_neuron = {name: side.initial.get(name, 0.0) for side in sides.values() for name in side.var_names}
    model_type.default_parameters.update(per_neuron)
    model_type.translations = build_translations(*[(p, p) for p in model_type.default_parameters])
    model_type.units = {**model_type.units, **{name: "" for name in per_neuron}}
    model_type.neuron_sides = sides
    model_type.neuron_var_names = of_side
    read = {p for side in sides.values() for p in side.params}
    derived_names = {d.name for d in _derived(class_name, derived_params)}
    if read & derived_names:        # a derived parameter may follow any parameter
        read |= set(param_names)
    model_type.neuron_params = tuple(sorted(read))
    return model_type


def native_synapse_type(model: WeightUpdateModel, defaults: dict | None = None, units: dict | None = None, *,
                        name: str | None = None) -> type:
    """A PyNN synapse type class running the codegen weight-update model ``model``.

    Each variable of the model is a per-synapse PyNN parameter with the default from ``defaults`` (0 if not
    given); ``weight`` (default 0) and ``delay`` (default: the minimum delay) always exist, ``weight`` only on the
    host unless the model declares it.  Model parameters are turned into per-synapse variables (the kernels read
    synapse state per synapse); so are derived parameters, computed on the host from the synapse's other values
    (``f(p, dt)`` with arrays) when the network is built and again when ``Projection.set`` changes them.
    ``units`` labels parameters as in :func:`native_cell_type`.
    """
    _no_nest_names(model, "native_synapse_type", "create_weight_update_model")
    if not isinstance(model, WeightUpdateModel):
        raise TypeError(f"native_synapse_type() needs a WeightUpdateModel, got {type(model).__name__}")
    derived = model.derived_params
    for snippet, code in model.snippets().items():
        for var, line in assigned_names(code if isinstance(code, str) else "").items():
            if var in {d.name for d in derived}:
                raise ModelError(f"[weight-update model '{model.name}' {snippet}, line {line}] '{var}' cannot be "
                                 "assigned: it is a derived parameter")
    _check_derived(model, "weight-update", {v: np.ones(1) for v in (*model.params, *model.var_names, "weight")})
    if model.params or derived:
        model = dataclasses.replace(model, params=(), derived_params=(), vars=tuple(Var(p) for p in model.params)
                                    + model.vars + tuple(Var(d.name) for d in derived))
    derived_names = {d.name for d in derived}
    defaults = dict(defaults or {})
    for reserved in ("delay",):
        if reserved in model.var_names:
            raise ModelError(f"weight-update model '{model.name}': '{reserved}' is a built-in name (the synapse's "
                             "delay, ms); choose another name")
    known = set(model.var_names) | {"weight", "delay"}
    unknown = sorted(set(defaults) - known)
    if unknown:
        raise ModelError(f"weight-update model '{model.name}': default value(s) for {unknown}, which the model does "
                         f"not declare; variables: {', '.join(model.var_names) or 'none'}")
    required = tuple(p for p, v in defaults.items() if v is None)
    for k, v in defaults.items():
        if v is not None:
            defaults[k] = _number(model.name, "variable", k, v)
    validate_weight_update_model(model)
    int_vars = tuple(v.name for v in model.vars if v.type == "int")
    default_parameters = {"weight": 0.0, "delay": None}
    default_parameters.update({v: 0.0 for v in model.var_names if v not in derived_names})
    default_parameters.update({k: (_MISSING if v is None else v) for k, v in defaults.items()})
    unit_of = _units(model.name, {p: "" for p in default_parameters if p != "delay"}, units)
    unit_of["delay"] = "ms"
    class_name = name or (model.name if model.name.isidentifier() else "NativeSynapse")
    return type(class_name, (NativeSynapseType,), {
        "__doc__": _doc("synapse type", model, default_parameters, {},
                        "Every parameter is per synapse; the model's variables: "
                        + (", ".join(v for v in model.var_names if v not in derived_names) or "none") + "."
                        + (f" Derived: {', '.join(sorted(derived_names))}." if derived_names else "")),
        "__module__": __name__,
        "codegen_model": model,
        "derived": tuple(derived),
        "int_vars": int_vars,
        "parameter_checks": {**NativeSynapseType.parameter_checks,
                             **{v: _whole_check(v, NativeSynapseType.parameter_checks.get(v)) for v in int_vars}},
        "default_parameters": default_parameters,
        "required_parameters": required,
        "translations": build_translations(*[(p, p) for p in default_parameters]),
        "units": unit_of,
    })


def create_weight_update_model(class_name: str, params=None, vars=None, pre_spike_code: str | None = None,
                               post_spike_code: str = "", post_trace: str | None = None,
                               units: dict | None = None, synapse_dynamics_code: str = "", derived_params=None,
                               axonal_delay: bool = False, **options) -> type:
    """Define a weight-update (synapse, learning) model GeNN-style and return it as a PyNN synapse type class.

    - ``params``: per-synapse constants, ``{name: default}`` or names (no default: must be given).
    - ``vars``: per-synapse state, ``{name: initial value}`` or names (initial value 0) or ``(name, 'int')``
      (whole numbers, int arithmetic in the snippets).  Declare ``weight`` to use PyNN's weights in the snippet.
    - ``derived_params``: ``{name: f}`` with ``f(p, dt)`` computed on the host from the synapses' parameters (arrays,
      one value per synapse), e.g. ``{"decay": lambda p, dt: np.exp(-dt / p["tau"])}``; read-only in the snippets,
      recomputed when ``Projection.set`` changes a parameter.
    - ``pre_spike_code``: run for every synapse of a presynaptic neuron that spiked; ``add_to_post(x)`` transmits
      (default: ``add_to_post(weight);`` if ``weight`` is declared).  ``post_spike_code``: run for every synapse
      onto a neuron that spiked.  ``synapse_dynamics_code``: run for every synapse in every step (GeNN's synapse
      dynamics; ``add_to_post(x)`` works there too).  ``post_trace``: a per-synapse time constant giving the
      snippet the postsynaptic spike history (NEST's archiving node).
    - every snippet may read ``t``, ``st_pre`` / ``st_post`` (the neurons' last spike times) and the neurons'
      state as ``<var>_pre`` / ``<var>_post`` (e.g. ``v_post``), as in GeNN.
    - ``axonal_delay``: GeNN's delays (its default) instead of NEST's dendritic ones: a presynaptic spike travels the
      connection's delay before ``pre_spike_code`` runs (at its arrival, ``t`` and ``st_pre`` its arrival time),
      and ``post_spike_code`` sees ``st_pre`` of the last spike that has arrived.  A projection's connections from
      one population then need one delay, and the snippets cannot read the presynaptic cells' state
      (:mod:`pynn_gpu.axonal_delays`).
    - every parameter and variable is a PyNN synapse parameter: ``MyRule(eta=2e-5, weight=0.0)``,
      ``Projection.get('eta', format='array')``, ``Projection.set(...)``; learned values are read from the device.

    GeNN 5's ``pre_spike_syn_code`` / ``post_spike_syn_code`` spellings are accepted, GeNN 4's ``sim_code`` /
    ``learn_post_code`` with a FutureWarning.  With GeNN 5's per-neuron variables (``pre_vars`` / ``post_vars``,
    e.g. traces), ``pre_spike_code`` / ``post_spike_code`` are the neurons' own code as in GeNN 5 (run once per
    spike, where ``st_pre`` / ``st_post`` is still the spike before), ``pre_dynamics_code`` /
    ``post_dynamics_code`` run every step, and the synapse code is ``pre_spike_syn_code`` / ``post_spike_syn_code``
    (the variables are kept per neuron and per projection, as GeNN keeps them per synapse group: see
    :func:`_with_neuron_vars`).  GeNN's spike-like events (``pre_event_threshold_condition_code``,
    ``pre_event_syn_code``) run as synapse dynamics (see :func:`_spike_like_events`).  Example (a weight that
    decays at every presynaptic spike)::

        Decaying = sim.create_weight_update_model(
            "Decaying", params={"factor": 0.5}, vars=["weight"],
            pre_spike_code="add_to_post(weight); weight *= factor;")
    """
    _check_model_name(class_name, "weight-update")
    options = dict(options)
    params, vars = _genn4_declarations(class_name, options, params, vars)
    events = _spike_like_events(class_name, options)
    if events is not None:
        condition, code = events
        if "pre_vars" not in options and "post_vars" not in options:    # the code alone first: its own line numbers
            create_weight_update_model(class_name, params=params, vars=vars, derived_params=derived_params,
                                       synapse_dynamics_code=code)
        # on one line, before the synapse dynamics (if any), whose lines stay theirs
        synapse_dynamics_code = f"if ({' '.join(condition.split())}) {_one_line(code)} {synapse_dynamics_code or ''}"
    neuron_vars = {side: options.pop(f"{side}_vars", None) for side in ("pre", "post")}
    if not isinstance(axonal_delay, bool):
        raise ModelError(f"weight-update model '{class_name}': axonal_delay must be True or False "
                         f"(got {axonal_delay!r})")
    if any(v is not None for v in neuron_vars.values()):
        return _with_axonal_delay(_with_neuron_vars(class_name, params, vars, neuron_vars, pre_spike_code,
                                                    post_spike_code, synapse_dynamics_code, derived_params,
                                                    post_trace, units, options), axonal_delay)
    if (pre_spike_code is not None and "pre_spike_syn_code" in options) or \
            (post_spike_code and "post_spike_syn_code" in options):
        raise ModelError(f"weight-update model '{class_name}': {_PRE_POST_VARS}")
    if pre_spike_code is not None:
        options["pre_spike_code"] = pre_spike_code
    if post_spike_code:
        options["post_spike_code"] = post_spike_code
    _renamed(class_name, options, "pre_spike_code", "pre_spike_syn_code", deprecated=False)
    _renamed(class_name, options, "pre_spike_code", "sim_code", deprecated=True)
    _renamed(class_name, options, "post_spike_code", "post_spike_syn_code", deprecated=False)
    _renamed(class_name, options, "post_spike_code", "learn_post_code", deprecated=True)
    pre_spike_code = options.pop("pre_spike_code", None)
    post_spike_code = options.pop("post_spike_code", "")
    _no_unknown(class_name, options, create_weight_update_model, ("pre_spike_syn_code", "post_spike_syn_code"))
    names, defaults = _params(class_name, params)
    declared, initial = _vars(class_name, vars, None)
    for snippet, code in (("pre_spike_code", pre_spike_code), ("post_spike_code", post_spike_code),
                          ("synapse_dynamics_code", synapse_dynamics_code)):
        for name, line in assigned_names(code if isinstance(code, str) else "").items():
            if name in names:       # per-synapse constants (they are variables of the kernels)
                raise ModelError(f"[weight-update model '{class_name}' {snippet}, line {line}] '{name}' cannot be "
                                 "assigned: it is a parameter (declare it in vars to change it)")
    all_vars = tuple(Var(p) for p in names) + declared
    if pre_spike_code is None:
        pre_spike_code = "add_to_post(weight);" if "weight" in (v.name for v in all_vars) else ""
    model = WeightUpdateModel(name=class_name, vars=all_vars,
                              pre_spike_code=_upgrade_code(class_name, "pre_spike_code", pre_spike_code),
                              post_spike_code=_upgrade_code(class_name, "post_spike_code", post_spike_code),
                              synapse_dynamics_code=_upgrade_code(class_name, "synapse_dynamics_code",
                                                                  synapse_dynamics_code),
                              post_trace=post_trace, derived_params=_derived(class_name, derived_params))
    values = {p: defaults.get(p) for p in names}
    values.update(initial)
    return _with_axonal_delay(native_synapse_type(model, values, units,
                                                  name=class_name if class_name.isidentifier() else None), axonal_delay)


def _with_axonal_delay(model_type: type, axonal_delay: bool) -> type:
    """``model_type`` with GeNN's axonal delays (:mod:`pynn_gpu.axonal_delays`) if ``axonal_delay``: its code may
    then not read the presynaptic cells' state, which the delay line between them does not carry."""
    if not axonal_delay:
        return model_type
    sides = model_type.neuron_sides
    refs = [r for r in model_type.codegen_model.neuron_refs()[0] if r not in model_type.neuron_var_names]
    refs += list(sides["pre"].neuron_refs) if "pre" in sides else []
    if refs:
        raise ModelError(f"weight-update model '{model_type.codegen_model.name}': with axonal_delay=True the code "
                         f"cannot read the presynaptic cells' state ('{refs[0]}_pre'): the spike it handles has "
                         "travelled the delay since (st_pre, the model's own variables and pre_vars can be read)")
    model_type.axonal_delay = True
    return model_type


class NativeCurrentSource(GPUCurrentSource):
    """Base of the current sources made by :func:`native_current_source` / :func:`create_current_source_model`.

    Its parameters (one value per source) live in a device buffer: changing one between runs re-uploads it
    without recompiling.  Its state variables hold a value per target cell (per injection: a cell injected into
    twice has two), in the order the cells were injected into (each ``inject_into`` call's cells as its
    Population, view or list gives them).  The constructor and :meth:`initialize` set them, :meth:`get_state`
    reads them.
    ``record()`` records the injected current on the device, averaged over the targets.
    """

    required_parameters: tuple = ()
    #: Initial values of the model's state variables.
    default_initial_values: dict = {}

    def __init__(self, **parameters):
        _required_check(type(self), parameters)
        state = {k: parameters.pop(k) for k in self.codegen_model.var_names if k in parameters}
        object.__setattr__(self, "_initial", dict(self.default_initial_values))
        object.__setattr__(self, "_order", None)      # see _device_order
        super().__init__(**parameters)
        self.initialize(**state)

    def _native_value(self, name, value):
        if name in self._egp_names():
            return value        # a Sequence, checked with the others in check()
        return float(value)

    def _egp_names(self):
        return {e.name for e in self.codegen_model.extra_globals}

    def check(self, native: dict):
        names = self._egp_names()
        super().check({k: v for k, v in native.items() if k not in names})
        egps = [e for e in self.codegen_model.extra_globals if e.name in native]
        _egp_values(type(self).__name__, egps, native, self._where(), per_cell=False)

    def _model_params(self) -> dict:
        names = self._egp_names()
        return {k: v for k, v in self._native.items() if k not in names}

    def _device_view(self):
        arrays = _egp_values(type(self).__name__, self.codegen_model.extra_globals, self._native, self._where(),
                             per_cell=False)
        return self._model_params(), arrays, self._target_groups()

    def inject_into(self, cells):
        refs = [target for _, target in self.codegen_model.neuron_var_refs]
        if refs:
            for pop in dict.fromkeys(getattr(cell, "parent", None) for cell in cells):
                celltype = getattr(pop, "celltype", None)
                model = getattr(celltype, "codegen_model", None) if getattr(celltype, "injectable", False) else None
                missing = [r for r in refs if model is not None and r not in model.var_names]
                if missing:
                    raise TypeError(f"{type(self).__name__}.inject_into(): the injection code reads the target's "
                                    f"variable(s) {missing}, which {type(pop.celltype).__name__} cells (population "
                                    f"{pop.label!r}) do not have; they have: {', '.join(model.var_names) or 'none'}")
        super().inject_into(cells)

    def _spec(self):
        """This source in the built network (None before the build or after a structural change)."""
        state = simulator.state
        if state.simulation is None or state.structure_changed or not self._targets:
            return None
        return next((s for s in state.simulation.layout.sources if s.source.name == self._name), None)

    def initialize(self, **values):
        """Set state variables: a number for every target, or an array with one value per target (see the class
        docstring for their order).  The device takes them at once if the network is built, and ``sim.reset()``
        goes back to them."""
        model = self.codegen_model
        for name, value in values.items():
            var = next((v for v in model.vars if v.name == name), None)
            if var is None:
                raise NonExistentParameterError(name, type(self).__name__, list(model.var_names))
            try:
                array = np.asarray(value, float)
            except (TypeError, ValueError):
                array = np.array([np.nan])
            if array.ndim > 1 or not np.all(np.isfinite(array)) or (var.type == "int" and np.any(array % 1)):
                kind = "whole numbers" if var.type == "int" else "finite numbers"
                raise InvalidParameterValueError(f"{type(self).__name__}{self._where()}: state variable '{name}' takes "
                                                 f"{kind}, one or one per target; got {value!r}")
            if array.ndim == 1 and self._targets and len(array) != len(self._targets):
                raise InvalidParameterValueError(
                    f"{type(self).__name__}{self._where()}: {len(array)} values for state variable '{name}', but the "
                    f"source has {len(self._targets)} targets (one value each, or one number for all)")
            self._initial[name] = float(array) if array.ndim == 0 else array.copy()
            spec = self._spec()
            if spec is None:        # a rebuild is pending: it starts the variable from this value
                self.__dict__.setdefault("_fresh_initial", set()).add(name)
            else:
                device = self._initial[name] if array.ndim == 0 else array[self._device_order()]
                spec.source.state[name] = device
                simulator.state.simulation.set_source_state(spec.index, name, device)

    def get_state(self, name: str) -> np.ndarray:
        """The values of state variable ``name`` now, one per target (before the first run: the initial ones)."""
        if name not in self.codegen_model.var_names:
            raise NonExistentParameterError(name, type(self).__name__, list(self.codegen_model.var_names))
        spec = self._spec()
        if spec is not None:
            values = np.empty(len(self._targets))
            values[self._device_order()] = simulator.state.simulation.get_source_state(spec.index, name)
            return values
        return np.broadcast_to(np.asarray(self._initial[name], float), (len(self._targets),)).copy()

    def _current_source_group(self):
        _egp_values(type(self).__name__, self.codegen_model.extra_globals, self._native, self._where(), per_cell=False,
                    build=True)         # refuses an array never given
        group = super()._current_source_group()
        if group is not None:
            group.record = bool(self._recording)
            for name, value in self._initial.items():
                if np.ndim(value) and len(value) != len(self._targets):
                    raise InvalidParameterValueError(
                        f"{type(self).__name__}{self._where()}: {len(value)} values were given for state variable "
                        f"'{name}', but the source has {len(self._targets)} targets now")
            # the device's order: _target_groups() sorts each population's cells
            order = self._device_order()
            group.state = {k: v if np.ndim(v) == 0 else np.asarray(v)[order] for k, v in self._initial.items()}
        return group

    def _device_order(self) -> np.ndarray:
        """For each injection in the device's order, its index in the order of the targets (kept until targets are
        added: a GeNN-style loop sets the state before every presentation)."""
        cached = self._order
        if cached is None or len(cached) != len(self._targets):
            pops = {}
            first = np.array([pops.setdefault(id(cell.parent), len(pops)) for cell in self._targets], np.int64)
            cached = np.lexsort((np.array(self._targets, np.int64), first))
            object.__setattr__(self, "_order", cached)
        return cached

    def record(self):
        """Record the current this source injects in every step, averaged over its targets (the current itself
        when it is the same for all), from the next build on (recording changes the network's structure)."""
        if not self._recording:
            object.__setattr__(self, "_recording", True)
            simulator.state.mark_changed()

    def _get_data(self):
        """(times, currents) of the steps run since the last reset while recording: sample t is the current
        applied on [t, t + dt), averaged over the targets."""
        state = simulator.state
        sim = state.simulation
        if sim is None or not self._recording:
            return np.zeros(0), np.zeros(0)
        steps, total = sim.source_recording(self._name)
        return steps * state.dt, total / max(len(self._targets), 1)


def native_current_source(model: CurrentSourceModel, defaults: dict | None = None,
                          initial_values: dict | None = None, *, name: str | None = None,
                          parameter_checks: dict | None = None) -> type:
    """A PyNN current source class injecting the current of the codegen model ``model``.

    ``defaults`` gives default parameter values (a parameter without one must be given), ``initial_values`` those
    of the state variables (default 0).  The model's ``injection_code`` is an expression for the current (nA)
    applied in the step starting at ``t``, or statements calling ``injectCurrent(x)``.
    """
    _no_nest_names(model, "native_current_source", "create_current_source_model")
    if not isinstance(model, CurrentSourceModel):
        raise TypeError(f"native_current_source() needs a CurrentSourceModel, got {type(model).__name__}")
    defaults = dict(defaults or {})
    unknown = sorted(set(defaults) - set(model.params))
    if unknown:
        raise ModelError(f"current-source model '{model.name}': default value(s) for {unknown}, which the model does "
                         f"not declare; parameters: {', '.join(model.params) or 'none'}")
    for k, v in defaults.items():
        defaults[k] = _number(model.name, "parameter", k, v)
    validate_current_source_model(model, defaults)
    initial = {v: 0.0 for v in model.var_names}
    for k, v in (initial_values or {}).items():
        if k not in initial:
            raise ModelError(f"current-source model '{model.name}': initial value for '{k}', which is no state "
                             f"variable; state variables: {', '.join(model.var_names) or 'none'}")
        initial[k] = _number(model.name, "variable", k, v)
    class_name = name or (model.name if model.name.isidentifier() else "NativeCurrentSource")
    default_parameters = {p: defaults.get(p, _MISSING) for p in model.params}
    default_parameters.update({e.name: _NOT_GIVEN for e in model.extra_globals})
    return type(class_name, (NativeCurrentSource,), {
        "__doc__": _doc("current source", model, default_parameters, initial),
        "__module__": __name__,
        "codegen_model": model,
        "default_initial_values": initial,
        "default_parameters": default_parameters,
        "required_parameters": tuple(p for p in model.params if p not in defaults),
        "translations": build_translations(*[(p, p) for p in default_parameters]),
        "parameter_checks": dict(parameter_checks or {}),
    })


_INJECT = re.compile(r"^\s*injectCurrent\s*\((.*)\)\s*;?\s*$", re.DOTALL)


def create_current_source_model(class_name: str, params=None, vars=None, derived_params=None,
                                injection_code: str = "0", parameter_checks: dict | None = None,
                                extra_global_params=None, neuron_var_refs=None, **options) -> type:
    """Define a current source GeNN-style and return it as a PyNN current source class.

    ``params`` (``{name: default}`` or names, one value per source; changeable between runs with
    ``source.amplitude = ...`` or ``set_parameters``), ``vars`` (state variables as for
    :func:`create_neuron_model`, a value per target cell: set with the constructor or ``source.initialize``,
    read with ``source.get_state``), ``derived_params`` (``f(params, dt)``, on the host),
    ``extra_global_params`` (arrays of numbers, one per source: names or ``(name, 'scalar' | 'int')``, given as
    PyNN Sequences before the run, read as ``name[k]`` and ``name_len``), ``neuron_var_refs`` (state variables of
    the target cell the code reads, at the start of the step: names, GeNN's ``(name, type)``, or ``{name in the
    code: target's variable}``), and ``injection_code``:
    an expression for the current (nA) injected in the step starting at ``t`` into every target -- or, as
    GeNN writes it, statements that call ``injectCurrent(x)`` and may update the state variables.  Built-in
    names: ``t``, ``dt``, ``step``, ``uniform()``, ``normal()``.  Examples::

        Ramp = sim.create_current_source_model(
            "Ramp", params={"slope": 0.01, "start": 0.0},
            injection_code="t >= start ? slope * (t - start) : 0.0")
        Ramp(slope=0.02).inject_into(cells)

        Input = sim.create_current_source_model(         # GeNN's per-cell input current
            "Input", vars={"magnitude": 0.0}, injection_code="injectCurrent(magnitude);")
        source = Input()
        source.inject_into(cells)
        source.initialize(magnitude=image * 80.0)          # one value per cell, changeable between runs

        Clamp = sim.create_current_source_model(          # reads the target's membrane potential
            "Clamp", params={"g": 0.1, "target": -60.0}, neuron_var_refs=["v"],
            injection_code="g * (target - v)")

        OU = sim.create_current_source_model(             # a state that evolves: Ornstein-Uhlenbeck noise
            "OU", params={"tau": 10.0, "sigma": 0.1}, vars={"x": 0.0},
            injection_code="x += -x * dt / tau + sigma * sqrt(2.0 * dt / tau) * normal(); injectCurrent(x);")
    """
    _check_model_name(class_name, "current-source")
    options = dict(options)
    params, vars = _genn4_declarations(class_name, options, params, vars)
    _no_unknown(class_name, options, create_current_source_model)
    code = _upgrade_code(class_name, "injection_code", injection_code)
    m = _INJECT.match(code)
    if m is not None and "injectCurrent" not in m.group(1) and ";" not in m.group(1):
        code = m.group(1)       # a single injectCurrent(x): the expression x
    names, defaults = _params(class_name, params)
    declared, initial = _vars(class_name, vars, None)
    refs = neuron_var_refs.items() if isinstance(neuron_var_refs, Mapping) else \
        [(r, r) if isinstance(r, str) else (r[0], r[0]) if _is_genn_type(r) else r for r in neuron_var_refs or ()]
    model = CurrentSourceModel(name=class_name, params=names, vars=declared,
                               derived_params=_derived(class_name, derived_params), injection_code=code,
                               extra_globals=_extra_globals(class_name, extra_global_params),
                               neuron_var_refs=tuple(tuple(r) for r in refs))
    return native_current_source(model, defaults, initial, name=class_name if class_name.isidentifier() else None,
                                 parameter_checks=parameter_checks)


def _is_genn_type(ref) -> bool:
    """GeNN's (name, type[, access]) spelling of a variable reference (the target's variable of that name)."""
    return isinstance(ref, tuple) and len(ref) >= 2 and str(ref[1]).rstrip("*") in ("scalar", "float", "double",
                                                                                   "int", "unsigned int")


def native_electrode_type(model: CurrentSourceModel, *args, **kwargs) -> type:
    """pyNN.nest's name for a current source class of the backend's own: :func:`native_current_source`."""
    _no_nest_names(model, "native_electrode_type", "create_current_source_model")
    return native_current_source(model, *args, **kwargs)
