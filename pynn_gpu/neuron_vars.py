"""GeNN 5's per-neuron variables of learning rules (``pre_vars`` / ``post_vars``), kept per neuron as GeNN keeps them.

A weight-update model may declare variables of its presynaptic or postsynaptic neurons (traces, typically), updated
by the neurons' own code: ``pre_spike_code`` / ``post_spike_code`` once per spike of the neuron, and
``pre_dynamics_code`` / ``post_dynamics_code`` in every step.  The synapse code reads them.

Here each projection's neuron variables become hidden state variables of its neurons' group, and the neurons' code
becomes part of that group's update: the dynamics code after the model's own ``sim_code``, the spike code after its
reset.  Names are suffixed with the projection's tag (``preTrace__p3``), so two projections from one population keep
their own values, and the synapse code reads them as the neuron state they are (``preTrace__p3_pre``).

Time in the neurons' code is the synapse code's: ``t`` is the step's time stamp (its end), and ``st_pre``
(``st_post``) in the spike code is the stamp of the spike before the one being handled, as in GeNN.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
from pyNN import errors

from .codegen.models import Var
from .codegen.simulation import NO_SPIKE
from .kernels.runtime.diagnostics import mark_snippet

#: The synapse-code names the neurons' code of one side may not read: the other side's and the synapse's own.
_SYNAPSE_ONLY = ("add_to_post", "addToPost", "addToInSyn", "delay", "t_spike", "prev_st_pre", "prev_st_post",
                 "id_pre", "id_post")


@dataclasses.dataclass(frozen=True)
class NeuronSide:
    """The per-neuron variables of one side (``'pre'`` or ``'post'``) of a weight-update model and the neurons'
    code that updates them.  ``params``: the model's parameters (and derived parameters) that code reads, which
    must be one value for the whole projection; ``neuron_refs``: the neuron state it reads as ``<var>_<side>``."""

    side: str
    vars: tuple
    initial: dict
    spike_code: str
    dynamics_code: str
    params: tuple
    neuron_refs: tuple
    #: the weight-update model's name (device compiler errors in the neurons' code name it)
    model_name: str = ""

    @property
    def var_names(self) -> tuple:
        return tuple(v.name for v in self.vars)


def _strip_comments(code: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", code or "", flags=re.DOTALL)


def side_of(side: str, vars_: tuple, initial: dict, spike_code: str, dynamics_code: str, param_names,
            model_name: str) -> NeuronSide:
    """A :class:`NeuronSide`, after refusing what the neurons' code of ``side`` cannot read (with ``ModelError``
    naming the model, snippet and line): names only synapses have, and the other side's."""
    from .codegen.errors import ModelError
    other = "post" if side == "pre" else "pre"
    own = {v.name for v in vars_} | set(param_names)        # (a parameter may be named tau_pre)
    refs = set()
    for snippet, code in ((f"{side}_spike_code", spike_code), (f"{side}_dynamics_code", dynamics_code)):
        for number, line in enumerate((code or "").splitlines(), 1):
            text = _strip_comments(line)
            bad = [n for n in _SYNAPSE_ONLY if re.search(rf"\b{n}\b", text)]
            bad += [n for n in re.findall(rf"\b\w+_{other}\b", text) if n not in own]
            if bad:
                raise ModelError(
                    f"[weight-update model '{model_name}' {snippet}, line {number}] '{bad[0]}' cannot be read by the "
                    f"{side}synaptic neurons' own code, which runs once per neuron: it may read the {side}_vars, the "
                    f"model's parameters, t, dt, st_{side} and the neuron's state as <var>_{side}")
            refs.update(n for n in re.findall(rf"\b(\w+)_{side}\b", text) if n != "st" and f"{n}_{side}" not in own)
    text = _strip_comments(f"{spike_code}\n{dynamics_code}")
    params = tuple(p for p in param_names if re.search(rf"\b{re.escape(p)}\b", text))
    return NeuronSide(side, tuple(vars_), dict(initial), spike_code or "", dynamics_code or "", params,
                      tuple(sorted(refs)), model_name)


def synapse_code(code: str, sides: dict) -> str:
    """Synapse code with each neuron variable read as the neuron state it is (``preTrace`` -> ``preTrace_pre``)."""
    for side in sides.values():
        for name in side.var_names:
            code = re.sub(rf"\b{re.escape(name)}\b", f"{name}_{side.side}", code or "")
    return code


def hidden(name: str, tag: str) -> str:
    """The neuron state variable (or parameter) holding ``name`` for the projection tagged ``tag``."""
    return f"{name}__{tag}"


#: The start of a declaration in a snippet: its type.
_TYPE = re.compile(r"\b(?:const\s+)?(?:unsigned\s+)?(?:scalar|float|double|int|bool|long|unsigned)\s+(?=[A-Za-z_])")


