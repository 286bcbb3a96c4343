"""Bad input is refused before anything is built, with PyNN's exception types and messages that name it.

Every check here happens at Population/Projection/source creation or at ``set``/``initialize``
(never at ``run``), raises the exception PyNN defines for the case (``InvalidParameterValueError``,
``NonExistentParameterError``, ``ConnectionError``, ``RecordingError``), and the message names the
offending parameter and, where there is one, the population or projection.  pyNN.nest (NEST 3)
refuses most of the same parameter values too, but with NEST's own ``BadProperty``; where pyNN.nest
raises a PyNN exception (unsorted spike times, weight signs, unknown names) the type here is the same.
"""
import math
import re
import time

import numpy as np
import pytest
from pyNN import errors
from pyNN.errors import (ConnectionError, InvalidParameterValueError, NonExistentParameterError,
                         RecordingError)

from pynn_gpu.recording import RecordingStateError

NAN = float("nan")


@pytest.fixture
def gpu(sim):
    sim.setup(timestep=0.1)
    return sim


def check_raises(exc_type, fn, *must_contain):
    """Call ``fn``; it must raise exactly ``exc_type`` (or a subclass) naming every string in ``must_contain``."""
    with pytest.raises(exc_type) as info:
        fn()
    message = str(info.value)
    for text in must_contain:
        assert text in message, f"{text!r} not in {message!r}"
    return message


def nothing_built(sim):
    return sim.simulator.state.simulation is None


# ---- neuron parameters ------------------------------------------------------------------------

BAD_NEURON_VALUES = [("tau_m", -10.0), ("tau_m", 0.0), ("tau_syn_E", -1.0), ("tau_syn_E", 0.0),
                     ("tau_syn_I", -1.0), ("tau_syn_I", 0.0), ("cm", 0.0), ("cm", -0.5), ("tau_refrac", -1.0),
                     ("tau_m", NAN), ("v_rest", NAN), ("v_thresh", NAN), ("i_offset", NAN), ("tau_refrac", NAN),
                     # infinite capacitance or time constants: NaN in every propagator (pyNN.nest runs, v NaN)
                     ("cm", math.inf), ("tau_m", math.inf), ("tau_syn_E", math.inf), ("tau_syn_I", math.inf)]
CELL_TYPES = ["IF_curr_exp", "IF_cond_exp"]


@pytest.mark.parametrize("cell", CELL_TYPES)
@pytest.mark.parametrize("name,value", BAD_NEURON_VALUES)
def test_bad_neuron_parameter_at_creation(gpu, cell, name, value):
    celltype = getattr(gpu, cell)(**{name: value})
    msg = check_raises(InvalidParameterValueError, lambda: gpu.Population(3, celltype, label="exc"),
                       f"'{name}'", "'exc'", cell)
    assert ("NaN" in msg) if math.isnan(value) else (f"got {value}" in msg and "must be" in msg)
    assert gpu.simulator.state.populations == []          # the population was not registered
    assert nothing_built(gpu)


@pytest.mark.parametrize("cell", CELL_TYPES)
@pytest.mark.parametrize("name,value", BAD_NEURON_VALUES)
def test_bad_neuron_parameter_via_set(gpu, cell, name, value):
    pop = gpu.Population(4, getattr(gpu, cell)(), label="cells")
    before = pop.get(name)
    check_raises(InvalidParameterValueError, lambda: pop.set(**{name: value}), f"'{name}'", "'cells'")
    assert pop.get(name) == before                       # nothing was changed
    assert nothing_built(gpu)


@pytest.mark.parametrize("cell", CELL_TYPES)
@pytest.mark.parametrize("name,value", BAD_NEURON_VALUES)
def test_bad_neuron_parameter_via_view_set(gpu, cell, name, value):
    pop = gpu.Population(6, getattr(gpu, cell)(), label="parent")
    before = pop.get(name)
    view = pop[2:4]
    msg = check_raises(InvalidParameterValueError, lambda: view.set(**{name: value}), f"'{name}'", "'parent'")
    assert "for cell 2" in msg                           # the first offending cell, as an index into the parent
    np.testing.assert_array_equal(pop.get(name, simplify=False), np.full(6, before))


def test_bad_value_in_one_cell_of_an_array(gpu):
    tau_m = np.array([10.0, 20.0, -3.0, 5.0])
    msg = check_raises(InvalidParameterValueError, lambda: gpu.Population(4, gpu.IF_curr_exp(tau_m=tau_m)),
                       "'tau_m'", "must be a finite number > 0")
    assert "got -3.0 for cell 2" in msg


def test_bad_value_via_single_cell(gpu):
    pop = gpu.Population(3, gpu.IF_cond_exp(), label="ids")
    with pytest.raises(InvalidParameterValueError, match="'cm'"):
        pop[1].cm = -1.0
    assert pop.get("cm") == pytest.approx(1.0)


@pytest.mark.parametrize("cell", CELL_TYPES)
def test_allowed_edge_values_are_accepted(gpu, cell):
    pop = gpu.Population(2, getattr(gpu, cell)(tau_refrac=0.0, v_reset=-50.001, v_thresh=-50.0))
    assert pop.get("tau_refrac") == 0.0
    pop.set(tau_m=1e-3, i_offset=-2.0)
    assert pop.get("tau_m") == pytest.approx(1e-3)


@pytest.mark.parametrize("cell", CELL_TYPES)
@pytest.mark.parametrize("v_reset,v_thresh", [(-50.0, -55.0), (-50.0, -50.0)])
def test_reset_not_below_threshold_at_creation(gpu, cell, v_reset, v_thresh):
    celltype = getattr(gpu, cell)(v_reset=v_reset, v_thresh=v_thresh)
    msg = check_raises(InvalidParameterValueError, lambda: gpu.Population(2, celltype, label="lif"),
                       "'v_reset'", "'v_thresh'", "'lif'")
    assert f"v_reset={v_reset}" in msg and f"v_thresh={v_thresh}" in msg


def test_reset_not_below_threshold_in_one_cell(gpu):
    celltype = gpu.IF_curr_exp(v_reset=-65.0, v_thresh=np.array([-50.0, -70.0, -50.0]))
    msg = check_raises(InvalidParameterValueError, lambda: gpu.Population(3, celltype), "'v_reset'", "'v_thresh'")
    assert "for cell 1" in msg


@pytest.mark.parametrize("cell", CELL_TYPES)
def test_reset_not_below_threshold_via_set(gpu, cell):
    pop = gpu.Population(2, getattr(gpu, cell)(v_reset=-65.0, v_thresh=-50.0), label="lif")
    check_raises(InvalidParameterValueError, lambda: pop.set(v_thresh=-70.0), "'v_reset'", "'v_thresh'")
    assert pop.get("v_thresh") == -50.0


# ---- initial values ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell,variable", [("IF_curr_exp", "v"), ("IF_cond_exp", "v"),
                                           ("IF_curr_exp", "isyn_exc"), ("IF_cond_exp", "gsyn_inh")])
def test_nan_initial_value(gpu, cell, variable):
    pop = gpu.Population(3, getattr(gpu, cell)(), label="init")
    before = pop.initial_values[variable].evaluate(simplify=True)
    check_raises(InvalidParameterValueError, lambda: pop.initialize(**{variable: NAN}), f"'{variable}'", "'init'")
    check_raises(InvalidParameterValueError, lambda: pop[1:].initialize(**{variable: NAN}), f"'{variable}'")
    check_raises(InvalidParameterValueError, lambda: pop.initialize(**{variable: np.array([0.0, NAN, 1.0])}),
                 f"'{variable}'")
    assert pop.initial_values[variable].evaluate(simplify=True) == before


def test_unknown_initial_value(gpu):
    pop = gpu.Population(2, gpu.IF_curr_exp())
    check_raises(NonExistentParameterError, lambda: pop.initialize(foo=1.0), "foo")


# ---- spike sources ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,value", [("rate", -1.0), ("rate", NAN), ("rate", math.inf), ("start", -1.0),
                                        ("duration", -5.0), ("start", NAN)])
