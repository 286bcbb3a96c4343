"""The OpenCL runtime: device choice, compile cache, counter-based RNG, atomics."""
import numpy as np
import pytest

from pynn_gpu.kernels import cache
from pynn_gpu.kernels.dialects import OPENCL
from pynn_gpu.kernels.errors import DeviceError, KernelCompileError
from pynn_gpu.kernels.runtime.opencl import OpenCLRuntime


@pytest.fixture(scope="module")
def rt():
    return OpenCLRuntime()


RNG_KERNEL = """
KERNEL void draw(GLOBAL scalar *out, const int step)
{
    const int i = GID;
    pg_rng_t rng = pg_rng_init(7u, 0u, (unsigned int)step, (unsigned int)i, 3u);
    out[2 * i] = pg_uniform(&rng);
    out[2 * i + 1] = pg_uniform(&rng);
}
KERNEL void add(GLOBAL scalar *acc, GLOBAL const scalar *x)
{
    pg_atomic_add(&acc[GID % 4], x[GID]);
}
"""


@pytest.mark.parametrize("precision", ["single", "double"])
def test_rng_is_a_function_of_its_counter_and_atomics_add(rt, precision):
    dtype = np.float32 if precision == "single" else np.float64
    kernels = rt.compile(OPENCL.prelude(precision) + RNG_KERNEL, ["draw", "add"])
    out = np.zeros(2 * 4096, dtype)
    buf = rt.to_device(out)
    draws = []
    for step in (5, 5, 6):
        rt.launch(kernels["draw"], 4096, [buf, np.int32(step)])
        rt.copy_from_device(buf, out)
        draws.append(out.copy())
    np.testing.assert_array_equal(draws[0], draws[1])            # same counter, same numbers
    assert not np.array_equal(draws[0], draws[2])
    u = draws[0]
    assert 0.0 <= u.min() and u.max() < 1.0
    n = len(u)                     # 5 sigma: sd of the mean sqrt(1/12/n), of the variance sqrt((1/80 - 1/144)/n)
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n) and abs(u.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)
    x = np.ones(4096, dtype)
    acc = rt.to_device(np.zeros(4, dtype))
    rt.launch(kernels["add"], 4096, [acc, rt.to_device(x)])
    total = np.zeros(4, dtype)
    rt.copy_from_device(acc, total)
    np.testing.assert_array_equal(total, [1024.0] * 4)


def test_compile_cache_on_disk(rt, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    source = OPENCL.prelude("single") + "KERNEL void k(GLOBAL scalar *a) { a[GID] = 1.0f; }\n// cache test"
    rt.compile(source, ["k"])
    binaries = list(tmp_path.glob("*.bin"))
    assert len(binaries) == 1 and (tmp_path / (binaries[0].stem + ".c")).read_text() == source
    written = binaries[0].read_bytes()
    cache._memory.clear()
    loaded = cache.load(binaries[0].stem)                            # read back from disk, checksum valid
    assert loaded == written[64:] and len(loaded) > 0
    binaries[0].write_bytes(b"0" * 64 + b"torn")
    cache._memory.clear()
    assert cache.load(binaries[0].stem) is None                     # a torn entry is ignored


def test_compile_error_names_the_model_block(rt):
    source = OPENCL.prelude("single") + "KERNEL void k(GLOBAL scalar *a)\n{\n    {   /* mymodel: 3 neurons */\n" \
                                        "        a[GID] = undefined_thing;\n    }\n}\n"
    with pytest.raises(KernelCompileError) as err:
        rt.compile(source, ["k"], context="test")
    assert "mymodel" in str(err.value) and "undefined_thing" in str(err.value)


def test_device_choice_errors():
    with pytest.raises(DeviceError, match="no OpenCL device matches"):
        OpenCLRuntime("no-such-device")
    with pytest.raises(DeviceError, match="out of range"):
        OpenCLRuntime(99)
