"""OpenCL C dialect."""
from .base import Dialect

OPENCL = Dialect(
    name="opencl",
    defines=(
        ("KERNEL", "__kernel"),
        ("GLOBAL", "__global"),
        ("RESTRICT", "restrict"),
        ("DEVICE_FN", "static inline"),
        ("PG_LAUNCH_STEP", "((int)get_global_id(1))"),   # the launch's step offset
        ("GID", "((int)get_global_id(0))"),
        ("ATOMIC_OR_U32(p, v)", "atomic_or((volatile __global unsigned int *)(p), (v))"),
        ("AS_UINT(x)", "as_uint(x)"),
        ("AS_FLOAT(x)", "as_float(x)"),
        ("AS_ULONG(x)", "as_ulong(x)"),
        ("AS_DOUBLE(x)", "as_double(x)"),
        ("ATOMIC_CAS_U32(p, o, n)", "atomic_cmpxchg((volatile __global unsigned int *)(p), (o), (n))"),
        ("ATOMIC_CAS_U64(p, o, n)", "atom_cmpxchg((volatile __global unsigned long *)(p), (o), (n))"),
        # mul_hi is a call that PoCL's CPU compiler does not inline, and one call keeps a loop from vectorising
        ("MULHI_U32(a, b)", "((unsigned int)(((unsigned long)(a) * (unsigned long)(b)) >> 32))"),
        ("ANY_BYTE_OF_8(p)", "(as_ulong(vload8(0, (p))) != 0)"),   # p: unsigned char*, any alignment
        ("HAS_NATIVE_FLOAT_ATOMIC_ADD", "0"),
        ("ATOMIC_ADD_NATIVE(p, v)", "0"),
    ),
    # the same for fmin and fmax, which generated code and user snippets call (selects), and pow's
    # exponents 0 and 1 (weight dependences: additive, multiplicative) answered without the call: _prelude.c
    builtins=(
        ("fmin(a, b)", "pg_fmin((scalar)(a), (scalar)(b))"),
        ("fmax(a, b)", "pg_fmax((scalar)(a), (scalar)(b))"),
        ("pow(a, b)", "pg_pow((scalar)(a), (scalar)(b))"),
    ),
    fp64_pragma="#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
                "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable",
)
