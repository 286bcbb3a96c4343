"""Model description language, internal network, code generator and device simulation (PyNN-free)."""
from .errors import CodegenError, ModelError
from .models import CurrentSourceModel, DerivedParam, ExtraGlobal, NeuronModel, PostsynapticModel, Var, \
    WeightUpdateModel

__all__ = ["CodegenError", "ModelError", "NeuronModel", "PostsynapticModel", "WeightUpdateModel",
           "CurrentSourceModel", "Var", "ExtraGlobal", "DerivedParam"]