def test_bad_poisson_parameter(gpu, name, value):
    check_raises(InvalidParameterValueError,
                 lambda: gpu.Population(2, gpu.SpikeSourcePoisson(**{name: value}), label="noise"),
                 f"'{name}'", "'noise'", "SpikeSourcePoisson")
    pop = gpu.Population(4, gpu.SpikeSourcePoisson(rate=5.0), label="noise2")
    check_raises(InvalidParameterValueError, lambda: pop.set(**{name: value}), f"'{name}'", "'noise2'")
    check_raises(InvalidParameterValueError, lambda: pop[::2].set(**{name: value}), f"'{name}'")
    assert pop.get("rate") == 5.0
    assert len(gpu.simulator.state.populations) == 1


def test_poisson_zero_rate_is_allowed(gpu):
    pop = gpu.Population(2, gpu.SpikeSourcePoisson(rate=0.0, start=0.0, duration=0.0))
    assert pop.get("rate") == 0.0


def test_issue511_unsorted_spike_times(gpu):
    # PyNN's scenario test: the second cell's times are not in increasing order
    celltype = gpu.SpikeSourceArray(spike_times=[[2.4, 4.8, 6.6, 9.4], [3.5, 6.8, 9.6, 8.3]])
    msg = check_raises(InvalidParameterValueError, lambda: gpu.Population(2, celltype), "'spike_times'", "sorted")
    assert "cell 1" in msg and "9.6 before 8.3" in msg


@pytest.mark.parametrize("times,what", [([3.0, 1.0], "sorted"), ([-1.0, 2.0], ">= 0"), ([1.0, NAN], "finite"),
                                        ([1.0, math.inf], "finite")])
def test_bad_spike_times(gpu, times, what):
    check_raises(InvalidParameterValueError,
                 lambda: gpu.Population(1, gpu.SpikeSourceArray(spike_times=times), label="stim"),
                 "'spike_times'", "'stim'", what)
    pop = gpu.Population(2, gpu.SpikeSourceArray(spike_times=[1.0, 2.0]), label="stim2")
    check_raises(InvalidParameterValueError, lambda: pop.set(spike_times=times), "'spike_times'", "'stim2'", what)
    check_raises(InvalidParameterValueError, lambda: pop[1:].set(spike_times=times), "'spike_times'", what)
    assert list(pop.get("spike_times", simplify=True).value) == [1.0, 2.0]


def test_equal_spike_times_are_allowed(gpu):
    pop = gpu.Population(1, gpu.SpikeSourceArray(spike_times=[1.0, 1.0, 2.0]))
    assert list(pop.get("spike_times", simplify=True).value) == [1.0, 1.0, 2.0]


# ---- unknown names ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELL_TYPES + ["SpikeSourcePoisson", "SpikeSourceArray"])
def test_unknown_parameter(gpu, cell):
    msg = check_raises(NonExistentParameterError, lambda: getattr(gpu, cell)(foo=1), "foo", cell)
    assert "valid parameters" in msg
    pop = gpu.Population(2, getattr(gpu, cell)())
    check_raises(NonExistentParameterError, lambda: pop.set(foo=1), "foo")
    check_raises(NonExistentParameterError, lambda: pop.get("foo"), "foo")


@pytest.mark.parametrize("cell,variable", [("IF_curr_exp", "foo"), ("IF_cond_exp", "isyn_exc"),
                                           ("IF_curr_exp", "gsyn_exc"), ("SpikeSourceArray", "v"),
                                           ("SpikeSourcePoisson", "v")])
def test_unknown_recordable(gpu, cell, variable):
    pop = gpu.Population(2, getattr(gpu, cell)())
    msg = check_raises(RecordingError, lambda: pop.record(variable), variable)
    assert "spikes" in msg                               # lists what can be recorded
    check_raises(RecordingError, lambda: pop[:1].record([variable]), variable)
    assert nothing_built(gpu)


# ---- projections ------------------------------------------------------------------------------

def _pops(sim, post="IF_curr_exp"):
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]), label="src")
    return pre, sim.Population(3, getattr(sim, post)(), label="tgt")


CONNECTORS = {
    "AllToAll": lambda sim, w, d: (sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=d)),
    "FixedProbability": lambda sim, w, d: (sim.FixedProbabilityConnector(1.0, rng=sim.NumpyRNG(1)),
                                           sim.StaticSynapse(weight=w, delay=d)),
    "FromList": lambda sim, w, d: (sim.FromListConnector([(0, 0, w, d), (1, 2, w, d)],
                                                         column_names=["weight", "delay"]), sim.StaticSynapse()),
}


@pytest.mark.parametrize("connector", ["AllToAll", "FixedProbability", "FromList"])
@pytest.mark.parametrize("delay", [0.01, 0.04, -1.0, NAN])
def test_delay_below_timestep(gpu, connector, delay):
    pre, post = _pops(gpu)
    conn, syn = CONNECTORS[connector](gpu, 0.5, delay)
    check_raises(ConnectionError, lambda: gpu.Projection(pre, post, conn, syn, label="thalamus"),
                 "delay", "'thalamus'")
    assert nothing_built(gpu)


def test_unknown_synaptic_parameter(gpu):
    pre, post = _pops(gpu)
    prj = gpu.Projection(pre, post, gpu.OneToOneConnector(), gpu.StaticSynapse(weight=0.5, delay=1.0))
    check_raises(NonExistentParameterError, lambda: gpu.StaticSynapse(foo=1.0), "foo", "StaticSynapse")
    check_raises(NonExistentParameterError, lambda: gpu.TsodyksMarkramSynapse(UU=0.5), "UU",
                 "TsodyksMarkramSynapse", "tau_rec")
    check_raises(NonExistentParameterError, lambda: prj.get("foo", format="list"), "foo")
    check_raises(NonExistentParameterError, lambda: prj.set(foo=1.0), "foo")
    assert prj.get("weight", format="list", with_address=False) == [0.5, 0.5, 0.5]


def test_delay_of_one_timestep_is_allowed_and_set_is_checked(gpu):
    pre, post = _pops(gpu)
    prj = gpu.Projection(pre, post, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.5, delay=0.1), label="p")
    assert len(prj) == 9 and set(prj.get("delay", format="list", with_address=False)) == {0.1}
    check_raises(ConnectionError, lambda: prj.set(delay=0.01), "delay", "'p'")
    check_raises(ConnectionError, lambda: prj.set(delay=NAN), "delay", "'p'")
    assert set(prj.get("delay", format="list", with_address=False)) == {0.1}


@pytest.mark.parametrize("connector", ["AllToAll", "FixedProbability",
                                       "FromList"])
def test_negative_conductance_weight(gpu, connector):
    pre, post = _pops(gpu, "IF_cond_exp")
    conn, syn = CONNECTORS[connector](gpu, -0.01, 1.0)
    msg = check_raises(ConnectionError, lambda: gpu.Projection(pre, post, conn, syn, label="ampa"),
                       "'weight'", "'ampa'", "positive")
    assert "-0.01" in msg


@pytest.mark.parametrize("connector", ["AllToAll", "FixedProbability",
                                       "FromList"])
def test_positive_current_based_inhibitory_weight(gpu, connector):
    pre, post = _pops(gpu, "IF_curr_exp")
    conn, syn = CONNECTORS[connector](gpu, 0.5, 1.0)
    msg = check_raises(ConnectionError,
                       lambda: gpu.Projection(pre, post, conn, syn, receptor_type="inhibitory", label="gaba"),
                       "'weight'", "'gaba'", "negative", "inhibitory")
    assert "got 0.5" in msg


@pytest.mark.parametrize("connector", ["AllToAll", "FixedProbability", "FromList"])
def test_correct_weight_signs_are_accepted(gpu, connector):
    pre, post = _pops(gpu, "IF_curr_exp")
    prj = gpu.Projection(pre, post, *CONNECTORS[connector](gpu, -0.5, 1.0), receptor_type="inhibitory")
    assert set(prj.get("weight", format="list", with_address=False)) == {-0.5}
    pre, post = _pops(gpu, "IF_cond_exp")
    prj = gpu.Projection(pre, post, *CONNECTORS[connector](gpu, 0.01, 1.0), receptor_type="inhibitory")
    assert set(prj.get("weight", format="list", with_address=False)) == {0.01}


