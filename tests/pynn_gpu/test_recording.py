"""Recording: shapes, units, sampling intervals, channel indices, views, assemblies, spike counts."""
import pickle

import numpy as np
import pytest
import quantities as pq
from pyNN import errors


def small_net(sim, **setup_kw):
    sim.setup(timestep=0.1, min_delay=0.1, **setup_kw)
    cells = sim.Population(4, sim.IF_cond_exp(i_offset=[0.0, 0.5, 1.0, 1.5]), label="cells")
    return cells


def test_signal_shapes_units_and_annotations(sim):
    cells = small_net(sim)
    cells.record(["v", "gsyn_exc", "spikes"])
    sim.run(10.0)
    block = cells.get_data()
    seg = block.segments[0]
    v = seg.filter(name="v")[0]
    g = seg.filter(name="gsyn_exc")[0]
    assert v.shape == (101, 4) and g.shape == (101, 4)
    assert v.units == pq.mV and g.units == pq.uS
    assert float(v.sampling_period.rescale(pq.ms)) == 0.1 and float(v.t_start) == 0.0
    np.testing.assert_array_equal(v.array_annotations["channel_index"], np.arange(4))
    assert v[0, 0] == -65.0 * pq.mV                  # sample 0 is the initial value
    assert block.name == "cells" and block.annotations["simulator"] == "pyNN.gpu"
    assert len(seg.spiketrains) == 4
    assert all(st.units == pq.ms for st in seg.spiketrains)


def test_sampling_interval_and_subset(sim):
    cells = small_net(sim)
    cells[1:3].record("v", sampling_interval=1.0)
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (11, 2)
    assert float(v.sampling_period) == 1.0
    np.testing.assert_array_equal(v.array_annotations["channel_index"], [1, 2])
    # cells 1 and 2 (0.5 and 1 nA) stay below threshold: v = v_rest + R I (1 - exp(-t / tau_m)), R = 20 MOhm
    t = np.arange(11.0)[:, None]
    np.testing.assert_allclose(v.magnitude, -65.0 + 20.0 * np.array([0.5, 1.0]) * -np.expm1(-t / 20.0), atol=1e-4)


def test_spike_counts_views_and_assembly(sim):
    sim.setup(timestep=0.1, min_delay=0.1)
    a = sim.Population(3, sim.IF_curr_exp(i_offset=[0.0, 1.0, 2.0]), label="a")
    b = sim.Population(2, sim.IF_cond_exp(i_offset=1.0), label="b")
    asm = a + b
    asm.record("spikes")
    a[0:2].record("v")
    sim.run(100.0)
    counts = asm.get_spike_counts()
    # from rest at -65 mV towards -65 + 20 I: threshold (-50) after 20 ln(20 I / (20 I - 15)) ms, then 0.1 ms
    # refractory: every 27.8 ms at 1 nA (3 spikes in 100 ms), 9.5 ms at 2 nA (10 spikes)
    assert [counts[c] for c in asm] == [0, 3, 10, 3, 3]
    assert a.mean_spike_count() == pytest.approx(13 / 3)
    data = asm.get_data()
    assert len(data.segments[0].spiketrains) == 5
    v = a.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (1001, 2)
    view_counts = a[1:].get_spike_counts()
    assert set(view_counts) == {a[1], a[2]}


def test_long_run_crosses_recording_chunks(sim):
    """More steps than one device recording chunk: nothing is dropped."""
    from pynn_gpu.codegen import simulation
    cells = small_net(sim)
    cells.record(["v", "spikes"])
    sim.run(1.5 * simulation.CHUNK_STEPS * 0.1)
    seg = cells.get_data().segments[0]
    v = seg.filter(name="v")[0]
    assert v.shape[0] == int(1.5 * simulation.CHUNK_STEPS) + 1
    st = np.asarray(seg.spiketrains[3])
    isi = np.diff(st)
    assert len(st) > 10 and isi.max() - isi.min() <= 0.1 + 1e-9   # regular firing across the chunk boundary


def test_write_data_and_clear(sim, tmp_path):
    cells = small_net(sim)
    cells.record(["v", "spikes"])
    sim.run(5.0)
    first = cells.get_data(clear=True).segments[0].filter(name="v")[0]
    assert first.shape == (51, 4)
    sim.run(5.0)
    second = cells.get_data().segments[0].filter(name="v")[0]
    assert float(second.t_start) == 5.0 and second.shape == (51, 4)
    np.testing.assert_allclose(second[0].magnitude, first[-1].magnitude)
    path = tmp_path / "cells.pkl"
    cells.write_data(str(path))
    from neo.io import PickleIO
    back = PickleIO(str(path)).read_block()
    assert back.segments[0].filter(name="v")[0].shape == (51, 4)


