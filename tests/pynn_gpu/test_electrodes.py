"""Current sources: NEST's timing (reference/numerics.md section 4), recorded currents, changes
between runs, injection into views and assemblies, and the noise generator's draws.

Tolerances: recorded currents of DC and step sources equal pyNN.nest's to 1e-12 nA, AC to 1e-9 nA
(the recorded value is the model's, in double); the device's AC current differs from it by < 1e-6 nA
in single precision, < 1e-9 nA in double (the phase is a 32-bit fraction of a cycle).  Membrane
potentials (IF_curr_exp, exact propagator, on-grid): within 1e-3 mV of pyNN.nest in single precision
(in practice 2e-4) and 1e-8 mV in double (in practice 1e-9), well inside the project's 0.05 mV.
Noise draws: bit for bit between device and recording; against NEST only statistics (stated per test).
"""
import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

from pynn_gpu.codegen.library import current_sources as lib
from pynn_gpu.codegen.models import NeuronModel
from pynn_gpu.codegen.network import CurrentSourceGroup, Network, NeuronGroup
from pynn_gpu.codegen.simulation import Simulation

DT = 0.1
TAU_M, CM, V_REST = 20.0, 1.0, -65.0
STEP_TIMES = [0.0, 0.1, 0.2, 0.55, 1.04, 12.0, 12.04, 20.0, 26.3]
STEP_AMPS = [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.25, -0.3]


def cells(sim, n, label):
    return sim.Population(n, sim.IF_curr_exp(tau_m=TAU_M, cm=CM, v_rest=V_REST, v_thresh=0.0), label=label)


def script(sim, min_delay, changes=False, **setup_kw):
    """DC into a view, a step source into a view, AC into an Assembly; two runs (with changes between)."""
    sim.setup(timestep=DT, min_delay=min_delay, spike_precision="on_grid", **setup_kw)
    a, b = cells(sim, 3, "a"), cells(sim, 2, "b")
    dc = sim.DCSource(amplitude=0.8, start=5.0, stop=30.0)
    dc.inject_into(a[0:1])
    step = sim.StepCurrentSource(times=STEP_TIMES, amplitudes=STEP_AMPS)
    step.inject_into(a[1:3])
    ac = sim.ACSource(amplitude=0.6, offset=0.2, frequency=70.0, phase=45.0, start=10.0, stop=35.0)
    ac.inject_into(sim.Assembly(a[2:3], b))
    sources = (dc, step, ac)
    for s in sources:
        s.record()
    a.record("v")
    b.record("v")
    sim.run(20.0)
    if changes:
        dc.amplitude = 0.3
        ac.frequency = 40.0
        ac.start = 25.0
        step.set_parameters(times=[25.0, 31.0], amplitudes=[0.5, -0.2])
    sim.run(20.0)
    v = np.hstack([p.get_data().segments[0].filter(name="v")[0].magnitude for p in (a, b)])
    currents = [s.get_data() for s in sources]
    sim.end()
    return v, currents


def propagate(current, v0=V_REST):
    """IF_curr_exp below threshold, exactly: the membrane that the recorded current (sample n acting on
    [n dt, (n + 1) dt)) produces."""
    p22 = np.exp(-DT / TAU_M)
    p20 = -TAU_M / CM * np.expm1(-DT / TAU_M)
    v = np.empty(len(current))
    v[0] = v0
    for n in range(len(current) - 1):
        v[n + 1] = V_REST + p22 * (v[n] - V_REST) + p20 * current[n]
    return v


@pytest.mark.cross_simulator
@pytest.mark.parametrize("min_delay,precision", [(0.1, "single"), (1.0, "double")])
def test_dc_step_ac_match_nest(sim, nest, min_delay, precision):
    vg, ig = script(sim, min_delay, precision=precision)
    vn, in_ = script(nest, min_delay)
    n = int(round(40.0 / DT)) + 1
    assert vg.shape == (n, 5)
    assert np.abs(vg - vn[:n]).max() < (1e-3 if precision == "single" else 1e-8)
    for mine, theirs, tol in zip(ig, in_, (1e-12, 1e-12, 1e-9)):
        assert len(mine) == n and float(mine.t_start) == 0.0 and float(mine.times[-1]) == pytest.approx(40.0)
        np.testing.assert_allclose(mine.magnitude[:, 0], theirs.magnitude[:n, 0], rtol=0, atol=tol)
    # each cell's membrane is the exact response to the recorded currents it receives
    i_dc, i_step, i_ac = (c.magnitude[:, 0] for c in ig)
    for col, current in ((0, i_dc), (1, i_step), (2, i_step + i_ac), (3, i_ac)):
        assert np.abs(vg[:, col] - propagate(current)).max() < (1e-3 if precision == "single" else 1e-8)


