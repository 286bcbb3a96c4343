"""Where every group lives on the device: index ranges, buffer names and field orders.

The generator decides the layout once per build; the simulation uses it to pack host arrays into
device buffers and to unpack recordings.  Neurons of all groups share one global index space,
ordered by model so that each merged model block is a contiguous range.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .procedural import scalar_type, uniform_spread


@dataclass(frozen=True)
class KernelArg:
    """One kernel argument: produces both the signature entry and the launch value."""

    name: str
    ctype: str          # 'int', 'scalar*', 'int*', 'unsigned int*', 'unsigned char*'
    buffer: bool = True

    def declaration(self, restrict: bool = True) -> str:
        if not self.buffer:
            return f"const {self.ctype} {self.name}"
        base = self.ctype.rstrip("*")
        return f"GLOBAL {base} *{'RESTRICT ' if restrict else ''}{self.name}"


@dataclass(eq=False)
class GroupSlot:
    """A neuron group inside its model block."""

    group: object
    start: int          # index of its first neuron within the block
    global_start: int   # index of its first neuron in the global index space


#: Above this many groups in a block, parameters that differ between groups are stored per neuron: picking a
#: neuron's group's value costs a select per group, and beyond two groups that is slower than a per-neuron read.
MAX_SLOT_TABLE = 2


@dataclass(eq=False)
class NeuronBlock:
    """All neuron groups of one model: one branch of the neuron kernel."""

    index: int
    model: object
    offset: int
    size: int
    slots: list
    scalar_vars: list          # names, in field order of the scalar state buffer
    int_vars: list
    params: list               # names (incl. derived) that vary between neurons: the parameter buffer's fields
    internal_vars: dict = field(default_factory=dict)   # name -> initial value, added by the generator
    shared_params: list = field(default_factory=list)   # names with one value for the whole block
    slot_params: list = field(default_factory=list)     # names with one value per group (slot)
    param_values: dict = field(default_factory=dict)    # name -> per-neuron values (all parameters)

    @property
    def state_buffer(self):
        return f"nvs{self.index}"

    @property
    def int_state_buffer(self):
        return f"nvi{self.index}"

    @property
    def param_buffer(self):
        return f"np{self.index}"

    @property
    def shared_param_buffer(self):
        return f"nph{self.index}"

    def split_params(self):
        """Parameters the same for every neuron of the block are loaded once (a broadcast read), those the same
        within each of a few groups from a small per-group table, the others per neuron: most populations are
        homogeneous, and per-neuron loads are the neuron update's main cost."""
        names = self.params + self.shared_params + self.slot_params
        bounds = [(s.start, s.start + s.group.size) for s in self.slots]
        self.shared_params = [p for p in names if np.all(self.param_values[p] == self.param_values[p][0])]
        per_slot = len(self.slots) <= MAX_SLOT_TABLE
        self.slot_params = [p for p in names if per_slot and p not in self.shared_params
                            and all(np.all(self.param_values[p][a:b] == self.param_values[p][a]) for a, b in bounds)]
        self.params = [p for p in names if p not in self.shared_params and p not in self.slot_params]

    def fits(self, name, start: int, values) -> bool:
        """Whether parameter ``name`` can take ``values`` from neuron ``start`` on without a new layout."""
        if name in self.params:
            return True
        if not np.all(values == values[0]):
            return False
        if name in self.slot_params:
            return True
        return len(self.slots) == 1 or values[0] == self.param_values[name][0]

    def table(self) -> np.ndarray:
        """The shared values, then the per-group table (group-major): the shared parameter buffer."""
        shared = [self.param_values[p][0] for p in self.shared_params]
        slots = [self.param_values[p][s.start] for s in self.slots for p in self.slot_params]
        return np.array(shared + slots or [0.0])

    def egp_buffers(self, name):
        return f"ne{self.index}_{name}", f"ne{self.index}_{name}_start"