def _spike_trains(sim, gpu_layout: bool, serial=False):
    """Spikes of a Poisson-driven network over several recording chunks; ``gpu_layout`` makes the generator treat
    the CPU device as a GPU (spikes recorded as bits with an atomic OR, one fused launch per step); ``serial``:
    many steps per launch in one work-item (bits set while scanning for delivery)."""
    sim.setup(timestep=0.1, min_delay=0.2, rng_seed=7)
    runtime = sim.simulator.state.runtime
    was_cpu, was_serial = runtime.is_cpu, runtime.serial_steps
    runtime.is_cpu = was_cpu and not gpu_layout
    runtime.serial_steps = serial
    try:
        return _run_network(sim)
    finally:
        runtime.is_cpu, runtime.serial_steps = was_cpu, was_serial


def _run_network(sim):
    cells = sim.Population(70, sim.IF_curr_exp(tau_refrac=2.0))
    drive = sim.Population(70, sim.SpikeSourcePoisson(rate=400.0))
    sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.5, delay=0.2))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(3)),
                   sim.StaticSynapse(weight=0.2, delay=0.5))
    cells.record("spikes")
    sim.run(450.0)
    trains = [np.asarray(st.magnitude) for st in cells.get_data().segments[0].spiketrains]
    kernels = sorted(sim.simulator.state.simulation.kernels)
    sim.end()
    return trains, kernels


def test_spike_bytes_and_bits_agree(sim):
    """CPU devices record spikes as a byte per cell and step (vectorisable) in a kernel per phase, or as bits while
    scanning for delivery in one work-item; GPUs as bits with an atomic OR: the same spikes."""
    as_bytes, cpu_kernels = _spike_trains(sim, gpu_layout=False)
    as_bits, gpu_kernels = _spike_trains(sim, gpu_layout=True)
    scanned, serial_kernels = _spike_trains(sim, gpu_layout=False, serial=True)
    assert cpu_kernels == ["neuron_update", "spike_propagation"] and gpu_kernels == ["network_step"]
    assert serial_kernels == ["network_steps"]
    assert sum(len(t) for t in as_bytes) > 500
    for a, b, c in zip(as_bytes, as_bits, scanned):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def _band_spikes(sim, path: str, record_middle: bool):
    """Spikes of three populations of one model (the middle one recorded or not) and of Poisson sources (several
    spikes a step: a byte per cell), connected, by ``path``: 'serial' (one work-item, bits set while scanning),
    'phases' (a kernel per phase, a byte per cell), 'gpu' (the GPU layout: bits by an atomic OR)."""
    sim.setup(timestep=0.1, min_delay=0.2, rng_seed=11)
    runtime = sim.simulator.state.runtime
    was = runtime.is_cpu, runtime.serial_steps
    runtime.is_cpu, runtime.serial_steps = was[0] and path != "gpu", path == "serial"
    try:
        pops = [sim.Population(n, sim.IF_curr_exp(i_offset=np.linspace(0.6, 2.5, n), tau_refrac=1.0))
                for n in (33, 40, 7)]
        drive = sim.Population(30, sim.SpikeSourcePoisson(rate=2000.0))
        for p in pops:
            sim.Projection(drive, p, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(5)),
                           sim.StaticSynapse(weight=0.3, delay=0.2))
        for p in [pops[0], pops[2], drive] + ([pops[1]] if record_middle else []):
            p.record("spikes")
        sim.run(60.0)
        sim.run(45.0)
        trains = [[np.asarray(st.magnitude) for st in p.get_data().segments[0].spiketrains] for p in pops + [drive]]
        counts = [sum(p.get_spike_counts().values()) for p in pops + [drive]]
    finally:
        sim.end()
        runtime.is_cpu, runtime.serial_steps = was
    return trains, counts


