"""Imports go one way: pynn_gpu -> codegen -> kernels; codegen and kernels never import PyNN."""
import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent


def imports(folder):
    """(file, absolute module name) for every import in ``folder``, with relative imports resolved."""
    package = {"codegen": "pynn_gpu.codegen", "kernels": "pynn_gpu.kernels"}[folder]
    for path in (ROOT / folder).rglob("*.py"):
        parts = [package] + list(path.relative_to(ROOT / folder).parent.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield from ((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(".".join(parts).split(".")[: len(".".join(parts).split(".")) - node.level + 1])
                    yield path, f"{base}.{node.module}" if node.module else base
                else:
                    yield path, node.module


def test_codegen_and_kernels_do_not_import_pynn():
    for folder in ("codegen", "kernels"):
        for path, module in imports(folder):
            assert not module.startswith("pyNN"), f"{path} imports {module}"


def test_kernels_import_neither_codegen_nor_the_front_end():
    for path, module in imports("kernels"):
        if module.startswith("pynn_gpu"):
            assert module.startswith("pynn_gpu.kernels"), f"{path} imports {module}"


def test_codegen_does_not_import_the_front_end():
    for path, module in imports("codegen"):
        if module.startswith("pynn_gpu"):
            assert module.startswith(("pynn_gpu.codegen", "pynn_gpu.kernels")), f"{path} imports {module}"
