"""Shared fixtures: the backend module, pyNN.nest where installed, and both ways of stepping on a CPU device."""
import importlib

import pytest


@pytest.fixture
def sim():
    import pyNN.gpu as sim
    yield sim
    sim.end()


@pytest.fixture
def nest():
    try:
        return importlib.import_module("pyNN.nest")
    except ImportError:
        pytest.skip("pyNN.nest (nest-simulator) is not installed")


@pytest.fixture(params=["one work-item", "kernel per phase"])
def step_kernels(sim, request):
    """Run the test with both ways of stepping on a CPU device: many steps per launch in one work-item (chosen
    for most networks), and a kernel per phase and step (the shape GPUs run)."""
    sim.setup()           # the device outlives setup(): the test's own setup() keeps this choice
    runtime = sim.simulator.state.runtime
    choice = runtime.serial_steps
    runtime.serial_steps = True if request.param == "one work-item" else False
    yield request.param
    runtime.serial_steps = choice