def test_spike_recording_bands(sim):
    """The recorded groups of a neuron block share one range of the spike recording, the groups between them
    included: each path records every recorded group's spikes and only theirs, as when all are recorded;
    Poisson sources emitting several spikes in a step keep their multiplicity."""
    reference, ref_counts = _band_spikes(sim, "serial", record_middle=True)
    assert min(ref_counts) > 50
    # 30 sources x 2,000 Hz x 105 ms = 6,300 spikes (sd 79); one per step at most would give 5,710
    assert 6000 < ref_counts[3] < 6600
    for path in ("serial", "phases", "gpu"):
        trains, counts = _band_spikes(sim, path, record_middle=False)
        assert [len(t) for t in trains] == [33, 0, 7, 30]
        assert counts == [ref_counts[0], 0, ref_counts[2], ref_counts[3]], path
        for got, want in zip(trains, reference):
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)


def _band_signals(sim, path: str, everything: bool):
    """v and isyn_exc of three populations of one model, driven by Poisson sources: some cells of the first every
    1 ms, the third every step, the middle one not (``everything``: every cell of each, every step), by ``path``
    as in _band_spikes.  The signals of each population, as arrays."""
    sim.setup(timestep=0.1, min_delay=0.2, rng_seed=11)
    runtime = sim.simulator.state.runtime
    was = runtime.is_cpu, runtime.serial_steps
    runtime.is_cpu, runtime.serial_steps = was[0] and path != "gpu", path == "serial"
    try:
        pops = [sim.Population(n, sim.IF_curr_exp(i_offset=np.linspace(0.2, 1.0, n))) for n in (9, 5, 6)]
        drive = sim.Population(20, sim.SpikeSourcePoisson(rate=500.0))
        for p in pops:
            sim.Projection(drive, p, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(5)),
                           sim.StaticSynapse(weight=0.4, delay=0.2))
        if everything:
            for p in pops:
                p.record(["v", "isyn_exc"])
        else:
            pops[0][1::3].record(["v", "isyn_exc"], sampling_interval=1.0)
            pops[2].record("v")
        sim.run(30.0)
        sim.run(12.0)
        out = [{sig.name: sig.magnitude for sig in p.get_data().segments[0].analogsignals} for p in pops]
    finally:
        sim.end()
        runtime.is_cpu, runtime.serial_steps = was
    return out


def test_state_recording_bands(sim):
    """The state recordings of a neuron block's groups share a buffer per variable and sampling grid: each path
    gives every recorded cell's signal on its own grid, none for the groups not recorded, the values of a
    network recording everything."""
    ref = _band_signals(sim, "serial", everything=True)
    assert ref[0]["v"].shape == (421, 9) and np.ptp(ref[0]["isyn_exc"]) > 1.0
    for path in ("serial", "phases", "gpu"):
        got = _band_signals(sim, path, everything=False)
        assert sorted(got[0]) == ["isyn_exc", "v"] and got[1] == {} and sorted(got[2]) == ["v"], path
        for name in ("v", "isyn_exc"):
            np.testing.assert_allclose(got[0][name], ref[0][name][::10, 1::3], rtol=0, atol=1e-4, err_msg=path)
        np.testing.assert_allclose(got[2]["v"], ref[2]["v"], rtol=0, atol=1e-4, err_msg=path)


def _unconnected_spikes(sim, serial: bool):
    """Spikes of populations without projections, some cells of one recorded, run in one work-item
    (``serial``: recorded as bits by a scan of the spike flags after the neuron loop) or a kernel per phase."""
    sim.setup(timestep=0.1, rng_seed=7)
    runtime = sim.simulator.state.runtime
    was_serial, runtime.serial_steps = runtime.serial_steps, serial
    try:
        driven = sim.Population(50, sim.IF_curr_exp(i_offset=np.linspace(0.5, 3.0, 50)))
        other = sim.Population(30, sim.IF_curr_exp(i_offset=2.5, tau_refrac=1.0))    # the same neuron block
        sources = sim.Population(40, sim.SpikeSourcePoisson(rate=300.0))
        driven[5:45].record("spikes")
        for p in (other, sources):
            p.record("spikes")
        sim.run(120.0)
        sim.run(80.0)
        trains = [[np.asarray(st.magnitude) for st in p.get_data().segments[0].spiketrains]
                  for p in (driven, other, sources)]
        kernels = sorted(sim.simulator.state.simulation.kernels)
    finally:
        sim.end()
        runtime.serial_steps = was_serial
    return trains, kernels


