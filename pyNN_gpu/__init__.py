"""`import pyNN.gpu as sim`: the PyNN GPU backend (re-exports :mod:`pynn_gpu`)."""
from pynn_gpu import *  # noqa: F401, F403
from pynn_gpu import list_standard_models, simulator  # noqa: F401