def test_weight_checks_via_set_and_nan(gpu):
    pre, post = _pops(gpu, "IF_cond_exp")
    prj = gpu.Projection(pre, post, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.01, delay=1.0), label="x")
    check_raises(ConnectionError, lambda: prj.set(weight=-0.02), "'weight'", "'x'")
    check_raises(ConnectionError, lambda: prj.set(weight=NAN), "'weight'", "'x'")
    assert set(prj.get("weight", format="list", with_address=False)) == {0.01}
    pre, post = _pops(gpu)
    check_raises(ConnectionError, lambda: gpu.Projection(pre, post, gpu.AllToAllConnector(),
                                                         gpu.StaticSynapse(weight=NAN, delay=1.0), label="y"),
                 "'weight'", "'y'", "finite")


def test_network_too_big_for_the_device(gpu):
    from pynn_gpu.kernels.errors import DeviceMemoryError
    pre = gpu.Population(200_000, gpu.IF_curr_exp(), label="pre")
    post = gpu.Population(200_000, gpu.IF_curr_exp(), label="post")
    t0 = time.perf_counter()
    with pytest.raises(DeviceMemoryError) as info:
        gpu.Projection(pre, post, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1, delay=1.0), label="huge")
    elapsed = time.perf_counter() - t0
    assert isinstance(info.value, MemoryError)
    assert elapsed < 5.0, f"refusing took {elapsed:.1f} s: connections were generated before the check"
    message = str(info.value)
    assert "'huge'" in message
    units = {"B": 1, "KiB": 2 ** 10, "MiB": 2 ** 20, "GiB": 2 ** 30, "TiB": 2 ** 40}
    sizes = [float(x) * units[u] for x, u in re.findall(r"(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)\b", message)]
    assert len(sizes) >= 2, message
    device_bytes = gpu.simulator.state.runtime.global_mem_size
    needed, available = max(sizes), min(sizes)
    assert needed >= 4e10 * 4                            # at least a 4-byte weight per synapse
    assert 0 < available <= device_bytes * 1.001
    assert nothing_built(gpu)




def test_packed_buffer_beyond_the_largest_allocation(gpu, monkeypatch):
    """A synapse block's indices and delays go into one device buffer: the check before allocation sizes that
    buffer, not its parts.  1,000 x 700 connections: 2.8 MB of targets and 2.8 MB of delays in one 5.6 MB
    buffer, refused where the device allows 4 MB per allocation, naming the buffer and the limit."""
    from pynn_gpu.kernels.errors import DeviceMemoryError
    pre = gpu.Population(1000, gpu.IF_curr_exp(), label="pre")
    post = gpu.Population(700, gpu.IF_curr_exp(), label="post")
    gpu.run(0.1)                                # opens the device
    gpu.Projection(pre, post, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1, delay=1.0))
    monkeypatch.setattr(gpu.simulator.state.runtime, "max_alloc_size", 4_000_000)
    check_raises(DeviceMemoryError, lambda: gpu.run(0.1), "_ints'", "needs 5.3 MiB", "at most 3.8 MiB per allocation")


def test_projection_too_big_for_the_host_memory(gpu, monkeypatch):
    """Refused before any connection is generated when the host's free memory (here 64 MiB) cannot hold the
    connections' arrays: 2,000 x 2,000 all-to-all is 4 M connections of 16 + 2 x 8 bytes, three times over while
    drawn and built."""
    from pynn_gpu.kernels.runtime import host
    from pynn_gpu.kernels.errors import HostMemoryError
    monkeypatch.setattr(host, "available_host_bytes", lambda: 64 * 2 ** 20)
    pre = gpu.Population(2000, gpu.IF_curr_exp(), label="pre")
    post = gpu.Population(2000, gpu.IF_curr_exp(), label="post")
    check_raises(HostMemoryError, lambda: gpu.Projection(pre, post, gpu.AllToAllConnector(),
                                                         gpu.StaticSynapse(weight=0.1, delay=1.0), label="dense"),
                 "'dense'", "4,000,000 connections", "366.2 MiB of host memory", "64.0 MiB is available")
    assert gpu.simulator.state.projections == []
    small = gpu.Projection(pre, post, gpu.FixedNumberPreConnector(10), gpu.StaticSynapse(weight=0.1, delay=1.0))
    assert small.size() == 20_000                 # 625 KiB fits


def test_dense_projection_arrays_too_big_for_the_host_memory(gpu, monkeypatch):
    """get(format='array') and set() with a random distribution, a function of distance or a list work on one value
    per pair of cells (PyNN's common code): refused, naming the projection, when the host's free memory (here 4 MiB)
    cannot hold 1,000 x 1,000 of them (7.6 MiB an array), whatever the number of connections; single values and one
    value per connection need no such array and go ahead."""
    from pynn_gpu.kernels.runtime import host
    from pynn_gpu.kernels.errors import HostMemoryError
    pre = gpu.Population(1000, gpu.IF_curr_exp(), label="pre")
    post = gpu.Population(1000, gpu.IF_curr_exp(), label="post")
    prj = gpu.Projection(pre, post, gpu.FixedNumberPreConnector(5, with_replacement=True, rng=gpu.NumpyRNG(seed=1)),
                         gpu.StaticSynapse(weight=0.1, delay=1.0), label="sparse")
    pairs = len({(i, j) for i, j, _ in prj.get("weight", format="list")})
    assert pairs < 5000                 # some pairs twice: a list of one value per pair takes PyNN's dense path
    monkeypatch.setattr(host, "available_host_bytes", lambda: 4 * 2 ** 20)
    check_raises(HostMemoryError, lambda: prj.get("weight", format="array"), "'sparse'", "get(format='array')",
                 "1,000 x 1,000", "8.6 MiB", "4.0 MiB of host memory", "format='list'")
    uniform = gpu.RandomDistribution("uniform", (0.1, 0.2), rng=gpu.NumpyRNG(seed=2))
    check_raises(HostMemoryError, lambda: prj.set(weight=uniform), "'sparse'", "set() of 'weight'", "15.3 MiB",
                 "distribution.next(len(prj))")
    check_raises(HostMemoryError, lambda: prj.set(delay=lambda d: 1.0 + d), "set() of 'delay'")
    check_raises(HostMemoryError, lambda: prj.set(weight=[0.2] * pairs), "set() with a list for 'weight'",
                 "one value per connection (5,000)")
    prj.set(weight=0.3)
    prj.set(delay=np.linspace(1.0, 2.0, 5000))
    values = prj.get(["weight", "delay"], format="list", with_address=False)
    assert len(values) == 5000 and {w for w, _ in values} == {0.3}
    np.testing.assert_allclose(sorted(d for _, d in values), np.round(np.linspace(1.0, 2.0, 5000), 1))


def test_projection_set_with_a_list_of_the_wrong_length(gpu):
    """A list for set() holds one value per connection or, as PyNN takes it, one per connected pair of cells; any
    other length is PyNN's InvalidParameterValueError naming both (it was numpy's boolean-indexing ValueError)."""
    a, b = gpu.Population(3, gpu.IF_curr_exp()), gpu.Population(2, gpu.IF_curr_exp())
    prj = gpu.Projection(a, b, gpu.FromListConnector([(0, 0), (0, 0), (1, 1), (2, 0)]),
                         gpu.StaticSynapse(weight=0.1, delay=1.0), label="listed")
    check_raises(InvalidParameterValueError, lambda: prj.set(weight=[0.2, 0.3]), "'listed'",
                 "got 2 values", "one per connection (4", "one per connected pair of cells (3")
    prj.set(weight=[0.5, 0.6, 0.7])            # per pair: (0, 0), (1, 1), (2, 0); both connections of (0, 0)
    assert prj.get("weight", format="list", with_address=False) == [0.5, 0.5, 0.6, 0.7]


def test_population_too_big_for_the_host_memory(gpu, monkeypatch):
    """A population whose cell IDs and parameters would not fit in the host's free memory (here 64 MiB) is refused
    before any is made, naming it (3e8 cells grew past 5 GB for half a minute; 1e10 gave numpy's MemoryError)."""
    from pynn_gpu.kernels.runtime import host
    from pynn_gpu.kernels.errors import HostMemoryError
    monkeypatch.setattr(host, "available_host_bytes", lambda: 64 * 2 ** 20)
    check_raises(HostMemoryError, lambda: gpu.Population(1_000_000, gpu.IF_curr_exp(), label="cortex"),
                 "'cortex' of 1,000,000 cells", "of host memory", "64.0 MiB is available")
    assert gpu.Population(1000, gpu.IF_curr_exp()).first_id == 0          # nothing left behind


