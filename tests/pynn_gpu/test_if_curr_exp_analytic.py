"""IF_curr_exp under a DC step against the closed-form solution (exact propagators)."""
import numpy as np
import pytest

TAU_M, CM, V_REST, V_RESET, V_THRESH, T_REF = 20.0, 1.0, -65.0, -70.0, -50.0, 2.0
DT, START, AMP = 0.1, 10.0, 1.0


def analytic_v(t):
    """Membrane potential before the first spike: v_rest + R I (1 - exp(-(t - start) / tau_m))."""
    return np.where(t <= START, V_REST, V_REST + AMP * TAU_M / CM * (1 - np.exp(-(t - START) / TAU_M)))


def analytic_spikes(t_stop):
    """On-grid spike times: each threshold crossing rounded up to the grid; free evolution restarts
    from v_reset t_ref after each spike."""
    ri = AMP * TAU_M / CM
    times, t0, v0 = [], START, V_REST
    while True:
        crossing = t0 + TAU_M * np.log((ri - (v0 - V_REST)) / (ri - (V_THRESH - V_REST)))
        spike = np.ceil(crossing / DT - 1e-9) * DT
        if spike > t_stop:
            return np.array(times)
        times.append(spike)
        t0, v0 = spike + T_REF, V_RESET


@pytest.mark.parametrize("precision,v_tol", [("double", 1e-9), ("single", 1e-3)])
def test_dc_step_matches_closed_form(sim, precision, v_tol):
    sim.setup(timestep=DT, min_delay=DT, precision=precision)
    cell = sim.IF_curr_exp(tau_m=TAU_M, cm=CM, v_rest=V_REST, v_reset=V_RESET, v_thresh=V_THRESH,
                           tau_refrac=T_REF)
    p = sim.Population(1, cell)
    sim.DCSource(amplitude=AMP, start=START).inject_into(p)
    p.record(["v", "spikes"])
    sim.run(200.0)
    seg = p.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude[:, 0]
    t = np.arange(len(v)) * DT
    spikes = np.asarray(seg.spiketrains[0])
    expected = analytic_spikes(200.0)
    assert len(spikes) == len(expected) >= 5
    assert np.abs(spikes - expected).max() < 0.5 * DT          # the same grid point
    before = t < expected[0] - DT / 2
    assert np.abs(v[before] - analytic_v(t[before])).max() < v_tol
    # the first change of v appears one step after the current starts (NEST's convention)
    k = int(round(START / DT))
    assert v[k] == pytest.approx(V_REST, abs=1e-6) and v[k + 1] > V_REST + 1e-4
    # v is clamped to v_reset for t_ref after each spike
    k_spike = int(round(expected[0] / DT))
    n_ref = int(round(T_REF / DT))
    np.testing.assert_allclose(v[k_spike:k_spike + n_ref + 1], V_RESET, atol=v_tol)
