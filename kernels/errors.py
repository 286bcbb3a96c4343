"""Errors raised by the device runtimes."""


class DeviceError(RuntimeError):
    """No usable device, or a device-side failure."""


class DeviceMemoryError(MemoryError):
    """The network does not fit: the message says how much it needs and what the device has."""


class KernelCompileError(RuntimeError):
    """The device compiler rejected generated code; the message maps the error to the model snippet."""


class HostMemoryError(MemoryError):
    """The host's memory available now cannot hold what a projection or a run would need: the message names it,
    says how much it needs and what is free."""
