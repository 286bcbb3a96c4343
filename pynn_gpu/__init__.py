"""pyNN.gpu: a PyNN backend that generates OpenCL (and CUDA) kernels.

Use it like any PyNN backend::

    import pyNN.gpu as sim
    sim.setup(timestep=0.1)

With no GPU it runs on the CPU through PoCL.  ``setup`` also takes ``backend``, ``device``,
``precision`` and ``rng_seed``.
"""
from pyNN import errors, random, space  # noqa: F401
from pyNN.network import Network  # noqa: F401
from pyNN.parameters import ArrayParameter, LazyArray, ParameterSpace, Sequence  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401

from .rng import NativeRNG  # noqa: F401
from pyNN.recording import *  # noqa: F401, F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import simulator  # noqa: F401
from .simulator import state  # noqa: F401
from .compilation import compile  # noqa: F401
from .kernels.errors import DeviceError, DeviceMemoryError, HostMemoryError, KernelCompileError  # noqa: F401
from .codegen.errors import NumericalInstabilityError  # noqa: F401
from .connectors import *  # noqa: F401, F403
from .control import (end, get_current_time, get_max_delay, get_min_delay, get_time_step,  # noqa: F401
                      initialize, num_processes, rank, reset, run, run_for, run_until, setup)
from .native import (ModelError, create_current_source_model, create_neuron_model,  # noqa: F401
                     create_postsynaptic_model, create_weight_update_model, native_cell_type,
                     native_current_source, native_electrode_type, native_synapse_type)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v, set  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels.cells import (EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista, GIF_cond_exp,  # noqa: F401
                                  HH_cond_exp, IF_cond_alpha, IF_cond_exp, IF_cond_exp_gsfa_grr, IF_curr_alpha,
                                  IF_curr_delta, IF_curr_exp, IF_facets_hardware1, Izhikevich, SpikeSourceArray,
                                  SpikeSourceGamma, SpikeSourceInhGamma, SpikeSourcePoisson,
                                  SpikeSourcePoissonRefractory)
from .standardmodels.cells import (LIF, AdExp, AlphaPSR, BetaPSR, CondAlphaPostSynapticResponse,  # noqa: F401
                                  CondBetaPostSynapticResponse, CondExpPostSynapticResponse,
                                  CurrExpPostSynapticResponse, ExpPSR, PointNeuron)
from .standardmodels.electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from .standardmodels.synapses import (AdditivePotentiationMultiplicativeDepression,  # noqa: F401
                                      AdditiveWeightDependence, GutigWeightDependence,
                                      MultiplicativeWeightDependence, MultiQuantalSynapse, SimpleStochasticSynapse,
                                      SpikePairRule, StaticSynapse, STDPMechanism,
                                      StochasticTsodyksMarkramSynapse, TsodyksMarkramSynapse, Vogels2011Rule)

__version__ = "0.1.0"


def list_standard_models():
    """Return a list of all the StandardCellType classes available for this simulator."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType) and obj is not StandardCellType
            and obj is not PointNeuron]     # composed: needs its components (as in pyNN.nest's list)