def test_delay_too_long_for_the_input_ring_buffer(gpu):
    """The input ring buffer has a slot per step of the longest delay: one that cannot fit is refused before
    anything is allocated, naming the delay and its projection (1e8 ms gave numpy's MemoryError for 44.7 GiB)."""
    from pynn_gpu.kernels.errors import DeviceMemoryError, HostMemoryError
    cells = gpu.Population(2, gpu.IF_curr_exp())
    gpu.Projection(cells, cells, gpu.OneToOneConnector(), gpu.StaticSynapse(weight=0.1, delay=1e10), label="slow")
    check_raises((DeviceMemoryError, HostMemoryError), lambda: gpu.run(1.0), "the longest delay, 1e+10 ms",
                 "100,000,000,000 steps", "'slow[", "shorten the longest delays")
    assert gpu.get_current_time() == 0.0


def test_recording_too_big_for_the_host_memory(gpu, monkeypatch):
    """A run whose recorded signals would not fit in the host's free memory is refused before it starts, naming
    the recording; a shorter run that fits goes ahead and the time stands where it was."""
    from pynn_gpu.codegen import simulation
    from pynn_gpu.kernels.errors import HostMemoryError
    cells = gpu.Population(1000, gpu.IF_curr_exp(), label="cortex")
    cells.record("v")
    gpu.run(1.0)
    monkeypatch.setattr(simulation, "available_host_bytes", lambda: 16 * 2 ** 20)
    # 1,000 cells x 10,000 steps x 4 bytes = 38 MiB > 80 % of 16 MiB
    check_raises(HostMemoryError, lambda: gpu.run(1000.0), "'v'", "1,000 cells of 'cortex'", "10,000 steps",
                 "38.1 MiB", "16.0 MiB is available", "sampling_interval", "get_data(clear=True)")
    assert gpu.get_current_time() == 1.0
    gpu.run(100.0)                                  # 3.8 MiB fits
    assert cells.get_data().segments[0].analogsignals[0].shape == (1011, 1000)


@pytest.mark.parametrize("which", ["list as pre", "ID as post", "None as pre"])
def test_projection_between_things_that_are_not_populations(gpu, which):
    """PyNN's ConnectionError, as pyNN.nest raises it (an AttributeError or a KeyError from the checks before)."""
    p = gpu.Population(3, gpu.IF_curr_exp())
    pre, post, side = {"list as pre": ([p], p, "pre"), "ID as post": (p, p[0], "post"),
                       "None as pre": (None, p, "pre")}[which]
    check_raises(ConnectionError, lambda: gpu.Projection(pre, post, gpu.AllToAllConnector(), label="x"),
                 f"{side}synaptic_neurons must be a Population, PopulationView or Assembly", "'x'")


def test_unsupported_cell_type(gpu):
    from pyNN.standardmodels import cells
    check_raises(NotImplementedError, lambda: gpu.Population(2, cells.IF_cond_alpha()), "IF_cond_alpha")
    assert gpu.simulator.state.populations == []


def test_unsupported_synapse_type(gpu):
    from pyNN.standardmodels import build_translations, synapses

    class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):   # as another backend would define it
        translations = build_translations(*[(n, n) for n in synapses.TsodyksMarkramSynapse.default_parameters])

        def _get_minimum_delay(self):
            return 0.1

    pre, post = _pops(gpu)
    stp = TsodyksMarkramSynapse(weight=0.5, delay=1.0)
    check_raises(NotImplementedError,
                 lambda: gpu.Projection(pre, post, gpu.AllToAllConnector(), stp, label="stp"),
                 "TsodyksMarkramSynapse", "'stp'")
    assert gpu.simulator.state.projections == []


# ---- current sources --------------------------------------------------------------------------

@pytest.mark.parametrize("name,value,what", [("amplitude", NAN, "NaN"), ("amplitude", math.inf, "finite"),
                                             ("start", -1.0, ">= 0"), ("stop", NAN, "NaN")])
def test_bad_dc_source(gpu, name, value, what):
    check_raises(InvalidParameterValueError, lambda: gpu.DCSource(**{name: value}), f"'{name}'", "DCSource", what)
    assert gpu.simulator.state.current_sources == []     # a refused source is not registered
    dc = gpu.DCSource(amplitude=0.5, start=1.0, stop=5.0)
    check_raises(InvalidParameterValueError, lambda: dc.set_parameters(**{name: value}), f"'{name}'", what)
    with pytest.raises(InvalidParameterValueError, match=f"'{name}'"):
        setattr(dc, name, value)
    assert (dc.amplitude, dc.start, dc.stop) == (0.5, 1.0, 5.0)


def test_dc_source_stop_before_start(gpu):
    msg = check_raises(InvalidParameterValueError, lambda: gpu.DCSource(amplitude=1.0, start=10.0, stop=5.0),
                       "'stop'", "'start'")
    assert "start=10.0" in msg and "stop=5.0" in msg
    dc = gpu.DCSource(amplitude=1.0, start=1.0, stop=5.0)
    check_raises(InvalidParameterValueError, lambda: dc.set_parameters(start=6.0), "'stop'", "'start'")
    dc.set_parameters(start=5.0)                         # stop == start is allowed, as in NEST
    assert dc.start == 5.0


def test_unknown_dc_parameter(gpu):
    check_raises(NonExistentParameterError, lambda: gpu.DCSource(foo=1.0), "foo")


# ---- setup ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,name", [({"precision": "half"}, "precision"), ({"backend": "foo"}, "backend"),
                                         ({"timestep": 0}, "timestep"), ({"timestep": -0.1}, "timestep"),
                                         ({"timestep": NAN}, "timestep"), ({"rng_seed": -1}, "rng_seed"),
                                         ({"rng_seed": 2 ** 64}, "rng_seed"), ({"rng_seed": 1.5}, "rng_seed"),
                                         ({"rng_seed": "7"}, "rng_seed"), ({"min_delay": 0.15}, "min_delay"),
                                         ({"min_delay": 0.1, "max_delay": 2.55}, "max_delay"),
                                         ({"timestep": 0.0004}, "timestep"), ({"timestep": 0.0015}, "timestep"),
                                         ({"timestep": "0.1"}, "timestep"), ({"timestep": None}, "timestep"),
                                         ({"min_delay": 0.1, "max_delay": "x"}, "max_delay"),
                                         ({"device": 1.5}, "device")])
def test_bad_setup(sim, kwargs, name):
    """Wrong setup() arguments are refused naming the argument (a seed is a whole number the generator's 64-bit
    key can hold: -1 or 2**64 would silently repeat another seed's streams, 1.5 would be truncated; a timestep is a
    whole number of NEST's 1 us tics: 0.0004 ms was taken, with wrong refractory periods; strings and None gave
    bare TypeErrors)."""
    msg = check_raises(InvalidParameterValueError, lambda: sim.setup(**kwargs), name)
    if name == "rng_seed":
        assert "whole number from 0 to 2**64 - 1" in msg
    elif name.endswith("_delay"):
        assert "a multiple of the timestep" in msg
    elif name == "timestep":
        assert "positive number of ms" in msg or "whole number of microseconds" in msg
    elif name == "device":
        assert "an index, 'gpu', 'cpu' or part of a device" in msg
    else:
        assert "allowed" in msg and ("'single'" in msg if name == "precision" else "'opencl'" in msg)


# ---- between runs -----------------------------------------------------------------------------

