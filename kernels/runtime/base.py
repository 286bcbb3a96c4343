"""The runtime protocol every device adapter implements."""
from __future__ import annotations

import numpy as np


class Runtime:
    """A device: memory, compilation and kernel launches on one in-order queue.

    Subclasses implement every method; nothing above this layer touches the device API.
    """

    #: 'opencl' or 'cuda': the dialect this runtime compiles
    dialect = ""
    #: human-readable device name, e.g. 'pthread-Intel(R) Xeon(R)' or 'NVIDIA H100'
    device_name = ""
    #: bytes of device memory and the largest single allocation
    global_mem_size = 0
    max_alloc_size = 0
    #: True if the device is a CPU (e.g. PoCL)
    is_cpu = False
    #: many steps per launch in one work-item (kernel network_steps): False, True or 'auto' (where it pays)
    serial_steps = False

    def supports_double(self) -> bool:
        raise NotImplementedError

    def allocate(self, nbytes: int):
        raise NotImplementedError

    def to_device(self, array: np.ndarray):
        """Allocate a buffer holding a copy of ``array``."""
        raise NotImplementedError

    def copy_to_device(self, buffer, array: np.ndarray, offset: int = 0, blocking: bool = False):
        """Copy ``array`` into ``buffer`` from byte ``offset`` on; the caller may change or free ``array`` as soon
        as this returns.  ``blocking``: return once the copy is done (no private copy of ``array`` is made)."""
        raise NotImplementedError

    def copy_from_device(self, buffer, out: np.ndarray, blocking: bool = True, offset: int = 0):
        """Copy ``out.nbytes`` bytes of ``buffer`` from byte ``offset`` on into ``out``."""
        raise NotImplementedError

    def fill_zero(self, buffer, nbytes: int, offset: int = 0):
        raise NotImplementedError

    def compile(self, source: str, kernel_names, context: str = ""):
        """Compile ``source`` and return ``{name: kernel}``; uses the on-disk cache."""
        raise NotImplementedError

    def set_args(self, kernel, args):
        """Bind all arguments of ``kernel`` (scalars as numpy scalars, buffers as returned by allocate)."""
        raise NotImplementedError

    def set_arg(self, kernel, index: int, value):
        """Rebind one argument (e.g. the step number) of ``kernel``."""
        raise NotImplementedError

    def run_steps(self, first: int, stop: int, launches):
        """Enqueue steps ``first`` .. ``stop - 1``: for each, set argument 0 of every kernel in
        ``launches`` (pairs of kernel and work-item count) to the step number and launch it.
        No host synchronisation."""
        for step in range(first, stop):
            s = np.int32(step)
            for kernel, n in launches:
                self.set_arg(kernel, 0, s)
                self.launch(kernel, n)

    def run_steps_serially(self, first: int, stop: int, kernel):
        """Enqueue steps ``first`` .. ``stop - 1`` of ``kernel`` (network_steps, whose last argument is the number
        of steps per launch) in launches of one work-item.  No host synchronisation."""
        raise NotImplementedError

    def launch(self, kernel, global_size: int, args=None):
        """Enqueue ``kernel`` over ``global_size`` work-items (no host synchronisation)."""
        raise NotImplementedError

    def synchronise(self):
        raise NotImplementedError
