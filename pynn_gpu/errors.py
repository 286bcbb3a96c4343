"""Exceptions raised by pyNN.gpu, one class per stage, subclassing PyNN's where PyNN has one."""
from pyNN.errors import InvalidParameterValueError  # noqa: F401  (re-exported for convenience)

from .codegen.errors import CodegenError, ModelError, NumericalInstabilityError  # noqa: F401
from .kernels.errors import DeviceError, DeviceMemoryError, KernelCompileError  # noqa: F401