def test_changes_between_runs_are_validated(gpu):
    src = gpu.Population(2, gpu.SpikeSourcePoisson(rate=50.0), label="noise")
    cells = gpu.Population(2, gpu.IF_curr_exp(), label="cells")
    gpu.Projection(src, cells, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1, delay=1.0), label="in")
    dc = gpu.DCSource(amplitude=0.1)
    dc.inject_into(cells)
    cells.record("v")
    gpu.run(2.0)
    assert not nothing_built(gpu)
    check_raises(InvalidParameterValueError, lambda: cells.set(tau_m=-1.0), "'tau_m'", "'cells'")
    check_raises(InvalidParameterValueError, lambda: cells[:1].set(cm=0.0), "'cm'")
    check_raises(InvalidParameterValueError, lambda: cells.initialize(v=NAN), "'v'")
    check_raises(InvalidParameterValueError, lambda: src.set(rate=-5.0), "'rate'", "'noise'")
    check_raises(InvalidParameterValueError, lambda: dc.set_parameters(amplitude=NAN), "'amplitude'")
    assert cells.get("tau_m") == 20.0 and src.get("rate") == 50.0 and dc.amplitude == 0.1
    gpu.run(2.0)                                         # the network is untouched and runs on
    assert gpu.get_current_time() == pytest.approx(4.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    assert v.shape == (41, 2) and np.all(np.isfinite(v))


def test_population_size_must_be_positive(gpu):
    from pyNN.errors import InvalidDimensionsError
    for size in (0, -1):
        check_raises(InvalidDimensionsError, lambda: gpu.Population(size, gpu.IF_curr_exp(), label="empty"),
                     "'empty'", f"got {size}")


def test_run_time_must_be_whole_timesteps(gpu):
    gpu.Population(1, gpu.IF_curr_exp())
    check_raises(InvalidParameterValueError, lambda: gpu.run(0.05), "0.05", "timesteps of 0.1 ms", "(0 or 0.1 ms)")
    gpu.run(1.0)
    check_raises(InvalidParameterValueError, lambda: gpu.run_until(1.25), "timesteps of 0.1 ms", "(1.2 or 1.3 ms)")
    check_raises(ValueError, lambda: gpu.run_until(0.5), "0.5")          # PyNN's own check: in the past
    for bad in (float("nan"), float("inf")):
        check_raises(InvalidParameterValueError, lambda: gpu.run(bad), "must be a finite number of ms")
    assert gpu.get_current_time() == pytest.approx(1.0)


def test_view_initialize_sets_only_the_viewed_cells(gpu):
    cells = gpu.Population(4, gpu.IF_curr_exp())
    cells.record("v")
    cells[2:].initialize(v=-50.0)
    np.testing.assert_allclose(cells.initial_values["v"].evaluate(), [-65.0, -65.0, -50.0, -50.0])
    gpu.run(0.1)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(v[0], [-65.0, -65.0, -50.0, -50.0])
    check_raises(NonExistentParameterError, lambda: cells[:1].initialize(u=1.0), "u")


def test_a_refused_population_leaves_nothing_behind(gpu):
    good = gpu.Population(2, gpu.IF_curr_exp(i_offset=1.0))
    good.record("v")
    for error, make, text in (
            (InvalidParameterValueError, lambda: gpu.Population(2, gpu.IF_curr_exp(tau_m=-10.0)), "'tau_m'"),
            (errors.InvalidDimensionsError, lambda: gpu.Population(0, gpu.IF_curr_exp()), "(got 0)"),
            (InvalidParameterValueError, lambda: gpu.Population(2, gpu.IF_curr_exp(), initial_values={"v": NAN}),
             "'v'")):
        check_raises(error, make, text)
    gpu.run(10.0)
    assert good.get_data().segments[0].filter(name="v")[0].shape == (101, 2)
    assert gpu.Population(1, gpu.IF_curr_exp()).first_id == 2          # the ids go on from the good one


def test_projection_from_an_earlier_network_is_refused(gpu):
    old = gpu.Population(2, gpu.SpikeSourceArray(spike_times=[1.0, 2.0]), label="old")
    gpu.setup(timestep=0.1)
    new = gpu.Population(2, gpu.IF_curr_exp(), label="new")
    check_raises(ConnectionError, lambda: gpu.Projection(old, new, gpu.AllToAllConnector()), "'old'", "setup()")
    check_raises(ConnectionError, lambda: gpu.Projection(new, old[0:1] + new, gpu.AllToAllConnector()), "'old'")


def test_objects_of_an_earlier_network_are_refused(gpu):
    """Populations and current sources made before setup() are no part of the new network: recording, setting or
    injecting them was accepted and did nothing (a DC source made before, injected into a new cell, never acted; one
    injected into an old cell failed at run() with a bare KeyError); pyNN.nest refuses them."""
    from pynn_gpu.recording import RecordingStateError
    old = gpu.Population(2, gpu.IF_curr_exp(), label="old")
    old_dc = gpu.DCSource(amplitude=1.0)
    gpu.setup(timestep=0.1)
    new = gpu.Population(2, gpu.IF_curr_exp(), label="new")
    for call, error, text in ((lambda: old.record("v"), RecordingStateError, "record() of population 'old'"),
                              (lambda: (old + new).record("v"), errors.RecordingError, "earlier setup()"),
                              (lambda: old.set(tau_m=10.0), InvalidParameterValueError, "set() of population 'old'"),
                              (lambda: old[0:1].initialize(v=-60.0), InvalidParameterValueError, "initialize()"),
                              (lambda: old_dc.inject_into(new), ConnectionError, "made before the last setup()"),
                              (lambda: gpu.DCSource(amplitude=1.0).inject_into(old), ConnectionError, "'old'")):
        check_raises(error, call, text)
    dc = gpu.DCSource(amplitude=1.0, start=1.0)
    dc.inject_into(new[0:1])
    new.record("v")
    gpu.run(20.0)
    v = new.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[-1, 0] > -60.0 and v[-1, 1] == -65.0          # the new source acts on its new cell only


@pytest.mark.parametrize("cells, text", [(5, "got int"), (None, "got NoneType"), ([0, 1], "got 0 of type int"),
                                         ("cells", "of type str")])
def test_inject_into_what_is_not_cells(gpu, cells, text):
    """inject_into() takes cells: anything else is a TypeError naming the source and what it takes (it was an
    AttributeError or TypeError from inside the method)."""
    check_raises(TypeError, lambda: gpu.DCSource(amplitude=1.0).inject_into(cells), "DCSource.inject_into()",
                 "Population, PopulationView, Assembly or a list of cell IDs", text)
    pop = gpu.Population(2, gpu.IF_curr_exp())
    check_raises(TypeError, lambda: gpu.DCSource(amplitude=1.0).inject_into([pop]), "of type Population")


@pytest.mark.parametrize("timing, weights, text", [
    (dict(tau_minus=0.0), {}, "'tau_minus' must be > 0 (got 0.0)"),
    (dict(tau_plus=-20.0), {}, "'tau_plus' must be > 0 (got -20.0)"),
    ({}, dict(w_min=1.0, w_max=0.5), "w_min must lie between 0 and w_max (got w_min 1.0, w_max 0.5)")])
def test_stdp_parameters_out_of_range(gpu, timing, weights, text):
    """STDP time constants must be positive and w_min may not lie beyond w_max (tau_minus = 0 sent every weight to
    w_max; w_min > w_max held the weights above w_max), when the projection is made and by set()."""
    pre = gpu.Population(2, gpu.SpikeSourceArray(spike_times=[1.0]))
    post = gpu.Population(2, gpu.IF_curr_exp())

    def stdp(**kw):
        return gpu.STDPMechanism(timing_dependence=gpu.SpikePairRule(**{**dict(tau_plus=20.0), **timing, **kw}),
                                 weight_dependence=gpu.AdditiveWeightDependence(**{**dict(w_max=1.0), **weights}),
                                 weight=0.5)
    check_raises(InvalidParameterValueError, lambda: gpu.Projection(pre, post, gpu.AllToAllConnector(), stdp(),
                                                                    label="plastic"), "'plastic'", text)
    timing, weights = {}, {}
    prj = gpu.Projection(pre, post, gpu.AllToAllConnector(), stdp(), label="fine")
    check_raises(InvalidParameterValueError, lambda: prj.set(tau_minus=-1.0), "'fine'", "'tau_minus' must be > 0")
    check_raises(InvalidParameterValueError, lambda: prj.set(w_min=2.0), "'fine'", "w_min must lie between")


@pytest.mark.parametrize("array", [np.array([[1.0, np.nan], [0.5, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])])
def test_array_connector_of_floats(gpu, array):
    """ArrayConnector takes a boolean array: PyNN read a float column as cell indices (NaN became -2**63 and
    failed at run() with an IndexError; 0.5 connected cell 0), so floats are refused by name."""
    a, b = gpu.Population(2, gpu.IF_curr_exp()), gpu.Population(2, gpu.IF_curr_exp())
    check_raises(ConnectionError, lambda: gpu.Projection(a, b, gpu.ArrayConnector(array), label="arr"),
                 "ArrayConnector of projection 'arr'", "must be boolean", "float64")
    assert len(gpu.Projection(a, b, gpu.ArrayConnector(array == 1.0))) == int((array == 1.0).sum())


@pytest.mark.parametrize("make, error, text", [
    (lambda sim: sim.Population(3, sim.IF_curr_exp(tau_m=[10.0, 20.0]), label="few"), "InvalidDimensionsError",
     "'tau_m' has 2 values for 3 cells"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(), initial_values={"v": [-60.0, -61.0]}, label="few"),
     "InvalidDimensionsError", "'v' has 2 values for 3 cells"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(), label="few")[0:2].initialize(v=[-60.0, -61.0, -62.0]),
     "InvalidDimensionsError", "'v' has 3 values for 2 cells"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(tau_m=1 + 2j)), "InvalidParameterValueError", "not (1+2j)"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(tau_m="10")), "InvalidParameterValueError", "not '10'"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(tau_m=[10.0, None, 12.0])), "InvalidParameterValueError",
     "'tau_m'"),
    (lambda sim: sim.Population(3, sim.GIF_cond_exp(tau_eta=-1.0)), "InvalidParameterValueError",
     "'tau_eta' takes the values of its components"),
    (lambda sim: sim.Population(3, None, label="nothing"), "TypeError", "must be a cell type"),
    (lambda sim: sim.Population(3, sim.IF_curr_exp(), label="early").get_data(), "RecordingError",
     "'early': there is no data yet")])