def test_timing_rules():
    """NEST's net rules for h = min_delay = 0.1: nothing before 0.2; the step source's four stages."""
    rules = dict(dt=DT, min_delay=DT)
    assert lib.window(0.0, 1.0, **rules) == lib.window(0.1, 1.0, **rules) == lib.window(0.2, 1.0, **rules) == (2, 10)
    assert lib.window(1.0, 1e12, dt=DT, min_delay=1.0) == (11, 2**31 - 1)       # min_delay + dt
    steps, amps = lib.step_switches([0.0, 0.1, 0.2, 0.3], [1.0, 2.0, 3.0, 4.0], **rules)
    assert steps.tolist() == [2, 3] and amps.tolist() == [3.0, 4.0]       # 0, 0, a3, a4
    steps, _ = lib.step_switches([0.5, 1.0, 1.55], [1.0, 2.0, 3.0], **rules)
    assert steps.tolist() == [5, 10, 15]                                      # 0.5, 1.0 and 1.5
    # the device's bucketed look-up agrees with a plain search, also for dense and late switches
    times = np.concatenate([np.arange(0.0, 3.0, DT), [500.0, 500.1, 500.2], np.arange(1000.0, 1001.5, DT)])
    p = {"times": times, "amplitudes": np.arange(len(times), dtype=float), "min_delay": DT}
    arrays = lib.step_arrays(p, DT)
    sched = arrays["sched"].astype(np.int64)
    for n in range(0, 10_050, 7):
        first = sched[sched[2] + min(n >> sched[0], sched[1])]
        seg = first + sum(int(sched[lib.STEP_HEADER + first + m] <= n) for m in range(1, lib.STEP_SCAN + 1))
        assert arrays["amps"][seg] == lib.step_current(p, arrays, [n], DT)[0]


def test_step_source_validation_and_readback(sim):
    sim.setup(timestep=0.01, min_delay=0.01)
    with pytest.raises(ValueError, match="'times' must be >= 0"):
        sim.StepCurrentSource(times=[0.4, -0.6, 0.8], amplitudes=[0.5, -0.5, 0.5])
    with pytest.raises(InvalidParameterValueError, match="strictly increasing"):
        sim.StepCurrentSource(times=[0.5, 0.4999, 0.8], amplitudes=[0.5, -0.5, 0.5])
    with pytest.raises(InvalidParameterValueError, match="same length"):
        sim.StepCurrentSource(times=[0.5, 0.8], amplitudes=[0.5])
    step = sim.StepCurrentSource(times=[0.451, 0.452, 0.86], amplitudes=[0.5, -0.5, 0.5])
    np.testing.assert_allclose(step.times.evaluate(), [0.45, 0.86], atol=1e-12)   # when they act
    np.testing.assert_allclose(step.amplitudes.evaluate(), [-0.5, 0.5])           # duplicates: the last wins
    step.amplitudes = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(step.amplitudes.evaluate(), [2.0, 3.0])
    with pytest.raises(InvalidParameterValueError, match="same length"):
        step.amplitudes = [1.0]


@pytest.mark.parametrize("make,name", [
    (lambda s: s.DCSource(start=1.05), "start"), (lambda s: s.ACSource(stop=2.01), "stop"),
    (lambda s: s.NoisyCurrentSource(dt=0.15), "dt"), (lambda s: s.NoisyCurrentSource(dt=0.0), "dt"),
    (lambda s: s.NoisyCurrentSource(stdev=-1.0), "stdev"), (lambda s: s.ACSource(frequency=np.nan), "frequency")])
def test_bad_source_parameters(sim, make, name):
    sim.setup(timestep=DT)
    with pytest.raises(InvalidParameterValueError, match=f"'{name}'"):
        make(sim)
    assert sim.simulator.state.current_sources == []