def test_spikes_of_a_network_without_synapses(sim):
    """Without synapses, one work-item records spikes as bits in a scan of its own: the spikes of a kernel per
    phase (a byte per cell and step), for a view's cells only, and as the analytic period of a driven cell."""
    scanned, serial_kernels = _unconnected_spikes(sim, serial=True)
    per_phase, kernels = _unconnected_spikes(sim, serial=False)
    assert serial_kernels == ["network_steps"] and kernels == ["neuron_update"]
    assert [len(t) for t in scanned] == [40, 30, 40]
    for a, b in zip(scanned, per_phase):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # I = 2.5 nA, R = 20 Mohm (tau_m 20 ms / cm 1 nF): from -65 mV to -50 mV in tau_m ln(50 / 35) = 7.13 ms,
    # then 1 ms refractory: spikes at 7.2 ms, then every 8.2 ms or 8.3 ms on the 0.1 ms grid
    first = scanned[1][0]
    assert first[0] == pytest.approx(7.2) and np.all(np.isin(np.round(np.diff(first), 1), [8.2, 8.3]))
    assert sum(len(t) for t in scanned[2]) == pytest.approx(40 * 300 * 0.2, rel=0.1)


def _reference(sim):
    """Two driven cells recorded every step from t = 0, and two identical cells for the recording under test."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.5, 1.5], tau_refrac=2.0))
    ref = sim.Population(2, sim.IF_curr_exp(i_offset=[0.5, 1.5], tau_refrac=2.0))
    ref.record("v")
    return cells, ref


def test_recording_started_between_runs(sim):
    """A recording begun at 1.3 ms starts its signal there, sampled every 0.5 ms from there."""
    cells, ref = _reference(sim)
    sim.run(1.3)
    cells.record("v", sampling_interval=0.5)
    sim.run(30.0)
    sig = cells.get_data().segments[0].filter(name="v")[0]
    r = ref.get_data().segments[0].filter(name="v")[0].magnitude
    assert float(sig.t_start.rescale(pq.ms)) == pytest.approx(1.3)
    assert float(sig.sampling_period.rescale(pq.ms)) == pytest.approx(0.5)
    assert sig.shape == (61, 2)                     # 1.3, 1.8, ..., 31.3
    np.testing.assert_allclose(sig.magnitude, r[13::5], atol=1e-4)


def test_variable_recorded_later_than_another(sim):
    """Spikes recorded from 0, v from 1.3 ms: v's signal shares the recording start and its sampling grid
    (0, 0.5, 1.0 ... ms), with no value (NaN) before 1.3 ms."""
    cells, ref = _reference(sim)
    cells.record("spikes")
    sim.run(1.3)
    cells.record("v", sampling_interval=0.5)
    sim.run(30.0)
    seg = cells.get_data().segments[0]
    sig = seg.filter(name="v")[0]
    r = ref.get_data().segments[0].filter(name="v")[0].magnitude
    assert float(sig.t_start) == 0.0 and sig.shape == (63, 2)
    assert np.isnan(sig.magnitude[:3]).all()
    np.testing.assert_allclose(sig.magnitude[3:], r[15::5], atol=1e-4)
    assert len(seg.spiketrains[1]) > 0


def test_cells_added_to_a_recording_between_runs(sim):
    """Cells added to a recording at 10 ms start there: the cells recorded before keep their data, the new ones
    have NaN before and their value at 10 ms, and none of their spikes from before 10 ms."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=2.0))
    ref = sim.Population(4, sim.IF_curr_exp(i_offset=2.0))
    ref.record(["v", "spikes"])
    cells[0:2].record(["v", "spikes"])
    sim.run(10.0)
    cells[2:4].record(["v", "spikes"])
    sim.run(10.0)
    seg, rseg = cells.get_data().segments[0], ref.get_data().segments[0]
    v, rv = seg.filter(name="v")[0].magnitude, rseg.filter(name="v")[0].magnitude
    assert v.shape == rv.shape == (201, 4)
    np.testing.assert_allclose(v[:, :2], rv[:, :2], atol=1e-4)
    assert np.isnan(v[:100, 2:]).all()
    np.testing.assert_allclose(v[100:, 2:], rv[100:, 2:], atol=1e-4)
    ref_trains = [np.asarray(st) for st in rseg.spiketrains]
    assert ref_trains[0][0] < 10.0                  # each cell fires before and after 10 ms
    for k, st in enumerate(seg.spiketrains):
        expected = ref_trains[k] if k < 2 else ref_trains[k][ref_trains[k] > 10.0]
        np.testing.assert_allclose(np.asarray(st), expected)
    assert cells.get_spike_counts()[cells[3]] == len(ref_trains[3][ref_trains[3] > 10.0])