@dataclass(eq=False)
class SynapseBlock:
    """All synapse groups of one weight-update model: one branch of the propagation kernel."""

    index: int
    model: object
    offset: int                # first row in the global row space
    rows: int
    groups: list
    group_rows: list           # first row of each group within the block
    group_syn: list            # first synapse of each group within the block
    n_syn: int
    scalar_vars: list
    written_vars: list = field(default_factory=list)   # per-synapse state the model changes on the device
    columns: int = 0           # postsynaptic neurons of all groups (post_spike_code only)
    column_offset: int = 0     # first column in the global column space
    dynamics_offset: int = 0   # first synapse in the space of the synapse_dynamics kernel (its code only)
    pre_block: object = None   # the NeuronBlock of every presynaptic group, when the code reads <var>_pre
    post_block: object = None  # likewise for <var>_post
    needs_syn_pre: bool = False   # a kernel reads each synapse's presynaptic neuron (buffer syn_pre)

    def buffer(self, what):
        return f"sb{self.index}_{what}"


@dataclass(eq=False)
class RecordSpec:
    """A recording of spikes or of one state variable of one neuron group."""

    index: int
    group: object
    variable: str              # 'spikes' or a state variable name
    indices: np.ndarray        # local indices of the recorded neurons
    interval: int = 1          # steps between samples
    counts: bool = False       # spikes: a byte per cell and step holding the number of spikes (else a bit)
    phase: int = 0             # state: samples end the steps phase + k * interval (0 <= phase < interval)
    band: object = None        # state: the SignalBand holding it
    column: int = 0            # state: its first column there


@dataclass(eq=False)
class SignalBand:
    """The recordings of one state variable on one sampling grid by the groups of one neuron block: one device
    buffer, a row per sample and a column per recorded cell, the groups' columns one after another.  The kernels
    test one range of cells per band (with a test per group, 1,000 populations recording v took 1,000 comparisons
    per cell and step, and a minute to compile)."""

    index: int
    block: NeuronBlock
    variable: str
    interval: int
    phase: int
    records: list              # RecordSpec, in column order
    start: int                 # the block's cells start ... stop - 1 hold the records' groups
    stop: int
    ncols: int

    @property
    def buffer(self):
        return f"rec{self.index}"

    @property
    def columns(self):
        """Per cell from ``start`` to ``stop``: its column in the recording, or -1."""
        return f"rec{self.index}_cols"

    @property
    def cells(self):
        """Per column of the recording: its cell (the block's index)."""
        return f"rec{self.index}_cells"

    def column_table(self) -> np.ndarray:
        table = np.full(self.stop - self.start, -1, np.int32)
        table[self.cell_indices() - self.start] = np.arange(self.ncols)
        return table

    def cell_indices(self) -> np.ndarray:
        """The block's index of each column's cell."""
        slots = {id(s.group): s.start for s in self.block.slots}
        return np.concatenate([slots[id(rec.group)] + np.asarray(rec.indices, np.int64) for rec in self.records])


#: The device buffer of all spike recordings: a row of ``Layout.spike_words`` 32-bit words per step.
SPIKE_RECORD = "pg_rec_spikes"
#: What the kernels report to the host (int32): [0] a plastic synapse missed a spike of its full history,
#: [1] 1 + the global index of a cell whose integration broke down (0: none), [2] the step it was seen in.
ERRORS = "pg_errors"
ERROR_WORDS = 3


@dataclass(eq=False)
class SpikeBand:
    """The cells of one neuron block whose spikes are recorded: global indices ``lo`` to ``hi`` (its recorded groups
    and any between them), a band of each step's row of the spike recording from word ``offset``, a bit per cell,
    or with ``counts`` a byte holding the cell's number of spikes.  One range per block keeps the kernels' test of
    a cell constant whatever the number of groups recorded (with a test per group, 1,000 recorded populations
    took 1,000 comparisons per spike)."""

    block: NeuronBlock
    cells: np.ndarray          # global indices of the recorded cells, sorted (a view records part of its group)
    counts: bool
    offset: int = 0

    @property
    def lo(self) -> int:
        return int(self.cells[0])

    @property
    def hi(self) -> int:
        return int(self.cells[-1]) + 1

    @property
    def words(self) -> int:
        return (self.hi - self.lo + 3) // 4 if self.counts else (self.hi - self.lo + 31) // 32

    @functools.cached_property
    def recorded(self) -> np.ndarray:
        """Per cell from ``lo`` to ``hi``: whether its spikes are recorded."""
        mask = np.zeros(self.hi - self.lo, bool)
        mask[self.cells - self.lo] = True
        return mask