def test_changes_between_runs(sim):
    """A change acts from the current time on, as if it had always held, without recompiling (but a step schedule
    whose times all lie ahead leaves the amplitude in effect until its first, as NEST's generator keeps it)."""
    v, (i_dc, i_step, i_ac) = script(sim, DT, changes=True, precision="double")
    i_dc, i_step, i_ac = (c.magnitude[:, 0] for c in (i_dc, i_step, i_ac))
    k = int(round(20.0 / DT))
    np.testing.assert_array_equal(i_dc[50:k], 0.8)
    np.testing.assert_array_equal(i_dc[k:300], 0.3)                       # new amplitude from t = 20
    assert i_dc[300] == 0.0
    np.testing.assert_array_equal(i_step[k:250], 0.25)     # new times ahead: the amplitude goes on until 25 (NEST)
    np.testing.assert_array_equal(i_step[250:310], 0.5)
    np.testing.assert_array_equal(i_step[310:], -0.2)
    np.testing.assert_array_equal(i_ac[k:250], 0.0)                       # start moved to 25
    t = np.arange(250, 350) * DT
    np.testing.assert_allclose(i_ac[250:350], 0.2 + 0.6 * np.sin(2 * np.pi * 40.0 * (t - 25.0) / 1000 + np.pi / 4),
                               atol=1e-12)
    for col, current in ((0, i_dc), (1, i_step), (3, i_ac)):
        assert np.abs(v[:, col] - propagate(current)).max() < 1e-8


