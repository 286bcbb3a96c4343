"""Dialects: the only place that knows how OpenCL C and CUDA C differ."""
from .base import Dialect
from .cuda import CUDA
from .opencl import OPENCL

DIALECTS = {"opencl": OPENCL, "cuda": CUDA}

__all__ = ["Dialect", "DIALECTS", "OPENCL", "CUDA"]
