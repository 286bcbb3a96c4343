"""Errors raised while describing models and generating code (no PyNN import: codegen is PyNN-free)."""


class ModelError(ValueError):
    """A model description is invalid: unknown names in a snippet, missing parameters, bad types.

    The message names the model, the snippet and the line.
    """


class CodegenError(RuntimeError):
    """The generator could not turn the network description into kernels."""