def test_values_of_the_wrong_kind(gpu, make, error, text):
    """Wrong lengths, types and kinds of values name the parameter or population, as PyNN's exceptions (PyNN's
    lazy arrays raised bare ValueErrors and AssertionErrors, GIF a TypeError from len(), get_data() before any run
    an IndexError from neo)."""
    exc = getattr(errors, error, None) or {"TypeError": TypeError}[error]
    check_raises(exc, lambda: make(gpu), text)
    assert gpu.Population(3, gpu.IF_curr_exp).get("tau_m") == 20.0      # a class: its defaults


def test_connector_and_source_arguments(gpu):
    """Connector and current-source arguments PyNN checks with bare asserts, or not at all (a string in a
    connection list failed inside numpy, None as an amplitude inside PyNN's lazy arrays)."""
    a, b = gpu.Population(3, gpu.IF_curr_exp()), gpu.Population(3, gpu.IF_curr_exp())
    check_raises(InvalidParameterValueError, lambda: gpu.FixedProbabilityConnector(-0.5), "p_connect", "(got -0.5)")
    check_raises(InvalidParameterValueError, lambda: gpu.FixedProbabilityConnector(float("nan")), "p_connect")
    check_raises(InvalidParameterValueError, lambda: gpu.FixedNumberPreConnector(-2), "n must be", "(got -2)")
    check_raises(TypeError, lambda: gpu.FixedNumberPostConnector(2.5), "whole number of connections")
    check_raises(InvalidParameterValueError, lambda: gpu.FixedNumberPreConnector(2, allow_self_connections="x"),
                 "allow_self_connections")
    check_raises(ConnectionError, lambda: gpu.Projection(a, b, gpu.FromListConnector([("0", 1)]), label="listed"),
                 "'listed'", "must hold numbers")
    check_raises(InvalidParameterValueError, lambda: gpu.DCSource(amplitude=None), "'amplitude'", "not None")
    assert len(gpu.Projection(a, b, gpu.FixedNumberPreConnector(np.int64(2)))) == 6
    assert len(gpu.Projection(a, b, gpu.FixedProbabilityConnector(1))) == 9
    check_raises(errors.InvalidDimensionsError, lambda: gpu.Projection(a, b, gpu.AllToAllConnector(),
                                                                       gpu.StaticSynapse(weight=np.ones((2, 2))),
                                                                       label="square"),
                 "'square'", "'weight' is an array of shape (2, 2)", "of shape (3, 3)")


def test_synapse_parameters_nest_refuses(gpu):
    """SimpleStochasticSynapse's p outside [0, 1]; a Tsodyks-Markram synapse onto a receptor with two time
    constants (a beta-shaped conductance) is refused when the projection is made, not at run()."""
    src = gpu.Population(1, gpu.SpikeSourceArray(spike_times=[1.0]))
    post = gpu.Population(1, gpu.IF_cond_exp())
    for p in (1.5, -0.1):
        check_raises(InvalidParameterValueError, lambda: gpu.Projection(
            src, post, gpu.AllToAllConnector(), gpu.SimpleStochasticSynapse(weight=0.01, p=p)), "'p'", "[0, 1]")
    beta = gpu.Population(1, gpu.PointNeuron(gpu.AdExp(), AMPA=gpu.CondBetaPostSynapticResponse()))
    check_raises(NotImplementedError, lambda: gpu.Projection(
        src, beta, gpu.AllToAllConnector(), gpu.TsodyksMarkramSynapse(weight=0.01), receptor_type="AMPA"),
        "TsodyksMarkramSynapse", "'AMPA'", "single synaptic time constant")
    check_raises(NotImplementedError, lambda: gpu.native_cell_type("iaf_psc_alpha"), "create_neuron_model")


def test_integer_state_variable_takes_whole_numbers(gpu):
    Counter = gpu.create_neuron_model("Counter", vars=[("k", "int")], receptors=(), sim_code="k += 1;")
    cells = gpu.Population(2, Counter(), label="counters")
    cells.initialize(k=[2, 3])
    check_raises(InvalidParameterValueError, lambda: cells.initialize(k=2.5), "'k'", "'counters'", "whole number")
    cells.record("k")
    gpu.run(1.0)
    np.testing.assert_array_equal(cells.get_data().segments[0].filter(name="k")[0].magnitude[-1], [12, 13])


# ---- names, types and lengths PyNN's own code lets through or reports vaguely -------------------------------

def test_misspelt_setup_keyword_and_bad_spike_precision(sim):
    check_raises(InvalidParameterValueError, lambda: sim.setup(rng_sed=5), "rng_sed", "did you mean 'rng_seed'")
    check_raises(InvalidParameterValueError, lambda: sim.setup(precison="double"), "'precision'")
    check_raises(InvalidParameterValueError, lambda: sim.setup(spike_precision="exact"), "spike_precision",
                 "'off_grid'", "'on_grid'")
    sim.setup(timestep=0.1, threads=4, verbosity="error", rng_seeds=[1], t_flush=1.0)   # other backends': accepted


def test_unknown_names_say_which_model_and_projection(gpu):
    cells = gpu.Population(3, gpu.IF_curr_exp(), label="exc")
    prj = gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1), label="rec")
    check_raises(NonExistentParameterError, lambda: prj.set(wieght=0.5), "wieght", "StaticSynapse", "'rec'",
                 "delay, weight")
    check_raises(NonExistentParameterError, lambda: gpu.DCSource(amplitud=1.0), "amplitud", "DCSource",
                 "amplitude")
    dc = gpu.DCSource(amplitude=1.0)
    check_raises(NonExistentParameterError, lambda: dc.set_parameters(amplitud=2.0), "amplitud", "DCSource")
    assert dc.amplitude == 1.0


def test_a_class_where_an_instance_belongs(gpu):
    cells = gpu.Population(3, gpu.IF_curr_exp(), label="exc")
    check_raises(TypeError, lambda: gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.StaticSynapse),
                 "synapse_type", "StaticSynapse(...)", "from 'exc' to 'exc'")
    check_raises(TypeError, lambda: gpu.Projection(cells, cells, gpu.AllToAllConnector, gpu.StaticSynapse()),
                 "connector", "AllToAllConnector(...)")


def test_set_with_a_list_of_the_wrong_length_names_it(gpu):
    cells = gpu.Population(3, gpu.IF_curr_exp(), label="exc")
    check_raises(errors.InvalidDimensionsError, lambda: cells.set(tau_m=[10.0, 20.0]), "'tau_m'", "'exc'",
                 "2 values for 3 cells")
    check_raises(errors.InvalidDimensionsError, lambda: cells[0:2].set(tau_m=[10.0, 20.0, 30.0]), "'tau_m'",
                 "3 values for 2 cells")
    assert cells.get("tau_m") == 20.0


@pytest.mark.parametrize("p", [1.5, -0.1, NAN])
def test_a_connection_probability_is_from_0_to_1(gpu, p):
    check_raises(InvalidParameterValueError, lambda: gpu.FixedProbabilityConnector(p), "p_connect", "from 0 to 1")


