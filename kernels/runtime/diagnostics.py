"""Compile-error reports shared by the device runtimes (OpenCL and NVRTC).

A device compiler reports lines of the generated source; :func:`explain` maps each error to the
model snippet and its line when the error lies in one (the generator frames every snippet with
:func:`mark_snippet`), else to the model block (``/* <model>: N neurons */`` or ``/* <model>: N rows */``)
it sits in; it writes the generated source to the cache folder for reading, and points there.
"""
from __future__ import annotations

import os
import re

from .. import cache

#: Set to write the generated source to the cache folder on every compile (it is always written on an error).
DUMP_ENV = "PYNN_GPU_DUMP_SOURCE"

# "<file>:12:5: error: msg" (clang; "<file>:12:5 <Spelling=...>: error: msg" inside a macro), "error: <file>:12:5:
# msg" (PoCL; "error: <file>:12:5 <Spelling=...>: msg" inside a macro, e.g. a built-in PoCL renames), "<file>(12):
# error: msg" or "<file>(12): error #20-D: msg" (NVRTC)
_ERROR = re.compile(r"(?:fatal )?error: [^\s:]*:(?P<l1>\d+):\d+(?: <Spelling=[^>]*>)?: (?P<m1>[^\n]*)"
                    r"|:(?P<l2>\d+):\d+(?: <Spelling=[^>]*>)?: (?:fatal )?error: (?P<m2>[^\n]*)"
                    r"|\((?P<l3>\d+)\): (?:fatal )?error(?: #[\w-]+)?: (?P<m3>[^\n]*)")
#: PoCL's name for an OpenCL built-in (its '_cl_exp' is the snippet's 'exp').
_BUILTIN_RENAME = re.compile(r"'_cl_(\w+)'")
_BLOCK = re.compile(r"/\* ([^:*]+): \d+ (?:neurons|rows) \*/")
#: The comments that frame a snippet in generated code (mark_snippet); the snippet renderer keeps them.
SNIPPET_START = re.compile(r"/\* snippet: (.*) \*/$")
SNIPPET_END = "/* end of snippet */"


def mark_snippet(code: str, context: str) -> str:
    """``code`` (a rendered snippet) framed by comments naming it, so that an error inside it is reported at the
    snippet's own line (its lines follow the opening comment one for one)."""
    if not code.strip():
        return code
    return f"/* snippet: {context.replace('*/', '* /')} */\n{code}\n{SNIPPET_END}"


def snippet_at(lines: list, n: int):
    """(context, line in the snippet) if (1-based) line ``n`` of the generated source lies in a marked snippet."""
    for k in range(n - 1, -1, -1):
        text = lines[k].strip()
        if text.endswith(SNIPPET_END) and k < n - 1:
            return None
        m = SNIPPET_START.search(text)
        if m:
            return m.group(1), n - 1 - k
    return None


def numbered(source: str) -> str:
    """``source`` with 1-based line numbers."""
    return "\n".join(f"{k + 1:5d}  {line}" for k, line in enumerate(source.splitlines()))


def dump(source: str, name: str = "last_generated_source.c") -> str:
    """Write ``source`` to the cache folder and return the path (best effort)."""
    path = os.path.join(cache.cache_dir(), name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(source)
    except OSError:
        pass
    return path


def maybe_dump(source: str, name: str = "last_generated_source.c"):
    """Write ``source`` if ``$PYNN_GPU_DUMP_SOURCE`` is set."""
    if os.environ.get(DUMP_ENV):
        dump(source, name)


def model_at(lines: list, n: int) -> str:
    """The model whose block contains (1-based) line ``n`` of the generated source, or ''."""
    for line in reversed(lines[:n]):
        m = _BLOCK.search(line)
        if m:
            return m.group(1).strip()
    return ""


def errors(log: str, source: str) -> list:
    """``[(line, model, message, generated line text)]`` for every error in a compiler ``log``."""
    lines = source.splitlines()
    out, seen = [], set()
    for m in _ERROR.finditer(log):
        n = int(m.group("l1") or m.group("l2") or m.group("l3"))
        msg = _BUILTIN_RENAME.sub(r"'\1'", m.group("m1") or m.group("m2") or m.group("m3"))
        if (n, msg) in seen:                # NVRTC repeats an error once per operand
            continue
        seen.add((n, msg))
        text = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        out.append((n, model_at(lines, n), msg.strip(), text))
    return out


def explain(log: str, source: str, context: str, compiler: str = "") -> str:
    """A compile error at the snippet line it comes from (else the generated line and its model block)."""
    notes = []
    lines = source.splitlines()
    for n, model, msg, text in errors(log, source):
        snippet = snippet_at(lines, n)
        if snippet is not None:
            notes.append(f"[{snippet[0]}, line {snippet[1]}] {msg}\n    (generated line {n}: {text})")
            continue
        where = f" in model '{model}'" if model else ""
        notes.append(f"line {n}{where}: {msg}\n    {text}")
    path = dump(source)
    by = f" by {compiler}" if compiler else ""
    head = f"kernel compilation{by} failed{' for ' + context if context else ''}"
    body = "\n".join(notes) if notes else log[-3000:]
    return f"{head}:\n{body}\n(generated source written to {path}; set {DUMP_ENV}=1 to always write it)"
