"""Parse and render model code snippets (a small C subset).

Snippets are tokenised, not pasted: every identifier must be a model name, a local declared in
the snippet, a C keyword or a known function, so a typo is reported with the model, the snippet
and the line before any device compiler runs.  Names are replaced by the expressions the
generator assigns to them, and floating-point literals get the precision's suffix.
"""
from __future__ import annotations

import difflib
import re
from typing import Iterable, Mapping

from ..kernels.runtime.diagnostics import SNIPPET_END, SNIPPET_START
from .errors import ModelError

_TOKEN = re.compile(r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFuUlL]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)          # ASCII: CUDA's compiler takes no other
  | (?P<space>\s+)
  | (?P<op>&&|\|\||==|!=|<=|>=|\+=|-=|\*=|/=|\+\+|--|<<|>>|[-+*/%<>=!&|^~?:;,(){}\[\].])
""", re.VERBOSE | re.DOTALL)

TYPE_KEYWORDS = frozenset({"scalar", "int", "unsigned", "float", "double", "bool", "uint", "char"})
KEYWORDS = frozenset({"if", "else", "while", "for", "do", "break", "continue", "true", "false",
                      "const"}) | TYPE_KEYWORDS
#: Operators that change the name before them (or after them: ++x, --x).
ASSIGNMENTS = frozenset({"=", "+=", "-=", "*=", "/=", "++", "--"})

#: Math functions a snippet may call; both dialects (OpenCL C and CUDA) spell them the same way.
MATH_FUNCTIONS = frozenset({"exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "pow",
                            "hypot", "fabs", "fmin", "fmax", "floor", "ceil", "trunc", "round", "fmod", "fma",
                            "copysign", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
                            "tanh", "erf", "erfc", "lgamma", "tgamma", "isnan", "isinf", "min", "max", "abs"})
#: How many arguments each math function takes (the others take one); checked before compilation, as a device
#: compiler reports a wrong count against its own renamed built-ins.
_ARITY = {**dict.fromkeys(MATH_FUNCTIONS, 1), **dict.fromkeys(("pow", "hypot", "fmin", "fmax", "fmod", "copysign",
                                                              "atan2", "min", "max"), 2), "fma": 3}
#: C's math constants, written out as literals (CUDA's device code has no M_PI).
CONSTANTS = {"M_PI": "3.141592653589793", "M_E": "2.718281828459045", "M_SQRT2": "1.4142135623730951",
             "M_LN2": "0.6931471805599453", "M_LN10": "2.302585092994046", "M_PI_2": "1.5707963267948966",
             "M_1_PI": "0.3183098861837907", "M_SQRT1_2": "0.7071067811865476"}
#: Those with only floating-point overloads: their integer-literal arguments are written as floating-point ones, so
#: that exp(1) or pow(2, 3) compile on both dialects.
_REAL_FUNCTIONS = MATH_FUNCTIONS - {"min", "max"}
#: C's abs is the integer one; a model's abs(x) means the magnitude of a real number.
_RENAMED = {"abs": "fabs"}


#: What to say of names GeNN users write where they do not exist.
_HINTS = {
    "Isyn": "GeNN's Isyn is 'isyn + i_inj' here: 'isyn' the postsynaptic models' current (postsynaptic_models=...; "
            "without them, the weights arriving in this step are in_<receptor>), 'i_inj' the current sources'",
    "isyn": "'isyn' exists in a model with postsynaptic models (postsynaptic_models=...); without them, read the "
            "weights arriving in this step as in_<receptor>",
    "add_to_post": "add_to_post() transmits from pre_spike_code and synapse_dynamics_code only",
    "addToPost": "add_to_post() transmits from pre_spike_code and synapse_dynamics_code only",
    "injectCurrent": "GeNN's injectCurrent(x) works in a current source's injection_code only",
}

#: Built-in names a snippet may declare a local of (GeNN 5's own STDP example: ``const scalar dt = t - st_post;``);
#: the snippet's later uses of the name mean the local.
SHADOWABLE = frozenset({"dt"})

#: Built-in functions called without arguments (the random numbers of a snippet's stream).
NULLARY = frozenset({"uniform", "normal"})

_CLOSING = {"(": ")", "[": "]", "{": "}"}
_OPENING = {v: k for k, v in _CLOSING.items()}

#: Locals a snippet declares are renamed with this prefix, so they can never hide a name of the kernel around
#: the snippet (its locals, buffers and the l_/p_/pg_ names the generator gives model variables).
LOCAL_PREFIX = "u_"


def _is_float_literal(text: str) -> bool:
    body = text.rstrip("fFuUlL")
    return ("." in body or "e" in body or "E" in body) and text[-1:] not in "fF"


def render(code: str, names: Mapping[str, str], *, context: str, functions: Mapping[str, str] | None = None,
           single: bool = False, known_locals: Iterable[str] = (), writable: Iterable[str] | None = None,
           expression: bool = False) -> tuple[str, set]:
    """Render ``code`` replacing each known name by its expression.

    ``functions`` maps callable snippet names to their rendered names (math functions are always
    allowed).  Locals the snippet declares get :data:`LOCAL_PREFIX`.  ``writable``: the model names the
    snippet may assign (its state variables; None: any); ``expression``: the snippet is one expression
    (a threshold condition, an injected current), which assigns nothing.  Returns the rendered code and
    the set of locals it declares (their names as written).  Raises :class:`ModelError` naming
    ``context`` and the line for any unknown name or character, an assignment the snippet may not make
    ``return`` (which would leave the generated kernel), ``break`` / ``continue`` outside a loop of the snippet (they
    would leave the generated loop around it) and a math function called with the wrong number of arguments.
    """
    writable = None if writable is None else set(writable)
    functions = dict(functions or {})
    locals_ = set(known_locals)
    declared = set()
    out = []
    line = 1
    pos = 0
    expect_decl = False     # the previous token was a type keyword, or a comma inside a declaration
    in_decl = False
    decl_depth = 0          # the brackets open where the declaration began (a comma at that depth starts the next)
    tokens = []
    while pos < len(code):
        m = _TOKEN.match(code, pos)
        if m is None:
            raise ModelError(f"[{context}, line {line}] unexpected character {code[pos]!r}")
        tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    prev = ""
    brackets = []           # the open brackets: (bracket, line, whether it holds a real math function's arguments)
    following = [len(tokens)] * len(tokens)      # for each token, the index of the next that is no space or comment
    upcoming = len(tokens)
    for idx in range(len(tokens) - 1, -1, -1):
        following[idx] = upcoming
        if tokens[idx][0] not in ("space", "comment"):
            upcoming = idx
    tokens.append(("end", ""))
    statements = []         # (text, line, context) of every token that is no space or comment, for _loose_jump
    for idx, (kind, text) in enumerate(tokens[:-1]):
        nxt = tokens[following[idx]][1]
        if kind == "comment" and (SNIPPET_START.match(text) or text == SNIPPET_END):
            # the frame of a snippet fused into this one (a postsynaptic model's code, see mark_snippet): kept,
            # and errors name that snippet and its own lines
            out.append(text)
            if text != SNIPPET_END:
                context, line = SNIPPET_START.match(text).group(1), 0
            continue
        if kind in ("space", "comment"):
            line += text.count("\n")
            out.append(text if kind == "space" else " " * 0)
            continue
        before, prev = prev, text
        statements.append((text, line, context))
        if kind == "number":
            if brackets and brackets[-1][2] and text.isdigit():
                text += ".0"
            out.append(text + "f" if single and _is_float_literal(text) else text)
        elif kind == "op":
            if expression and (text in ASSIGNMENTS or text == ";"):
                raise ModelError(f"[{context}, line {line}] must be one expression: {text!r} is not allowed here")
            if text in "([{":
                brackets.append((text, line, text == "(" and before in _REAL_FUNCTIONS))
            elif text in ")]}":
                if not brackets or _CLOSING[brackets[-1][0]] != text:
                    raise ModelError(f"[{context}, line {line}] {text!r} closes no open "
                                     f"{_OPENING[text]!r}" + (f" (the {brackets[-1][0]!r} of line "
                                                              f"{brackets[-1][1]} is still open)" if brackets else ""))
                brackets.pop()
            if text == ";":
                in_decl = False
            expect_decl = in_decl and text == "," and len(brackets) == decl_depth
            out.append(text)
            continue
        elif text == "return":
            raise ModelError(f"[{context}, line {line}] 'return' is not allowed in a snippet (it would leave the "
                             "generated kernel before the state is stored); use if / else")
        elif text in TYPE_KEYWORDS:
            expect_decl = in_decl = True
            decl_depth = len(brackets)
            out.append(text)
            continue
        elif text in KEYWORDS:
            out.append(text)
        elif text in CONSTANTS and text not in names and text not in locals_:
            out.append(CONSTANTS[text] + ("f" if single else ""))
        elif expect_decl:
            if text in names and text not in SHADOWABLE:
                raise ModelError(f"[{context}, line {line}] local '{text}' shadows a model name")
            locals_.add(text)
            declared.add(text)
            out.append(LOCAL_PREFIX + text)
            expect_decl = False
            continue
        elif nxt == "(" and (text in functions or text in MATH_FUNCTIONS):
            if text in NULLARY and text in functions and tokens[following[following[idx]]][1] != ")":
                raise ModelError(f"[{context}, line {line}] {text}() takes no arguments")
            count = None if text in functions else _argument_count(tokens, following, following[idx])
            if count is not None and count != _ARITY[text]:
                raise ModelError(f"[{context}, line {line}] {text}() takes {_ARITY[text]} argument"
                                 f"{'s' if _ARITY[text] > 1 else ''}, not {count}")
            out.append(functions.get(text, _RENAMED.get(text, text)))
        elif text in locals_:
            out.append(LOCAL_PREFIX + text)
        elif text in names:
            if writable is not None and text not in writable and (nxt in ASSIGNMENTS or before in ("++", "--")):
                raise ModelError(f"[{context}, line {line}] '{text}' cannot be assigned here: only the model's "
                                 "state variables can (parameters, inputs, other cells' variables, spike times "
                                 "and built-ins are read-only)")
            out.append(names[text])
        else:
            candidates = list(names) + list(locals_) + list(functions)
            close = difflib.get_close_matches(text, candidates, n=1)
            hint = f"; {_HINTS[text]}" if text in _HINTS else f"; did you mean '{close[0]}'?" if close else ""
            what = "function" if nxt == "(" else "name"
            raise ModelError(f"[{context}, line {line}] unknown {what} '{text}'{hint}")
        expect_decl = False
    if brackets:
        text, where, _ = brackets[-1]
        raise ModelError(f"[{context}, line {where}] {text!r} is never closed (missing {_CLOSING[text]!r})")
    jump = _loose_jump(statements)
    if jump is not None:
        word, where, context = jump
        raise ModelError(f"[{context}, line {where}] '{word}' outside a loop of the snippet is not allowed (it would "
                         "leave the generated kernel's loop before the state is stored); use if / else")
    return "".join(out), declared


def _argument_count(tokens: list, following: list, start: int) -> int | None:
    """The number of arguments of the call whose '(' is ``tokens[start]`` (None if it is never closed)."""
    depth, count, idx = 0, 0, start
    while idx < len(following):
        text = tokens[idx][1]
        if text in _CLOSING:
            depth += 1
        elif text in _OPENING:
            depth -= 1
            if depth == 0:
                return count
        elif depth == 1 and (count == 0 or text == ","):
            count += 1          # the first token opens the first argument, each comma another
        idx = following[idx]
    return None


def _loose_jump(tokens: list):
    """The first ``break`` or ``continue`` of ``tokens`` ((text, line, context), brackets paired) that is not inside a
    ``for``, ``while`` or ``do`` loop of the snippet, or None: a small statement parser (blocks, if / else and loops;
    anything else is a simple statement up to its ';')."""
    found = []

    def parens(i):          # past the (...) at i
        depth = 0
        while i < len(tokens):
            depth += (tokens[i][0] in _CLOSING) - (tokens[i][0] in _OPENING)
            i += 1
            if depth <= 0:
                break
        return i

    def statement(i, in_loop):
        text = tokens[i][0]
        if text == "{":
            i += 1
            while i < len(tokens) and tokens[i][0] != "}":
                i = statement(i, in_loop)
            return i + 1
        if text in ("for", "while"):
            i = parens(i + 1)
            return statement(i, True) if i < len(tokens) else i
        if text == "do":        # its 'while (...);' is then read as a loop with an empty body
            return statement(i + 1, True) if i + 1 < len(tokens) else i + 1
        if text == "if":
            i = parens(i + 1)
            i = statement(i, in_loop) if i < len(tokens) else i
            return statement(i + 1, in_loop) if i + 1 < len(tokens) and tokens[i][0] == "else" else i
        depth = 0
        while i < len(tokens):
            text = tokens[i][0]
            if text in ("break", "continue") and not in_loop:
                found.append(tokens[i])
            depth += (text in _CLOSING) - (text in _OPENING)
            i += 1
            if depth == 0 and (text == ";" or i < len(tokens) and tokens[i][0] == "}"):     # the end of a block
                break
        return i

    i = 0
    while i < len(tokens) and not found:
        i = statement(i, False)
    return found[0] if found else None


def assigned_names(code: str) -> dict:
    """The names ``code`` assigns (``x = ...``, ``x += ...``, ``x++``, ``--x``) and the line of the first
    assignment of each; comments are skipped."""
    out = {}
    line, prev = 1, ("", "")
    for m in _TOKEN.finditer(code):
        kind, text = m.lastgroup, m.group()
        if kind in ("space", "comment"):
            line += text.count("\n")
            continue
        if prev[0] == "name" and text in ASSIGNMENTS:
            out.setdefault(prev[1], line)
        elif prev[1] in ("++", "--") and kind == "name":
            out.setdefault(text, line)
        prev = (kind, text)
    return out