def test_cells_added_to_a_recording_twice(sim):
    """Cells added at 10 ms and others at 20 ms each start with their value then (only the last addition kept
    its first sample; the cells added at 10 ms had NaN there)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.5, 0.6, 0.7]))
    ref = sim.Population(3, sim.IF_curr_exp(i_offset=[0.5, 0.6, 0.7]))
    ref.record("v")
    cells[0:1].record("v")
    sim.run(10.0)
    cells[1:2].record("v")
    sim.run(10.0)
    cells[2:3].record("v")
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    rv = ref.get_data().segments[0].filter(name="v")[0].magnitude
    assert v.shape == rv.shape == (301, 3)
    for k, start in enumerate((0, 100, 200)):
        assert np.isnan(v[:start, k]).all()
        np.testing.assert_allclose(v[start:, k], rv[start:, k], atol=1e-4)
    for view, columns in ((cells[1:3], [1, 2]), (cells[[2, 0]], [0, 2])):    # the same columns of the same data
        np.testing.assert_array_equal(view.get_data().segments[0].filter(name="v")[0].magnitude, v[:, columns])


@pytest.mark.parametrize("late", ["variable", "cells"])
def test_reset_after_a_late_recording(sim, late):
    """After reset() every recorded variable and cell starts at t = 0 (a variable or cells added after a run
    made every later segment fail PyNN's length check)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.8, 1.2]))
    cells.record("spikes")
    if late == "cells":
        cells[0:1].record("v")
    sim.run(5.0)
    cells.record("v")
    sim.run(5.0)
    sim.reset()
    sim.run(2.0)
    segments = cells.get_data().segments
    v1 = segments[1].filter(name="v")[0].magnitude
    assert segments[0].filter(name="v")[0].shape == (101, 2)
    assert v1.shape == (21, 2) and not np.isnan(v1).any()
    np.testing.assert_allclose(v1[0], -65.0)


def test_initial_value_of_one_cell(sim):
    """``ID.set_initial_value`` sets that cell's initial value, as initialize() does (it only changed the
    population's initial_values, which the simulation never used)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(2, sim.IF_curr_exp())
    cells[1].set_initial_value("v", -55.0)
    assert cells[1].get_initial_value("v") == -55.0
    cells.record("v")
    sim.run(1.0)
    sim.reset()
    sim.run(1.0)
    for seg in cells.get_data().segments:
        v = seg.filter(name="v")[0].magnitude
        np.testing.assert_allclose(v[0], [-65.0, -55.0])
        assert v[1, 1] == pytest.approx(-55.0 - 10.0 * (1 - np.exp(-0.1 / 20.0)), abs=1e-4)   # decays to rest


def test_clear_between_sampling_points(sim):
    """get_data(clear=True) at 1.3 ms with 0.5 ms sampling: the next signal starts at 1.3 ms and is sampled from
    there."""
    cells, ref = _reference(sim)
    cells.record("v", sampling_interval=0.5)
    sim.run(1.3)
    first = cells.get_data(clear=True).segments[0].filter(name="v")[0]
    sim.run(30.0)
    sig = cells.get_data().segments[0].filter(name="v")[0]
    r = ref.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_allclose(first.magnitude, r[0:14:5], atol=1e-4)     # 0, 0.5, 1.0
    assert float(sig.t_start.rescale(pq.ms)) == pytest.approx(1.3) and sig.shape == (61, 2)
    np.testing.assert_allclose(sig.magnitude, r[13::5], atol=1e-4)


def test_sampling_interval_not_a_multiple_of_the_timestep(sim):
    sim.setup(timestep=0.1)
    cells = sim.Population(1, sim.IF_curr_exp())
    for bad in (0.25, -1.0, 0.0):
        with pytest.raises(errors.InvalidParameterValueError, match="sampling_interval"):
            cells.record("v", sampling_interval=bad)


def test_spike_in_the_last_step_of_a_run_is_kept(sim):
    """Spike times are on the same grid as the run's end: a spike in the last step of run(0.7) is not past t_stop."""
    sim.setup(timestep=0.1)
    cells = sim.Population(1, sim.IF_curr_exp(i_offset=1000.0, tau_refrac=0.1))
    cells.record("spikes")
    sim.run(0.7)
    train = cells.get_data().segments[0].spiketrains[0]
    assert len(train) == cells.get_spike_counts()[cells[0]] == 4
    assert float(train.magnitude[-1]) == 0.7


def test_assembly_data_as_pynns_merge(sim):
    """Assembly.get_data() joins the populations' spike trains in one pass (neo's merge checked each train against
    all it held: 10 s for 10 x 2,000 cells) and gives what PyNN's does: the same trains in the same order, linked
    to the merged segment, signals with the assembly's channel indices, the same annotations, across a reset."""
    from pyNN import common
    sim.setup(timestep=0.1)
    pops = [sim.Population(5, sim.IF_curr_exp(i_offset=np.linspace(0.8, 2.0, 5) + k), label=f"p{k}")
            for k in range(3)]
    asm = sim.Assembly(*pops)
    asm.record("spikes")
    pops[1][0:2].record("v")
    sim.run(30.0)
    sim.reset()
    sim.run(20.0)
    ours = asm.get_data()
    # (the data objects are shared: PyNN's merge below links them to its own segments)
    assert all(st.segment is seg for seg in ours.segments for st in seg.spiketrains)
    again = asm.get_data()     # the populations' own data left as they were
    assert [len(seg.spiketrains) for seg in again.segments] == [15, 15]
    assert [list(seg.analogsignals[0].array_annotations["channel_index"]) for seg in again.segments] == [[5, 6]] * 2
    assert [list(seg.analogsignals[0].array_annotations["channel_index"])
            for seg in pops[1].get_data().segments] == [[0, 1]] * 2
    pynns = common.Assembly.get_data(asm)
    assert len(ours.segments) == len(pynns.segments) == 2
    for so, sp in zip(ours.segments, pynns.segments):
        assert len(so.spiketrains) == len(sp.spiketrains) == 15
        assert sum(len(st) for st in so.spiketrains) > 20
        for a, b in zip(so.spiketrains, sp.spiketrains):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
            assert a.annotations == b.annotations
        (vo,), (vp,) = so.analogsignals, sp.analogsignals
        np.testing.assert_array_equal(vo.magnitude, vp.magnitude)
        np.testing.assert_array_equal(vo.array_annotations["channel_index"], [5, 6])
        assert so.annotations == sp.annotations
    assert (ours.name, ours.description, ours.annotations) == (pynns.name, pynns.description, pynns.annotations)


def _assert_same_trains(ours, neos):
    assert len(ours) == len(neos)
    for a, b in zip(ours, neos):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
        assert a.units == b.units and a.t_start == b.t_start and a.t_stop == b.t_stop
        assert a.annotations == b.annotations and list(a.annotations) == list(b.annotations)
        assert a.segment is b.segment
        for name in ("sampling_rate", "dtype", "name", "description", "file_origin", "waveforms", "left_sweep",
                     "unit"):
            assert getattr(a, name) == getattr(b, name), name
        assert dict(a.array_annotations) == dict(b.array_annotations) and a.array_annotations.length == len(a)
        copy = pickle.loads(pickle.dumps(a))
        np.testing.assert_array_equal(copy.magnitude, b.magnitude)
        assert (copy.t_start, copy.t_stop, copy.annotations) == (b.t_start, b.t_stop, b.annotations)
        np.testing.assert_array_equal(a.rescale("s").magnitude, b.rescale("s").magnitude)
    if len(ours) > 1:      # each train owns its times and its t_start / t_stop, as neo's do
        first, second = ours[0], ours[1]
        first.t_start -= 1.0 * first.t_start.units
        assert second.t_start == neos[1].t_start
        assert not np.shares_memory(first, second)


def test_spike_trains_made_by_cutting_the_sorted_arrays():
    """ChannelSortedSpikeTrainList gives neo's trains (times, units, annotations, order, segment), also from spike
    arrays not sorted by channel, with silent channels, and channels absent from the list of all."""
    import neo
    from neo.core.spiketrainlist import SpikeTrainList
    from pynn_gpu.recording import ChannelSortedSpikeTrainList
    rng = np.random.default_rng(3)
    channels = rng.choice([3, 5, 6, 9, 12], size=200)
    times = np.round(rng.uniform(0.0, 50.0, size=200), 1) * pq.ms
    all_ids = np.array([1, 3, 5, 6, 7, 9])         # 1 and 7 silent; 12 not asked for
    kw = dict(t_stop=50.0 * pq.ms, units="ms", t_start=0.0 * pq.ms, source_population="p",
              source_index=all_ids - 1)
    segment = neo.Segment()
    made = []
    for cls in (ChannelSortedSpikeTrainList, SpikeTrainList):
        trains = cls.from_spike_time_array(times, channels, all_ids, **kw)
        trains.segment = segment
        made.append(list(trains))
    _assert_same_trains(*made)
    assert [len(t) for t in made[0]][0] == 0 and sum(len(t) for t in made[0]) == np.isin(channels, all_ids).sum()


def test_get_data_spike_trains_are_neos(sim):
    """get_data()'s trains, cut from the sorted spike arrays, equal those neo's own SpikeTrainList makes (which
    compares every cell with every spike: 100,000 cells with 3.3 million spikes took 160 s to read)."""
    from neo.core.spiketrainlist import SpikeTrainList
    sim.setup(timestep=0.1)
    cells = sim.Population(12, sim.IF_curr_exp(i_offset=np.linspace(0.0, 2.2, 12)), label="cells")   # 0: silent
    cells.record("spikes")
    sim.run(60.0)
    trains = cells.get_data().segments[0].spiketrains
    assert type(trains).__name__ == "ChannelSortedSpikeTrainList"
    neos = SpikeTrainList.from_spike_time_array(trains._spike_time_array, trains._channel_id_array,
                                                trains._all_channel_ids, units="ms", **trains._spiketrain_metadata,
                                                **trains._annotations)
    neos.segment = trains.segment
    ours = list(trains)
    _assert_same_trains(ours, list(neos))
    assert len(ours[0]) == 0 and sum(len(t) for t in ours) > 20
    assert [t.annotations["source_index"] for t in ours] == list(range(12))


def test_get_data_after_counting_spikes_not_recorded(sim):
    """get_spike_counts() of a population recording only v is empty, and get_data() afterwards still gives v (PyNN's
    count left an empty spike entry behind, and get_data() failed with a bare ValueError, in pyNN.nest too)."""
    sim.setup(timestep=0.1)
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    sim.run(20.0)
    assert cells.get_spike_counts() == {}
    seg = cells.get_data().segments[0]
    assert len(seg.spiketrains) == 0 and seg.analogsignals[0].shape == (201, 3)
    assert float(seg.analogsignals[0][0, 0]) == -65.0 and float(seg.analogsignals[0][-1, 0]) > -65.0


def test_collector_paused_restores_the_collector():
    """The garbage collector, paused while spike trains are made, is as it was afterwards, after an error too."""
    import gc
    from pynn_gpu.bulk import collector_paused
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        with collector_paused():
            1 / 0
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()       # a caller's own pause is left alone
    finally:
        gc.enable()


@pytest.mark.parametrize("celltype", ["poisson", "lif"])
@pytest.mark.parametrize("view", [slice(5, 12), slice(None, None, 3)])
def test_spikes_of_a_view_kept_alone(sim, celltype, view):
    """The device records spikes of the whole population; the host keeps those of the recorded cells only (7 of
    400: each cell's bytes or bits are read alone; every third: the band decoded in slices of steps, then
    filtered).  The trains equal those of the same network recording every cell: Poisson sources (a count per
    cell and step, 3 kHz: several spikes in a step) and LIF cells (a bit)."""
    def network(record_view):
        sim.setup(timestep=0.1, min_delay=0.1, rng_seed=5)
        if celltype == "poisson":
            cells = sim.Population(400, sim.SpikeSourcePoisson(rate=3000.0))
        else:
            cells = sim.Population(400, sim.IF_curr_exp(i_offset=np.linspace(1.0, 3.0, 400)))
        (cells[view] if record_view else cells).record("spikes")
        sim.run(100.0)
        trains = [np.asarray(st) for st in cells.get_data().segments[0].spiketrains]
        stored = sum(len(entry[0]) for entry in sim.simulator.state.simulation.recorded[0])
        sim.end()
        return trains, stored
    everything, _ = network(False)
    some, stored = network(True)
    expected = [everything[k] for k in range(400)[view]]
    assert len(some) == len(expected) and sum(len(t) for t in expected) > 20
    for a, b in zip(some, expected):
        np.testing.assert_array_equal(a, b)
    assert stored == sum(len(t) for t in expected)      # nothing of the other cells kept