def test_a_source_made_after_a_run_records_nothing_before_it(sim):
    """Its recorded current is 0 until it was made (it acted on nothing then), and the membrane follows that
    recorded current."""
    sim.setup(timestep=DT, min_delay=DT, precision="double")
    cells = sim.Population(1, sim.IF_curr_exp(tau_m=TAU_M, cm=CM, v_rest=V_REST, i_offset=0.0))
    cells.record("v")
    sim.run(5.0)
    dc = sim.DCSource(amplitude=0.5, start=1.0, stop=8.0)
    cells.inject(dc)
    dc.record()
    sim.run(5.0)
    i_dc = dc.get_data().magnitude[:, 0]
    assert len(i_dc) == 101
    np.testing.assert_array_equal(i_dc[:50], 0.0)
    np.testing.assert_array_equal(i_dc[50:80], 0.5)
    np.testing.assert_array_equal(i_dc[80:], 0.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert np.abs(v - propagate(i_dc)).max() < 1e-10


def test_changes_take_effect_without_rebuild_and_reset(sim):
    sim.setup(timestep=DT, min_delay=DT)
    p = cells(sim, 1, "p")
    ac = sim.ACSource(amplitude=0.5, frequency=100.0, phase=90.0, start=5.0)
    ac.inject_into(p)
    ac.record()
    p.record("v")
    sim.run(10.0)
    built = sim.simulator.state.simulation
    ac.set_parameters(frequency=50.0, amplitude=0.25)
    sim.run(10.0)
    assert sim.simulator.state.simulation is built
    first = ac.get_data().magnitude[:, 0]
    assert first[50] == pytest.approx(0.5)
    assert first[100] == pytest.approx(0.25 * np.sin(2 * np.pi * 50.0 * (10.0 - 5.0) / 1000 + np.pi / 2))
    sim.reset()                 # the new segment runs with the parameters as they are now, from t = 0
    sim.run(10.0)
    i = ac.get_data().magnitude[:, 0]
    assert len(i) == 101 and i[50] == pytest.approx(0.25) and i[49] == 0.0
    v = p.get_data().segments[1].filter(name="v")[0].magnitude[:, 0]
    assert np.abs(v - propagate(i)).max() < 1e-3


# ---- noise --------------------------------------------------------------------------------------

PROBE = NeuronModel(name="probe", vars=("x",), sim_code="x = i_inj;")


@pytest.mark.parametrize("precision", ["single", "double"])
def test_noise_draws_on_device_are_the_recorded_ones(precision):
    """The kernel's draws, read back through a model that stores its injected current, equal the host's
    regeneration bit for bit, target by target; other cells get nothing."""
    from pynn_gpu.kernels.runtime.opencl import OpenCLRuntime
    g = NeuronGroup("g", PROBE, 40, {}, {"x": np.zeros(40)}, rng_stream=3)
    other = NeuronGroup("o", PROBE, 5, {}, {"x": np.zeros(5)}, rng_stream=1)
    p = {"mean": 0.3, "stdev": 0.7, "start": 1.0, "stop": 1500.0, "dt": 0.3, "min_delay": 0.2, "stream": 4}
    arrays = lib.noise_arrays(p, DT)
    targets = np.array([0, 3, 17, 39])
    g.record_vars = {"x": (np.arange(40), 1)}
    net = Network(dt=DT, seed=2**40 + 12345, neuron_groups=[other, g],
                  current_sources=[CurrentSourceGroup("n", lib.NOISY, dict(p), [(g, targets)], extra_globals=arrays)])
    sim = Simulation(net, OpenCLRuntime(), precision)
    sim.run(16000)
    x = np.concatenate(sim.recorded[sim.records_of(g)["x"].index]).astype(np.float64)   # sample k: step k
    steps = np.arange(16000)
    for j in targets:
        np.testing.assert_array_equal(x[:, j], lib.noise_current(p, arrays, steps, [(3, [j])], net.seed, precision))
    assert not np.any(np.delete(x, targets, axis=1))
    on, off = lib.window(1.0, 1500.0, DT, 0.2)
    assert (on, off) == (10, 15000) and not x[:on].any() and not x[off:].any() and x[on, 0] != 0
    assert np.all(x[on:on + 3, 0] == x[on, 0]) and x[on + 3, 0] != x[on, 0]      # redrawn every 3 steps
    z = (x[on:off:3, targets] - 0.3) / 0.7                    # 4 x 4997 independent deviates
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.03 and abs(np.corrcoef(z.T)[0, 1]) < 0.05
    # a later trial (reset, then the draws keyed by epoch 5 too): new draws, regenerated with the seed's high
    # word moved on by 5
    sim.reset()
    sim.set_rng_epoch(5)
    sim.run(2000)
    y = np.concatenate(sim.recorded[sim.records_of(g)["x"].index]).astype(np.float64)
    np.testing.assert_array_equal(y[:, 3], lib.noise_current(p, arrays, steps[:2000], [(3, [3])], net.seed + (5 << 32),
                                                            precision))
    assert not np.array_equal(y[on:, 3], x[on:2000, 3])


def test_normal_table():
    table = lib.normal_table("double")
    assert table.shape == (131072,) and np.all(np.diff(table[1:65535]) > 0)
    u_weights = np.concatenate([np.full(65534, 2.0**-16), np.full(65536, 2.0**-32)])
    values = np.concatenate([table[1:65535], table[65536:]])
    mean = (u_weights * values).sum() - (2.0**-32 * table[65536:]).sum()          # the mirrored upper tail
    second = (u_weights * values**2).sum() + (2.0**-32 * table[65536:] ** 2).sum()
    assert abs(mean) < 1e-12 and abs(second - 1) < 2e-7 and table[65536] == pytest.approx(-6.37, abs=0.05)


def noise_script(sim, **setup_kw):
    sim.setup(timestep=DT, min_delay=DT, spike_precision="on_grid", **setup_kw)
    one, four = cells(sim, 1, "one"), cells(sim, 4, "four")
    n1 = sim.NoisyCurrentSource(mean=0.5, stdev=0.2, start=10.0, stop=1990.0, dt=DT)
    n1.inject_into(one)
    n4 = sim.NoisyCurrentSource(mean=0.5, stdev=0.2, start=10.0, stop=1990.0, dt=0.5)
    n4.inject_into(four)
    for s in (n1, n4):
        s.record()
    one.record("v")
    sim.run(2000.0)
    v = one.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    i1, i4 = (s.get_data().magnitude[:, 0] for s in (n1, n4))
    sim.end()
    return v, i1, i4


@pytest.mark.cross_simulator
def test_noise_statistics_match_nest(sim, nest):
    """Recorded current: 0 outside [10, 1990), mean 0.5 nA and std 0.2 nA (0.1 nA averaged over four
    targets, as NEST records it) within 0.01 nA of NEST's; membrane mean within 0.3 mV and std within
    15 % of NEST's, and exactly the response to the recorded current."""
    vg, i1g, i4g = noise_script(sim, precision="double")
    vn, i1n, i4n = noise_script(nest)
    on, off = 100, 19900
    for i in (i1g, i4g):
        assert len(i) == 20001 and not i[:on].any() and not i[off:].any() and np.all(i[on:off] != 0)
    for mine, theirs, std in ((i1g, i1n, 0.2), (i4g, i4n, 0.1)):
        assert abs(mine[on:off].mean() - theirs[on:off].mean()) < 0.01
        assert abs(mine[on:off].std() - theirs[on:off].std()) < 0.01 and abs(mine[on:off].std() - std) < 0.01
    np.testing.assert_array_equal(i4g[on:on + 5], i4g[on])                 # dt = 0.5: five steps per draw
    assert abs(vg[1000:].mean() - vn[1000:].mean()) < 0.3
    assert abs(vg[1000:].std() / vn[1000:].std() - 1) < 0.15
    assert np.abs(vg - propagate(i1g)).max() < 1e-9


@pytest.mark.cuda_compile
@pytest.mark.parametrize("precision", ["single", "double"])
def test_sources_compile_for_cuda(sim, precision):
    from pynn_gpu.kernels.runtime import nvrtc
    if not nvrtc.available():
        pytest.skip(f"NVRTC not installed: {nvrtc.INSTALL_HINT}")
    sim.setup(timestep=DT, min_delay=DT)
    a, b = cells(sim, 5, "a"), sim.Population(3, sim.IF_cond_exp(), label="b")
    sim.DCSource(amplitude=0.2).inject_into(a)
    sim.ACSource(amplitude=0.2).inject_into(sim.Assembly(a, b))
    sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[0.1, 0.2]).inject_into(b)
    sim.NoisyCurrentSource(mean=0.1, stdev=0.1).inject_into(a[1:3])
    sim.NoisyCurrentSource(mean=0.1, stdev=0.1).inject_into(b)
    report = sim.compile(backend="cuda", arch="sm_80", precision=precision)
    assert report.kernel_names == ["neuron_update"]


