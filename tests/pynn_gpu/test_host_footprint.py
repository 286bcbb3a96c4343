"""Host memory per connection: what a projection keeps, and what a built network keeps besides the device's copy."""
import tracemalloc

import numpy as np


def test_bytes_kept_per_connection(sim):
    """A StaticSynapse connection keeps its two cell indices (int32 where they fit), its weight and its delay
    (float64, as given): 24 bytes.  The build adds, for reading back and writing single synapses, the group's
    row order and delays in steps (4 bytes each): 8 bytes.  The group shares the projection's cell indices (its
    sides are whole populations), and the synapses in row order (post, delay, weight) are held by the device
    alone.  (Before int32 indices: 32 and 44 bytes; before the device alone held them: 24 and 28.)"""
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=10.0, precision="single")
    a = sim.Population(1500, sim.IF_curr_exp(), label="a")
    b = sim.Population(1500, sim.IF_curr_exp(), label="b")
    rng = sim.NumpyRNG(seed=3)
    tracemalloc.start()
    try:
        prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(
            weight=sim.RandomDistribution("uniform", (0.1, 0.2), rng=rng),
            delay=sim.RandomDistribution("uniform", (0.5, 5.0), rng=rng)))
        n = prj.size()
        held, _ = tracemalloc.get_traced_memory()
        sim.run(0.1)
        built, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 1500 * 1500
    assert held / n < 27.0, f"{held / n:.1f} bytes per connection after construction"
    assert (built - held) / n < 10.0, f"{(built - held) / n:.1f} bytes per connection added by the build"
    # the values are those given, in full precision; the indices those of the cells
    pre, post, w = np.array(prj.get("weight", format="list", with_address=True)).T
    assert np.array_equal(pre, np.repeat(np.arange(1500), 1500))
    assert np.array_equal(post, np.tile(np.arange(1500), 1500))
    assert w.min() >= 0.1 and w.max() <= 0.2 and len(np.unique(w)) > 0.99 * n
