"""The dialect object: a fixed set of primitives rendered as a CLUDA-style prelude."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PRELUDE = (Path(__file__).parent.parent / "templates" / "_prelude.c").read_text


@dataclass(frozen=True)
class Dialect:
    """Everything a kernel template needs to know about its target language.

    Templates use the macros defined here (``KERNEL``, ``GLOBAL``, ``GID``, ``ATOMIC_ADD``,
    ``ATOMIC_OR``...) and never branch on the dialect's name.
    """

    name: str
    defines: tuple  # (macro, definition) pairs
    fp64_pragma: str = ""
    #: (macro, definition) pairs that replace builtins of the language (the compiler may define them as macros)
    builtins: tuple = ()
    extern_c: bool = False

    def prelude(self, precision: str) -> str:
        """Return the source prelude for ``precision`` ('single' or 'double')."""
        lines = []
        if precision == "double" and self.fp64_pragma:
            lines.append(self.fp64_pragma)
        lines += [f"#define {k} {v}" for k, v in self.defines]
        scalar = "double" if precision == "double" else "float"
        lines.append(f"typedef {scalar} scalar;")
        lines.append(f"#define PG_DOUBLE {1 if precision == 'double' else 0}")
        lines.append(_PRELUDE())
        for k, v in self.builtins:      # after the prelude, whose replacements may call the builtins themselves
            lines += [f"#undef {k.split('(')[0]}", f"#define {k} {v}"]
        return "\n".join(lines) + "\n"