def test_a_source_injected_twice_acts_twice(sim):
    """As in NEST, each injection counts: a DC source injected into a cell by two calls gives twice its current;
    repeating a cell within one call gives it once."""
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(3, sim.IF_curr_exp(v_thresh=100.0, tau_m=10.0))
    dc = sim.DCSource(amplitude=0.5, start=2.0, stop=500.0)
    dc.inject_into(cells)
    cells[0].inject(dc)
    dc.inject_into(cells[[2, 2]])
    cells.record("v")
    sim.run(300.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude[-1]
    # steady state v_rest + R I with R = tau_m / cm = 10 MOhm
    np.testing.assert_allclose(v, [-65.0 + 10.0, -65.0 + 5.0, -65.0 + 10.0], atol=1e-3)


def _auto_min_delay_script(sim, later_projection, **setup_kw):
    """Sources made while the minimum delay is still dt (min_delay='auto', no projection yet), then a 1.5 ms
    projection (before the run, or between runs)."""
    sim.setup(timestep=0.1, spike_precision="on_grid", **setup_kw)
    cells = sim.Population(2, sim.IF_curr_exp(v_thresh=100.0))
    sim.DCSource(start=0.2, stop=1.0, amplitude=2.0).inject_into(cells[0:1])
    sim.ACSource(start=1.0, stop=20.0, amplitude=0.5, offset=0.1, frequency=100.0, phase=30.0).inject_into(cells[1:2])
    cells.record("v")
    if later_projection:
        sim.run(5.0)
    sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.0, delay=1.5))
    sim.run(20.0 - sim.get_current_time())
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    sim.end()
    return v


@pytest.mark.parametrize("later_projection", [False, True])
def test_sources_keep_the_min_delay_they_were_made_with(sim, nest, later_projection):
    """With min_delay='auto' a source follows the minimum delay of the network when it was made, as pyNN.nest's
    do: a projection of 1.5 ms made afterwards (before the first run, or between runs) neither swallows a DC pulse
    of 0.2-1.0 ms nor shifts an AC source's phase.  v within 1e-9 mV of pyNN.nest (double precision)."""
    v = _auto_min_delay_script(sim, later_projection, precision="double")
    vn = _auto_min_delay_script(nest, False)
    assert v[3, 0] < -64.5                          # the DC pulse acted
    np.testing.assert_allclose(v, vn, atol=1e-9)