@dataclass(eq=False)
class SourceSpec:
    """A current source: its row of its model's SourceTable and its targets."""

    index: int                 # in Layout.sources, the order the sources were made
    source: object
    targets: list              # (GroupSlot, local indices; a cell listed k times receives k times the current)
    table: object = None
    row: int = 0


@dataclass(eq=False)
class SourceTable:
    """The current sources of one model: a row of parameters per source (``params``: the model's, then each extra
    global's length ``<name>_len``), each extra global array of all of them one after another (``at``: where each
    source's begins), and per cell, in ``layers`` arrays, the row of a source injecting into it (-1: none; a cell
    takes as many layers as injections of the model it receives; the model's state variables, a value per
    injection, sit at the same places).  The neuron kernel's code and arguments are the
    same however many sources there are (with code per source, 1,000 DC sources took ten minutes to compile and
    260 s per simulated second)."""

    index: int
    model: object
    params: list
    specs: list = field(default_factory=list)
    layers: int = 0
    blocks: set = field(default_factory=set)     # indices of the neuron blocks holding targets
    #: runs, places and spans, computed once (the table does not change after the build's layout)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def param_buffer(self):
        return f"cs{self.index}"

    @property
    def rows_buffer(self):
        return f"cs{self.index}_rows"

    @property
    def now_buffer(self):
        """Each source's current in this step, where one work-item computes it once per step (see Generator)."""
        return f"cs{self.index}_now"

    @property
    def runs_buffer(self):
        """The injections as runs of consecutive cells: (first cell, end, row) each."""
        return f"cs{self.index}_runs"

    def runs(self) -> np.ndarray:
        """(first global cell, end, row) of each run of consecutive cells a source injects into, flat (int32)."""
        if "runs" not in self._cache:
            self._cache["runs"] = self._runs()
        return self._cache["runs"]

    def _runs(self) -> np.ndarray:
        cells, rows = self.injections()
        order = np.lexsort((cells, rows))         # by source, then cell
        cells, rows = cells[order], rows[order]
        new = np.r_[True, (np.diff(cells) != 1) | (np.diff(rows) != 0)] if len(cells) else np.zeros(0, bool)
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], len(cells)]
        out = np.stack([cells[starts], cells[ends - 1] + 1, rows[starts]], axis=1) if len(starts) else \
            np.zeros((0, 3), np.int64)
        return out.astype(np.int32).ravel()

    @property
    def at_buffer(self):
        return f"cs{self.index}_at"

    def egp_buffer(self, name: str) -> str:
        return f"cs{self.index}_{name}"

    @property
    def record_buffer(self):
        """The current each source injected in each step of a chunk, summed over its targets (a row per step)."""
        return f"cs{self.index}_rec"

    @property
    def recorded(self) -> bool:
        return any(spec.source.record for spec in self.specs)

    def var_buffer(self, name: str) -> str:
        """A state variable of the model: a value per injection, at its place in the ``layers`` arrays."""
        return f"cs{self.index}_v_{name}"

    def injections(self):
        """(global cells, rows) of every injection, in the sources' order."""
        cells = [slot.global_start + np.asarray(idx, np.int64) for spec in self.specs for slot, idx in spec.targets]
        rows = [np.full(len(idx), spec.row, np.int64) for spec in self.specs for _, idx in spec.targets]
        return (np.concatenate(cells), np.concatenate(rows)) if cells else (np.zeros(0, np.int64),) * 2

    def places(self, n_total: int) -> np.ndarray:
        """Where each injection (in the sources' order) sits in the ``layers`` arrays: ``layer * n_total + cell``,
        a cell's injections taking its layers in the sources' order."""
        key = ("places", n_total)
        if key not in self._cache:
            self._cache[key] = self._places(n_total)
        return self._cache[key]

    def _places(self, n_total: int) -> np.ndarray:
        cells, _ = self.injections()
        order = np.argsort(cells, kind="stable")
        ordered = cells[order]
        layer = np.arange(len(ordered)) - np.searchsorted(ordered, ordered)
        places = np.empty(len(cells), np.int64)
        places[order] = layer * n_total + ordered
        return places

    def spans(self) -> list:
        """(first, stop) of each source's injections in the sources' order."""
        if "spans" not in self._cache:
            sizes = [sum(len(idx) for _, idx in spec.targets) for spec in self.specs]
            ends = np.cumsum([0] + sizes)
            self._cache["spans"] = [(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:])]
        return self._cache["spans"]


