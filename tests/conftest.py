"""Shared fixtures: the backend module, and pyNN.nest where installed."""
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
