"""Device runtimes: one small protocol (allocate, copy, compile, launch, synchronise) per API."""
from .base import Runtime

__all__ = ["Runtime"]
