"""Errors raised while describing models and generating code (no PyNN import: codegen is PyNN-free)."""


class ModelError(ValueError):
    """A model description is invalid: unknown names in a snippet, missing parameters, bad types.

    The message names the model, the snippet and the line.
    """


class CodegenError(RuntimeError):
    """The generator could not turn the network description into kernels."""


class NumericalInstabilityError(ArithmeticError):
    """A cell's integration broke down during a run (its model's instability condition held), where NEST stops
    with NumericalInstability; the state from then on means nothing."""

    def __init__(self, group: str, model: str, cell: int, time: float, condition: str):
        super().__init__(f"numerical instability in population '{group}' ({model}), cell {cell}, at t = {time:g} ms "
                         f"({condition}): the state from then on means nothing, as where NEST stops with "
                         "NumericalInstability (setup() again, or reset() with other parameters)")
        self.group, self.model, self.cell, self.time = group, model, cell, time