@dataclass(eq=False)
class ProceduralSpec:
    """A ProceduralGroup placed: its presynaptic cells are ``pre_start`` ... ``pre_start + group.n_pre - 1``,
    the target of candidate ``j`` is ``target_base + j`` (receptor plane included), and its gap ``table`` (empty
    where the rows are drawn with replacement) sits in PROCEDURAL_TABLES from ``table_offset``."""

    group: object
    pre_start: int
    target_base: int
    table: np.ndarray
    table_offset: int
    #: the row lengths of a group whose rows are drawn with replacement: its cells' entries of PROCEDURAL_ROWS
    rows_offset: int = 0

    @property
    def table_size(self) -> int:
        return len(self.table)


@dataclass(eq=False)
class ProceduralBlock:
    """Procedural groups the kernels draw with the same code (the same kind of connectivity, of weights and of
    delays): one loop over them, each group's values read from its row of ``INT_FIELDS`` and of ``SCALAR_FIELDS``
    (GeNN's merged groups: the code does not grow with the number of projections)."""

    index: int
    #: (rows drawn with replacement, gap table, kind of random weights or None, kind of random delays or None)
    key: tuple
    specs: list

    INT_FIELDS = ("pre_start", "pre_end", "n_post", "target_base", "table_offset", "table_size", "rows_offset",
                  "stream", "delay", "no_self", "self_shift")
    #: a random value's (a, b) are (low, high - low) if uniform, (mu, sigma) if normal; (low, high) its bounds
    SCALAR_FIELDS = ("weight", "inv_log2_q", "w_a", "w_b", "w_low", "w_high", "d_a", "d_b", "d_low", "d_high")

    @property
    def ints_buffer(self) -> str:
        return f"pg_pb{self.index}_ints"

    @property
    def scalars_buffer(self) -> str:
        return f"pg_pb{self.index}_scalars"

    def int_rows(self) -> np.ndarray:
        rows = []
        for spec in self.specs:
            pg = spec.group
            rows.append([spec.pre_start, spec.pre_start + pg.n_pre, pg.n_post, spec.target_base,
                         spec.table_offset, spec.table_size, spec.rows_offset, pg.stream, pg.delay_steps,
                         int(pg.self_shift is not None), pg.self_shift or 0])
        return np.array(rows, np.int32).ravel()

    def scalar_rows(self, precision: str) -> np.ndarray:
        """The groups' values in the device's precision; an infinite bound becomes the largest finite number
        (every value drawn is finite, so it compares alike)."""
        dtype = scalar_type(precision)
        rows = []
        for spec in self.specs:
            pg = spec.group
            row = [pg.weight, np.log(2.0) / np.log1p(-pg.p) if not pg.drawn_rows and pg.p < 1 else 0.0]
            for drawn in (pg.random_weight, pg.random_delay):
                kind, v = drawn or (None, {})
                if kind == "uniform":
                    row += [v["low"], uniform_spread(v, precision), v["low"], v["high"]]
                elif kind == "normal_clipped":
                    row += [v["mu"], v["sigma"], v["low"], v["high"]]
                else:
                    row += [0.0, 0.0, 0.0, 0.0]
            rows.append(row)
        big = np.finfo(dtype).max
        return np.clip(np.array(rows, np.float64), -big, big).astype(dtype).ravel()


#: The gap tables of every procedural group, one after the other (uint32)
PROCEDURAL_TABLES = "pg_conn_tables"
#: The number of connections of each presynaptic cell of every fixed-total-number procedural group (int)
PROCEDURAL_ROWS = "pg_conn_rows"