def test_get_data_of_a_variable_the_cell_cannot_record(gpu):
    cells = gpu.Population(2, gpu.IF_curr_exp(), label="exc")
    cells.record(["spikes", "v"])
    gpu.run(1.0)
    check_raises(RecordingError, lambda: cells.get_data("vv"), "vv", "IF_curr_exp")
    check_raises(RecordingError, lambda: cells.get_data(["v", "gsyn_exc"]), "gsyn_exc")
    assert len(cells.get_data("isyn_exc").segments[0].analogsignals) == 0      # recordable, not recorded: none
    assert len(cells.get_data("v").segments[0].analogsignals) == 1


def test_a_spike_at_time_zero_is_refused(gpu):
    """No step ends at 0 ms: such a spike was dropped silently (pyNN.nest refuses it)."""
    check_raises(InvalidParameterValueError, lambda: gpu.Population(2, gpu.SpikeSourceArray(
        spike_times=[[0.05], [0.0, 1.0]])), "'spike_times' of cell 1 holds a spike at 0 ms")


def test_get_data_of_a_variable_another_cell_type_records(gpu):
    """An Assembly's get_data() asks each population for the same names: one that another cell type of the network
    records gives no signal, as in pyNN.nest (it raised); a name no cell type records is still refused."""
    stim = gpu.Population(2, gpu.SpikeSourcePoisson(rate=100.0))
    cells = gpu.Population(2, gpu.IF_curr_exp())
    stim.record("spikes")
    cells.record(["spikes", "v"])
    gpu.run(10.0)
    segment = (stim + cells).get_data(["spikes", "v"]).segments[0]
    assert len(segment.spiketrains) == 4 and segment.analogsignals[0].shape == (101, 2)
    assert len(stim.get_data("v").segments[0].analogsignals) == 0
    check_raises(RecordingError, lambda: (stim + cells).get_data(["v", "vv"]), "vv")


def test_synapse_parameter_array_of_another_shape(gpu):
    a, b = gpu.Population(3, gpu.IF_curr_exp()), gpu.Population(4, gpu.IF_curr_exp())
    for weight in (np.ones(4), np.ones(12), np.ones((4, 3))):
        check_raises(errors.InvalidDimensionsError,
                     lambda: gpu.Projection(a, b, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=weight)),
                     "'weight'", f"shape {weight.shape}", "(3, 4)")
    prj = gpu.Projection(a, b, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=np.arange(12.0).reshape(3, 4)))
    np.testing.assert_array_equal(prj.get("weight", format="array"), np.arange(12.0).reshape(3, 4))


def test_whole_number_parameters_are_not_truncated(gpu):
    """PyNN's integer parameter spaces would make 2.5 release sites 2."""
    check_raises(InvalidParameterValueError, lambda: gpu.SpikeSourceGamma(alpha=2.5), "'alpha'", "whole number")
    check_raises(InvalidParameterValueError, lambda: gpu.MultiQuantalSynapse(n=2.5), "'n'", "whole number")
    sources = gpu.Population(2, gpu.SpikeSourceGamma(alpha=3.0), label="gamma")
    check_raises(InvalidParameterValueError, lambda: sources.set(alpha=[2, 3.5]), "'alpha'", "'gamma'")
    sources.set(alpha=[2, 4])
    assert list(sources.get("alpha")) == [2, 4]


def test_parameter_tables_and_sequences_where_they_do_not_belong(gpu):
    check_raises(InvalidParameterValueError, lambda: gpu.IF_curr_exp(tau_m=np.ones((3, 2))), "'tau_m'",
                 "shape (3, 2)")
    check_raises(InvalidParameterValueError, lambda: gpu.IF_curr_exp(tau_m=gpu.Sequence([1.0, 2.0])), "'tau_m'",
                 "not a Sequence")
    check_raises(InvalidParameterValueError, lambda: gpu.SpikeSourceArray(spike_times=np.array([[1.0, 2.0]] * 2)),
                 "'spike_times'", "list of Sequences")
    two = [gpu.Sequence([1.0]), gpu.Sequence([2.0])]
    check_raises(errors.InvalidDimensionsError, lambda: gpu.Population(3, gpu.SpikeSourceArray(spike_times=two),
                                                                     label="src"),
                 "'src'", "2 Sequences for 3 cells")
    assert gpu.Population(2, gpu.SpikeSourceArray(spike_times=two)).get("spike_times")[1].value.tolist() == [2.0]


def test_run_takes_a_number_of_ms_forward(gpu):
    gpu.Population(1, gpu.IF_curr_exp())
    for bad in ("1.0", None, True):
        check_raises(InvalidParameterValueError, lambda: gpu.run(bad), "simtime", "number of ms")
    assert gpu.run(1.0) == 1.0
    check_raises(InvalidParameterValueError, lambda: gpu.run(-0.5), "cannot go back")
    check_raises(InvalidParameterValueError, lambda: gpu.run_until(0.5), "time_point=0.5", "at 1 ms")
    assert gpu.run_until(2.0) == 2.0


def test_record_takes_names_and_all(gpu):
    cells = gpu.Population(2, gpu.IF_curr_exp(i_offset=2.0), label="exc")
    check_raises(RecordingError, lambda: cells.record(5), "Cannot record 5")
    check_raises(RecordingError, lambda: cells.record(["v", 3]), "Cannot record 3")
    cells.record("all")         # every recordable variable (PyNN 0.13 itself fails on 'all')
    gpu.run(20.0)
    segment = cells.get_data().segments[0]
    assert sorted(a.name for a in segment.analogsignals) == ["isyn_exc", "isyn_inh", "v"]
    first = 20.0 * math.log(40.0 / 25.0)         # v = -65 + 40 (1 - exp(-t / 20)) reaches -50 mV
    for train in segment.spiketrains:
        assert len(train) == 2 and abs(float(train[0]) - first) < 0.1


@pytest.mark.parametrize("precision", ["single", "double"])
def test_values_beyond_single_precision(sim, precision):
    """In single precision the device would hold 1e300 as inf (while get() reported 1e300)."""
    sim.setup(timestep=0.1, precision=precision)
    cells = sim.Population(2, sim.IF_curr_exp(), label="exc")
    attempts = [(ConnectionError, lambda: sim.Projection(cells, cells, sim.AllToAllConnector(),
                                                         sim.StaticSynapse(weight=1e300), label="big"), "'big'"),
                (InvalidParameterValueError, lambda: cells.set(i_offset=-1e39), "'i_offset'"),
                (InvalidParameterValueError, lambda: sim.DCSource(amplitude=1e300), "'amplitude'")]
    for error, attempt, name in attempts:
        if precision == "single":
            check_raises(error, attempt, name, "too large for single precision", "precision='double'")
        else:
            attempt()
    if precision == "double":
        assert cells.get("i_offset") == -1e39


def test_initialize_and_neuron_references_name_the_projection(gpu):
    cells = gpu.Population(3, gpu.IF_curr_exp(), label="exc")
    static = gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1))
    check_raises(NonExistentParameterError, lambda: static.initialize(u=0.5), "u:",
                 "StaticSynapse", "exc→exc", "no state variables")
    tm = gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.TsodyksMarkramSynapse(weight=0.1), label="tm")
    check_raises(NonExistentParameterError, lambda: tm.initialize(q=0.5), "q", "'tm'", "u, x, y")
    reader = gpu.create_weight_update_model("Reader", vars=["weight"], pre_spike_code="add_to_post(weight * w_post);")
    check_raises(NonExistentParameterError,
                 lambda: gpu.Projection(cells, cells, gpu.AllToAllConnector(), reader(weight=0.1)),
                 "w_post", "Reader", "exc→exc")


def test_a_projection_of_an_earlier_setup(sim):
    """It cannot be changed any more; get() reads what it had learned when setup() was called again."""
    sim.setup(timestep=0.1, min_delay=0.1)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.5]))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=0.5))
    sim.Projection(driver, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=0.1))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.01, A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0), weight=0.3,
                             delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, label="plastic")
    post.record("spikes")
    sim.run(10.0)
    learned = prj.get("weight", format="list", with_address=False)[0]
    assert learned < 0.3
    sim.setup(timestep=0.1)
    assert prj.get("weight", format="list", with_address=False) == [learned]
    check_raises(ConnectionError, lambda: prj.set(weight=0.2), "'plastic'", "earlier setup()")
    check_raises(ConnectionError, lambda: prj.initialize(weight=0.2), "'plastic'", "earlier setup()")
    check_raises(RecordingStateError, lambda: post.get_data(), "earlier setup()")
    sim.Population(1, sim.IF_curr_exp())
    sim.run(1.0)
    assert prj.get("weight", format="list", with_address=False) == [learned]