def declared_locals(code: str) -> set:
    """The names a snippet declares: each declarator of ``type a = ..., b = ...;`` (also in a for loop's head)."""
    text, names = _strip_comments(code), set()
    for match in _TYPE.finditer(text):
        depth, start = 0, match.end()
        for k in range(match.end(), len(text) + 1):
            c = text[k] if k < len(text) else ";"
            if c in "([{":
                depth += 1
            elif c in ")]}" and depth:
                depth -= 1
            elif depth == 0 and c in ",;)":      # the end of a declarator (')' closes a for loop's head)
                first = re.match(r"\s*([A-Za-z_]\w*)", text[start:k])
                if first:
                    names.add(first.group(1))
                if c != ",":
                    break
                start = k + 1
    return names


def _neuron_code(code: str, side: NeuronSide, tag: str) -> str:
    """The neurons' code of ``side`` as the neuron group's own code."""
    # its locals renamed, so that none shadows a name of the neuron model it joins (a local 'tau_m' in IF_curr_exp)
    for name in sorted(declared_locals(code)):
        code = re.sub(rf"\b{name}\b", f"{name}__local", code)
    stamp = hidden(f"st_{side.side}", tag)
    own = set(side.var_names + side.params)
    code = re.sub(rf"\b(\w+)_{side.side}\b",
                  lambda m: m.group(0) if m.group(0) in own else stamp if m.group(1) == "st" else m.group(1), code)
    for name in side.var_names + side.params:
        code = re.sub(rf"\b{re.escape(name)}\b", hidden(name, tag), code)
    # the synapse code's clock: a step's time stamp is its end
    return re.sub(r"\bt\b", f"((step + 1) * {hidden('dt', tag)})", code)


def attach(projection, groups: list, tag: str, dt: float):
    """Give the neuron groups of ``projection`` (its synapse groups ``groups``) the projection's per-neuron
    variables and code, and the synapse groups a model that reads them there."""
    sides = projection.synapse_type.neuron_sides
    if not groups:
        return
    model = groups[0].model
    snippets = {}
    for snippet in ("pre_spike_code", "post_spike_code", "synapse_dynamics_code"):
        code = getattr(model, snippet) or ""
        for side in sides.values():
            for name in side.var_names:
                code = re.sub(rf"\b{re.escape(name)}_{side.side}\b", f"{hidden(name, tag)}_{side.side}", code)
        snippets[snippet] = code
    tagged = dataclasses.replace(model, **snippets)
    params = {side.side: _uniform_params(projection, groups, side) for side in sides.values()}
    done = set()
    for sg in groups:
        sg.model = tagged
        for side in sides.values():
            group = sg.pre if side.side == "pre" else sg.post
            if (id(group), side.side) in done:
                continue
            done.add((id(group), side.side))
            _augment(group, side, tag, params[side.side], dt)


def _uniform_params(projection, groups, side: NeuronSide) -> dict:
    """The values of the parameters the neurons' code reads: one per projection, as GeNN's are per synapse group."""
    out = {}
    for name in side.params:
        values = np.concatenate([np.ravel(np.asarray(sg.vars[name], float)) for sg in groups])
        if len(values) and not np.all(values == values[0]):
            raise errors.InvalidParameterValueError(
                f"projection '{projection.label}': '{name}' of {type(projection.synapse_type).__name__} is read by "
                f"the {side.side}synaptic neurons' own code ({side.side}_spike_code / {side.side}_dynamics_code), so "
                f"it must be one value for the whole projection (got {values.min():g} to {values.max():g})")
        out[name] = float(values[0]) if len(values) else 0.0
    return out


def _augment(group, side: NeuronSide, tag: str, params: dict, dt: float):
    """Add ``side``'s variables, parameters and code to neuron group ``group`` (its model, values and initial
    state)."""
    base = group.model
    stamp, step_dt = hidden(f"st_{side.side}", tag), hidden("dt", tag)
    new_vars = tuple(Var(hidden(v.name, tag), v.type) for v in side.vars) + (Var(stamp),)
    # (a population on both sides of the projection has the step's length already)
    new_params = tuple(hidden(p, tag) for p in side.params if hidden(p, tag) not in base.params)
    new_params += (step_dt,) if step_dt not in base.params else ()
    # framed with the snippet they come from: the device compiler's errors name the user's model, snippet and line
    where = f"weight-update model '{side.model_name}' {side.side}"
    dynamics = mark_snippet(_neuron_code(side.dynamics_code, side, tag), f"{where}_dynamics_code")
    spike = mark_snippet(_neuron_code(side.spike_code, side, tag), f"{where}_spike_code")
    group.model = dataclasses.replace(
        base, name=f"{base.name}+{tag}", params=base.params + new_params, vars=base.vars + new_vars,
        sim_code=f"{base.sim_code}\n{{\n{dynamics}\n}}" if dynamics.strip() else base.sim_code,
        reset_code=f"{base.reset_code}\n{{\n{spike}\n}}\n{stamp} = (step + 1) * {step_dt};")
    group.params = {**group.params, **{hidden(p, tag): np.full(group.size, v) for p, v in params.items()},
                    step_dt: np.full(group.size, dt)}
    init = {hidden(v.name, tag): np.full(group.size, side.initial.get(v.name, 0.0), int if v.type == "int" else float)
            for v in side.vars}
    init[stamp] = np.full(group.size, NO_SPIKE)
    group.init = {**group.init, **init}
