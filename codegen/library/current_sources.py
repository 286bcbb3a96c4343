"""Built-in current-source models; ``step`` is the step the current acts on (it starts at ``t``).

Times are compared as whole step numbers, so float32 rounding of ``t`` never moves an onset.
"""
import numpy as np

from ..models import CurrentSourceModel


def _step_of(name):
    return lambda p, dt: np.rint(np.asarray(p[name], float) / dt)


#: Constant current on [start, stop).
DC = CurrentSourceModel(name="DCSource", params=("amplitude", "start", "stop"),
                        derived_params=(("start_step", _step_of("start")), ("stop_step", _step_of("stop"))),
                        injection_code="(step >= start_step && step < stop_step) ? amplitude : 0.0")