def test_an_assembly_target_needs_a_receptor_type_all_its_populations_have(gpu):
    multi = gpu.Population(3, gpu.PointNeuron(gpu.AdExp(), AMPA=gpu.CondExpPostSynapticResponse(tau_syn=2.0,
                                                                                                  e_syn=0.0)),
                           label="multi")
    plain = gpu.Population(3, gpu.IF_cond_exp(), label="plain")
    source = gpu.Population(2, gpu.SpikeSourceArray(spike_times=[1.0]))
    for receptor in ("AMPA", "excitatory"):
        check_raises(ConnectionError, lambda: gpu.Projection(source, multi + plain, gpu.AllToAllConnector(),
                                                             gpu.StaticSynapse(weight=0.01), receptor_type=receptor),
                     f"'{receptor}'", "'multi': AMPA", "'plain': excitatory, inhibitory")
    both = gpu.Projection(source, plain + gpu.Population(2, gpu.IF_cond_alpha()), gpu.AllToAllConnector(),
                          gpu.StaticSynapse(weight=0.01), receptor_type="inhibitory")
    assert both.size() == 10


def test_spikes_that_would_not_fit_stop_the_run(gpu, monkeypatch):
    """Their number is known only once they happened: the run stops at the chunk with HostMemoryError naming the
    recording (here the host is made to look full)."""
    from pynn_gpu.codegen import simulation
    sources = gpu.Population(200, gpu.SpikeSourcePoisson(rate=1000.0), label="noisy")
    sources.record("spikes")
    gpu.run(10.0)
    assert sum(len(t) for t in sources.get_data().segments[0].spiketrains) > 1000
    monkeypatch.setattr(simulation, "HOST_MEMORY_FRACTION", 1e-9)
    check_raises(gpu.HostMemoryError, lambda: gpu.run(10.0), "'noisy'", "spikes", "get_data(clear=True)")


def test_negative_initial_conductances(gpu):
    cond = gpu.Population(2, gpu.IF_cond_exp(), label="cond")
    check_raises(InvalidParameterValueError, lambda: cond.initialize(gsyn_exc=-1.0), "'gsyn_exc'", "'cond'", ">= 0")
    multi = gpu.Population(2, gpu.PointNeuron(gpu.AdExp(), AMPA=gpu.CondExpPostSynapticResponse(tau_syn=2.0,
                                                                                                  e_syn=0.0)),
                           label="multi")
    check_raises(InvalidParameterValueError, lambda: multi.initialize(**{"AMPA.gsyn": [0.0, -0.5]}), "'AMPA.gsyn'",
                 "-0.5")
    cond.initialize(gsyn_exc=0.01)
    assert cond.initial_values["gsyn_exc"].evaluate(simplify=True) == 0.01


def test_array_connector_of_another_shape(gpu):
    a, b = gpu.Population(5, gpu.IF_curr_exp()), gpu.Population(4, gpu.IF_curr_exp())
    message = check_raises(errors.InvalidDimensionsError,
                           lambda: gpu.Projection(a, b, gpu.ArrayConnector(np.ones((4, 5), bool)),
                                                  gpu.StaticSynapse(weight=0.1), label="arr"),
                           "'arr'", "(4, 5)", "(5, 4)")
    assert "Fallback" not in message


def test_procedural_random_delays_below_the_timestep(gpu):
    cells = gpu.Population(10, gpu.IF_curr_exp())
    normal = gpu.RandomDistribution("normal", mu=1.0, sigma=2.0, rng=gpu.NativeRNG())
    check_raises(ConnectionError,
                 lambda: gpu.Projection(cells, cells, gpu.FixedProbabilityConnector(0.5, procedural=True),
                                        gpu.StaticSynapse(weight=0.1, delay=normal), label="proc"),
                 "'proc'", "from normal", "-12 ms", "mu - 6.5 sigma", "low >= the timestep")


@pytest.mark.parametrize("expression,says", [("-1.0", "got -1.0 at d = 0"), ("exp(-dd/", "SyntaxError"),
                                             ("exp(-x/10)", "name 'x' is not defined"), (5, "got 5")])
def test_distance_expressions(gpu, expression, says):
    check_raises(InvalidParameterValueError, lambda: gpu.DistanceDependentProbabilityConnector(expression), says)


def test_distance_and_index_based_connectors_still_connect(gpu):
    cells = gpu.Population(20, gpu.IF_curr_exp(), structure=gpu.space.Line())
    near = gpu.Projection(cells, cells, gpu.DistanceDependentProbabilityConnector("d < 1.5"),
                          gpu.StaticSynapse(weight=0.1))
    assert near.size() == 20 + 2 * 19          # itself and its neighbours (cells 1 apart)
    check_raises(TypeError, lambda: gpu.IndexBasedProbabilityConnector(lambda i, j: 0.5), "IndexBasedExpression")


def test_output_files_and_formats_are_checked_when_asked_for(gpu, tmp_path):
    cells = gpu.Population(2, gpu.IF_curr_exp(), label="exc")
    check_raises(InvalidParameterValueError, lambda: cells.record("v", to_file=str(tmp_path / "v.weird")),
                 "'exc'", ".pkl")
    cells.record("v", to_file=str(tmp_path / "new" / "v.pkl"))        # a folder PyNN makes at end()
    prj = gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1), label="rec")
    check_raises(InvalidParameterValueError, lambda: prj.get("weight", format="dict"), "'rec'", "'list' or 'array'")
    gpu.run(1.0)
    gpu.end()
    assert (tmp_path / "new" / "v.pkl").exists()


def test_procedural_on_a_connector_that_cannot(gpu):
    for make in (lambda: gpu.AllToAllConnector(procedural=True), lambda: gpu.OneToOneConnector(procedural=True),
                 lambda: gpu.FixedNumberPreConnector(3, procedural=True)):
        check_raises(NotImplementedError, make, "FixedProbabilityConnector, FixedTotalNumberConnector, "
                                                "FixedNumberPostConnector only")
    assert gpu.FixedNumberPreConnector(3).n == 3


def test_compile_arguments(gpu):
    check_raises(InvalidParameterValueError, lambda: gpu.compile(backend="sm_80"), "compile(arch='sm_80')")
    check_raises(InvalidParameterValueError, lambda: gpu.compile(backend="opencl"), "the network is empty")
    check_raises(TypeError, lambda: gpu.compile(backend="opencl", network="foo"), "Network")


def test_random_distributions_that_are_none(gpu):
    """numpy would draw uniform(20, 10) from [10, 20] without a word."""
    bad_uniform = gpu.RandomDistribution("uniform", low=20.0, high=10.0)
    bad_normal = gpu.RandomDistribution("normal", mu=0.0, sigma=-1.0)
    check_raises(InvalidParameterValueError, lambda: gpu.IF_curr_exp(tau_m=bad_uniform), "'tau_m'", "low <= high")
    cells = gpu.Population(3, gpu.IF_curr_exp(), label="exc")
    check_raises(InvalidParameterValueError, lambda: cells.set(v_rest=bad_normal), "'exc'", "sigma >= 0")
    check_raises(InvalidParameterValueError, lambda: cells.initialize(v=bad_uniform), "'exc'", "low <= high")
    check_raises(InvalidParameterValueError, lambda: gpu.StaticSynapse(weight=bad_uniform), "'weight'")
    prj = gpu.Projection(cells, cells, gpu.AllToAllConnector(), gpu.StaticSynapse(weight=0.1), label="rec")
    check_raises(InvalidParameterValueError, lambda: prj.set(weight=gpu.RandomDistribution("exponential", beta=0.0)),
                 "'rec'", "beta > 0")
    cells.set(tau_m=gpu.RandomDistribution("uniform", low=10.0, high=20.0, rng=gpu.NumpyRNG(1)))
    assert np.all((cells.get("tau_m") >= 10.0) & (cells.get("tau_m") <= 20.0))
