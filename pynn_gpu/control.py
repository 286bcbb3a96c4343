"""setup(), end() and the run/reset/state functions of pyNN.gpu."""
import difflib

import numpy as np
from pyNN import common, errors
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Initialise the simulator; returns the MPI rank (always 0).

    Besides PyNN's standard arguments (``timestep``, ``min_delay`` incl. 'auto', ``max_delay``),
    accepts ``backend`` ('auto', 'opencl', 'cuda'; default from $PYNN_GPU_BACKEND), ``device``
    (index, 'gpu', 'cpu' or part of a device name; default from $PYNN_GPU_DEVICE), ``precision``
    ('single' or 'double'; default from $PYNN_GPU_PRECISION, else 'single'), ``rng_seed`` and
    ``ode_integrator`` ('auto': classical RK4 for IF_cond_exp and its variants, where it gives NEST's spikes,
    NEST's adaptive RKF45 elsewhere; 'rkf45': NEST's scheme everywhere; 'rk4': RK4 for every ODE model but the
    EIF/AdExp cells and HH_cond_exp, which keep RKF45).
    Keywords other backends take (``threads``, ``spike_precision``, ``verbosity``, ``t_flush``...)
    are accepted and have no effect.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    _check_times(timestep=timestep, min_delay=min_delay, max_delay=max_delay)
    _check_keywords(extra_params)
    common.setup(timestep, min_delay, **extra_params)
    simulator.state.clear()
    simulator.state.configure(timestep, min_delay, max_delay, backend=extra_params.get("backend"),
                              device=extra_params.get("device"), precision=extra_params.get("precision"),
                              rng_seed=extra_params.get("rng_seed"),
                              spike_precision=extra_params.get("spike_precision", "off_grid"),
                              ode_integrator=extra_params.get("ode_integrator", "auto"))
    return rank()


#: setup()'s own keywords besides PyNN's, and those other backends take (accepted, no effect here)
OWN_KEYWORDS = ("max_delay", "backend", "device", "precision", "rng_seed", "ode_integrator", "spike_precision")
OTHER_KEYWORDS = ("threads", "verbosity", "recording_precision", "rng_type", "rng_seeds", "rng_seeds_seed",
                  "grng_seed", "t_flush", "use_cvode", "rtol", "atol", "returned_variables", "default_maxdelay",
                  "rank", "num_processes")
SPIKE_PRECISIONS = ("off_grid", "on_grid")


def _check_keywords(extra_params):
    """A misspelt keyword of this backend would otherwise be ignored like another backend's: refuse one that is
    close to one of ours (and not another backend's); check spike_precision's value as pyNN.nest does."""
    for key in extra_params:
        if key in OWN_KEYWORDS or key in OTHER_KEYWORDS:
            continue
        close = difflib.get_close_matches(key, OWN_KEYWORDS, n=1, cutoff=0.75)
        if close:
            raise errors.InvalidParameterValueError(
                f"setup({key}=...): unknown keyword; did you mean {close[0]!r}? (keywords: {', '.join(OWN_KEYWORDS)})")
    precision = extra_params.get("spike_precision", "off_grid")
    if precision not in SPIKE_PRECISIONS:
        raise errors.InvalidParameterValueError(
            f"setup(spike_precision={precision!r}): allowed values are {SPIKE_PRECISIONS}")


def _check_times(**times):
    """setup()'s times are numbers of ms (the delays may be 'auto'): PyNN's own checks fail on other types with a
    bare TypeError."""
    for name, value in times.items():
        if name != "timestep" and (value is None or (isinstance(value, str) and value == "auto")):
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            allowed = "the timestep is a positive number of ms" if name == "timestep" else \
                "a delay is a number of ms (a multiple of the timestep) or 'auto'"
            raise errors.InvalidParameterValueError(f"setup({name}={value!r}): {allowed}")


def end(compatible_output=True):
    """Write any data requested with a filename, then finish (waiting for the device's queued steps)."""
    if simulator.state.simulation is not None:
        simulator.state.simulation.rt.synchronise()
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


_pynn_run, _pynn_run_until = common.build_run(simulator)


def _check_time(call: str, name: str, value, least: float):
    """run()'s and run_until()'s time is a number of ms, not before ``least`` (PyNN's code fails on a string with
    a bare TypeError and says a negative duration is 'in the past')."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise errors.InvalidParameterValueError(f"{call}({name}={value!r}): {name} is a number of ms")
    if value < least - simulator.state.dt / 2:
        raise errors.InvalidParameterValueError(
            f"{call}({name}={value!r}): the simulation is at {simulator.state.t:g} ms and cannot go back (reset() "
            "starts again from 0)")


def run(simtime, callbacks=None):
    _check_time("run", "simtime", simtime, 0.0)
    return _pynn_run(simtime, callbacks)


def run_until(time_point, callbacks=None):
    _check_time("run_until", "time_point", time_point, simulator.state.t)
    return _pynn_run_until(time_point, callbacks)


run.__doc__, run_until.__doc__ = _pynn_run.__doc__, _pynn_run_until.__doc__
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
