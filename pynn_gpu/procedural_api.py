"""The procedural API (create, connect, record, set)."""
from pyNN import common
from pyNN.common.procedural_api import build_connect, build_create, build_record

from . import simulator
from .connectors import FixedProbabilityConnector
from .populations import Population
from .projections import Projection
from .standardmodels.synapses import StaticSynapse

create = build_create(Population)
connect = build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    return record(["gsyn_exc", "gsyn_inh"], source, filename)


set = common.set
