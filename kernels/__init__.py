"""Kernel templates, dialect preludes and device runtimes (sees only the IR and a dialect)."""
from pathlib import Path

#: Folder of the kernel templates (one per kernel) and the shared prelude.
TEMPLATE_DIR = Path(__file__).parent / "templates"
