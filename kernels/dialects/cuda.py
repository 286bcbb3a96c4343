"""CUDA C dialect (compiled with NVRTC)."""
from .base import Dialect

CUDA = Dialect(
    name="cuda",
    defines=(
        ("KERNEL", 'extern "C" __global__'),
        ("GLOBAL", ""),
        ("RESTRICT", "__restrict__"),
        ("DEVICE_FN", "static __device__ inline"),
        # The launch's step offset lives in a device variable: the runtime captures blocks of steps into a CUDA
        # graph with step_base = 0, 1, ... and sets pg_launch_step to the block's first step before each replay.
        ("PG_LAUNCH_STEP_DECLARATION", "__device__ int pg_launch_step;"),
        ("PG_LAUNCH_STEP", "pg_launch_step"),
        ("GID", "((int)(blockIdx.x * blockDim.x + threadIdx.x))"),
        ("ATOMIC_OR_U32(p, v)", "atomicOr((unsigned int *)(p), (v))"),
        ("AS_UINT(x)", "__float_as_uint(x)"),
        ("AS_FLOAT(x)", "__uint_as_float(x)"),
        ("AS_ULONG(x)", "((unsigned long long)__double_as_longlong(x))"),
        ("AS_DOUBLE(x)", "__longlong_as_double((long long)(x))"),
        ("ATOMIC_CAS_U32(p, o, n)", "atomicCAS((unsigned int *)(p), (o), (n))"),
        ("ATOMIC_CAS_U64(p, o, n)", "atomicCAS((unsigned long long *)(p), (o), (n))"),
        ("MULHI_U32(a, b)", "__umulhi((unsigned int)(a), (unsigned int)(b))"),
        ("ANY_BYTE_OF_8(p)", "(((p)[0] | (p)[1] | (p)[2] | (p)[3] | (p)[4] | (p)[5] | (p)[6] | (p)[7]) != 0)"),
        ("HAS_NATIVE_FLOAT_ATOMIC_ADD", "1"),
        ("ATOMIC_ADD_NATIVE(p, v)", "atomicAdd((p), (v))"),
    ),
)