def test_many_sources_of_one_model(sim):
    """Sources of one model share a table, whatever their number: 10 DC sources each into its own cell (one cell
    with a second), step sources with schedules of different lengths into overlapping views of another population
    of the same model, and changes between runs (a schedule grown longer, an amplitude).  v of every cell is the
    exact membrane of the sum of the currents its sources record, to 1e-9 mV (double precision)."""
    sim.setup(timestep=DT, min_delay=0.1, precision="double")
    a, b = cells(sim, 10, "a"), cells(sim, 6, "b")
    dcs = [sim.DCSource(amplitude=0.1 * (k + 1), start=2.0 + k, stop=30.0) for k in range(10)]
    for k, dc in enumerate(dcs):
        dc.inject_into(a[k:k + 1])
    extra = sim.DCSource(amplitude=0.05, start=4.0, stop=20.0)
    extra.inject_into(a[0:1])
    long_step = sim.StepCurrentSource(times=STEP_TIMES, amplitudes=STEP_AMPS)
    long_step.inject_into(b[1:4])
    short_step = sim.StepCurrentSource(times=[3.0, 9.0], amplitudes=[0.4, -0.1])
    short_step.inject_into(b[3:5])
    targets = {"a": [[dcs[k]] for k in range(10)], "b": [[], [long_step], [long_step], [long_step, short_step],
                                                        [short_step], []]}
    targets["a"][0].append(extra)
    for s in dcs + [extra, long_step, short_step]:
        s.record()
    a.record("v")
    b.record("v")
    sim.run(20.0)
    short_step.set_parameters(times=[22.0, 24.0, 26.0, 28.0, 33.0], amplitudes=[0.3, 0.1, -0.2, 0.5, 0.0])
    dcs[5].amplitude = 0.9
    sim.run(20.0)
    for pop in (a, b):
        v = pop.get_data().segments[0].filter(name="v")[0].magnitude
        for k, sources in enumerate(targets[pop.label]):
            current = sum((s.get_data().magnitude[:, 0] for s in sources), np.zeros(len(v)))
            np.testing.assert_allclose(v[:, k], propagate(current), rtol=0, atol=1e-9,
                                       err_msg=f"{pop.label}[{k}]")
    assert np.ptp(a.get_data().segments[0].filter(name="v")[0].magnitude[:, 5]) > 5.0


def _step_schedule_changed(simulator, min_delay, times, **setup_kw):
    """A step current whose schedule is replaced after 20 ms: the current recorded at every step."""
    simulator.setup(timestep=0.1, min_delay=min_delay, spike_precision="on_grid", **setup_kw)
    cell = simulator.Population(1, simulator.IF_curr_exp())
    step = simulator.StepCurrentSource(times=[0.0, 5.0, 19.95, 20.0, 20.3], amplitudes=[0.1, 0.5, 0.6, 0.25, 0.9])
    step.inject_into(cell)
    step.record()
    simulator.run(20.0)
    step.set_parameters(times=times, amplitudes=list(np.linspace(0.7, 0.2, len(times))))
    simulator.run(20.0)
    current = step.get_data().magnitude.ravel().copy()
    simulator.end()
    return current


@pytest.mark.cross_simulator
@pytest.mark.parametrize("min_delay", [0.1, 0.5])
def test_step_schedule_changed_between_runs_as_nest(sim, nest, min_delay):
    """pyNN.nest's rules for a schedule replaced between runs: times up to 2 min_delay + dt ahead are moved there
    (the last of them; NEST's generator runs min_delay ahead), and until the first time the amplitude in effect goes
    on (it dropped to 0, or a passed time acted at once)."""
    for times in ([10.0, 30.0], [20.0, 30.0], [20.2, 30.0], [25.0], [20.9, 21.2, 40.0], [21.1, 22.0]):
        np.testing.assert_allclose(_step_schedule_changed(sim, min_delay, times, precision="double"),
                                   _step_schedule_changed(nest, min_delay, times), atol=1e-12, err_msg=str(times))