@dataclass(eq=False)
class Layout:
    """The complete device layout of one build."""

    n_total: int
    n_receptor_planes: int
    n_slots: int
    neuron_blocks: list
    synapse_blocks: list
    records: list
    sources: list              # SourceSpec per current source
    group_slot: dict           # NeuronGroup -> (NeuronBlock, GroupSlot)
    receptor_plane: dict       # (neuron block index, receptor) -> plane index
    n_rows: int = 0
    n_columns: int = 0         # columns of the blocks with post_spike_code
    n_workers: int = 0         # work-items of the propagation pass, each checking a share of the neurons
    n_dynamics: int = 0        # synapses of the blocks with synapse_dynamics_code
    serial: bool = False       # one work-item runs many steps per launch (kernel network_steps)
    spike_bands: list = field(default_factory=list)   # SpikeBand per neuron block recording spikes
    signal_bands: list = field(default_factory=list)  # SignalBand per block, state variable and sampling grid
    source_tables: list = field(default_factory=list)  # SourceTable per current-source model
    spike_words: int = 0       # 32-bit words per step of the spike recording (SPIKE_RECORD)
    procedural: list = field(default_factory=list)    # ProceduralSpec per procedural group
    procedural_blocks: list = field(default_factory=list)   # ProceduralBlock per kind of procedural code

    @property
    def delivers(self) -> bool:
        """Whether spikes go anywhere: stored synapses or procedural connections."""
        return bool(self.synapse_blocks or self.procedural)

    def place_spike_records(self, counts_for):
        """Give every neuron block that records spikes its band of the spike recording; ``counts_for(block)``:
        whether the block records a byte (its number of spikes) per cell rather than a bit."""
        self.spike_bands, offset = [], 0
        for b in self.neuron_blocks:
            cells = [self.group_slot[rec.group][1].global_start + np.asarray(rec.indices, np.int64)
                     for rec in self.records if rec.variable == "spikes" and self.group_slot[rec.group][0] is b]
            cells = np.unique(np.concatenate(cells)) if cells else np.zeros(0, np.int64)
            if len(cells):
                band = SpikeBand(b, cells, bool(counts_for(b)), offset)
                self.spike_bands.append(band)
                offset += band.words
        self.spike_words = offset
        for rec in self.records:
            if rec.variable == "spikes":
                rec.counts = self.spike_band(rec.group).counts

    def place_signal_records(self):
        """Gather the state recordings into SignalBands: one per neuron block, variable and sampling grid."""
        bands = {}
        for rec in self.records:
            if rec.variable == "spikes":
                continue
            block, slot = self.group_slot[rec.group]
            key = (block.index, rec.variable, rec.interval, rec.phase)
            band = bands.get(key)
            if band is None:
                band = bands[key] = SignalBand(len(bands), block, rec.variable, rec.interval, rec.phase, [],
                                               slot.start, slot.start + rec.group.size, 0)
            rec.band, rec.column = band, band.ncols
            band.records.append(rec)
            band.ncols += len(rec.indices)
            band.start, band.stop = min(band.start, slot.start), max(band.stop, slot.start + rec.group.size)
        self.signal_bands = list(bands.values())

    def place_sources(self):
        """Gather the current sources into a SourceTable per model."""
        tables = {}
        for spec in self.sources:
            model = spec.source.model
            table = tables.get(id(model))
            if table is None:
                params = list(model.all_param_names) + [f"{e.name}_len" for e in model.extra_globals]
                table = tables[id(model)] = SourceTable(len(tables), model, params)
            spec.table, spec.row = table, len(table.specs)
            table.specs.append(spec)
        for table in tables.values():
            cells, _ = table.injections()
            table.layers = int(np.bincount(cells).max()) if len(cells) else 0
            table.blocks = {self.group_slot[slot.group][0].index for spec in table.specs for slot, _ in spec.targets}
        self.source_tables = list(tables.values())

    def spike_band(self, group) -> SpikeBand:
        """The band holding the spikes of neuron group ``group``."""
        block = self.group_slot[group][0]
        return next(band for band in self.spike_bands if band.block is block)

    def work_items(self, kernel: str) -> int:
        """How many work-items a launch of ``kernel`` has."""
        return {"network_step": self.n_total + self.n_workers, "neuron_update": self.n_total,
                "synapse_dynamics": self.n_dynamics, "spike_propagation": self.n_workers,
                "post_learning": self.n_columns, "network_steps": 1}[kernel]
