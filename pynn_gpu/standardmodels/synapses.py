"""Standard synapse types."""
from pyNN.standardmodels import build_translations, synapses

from ..codegen.library import synapses as library


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    codegen_model = library.STATIC

    def _get_minimum_delay(self):
        from ..simulator import state
        return state.min_delay if state._min_delay != "auto" else state.dt
