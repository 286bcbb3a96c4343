"""A generated network bound to a device: buffers, the step loop and recording.

The host loop only enqueues: per step it sets the step number and launches ``neuron_update`` and
``spike_propagation``; recordings accumulate in device buffers that are copied back
asynchronously once per chunk of steps, so nothing synchronises per step and nothing is dropped.
"""
from __future__ import annotations

import numpy as np

import warnings

from ..kernels.errors import DeviceMemoryError, HostMemoryError
from ..kernels.runtime.host import HOST_MEMORY_FRACTION, available_host_bytes
from .errors import CodegenError, NumericalInstabilityError
from .generator import CELL_INDEX, INJECTED, Generator, Program, history_size
from .layout import ERROR_WORDS, ERRORS, PROCEDURAL_ROWS, PROCEDURAL_TABLES, SPIKE_RECORD
from .models import evaluate_derived
from .network import Network
from .procedural import procedural_rows
from .sorting import compact, stable_order

#: Up to this many synapse values are read or written one copy each; more, as the span they lie in.
FEW_ELEMENTS = 32

#: Steps between recording copies (fewer if memory is short).
CHUNK_STEPS = 2000
#: The last-spike time (ms) of a neuron that has not spiked (st_pre/st_post in synapse snippets): far enough in the
#: past that every exponential of it vanishes.
NO_SPIKE = -1.0e30
#: Share of device memory a network may use.
MEMORY_FRACTION = 0.9


def _popcount(words: np.ndarray) -> int:
    """The number of bits set in ``words``."""
    if hasattr(np, "bitwise_count"):      # numpy >= 2.0
        return int(np.bitwise_count(words).sum(dtype=np.int64))
    return int(np.unpackbits(words.view(np.uint8)).sum(dtype=np.int64))


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
        n /= 1024


def _put_in_order(out: np.ndarray, values: np.ndarray, order: np.ndarray):
    """``out[:] = values[order]`` with no temporary, and no gather when all values are equal (one delay, one
    weight: the usual case)."""
    if values.size and values.min() == values.max():
        out[:] = values.flat[0]
    else:
        np.take(values, order, out=out, mode="clip")     # (mode "raise" would gather into a temporary first)


#: Up to this many groups recording spikes, each picks its spikes from a chunk's by a mask; beyond, by a sort.
SPIKE_RECORDS_MASKED = 4
#: Host memory a recorded spike takes by the time get_data() has made its spike trains (measured: ~40 bytes).
HOST_BYTES_PER_SPIKE = 40


#: Bytes of the spike recording decoded at a time (its temporaries take a few times this).
SPIKE_DECODE_BYTES = 1 << 22


def _spikes_of_band(part: np.ndarray, counts: bool, words: int):
    """(steps, cells) of every spike in ``part`` (a row of a band's words per step), a cell repeated once per
    spike of its step where the band holds counts."""
    if counts:
        flat = part.view(np.uint8).reshape(-1)      # a byte per cell and step; padding stays 0
        # spikes are rare: find the non-zero 8-byte words first, then the bytes within them
        whole = len(flat) // 8 * 8
        nonzero = np.flatnonzero(flat[:whole].view(np.uint64))
        candidates = np.concatenate([(nonzero[:, None] * 8 + np.arange(8)).ravel(), np.arange(whole, len(flat))])
        hits = candidates[flat[candidates] != 0]
        steps, cells = np.divmod(hits, words * 4)
        repeat = flat[hits]
        return np.repeat(steps, repeat), np.repeat(cells, repeat)
    # a bit per cell and step: only the non-zero 32-bit words are unpacked
    flat = part.reshape(-1)
    nonzero = np.flatnonzero(flat)
    bits = np.unpackbits(flat[nonzero].astype("<u4").view(np.uint8), bitorder="little")
    word, bit = np.divmod(np.flatnonzero(bits), 32)
    steps, first = np.divmod(nonzero[word], words)
    return steps, first * 32 + bit


def _spikes_of_cells(part: np.ndarray, counts: bool, cells: np.ndarray):
    """(steps, cells) of the spikes of ``cells`` (offsets in the band, sorted) in ``part``, in step order."""
    if counts:
        per_cell = np.ascontiguousarray(part).view(np.uint8)[:, cells]
    else:
        per_cell = ((part[:, cells >> 5] >> (cells & 31).astype(np.uint32)) & 1).astype(np.uint8)
    steps, k = np.nonzero(per_cell)
    repeat = per_cell[steps, k]
    return np.repeat(steps, repeat), np.repeat(cells[k], repeat)


class Simulation:
    """Build ``network`` on ``runtime`` and step it.

    ``precision`` is 'single' or 'double'.  Construction generates, checks memory, allocates,
    uploads and compiles; :meth:`run` advances by a number of steps.
    """

    def __init__(self, network: Network, runtime, precision: str = "single"):
        self.net = network
        self.rt = runtime
        self.precision = precision
        self.dtype = np.float64 if precision == "double" else np.float32
        cpu = bool(getattr(runtime, "is_cpu", False))
        self.history_size = history_size(sum(g.size for g in network.neuron_groups), np.dtype(self.dtype).itemsize,
                                         int(runtime.global_mem_size))
        self.program: Program = Generator(network, runtime.dialect, precision,
                                          spike_workers=getattr(runtime, "spike_workers", None), spike_bytes=cpu,
                                          fuse="cpu" if cpu else True, serial=getattr(runtime, "serial_steps", False),
                                          history_size=self.history_size).generate()
        self.layout = self.program.layout
        self.step = 0
        self.rng_epoch = 0      # joins the key of every random draw (see set_rng_epoch)
        self._host = {}         # buffer name -> host array (the source of every upload)
        self._device_only = {}  # buffer name -> dtype, for arrays only the device holds (see _allocate)
        self._row_pre = {}      # synapse block index -> each row's presynaptic neuron (host only)
        self._check_ring_buffer()
        self._pack_all()
        self.chunk_steps = self._check_memory()
        self._allocate()
        self._alloc_records()
        self.kernels = self.rt.compile(self.program.source, list(self.program.kernel_args),
                                       context="the network's kernels")
        self._bind_args()
        self.recorded = {rec.index: [] for rec in self.layout.records}
        #: per recorded current source (by name): [(first step, currents summed over the targets)]
        self.source_recorded = {}

    # ---- packing ------------------------------------------------------------------------------

    def _pack_block(self, b):
        self._pack_state(b)
        self._pack_params(b)
        for e in b.model.extra_globals:
            self._pack_egp(b, e)

    def _pack_state(self, b):
        """The block's state buffers from its groups' initial values."""
        sv = np.zeros((len(b.scalar_vars), b.size), self.dtype)
        iv = np.zeros((max(len(b.int_vars), 1), b.size), np.int32)
        for slot in b.slots:
            g, sl = slot.group, slice(slot.start, slot.start + slot.group.size)
            for k, v in enumerate(b.scalar_vars):
                sv[k, sl] = g.init[v] if v in g.init else b.internal_vars.get(v, 0.0)
            for k, v in enumerate(b.int_vars):
                iv[k, sl] = np.arange(g.size) if v == CELL_INDEX else g.init.get(v, 0)
        self._host[b.state_buffer] = sv.ravel()
        self._host[b.int_state_buffer] = iv.ravel()

    def _pack_egp(self, b, e) -> bool:
        """Concatenate the per-neuron segments of extra global ``e``; True if the data outgrew its buffer."""
        data_name, start_name = b.egp_buffers(e.name)
        dtype = np.int32 if e.type == "int" else self.dtype
        segments = [np.asarray(seg, dtype) for slot in b.slots for seg in slot.group.extra_globals[e.name]]
        lengths = np.array([len(seg) for seg in segments], np.int64)
        self._host[start_name] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        data = np.concatenate(segments + [np.zeros(1, dtype)]).astype(dtype)
        old = self._host.get(data_name)
        if old is not None and data.nbytes <= old.nbytes:
            old[:len(data)] = data
            return False
        self._host[data_name] = data
        return old is not None

    def _pack_params(self, b):
        pv = np.zeros((max(len(b.params), 1), b.size), self.dtype)
        for k, p in enumerate(b.params):
            pv[k] = b.param_values[p]
        self._host[b.param_buffer] = pv.ravel()
        self._host[b.shared_param_buffer] = b.table().astype(self.dtype)

    def _pack_synapses(self, sb):
        """The block's synapses in row order (by presynaptic neuron, stable), written group by group into arrays
        of the block's size (no list of parts joined at the end: that held each array twice)."""
        lay = self.layout
        n_syn = sum(len(sg.pre_ind) for sg in sb.groups)
        pre, row_start = [], [np.zeros(1, np.int64)]
        post, delay = np.empty(n_syn, np.int32), np.empty(n_syn, np.int32)
        values = {v: np.empty(n_syn, self.dtype) for v in sb.scalar_vars}
        self.synapse_order = getattr(self, "synapse_order", {})
        self._inverse_order = {}        # id(group) -> where each synapse of the group sits (see _positions)
        base = 0
        for sg in sb.groups:
            _, pslot = lay.group_slot[sg.pre]
            pblock, qslot = lay.group_slot[sg.post]
            plane = lay.receptor_plane[(pblock.index, sg.receptor)]
            order = compact(stable_order(sg.pre_ind, sg.pre.size))
            self.synapse_order[sg] = order       # (kept for the run: int32 where it fits)
            counts = np.bincount(sg.pre_ind, minlength=sg.pre.size)
            pre.append(pslot.global_start + np.arange(sg.pre.size))
            row_start.append(base + np.cumsum(counts))
            part = slice(base, base + len(order))
            base += len(order)
            np.take(np.asarray(sg.post_ind, np.int32), order, out=post[part], mode="clip")
            post[part] += np.int32(plane * lay.n_total + qslot.global_start)
            _put_in_order(delay[part], np.asarray(sg.delay_steps, np.int32), order)
            for v in sb.scalar_vars:
                _put_in_order(values[v][part], np.asarray(sg.vars[v], self.dtype), order)
        # each row's presynaptic neuron: host-side only, for the per-neuron row index (_pack_pre_rows)
        self._row_pre[sb.index] = np.concatenate(pre).astype(np.int32)
        if sb.needs_syn_pre:    # each synapse's presynaptic neuron, in row order
            self._host[sb.buffer("syn_pre")] = np.repeat(self._row_pre[sb.index],
                                                         np.diff(np.concatenate(row_start))).astype(np.int32)
        self._host[sb.buffer("row_start")] = np.concatenate(row_start).astype(np.int32)
        self._host[sb.buffer("post")] = post
        self._host[sb.buffer("delay")] = delay
        for v in sb.scalar_vars:
            self._host[sb.buffer(f"var_{v}")] = values[v]
        if sb.columns:
            self._pack_columns(sb)

    def _pack_pre_rows(self):
        """Per neuron, the rows (over all synapse blocks) it is the source of; rows without synapses are left out."""
        lay = self.layout
        pre = np.concatenate([self._row_pre[sb.index] for sb in lay.synapse_blocks])
        lengths = np.concatenate([np.diff(self._host[sb.buffer("row_start")]) for sb in lay.synapse_blocks])
        rows = np.flatnonzero(lengths > 0)
        rows = rows[stable_order(pre[rows], lay.n_total)]
        self._host["pg_pre_rows"] = rows.astype(np.int32)
        self._host["pg_pre_row_start"] = np.concatenate(
            [[0], np.cumsum(np.bincount(pre[rows], minlength=lay.n_total))]).astype(np.int32)

    def _pack_columns(self, sb):
        """The transposed index: for each postsynaptic neuron, the (row-ordered) indices of its synapses."""
        lay = self.layout
        col_post, col_start, col_syn = [], [np.zeros(1, np.int64)], []
        col_base = 0
        for k, sg in enumerate(sb.groups):
            _, qslot = lay.group_slot[sg.post]
            post_sorted = np.asarray(sg.post_ind)[self.synapse_order[sg]]      # posts in row order
            by_post = stable_order(post_sorted, sg.post.size)
            col_post.append(qslot.global_start + np.arange(sg.post.size))
            col_start.append(col_base + np.cumsum(np.bincount(post_sorted, minlength=sg.post.size)))
            col_syn.append(sb.group_syn[k] + by_post)
            col_base += len(post_sorted)
        self._host[sb.buffer("col_post")] = np.concatenate(col_post).astype(np.int32)
        self._host[sb.buffer("col_start")] = np.concatenate(col_start).astype(np.int32)
        self._host[sb.buffer("col_syn")] = np.concatenate(col_syn).astype(np.int32)

    def _pack_history(self):
        """Spike-history buffers of every neuron, with the trace time constant its plastic synapses give it."""
        lay = self.layout
        self._host["pg_hist_t"] = np.zeros(self.history_size * lay.n_total, self.dtype)
        self._host["pg_hist_k"] = np.zeros(self.history_size * lay.n_total, self.dtype)
        self._host["pg_hist_n"] = np.zeros(lay.n_total, np.int32)
        tau = np.zeros(lay.n_total)
        for sb in lay.synapse_blocks:
            if sb.model.post_trace:
                for sg in sb.groups:
                    self._set_trace_constant(tau, sb, sg, sg.vars[sb.model.post_trace])
        self._host["pg_tau_minus"] = tau.astype(self.dtype)

    def _set_trace_constant(self, tau: np.ndarray, sb, sg, values, replace: bool = False):
        """Into ``tau`` (per neuron), the postsynaptic trace time constant the synapses of ``sg`` give their
        targets.  One trace per neuron (as NEST's archiving node): its time constant must be unique (``replace``:
        the group's own synapses may change it)."""
        lay = self.layout
        _, slot = lay.group_slot[sg.post]
        targets = slot.global_start + np.asarray(sg.post_ind)
        values = np.asarray(values, float)
        clash = (tau[targets] != 0) & (tau[targets] != values) & (not replace)
        order = stable_order(targets, lay.n_total)
        t_sorted, v_sorted = targets[order], values[order]
        same_target = np.r_[False, t_sorted[1:] == t_sorted[:-1]]
        if clash.any() or np.any(same_target & (v_sorted != np.r_[v_sorted[:1], v_sorted[:-1]])):
            raise CodegenError(
                f"synapse group '{sg.name}': cells of '{sg.post.name}' receive plastic synapses with "
                f"different '{sb.model.post_trace}' values; a cell keeps one postsynaptic trace, so "
                "all plastic synapses onto it must share that time constant")
        tau[targets] = values

    def _pack_source_values(self, table):
        """A current-source table's parameter rows and its extra global arrays (each source's after the one
        before, a zero after each; ``at``: where each source's begins)."""
        model, egps = table.model, table.model.extra_globals
        rows = []
        for spec in table.specs:
            cs = spec.source
            values = evaluate_derived(model, {p: float(cs.params[p]) for p in model.params}, self.net.dt)
            for e in egps:
                values[f"{e.name}_len"] = len(cs.extra_globals[e.name])
            rows.append([values[p] for p in table.params])
        self._host[table.param_buffer] = np.array(rows, self.dtype).ravel() if table.params else \
            np.zeros(1, self.dtype)
        at = np.zeros((len(table.specs), max(len(egps), 1)), np.int32)
        for k, e in enumerate(egps):
            dtype = np.int32 if e.type == "int" else self.dtype
            parts = [np.concatenate([np.asarray(spec.source.extra_globals[e.name], dtype), np.zeros(1, dtype)])
                     for spec in table.specs]
            at[:, k] = np.cumsum([0] + [len(part) for part in parts[:-1]])
            self._host[table.egp_buffer(e.name)] = np.concatenate(parts)
        self._host[table.at_buffer] = at.ravel()

    def _pack_source_table(self, table):
        """A current-source table: its values, per cell and layer the row of a source injecting into it, and the
        model's state variables at the same places."""
        self._pack_source_values(table)
        n = self.layout.n_total
        rows = np.full(max(table.layers, 1) * n, -1, np.int32)
        _, which = table.injections()
        rows[table.places(n)] = which
        self._host[table.rows_buffer] = rows
        self._pack_source_state(table)

    def _pack_source_state(self, table):
        """The model's state variables at their initial values (each source's ``state``), a value per injection."""
        places = table.places(self.layout.n_total)
        for v in table.model.vars:
            values = np.zeros(max(table.layers, 1) * self.layout.n_total, np.int32 if v.type == "int" else self.dtype)
            for spec, (first, stop) in zip(table.specs, table.spans()):
                values[places[first:stop]] = spec.source.state.get(v.name, 0.0)
            self._host[table.var_buffer(v.name)] = values

    def _source_state_places(self, spec_index: int, name: str):
        spec = self.layout.sources[spec_index]
        table = spec.table
        if name not in table.model.var_names:
            raise KeyError(f"current source '{spec.source.name}' has no state variable '{name}'")
        first, stop = table.spans()[spec.row]
        return table.var_buffer(name), table.places(self.layout.n_total)[first:stop]

    def get_source_state(self, spec_index: int, name: str) -> np.ndarray:
        """The values of a current source's state variable now, one per injection (its targets in order)."""
        buffer, places = self._source_state_places(spec_index, name)
        return self._read_elements(buffer, places)

    def set_source_state(self, spec_index: int, name: str, values):
        """Set a current source's state variable now: a number, or one value per injection (on the device only:
        :meth:`reset` packs the sources' initial values again)."""
        buffer, places = self._source_state_places(spec_index, name)
        self._write_elements(buffer, places, np.broadcast_to(np.asarray(values, float), places.shape))

    def _pack_sources(self, arg_names):
        for table in self.layout.source_tables:
            self._pack_source_table(table)
            if table.now_buffer in arg_names:      # each source's current, computed in every step
                self._host[table.now_buffer] = np.zeros(len(table.specs), self.dtype)
            if table.runs_buffer in arg_names:     # its targets, run by run of consecutive cells
                self._host[table.runs_buffer] = table.runs()
        if INJECTED in arg_names:
            self._host[INJECTED] = np.zeros(self.layout.n_total, self.dtype)
        from .library.current_sources import NORMAL_TABLE, normal_table     # the deviates of noisy sources
        if NORMAL_TABLE in arg_names:
            self._host[NORMAL_TABLE] = normal_table(self.precision)

    def _pack_cell_tables(self, arg_names):
        """Per cell, where the kernels read them: its index in its group and its group's RNG stream."""
        from .generator import CELL_KEY, CELL_STREAM
        if CELL_KEY in arg_names or CELL_STREAM in arg_names:
            key = np.zeros(self.layout.n_total, np.int64)
            stream = np.zeros(self.layout.n_total, np.int64)
            for g, (_, slot) in self.layout.group_slot.items():
                key[slot.global_start:slot.global_start + g.size] = np.arange(g.size)
                stream[slot.global_start:slot.global_start + g.size] = int(g.rng_stream) % 2**32
            tables = ((CELL_KEY, key.astype(np.int32)), (CELL_STREAM, stream.astype(np.uint32).view(np.int32)))
            for name, values in tables:
                if name in arg_names:
                    self._host[name] = values

    def _pack_all(self):
        lay = self.layout
        self._host["spiked"] = np.zeros(2 * lay.n_total, np.uint8)    # double-buffered by step parity
        self._host["inbuf"] = np.zeros(lay.n_slots * lay.n_receptor_planes * lay.n_total, self.dtype)
        for b in lay.neuron_blocks:
            self._pack_block(b)
        for sb in lay.synapse_blocks:
            self._pack_synapses(sb)
        if lay.synapse_blocks:
            self._pack_pre_rows()
        tables = [spec.table for spec in lay.procedural if spec.table_size]
        if tables:
            self._host[PROCEDURAL_TABLES] = np.concatenate(tables)
        rows = [procedural_rows(spec.group, self.net.seed) for spec in lay.procedural if spec.group.drawn_rows]
        if rows:
            self._host[PROCEDURAL_ROWS] = np.concatenate(rows).astype(np.int32)
        for block in lay.procedural_blocks:
            self._host[block.ints_buffer] = block.int_rows()
            self._host[block.scalars_buffer] = block.scalar_rows(self.precision)
        arg_names = {a.name for args in self.program.kernel_args.values() for a in args}
        for name in ("pg_st", "pg_prev_st"):
            if name in arg_names:
                self._host[name] = np.full(lay.n_total, NO_SPIKE, self.dtype)
        self._pack_sources(arg_names)
        self._pack_cell_tables(arg_names)
        if "pg_hist_t" in arg_names:
            self._pack_history()
        if ERRORS in arg_names:
            self._host[ERRORS] = np.zeros(ERROR_WORDS, np.int32)
        for band in lay.signal_bands:
            self._host[band.columns] = band.column_table()
            if band.cells in arg_names:
                self._host[band.cells] = band.cell_indices().astype(np.int32)

    # ---- memory -------------------------------------------------------------------------------

    def _record_bytes(self, steps: int) -> int:
        item = np.dtype(self.dtype).itemsize
        total = steps * self.layout.spike_words * 4
        for band in self.layout.signal_bands:
            total += (steps // band.interval + 1) * band.ncols * item
        return total

    def _check_ring_buffer(self):
        """The input ring buffer holds a slot per step of the longest delay for every cell and receptor: refuse,
        before it is allocated on the host and the device, one that cannot fit, naming that delay."""
        lay = self.layout
        need = lay.n_slots * lay.n_receptor_planes * lay.n_total * np.dtype(self.dtype).itemsize
        limits = [(int(self.rt.global_mem_size * MEMORY_FRACTION), f"{self.rt.device_name} has"),
                  (int(self.rt.max_alloc_size), f"{self.rt.device_name} allows per buffer")]
        free = available_host_bytes()
        if free is not None:
            limits.append((int(HOST_MEMORY_FRACTION * free), "the host has free"))
        budget, where = min(limits)
        if need > budget:
            longest, name = max([(int(g.delay_steps.max()), g.name) for g in self.net.synapse_groups
                                 if len(g.delay_steps)]
                                + [(int(g.delay_range[1]), g.name) for g in self.net.procedural_groups])
            error = DeviceMemoryError if "host" not in where else HostMemoryError
            raise error(
                f"the longest delay, {longest * self.net.dt:g} ms ({longest:,} steps, in '{name}'), needs an input "
                f"ring buffer of {lay.n_slots:,} slots x {lay.n_total:,} cells x {lay.n_receptor_planes} receptors "
                f"= {_fmt_bytes(need)}, but {where} {_fmt_bytes(budget)}; shorten the longest delays")

    def _check_memory(self) -> int:
        """Refuse a network that does not fit before allocating; return the recording chunk length."""
        sizes = self._allocation_sizes()
        static = sum(sizes.values())
        budget = int(self.rt.global_mem_size * MEMORY_FRACTION)
        biggest = max(sizes.items(), key=lambda kv: kv[1])
        if biggest[1] > self.rt.max_alloc_size:
            raise DeviceMemoryError(
                f"buffer '{biggest[0]}' needs {_fmt_bytes(biggest[1])} but {self.rt.device_name} allows "
                f"at most {_fmt_bytes(self.rt.max_alloc_size)} per allocation; reduce the network size")
        chunk = CHUNK_STEPS
        while chunk > 1 and static + self._record_bytes(chunk) > budget:
            chunk //= 2
        if static + self._record_bytes(chunk) > budget:
            raise DeviceMemoryError(
                f"the network needs {_fmt_bytes(static + self._record_bytes(chunk))} of device memory "
                f"but {self.rt.device_name} has {_fmt_bytes(self.rt.global_mem_size)} "
                f"({int(MEMORY_FRACTION * 100)}% usable); reduce the network or what is recorded")
        return chunk

    def _allocation_sizes(self) -> dict:
        """Bytes of each device allocation :meth:`_allocate` will make, by buffer name (a packed buffer holds
        several arrays)."""
        sizes, packed = {}, set()
        for buffer, members in self.program.packed.items():
            itemsize = self._host[members[0][0]].dtype.itemsize
            sizes[buffer] = max(max(offset + count for _, offset, count in members), 1) * itemsize
            packed.update(name for name, _, _ in members)
        sizes.update((name, values.nbytes) for name, values in self._host.items() if name not in packed)
        return sizes

    def _check_host_memory(self, end: int):
        """Refuse, before it starts, a run whose recorded signals would not fit in the host's free memory."""
        item = np.dtype(self.dtype).itemsize
        need = {}
        for rec in self.layout.records:
            if rec.variable != "spikes":        # (spikes take what they take: 16 bytes per spike)
                rows = (end - rec.phase) // rec.interval - (self.step - rec.phase) // rec.interval
                need[rec] = rows * len(rec.indices) * item
        total = sum(need.values())
        free = available_host_bytes() if total else None
        if free is not None and total > HOST_MEMORY_FRACTION * free:
            rec = max(need, key=need.get)
            raise HostMemoryError(
                f"recording {rec.variable!r} of {len(rec.indices):,} cells of '{rec.group.name}' for "
                f"{end - self.step:,} steps needs {_fmt_bytes(need[rec])} of host memory (all recordings of this "
                f"run {_fmt_bytes(total)}), but {_fmt_bytes(free)} is available: record fewer cells, sample less "
                "often (sampling_interval), or run in shorter parts and get_data(clear=True) between them")

    def _alloc_records(self):
        item = np.dtype(self.dtype).itemsize
        if self.layout.spike_words:     # a row of words per step, a band of it per neuron block recording spikes
            self._buffers[SPIKE_RECORD] = self.rt.allocate(self.chunk_steps * self.layout.spike_words * 4)
        for band in self.layout.signal_bands:       # a row per sample, a column per recorded cell
            rows = self.chunk_steps // band.interval + 1
            self._buffers[band.buffer] = self.rt.allocate(rows * band.ncols * item or item)
        for table in self._recorded_sources():      # a row per step, a column per source
            self._buffers[table.record_buffer] = self.rt.allocate(self.chunk_steps * len(table.specs) * item)

    def _recorded_sources(self) -> list:
        return [table for table in self.layout.source_tables if table.recorded]

    def _bind_args(self):
        self._args = {}
        for name, args in self.program.kernel_args.items():
            values = [self._buffers[a.name] if a.buffer else np.int32(self.rng_epoch if a.name == "rng_epoch" else 0)
                      for a in args]
            self.rt.set_args(self.kernels[name], values)
            self._args[name] = values

    # ---- host <-> device ----------------------------------------------------------------------

    def upload(self, name: str):
        """Copy host array ``name`` to its device buffer (after the host copy was changed)."""
        self._upload_array(name, self._host[name])

    def _device(self, name: str):
        """The device buffer holding array ``name`` and the array's byte offset in it."""
        if name in self._packed_at:
            buffer, offset = self._packed_at[name]
            return self._buffers[buffer], offset
        return self._buffers[name], 0

    def _upload_array(self, name: str, values: np.ndarray, first: int = 0):
        """Copy ``values`` to the device array ``name`` from its element ``first`` on."""
        buffer, offset = self._device(name)
        self.rt.copy_to_device(buffer, values, offset=offset + first * self._dtype(name).itemsize)

    def _download(self, name: str, out: np.ndarray, blocking: bool = True, first: int = 0):
        """Copy device array ``name`` from its element ``first`` on into ``out``."""
        buffer, offset = self._device(name)
        return self.rt.copy_from_device(buffer, out, blocking=blocking,
                                        offset=offset + first * self._dtype(name).itemsize)

    def _read_elements(self, name: str, positions: np.ndarray) -> np.ndarray:
        """Elements ``positions`` of device array ``name``: a copy each when they are few, else their span."""
        dtype = self._dtype(name)
        if len(positions) <= FEW_ELEMENTS:
            out = np.empty(len(positions), dtype)
            for k, p in enumerate(positions):
                self._download(name, out[k:k + 1], first=int(p))
            return out
        low, high = int(positions.min()), int(positions.max()) + 1
        span = np.empty(high - low, dtype)
        self._download(name, span, first=low)
        return span[positions - low]

    def _write_elements(self, name: str, positions: np.ndarray, values: np.ndarray):
        """Write ``values`` to elements ``positions`` of device array ``name`` (as :meth:`_read_elements`)."""
        values = np.asarray(values, self._dtype(name))
        if len(positions) <= FEW_ELEMENTS:
            for k, p in enumerate(positions):
                self._upload_array(name, values[k:k + 1], first=int(p))
            return
        low, high = int(positions.min()), int(positions.max()) + 1
        span = np.empty(high - low, values.dtype)
        self._download(name, span, first=low)
        span[positions - low] = values
        self._upload_array(name, span, first=low)

    def _zero(self, name: str):
        buffer, offset = self._device(name)
        self.rt.fill_zero(buffer, self._host[name].nbytes, offset=offset)

    def _allocate(self):
        """Device buffers: one per host array, except the fixed-size arrays the program packs together.

        Each array is copied into its place and, if only the device needs it, let go at once: the synapses'
        indices and delays, and their variables the kernels never change (their device values are also those
        :meth:`reset` returns to).  So a network's synapses are held once, not on the host as well, and never
        twice on the host while they are packed."""
        self._packed_at = {}
        self._buffers = {}
        device_only = self._synapse_arrays_for_the_device()
        sizes = self._allocation_sizes()
        for buffer, members in self.program.packed.items():
            dtype = self._host[members[0][0]].dtype
            self._buffers[buffer] = device = self.rt.allocate(sizes[buffer])
            for name, offset, count in members:
                values = self._host[name]
                if len(values) > count or values.dtype != dtype:
                    raise CodegenError(f"array '{name}' ({len(values)} x {values.dtype}) does not fit its place in "
                                       f"'{buffer}' ({count} x {dtype})")
                self.rt.copy_to_device(device, values, offset=offset * dtype.itemsize, blocking=True)
                if count > len(values):
                    self.rt.fill_zero(device, (count - len(values)) * dtype.itemsize,
                                      offset=(offset + len(values)) * dtype.itemsize)
                self._packed_at[name] = (buffer, offset * dtype.itemsize)
                if name in device_only:
                    self._device_only[name] = dtype
                    del self._host[name], values
        for name, values in self._host.items():
            if name not in self._packed_at:
                self._buffers[name] = self.rt.to_device(values)

    def _synapse_arrays_for_the_device(self) -> set:
        """Names of the synapse arrays the host does not need once the device has them."""
        names = set()
        for sb in self.layout.synapse_blocks:
            names.update(sb.buffer(what) for what in ("row_start", "post", "delay", "syn_pre", "col_post",
                                                      "col_start", "col_syn"))
            names.update(sb.buffer(f"var_{v}") for v in sb.scalar_vars if v not in sb.written_vars)
        return names

    def _dtype(self, name: str):
        """The element type of array ``name``."""
        return self._device_only[name] if name in self._device_only else self._host[name].dtype

    def set_group_params(self, group, values: dict, cells=None) -> bool:
        """Replace parameters of ``group`` (model units, arrays of group size) and recompute derived ones (only for
        ``cells``, the indices of the cells whose parameters changed, if given).

        Returns False, changing nothing on the device, if the new values do not fit the layout (a parameter
        loaded once per block or per group would differ within it): the kernels must then be generated again.
        """
        b, slot = self.layout.group_slot[group]
        params = dict(group.params, **values)
        sl = slice(slot.start, slot.start + group.size)
        full = {p: np.broadcast_to(np.asarray(params[p], float), (group.size,)) for p in group.model.params}
        if cells is not None:       # the other cells keep their derived values
            cells = np.asarray(cells, np.int64)
            full = {p: v[cells] for p, v in full.items()}
        derived = evaluate_derived(group.model, full, self.net.dt)
        changed = {}
        for p in b.param_values:
            current = b.param_values[p][sl]
            if cells is None:
                new = np.broadcast_to(np.asarray(derived[p], float), (group.size,))
                if np.array_equal(current, new):
                    continue
            else:
                part = np.broadcast_to(np.asarray(derived[p], float), (len(cells),))
                if np.array_equal(current[cells], part):
                    continue
                new = np.array(current, float)
                new[cells] = part
            if not b.fits(p, slot.start, new):
                return False
            changed[p] = new
        group.params.update(values)
        for p, new in changed.items():
            b.param_values[p][sl] = new
        per_neuron = [p for p in changed if p in b.params]
        if per_neuron:   # only this group's slice of the rows that changed (a per-image input, say)
            host = self._host[b.param_buffer].reshape(max(len(b.params), 1), b.size)
            for p in per_neuron:
                row = b.params.index(p)
                host[row, sl] = b.param_values[p][sl]
                self._upload_array(b.param_buffer, host[row, sl], first=row * b.size + slot.start)
        if len(per_neuron) < len(changed):
            self._host[b.shared_param_buffer] = b.table().astype(self.dtype)
            self.upload(b.shared_param_buffer)
        return True

    def read_state(self, group, var: str) -> np.ndarray:
        """Current value of ``var`` for every neuron of ``group`` (synchronises)."""
        b, slot = self.layout.group_slot[group]
        name, names = (b.state_buffer, b.scalar_vars) if var in b.scalar_vars else (b.int_state_buffer, b.int_vars)
        host = np.empty_like(self._host[name])
        self._download(name, host)
        return host.reshape(len(names) or 1, b.size)[names.index(var), slot.start:slot.start + group.size].copy()

    def write_state(self, group, var: str, values):
        """Overwrite ``var`` of ``group`` on the device."""
        b, slot = self.layout.group_slot[group]
        name, names = (b.state_buffer, b.scalar_vars) if var in b.scalar_vars else (b.int_state_buffer, b.int_vars)
        host = np.empty_like(self._host[name])
        self._download(name, host)
        host.reshape(len(names) or 1, b.size)[names.index(var), slot.start:slot.start + group.size] = values
        self._upload_array(name, host)

    def pending_slots(self) -> int:
        """How many ring-buffer slots, from the current step on, hold input on its way: the ring a rebuild between
        runs needs to keep it."""
        if "inbuf" not in self._host:
            return 0
        host = np.empty_like(self._host["inbuf"])
        self._download("inbuf", host)
        busy = np.flatnonzero(host.reshape(self.layout.n_slots, -1).any(axis=1))
        return int(((busy - self.step) % self.layout.n_slots).max()) + 1 if len(busy) else 0

    def carry_dynamic(self, old: "Simulation"):
        """Take over, for every neuron group ``old`` also held, the spikes on their way to it (its ring-buffer
        input, per receptor), its last spike flags and its spike history: after a rebuild between runs, even one
        that added cells or longer delays, the network goes on as if nothing had happened."""
        lay, olay = self.layout, old.layout
        host = {}
        for name in ("inbuf", "spiked", "pg_hist_t", "pg_hist_k", "pg_hist_n", "pg_st", "pg_prev_st"):
            if name in self._host and name in old._host:
                host[name] = np.empty_like(old._host[name])
                old._download(name, host[name])
        new = {name: self._host[name].copy() for name in host}
        # the steps inputs are pending for (the new ring holds them all: Network.min_slots)
        pending = np.arange(self.step, self.step + min(olay.n_slots, lay.n_slots))
        old_slots, new_slots = (pending % olay.n_slots)[:, None], (pending % lay.n_slots)[:, None]
        for group, (b, slot) in lay.group_slot.items():
            if group not in olay.group_slot:
                continue
            ob, oslot = olay.group_slot[group]
            to = np.arange(slot.global_start, slot.global_start + group.size)
            frm = np.arange(oslot.global_start, oslot.global_start + group.size)
            for name in ("pg_st", "pg_prev_st", "pg_hist_n"):
                if name in new:
                    new[name][to] = host[name][frm]
            for name in ("spiked", "pg_hist_t", "pg_hist_k"):      # (copies or steps) x cells
                if name not in new:
                    continue
                dst, src = new[name].reshape(-1, lay.n_total), host[name].reshape(-1, olay.n_total)
                if name == "spiked" or self.history_size == old.history_size:
                    dst[:, to] = src[:, frm]
                    continue
                # a history of another length (the network's size changed): spike j sits in row j % length
                count = host["pg_hist_n"][frm]
                for back in range(1, min(self.history_size, old.history_size) + 1):
                    j = count - back
                    kept = j >= 0
                    dst[j[kept] % self.history_size, to[kept]] = src[j[kept] % old.history_size, frm[kept]]
            if "inbuf" in new:
                dst = new["inbuf"].reshape(lay.n_slots, lay.n_receptor_planes, lay.n_total)
                src = host["inbuf"].reshape(olay.n_slots, olay.n_receptor_planes, olay.n_total)
                for receptor in b.model.receptors:
                    plane = lay.receptor_plane.get((b.index, receptor))
                    oplane = olay.receptor_plane.get((ob.index, receptor))
                    if plane is None or oplane is None:
                        continue
                    dst[new_slots, plane, to] = src[old_slots, oplane, frm]
        for name, values in new.items():
            self._upload_array(name, values)

    def set_extra_global(self, group, name: str, segments):
        """Replace a ragged extra-global array of ``group`` (e.g. spike times) on the device."""
        group.extra_globals[name] = list(segments)
        b, _ = self.layout.group_slot[group]
        self._pack_block_egp(b, name)

    def _pack_block_egp(self, b, name):
        e = next(x for x in b.model.extra_globals if x.name == name)
        data_name, start_name = b.egp_buffers(name)
        if self._pack_egp(b, e):
            self._buffers[data_name] = self.rt.to_device(self._host[data_name])
            self._bind_args()
        self.upload(data_name)
        self.upload(start_name)

    def set_source(self, spec_index: int):
        """Re-upload the parameters (and extra globals) of a current source's table after a change."""
        table = self.layout.sources[spec_index].table
        old = {table.egp_buffer(e.name): self._host.get(table.egp_buffer(e.name)) for e in table.model.extra_globals}
        self._pack_source_values(table)
        rebind = False
        for name, before in old.items():
            if before is None or self._host[name].nbytes > before.nbytes:
                self._buffers[name] = self.rt.to_device(self._host[name])
                rebind = True
            else:
                self.upload(name)
        self.upload(table.param_buffer)
        self.upload(table.at_buffer)
        if rebind:
            self._bind_args()

    def set_rng_epoch(self, epoch: int):
        """Random draws from now on are keyed by ``epoch`` too (one per recording segment): the trials after a
        reset draw anew, while a run repeated from setup() with the same seed repeats them."""
        self.rng_epoch = int(epoch) % 2**31
        for name, args in self.program.kernel_args.items():
            index = next(k for k, a in enumerate(args) if a.name == "rng_epoch")
            self.rt.set_arg(self.kernels[name], index, np.int32(self.rng_epoch))
            self._args[name][index] = np.int32(self.rng_epoch)

    def reset(self):
        """Back to step 0 with the groups' initial values (and parameters as they are now)."""
        self.rt.synchronise()
        self.step = 0
        for b in self.layout.neuron_blocks:
            self._pack_state(b)
            self.upload(b.state_buffer)
            self.upload(b.int_state_buffer)
        for name in ("spiked", "inbuf", "pg_hist_t", "pg_hist_k", "pg_hist_n", ERRORS):
            if name in self._host:
                self._zero(name)
        for name in ("pg_st", "pg_prev_st"):
            if name in self._host:
                self._host[name][:] = NO_SPIKE
                self.upload(name)
        for table in self.layout.source_tables:
            if table.model.vars:
                self._pack_source_state(table)
                for v in table.model.vars:
                    self.upload(table.var_buffer(v.name))
        for sb in self.layout.synapse_blocks:   # per-synapse state the kernels change back to its initial values
            for v in sb.written_vars:
                self.upload(sb.buffer(f"var_{v}"))
        self.recorded = {rec.index: [] for rec in self.layout.records}
        self.source_recorded = {}

    # ---- stepping -----------------------------------------------------------------------------

    def run(self, n_steps: int):
        """Advance ``n_steps`` steps; recordings are copied back per chunk and on return."""
        rt, lay = self.rt, self.layout
        end = self.step + int(n_steps)
        self._check_host_memory(end)
        launches = [(kernel, lay.work_items(name)) for name, kernel in self.kernels.items()]
        pending = []
        while self.step < end:
            chunk_start = self.step
            chunk_end = min(end, chunk_start + self.chunk_steps)
            if lay.spike_words:
                rt.fill_zero(self._buffers[SPIKE_RECORD], self.chunk_steps * lay.spike_words * 4)
            for table in self._recorded_sources():       # sums: from zero in every chunk
                rt.fill_zero(self._buffers[table.record_buffer],
                             self.chunk_steps * len(table.specs) * np.dtype(self.dtype).itemsize)
            for kernel, _ in launches:
                rt.set_arg(kernel, 1, np.int32(chunk_start))
            if lay.serial:
                rt.run_steps_serially(chunk_start, chunk_end, self.kernels["network_steps"])
            else:
                rt.run_steps(chunk_start, chunk_end, launches)
            self.step = chunk_end
            pending += self._fetch_records(chunk_start, chunk_end)
        if not pending and ERRORS not in self._host:
            # Nothing to bring back: return with the steps still running (every read of device data waits
            # for them), so that the host's next work -- setting the next input, say -- overlaps them.
            return
        rt.synchronise()
        for band, kind, start, host, count in pending:
            self._store(band, kind, start, host, count)
        if ERRORS in self._host:
            self._report_errors()

    def _report_errors(self):
        """What the kernels reported during the run: a warning for spike pairings a plastic synapse missed, an
        error for a cell whose integration broke down."""
        flags = np.zeros(ERROR_WORDS, np.int32)
        self.rt.copy_from_device(self._buffers[ERRORS], flags)
        if not flags.any():
            return
        self.rt.fill_zero(self._buffers[ERRORS], flags.nbytes)
        if flags[0]:
            warnings.warn(f"a plastic synapse needed a postsynaptic spike older than the last {self.history_size} "
                          "kept per neuron: some spike pairings were missed (a presynaptic cell was silent "
                          "while its target fired many times)", RuntimeWarning, stacklevel=4)
        if flags[1]:
            cell, step = int(flags[1]) - 1, int(flags[2])
            block = next(b for b in self.layout.neuron_blocks if b.offset <= cell < b.offset + b.size)
            slot = next(sl for sl in block.slots if sl.start <= cell - block.offset < sl.start + sl.group.size)
            raise NumericalInstabilityError(slot.group.name, block.model.name, cell - block.offset - slot.start,
                                            (step + 1) * self.net.dt, block.model.instability_condition)

    def _fetch_records(self, start: int, end: int) -> list:
        out = []
        # only the rows this chunk wrote: a short run copies little of a buffer sized for a whole chunk
        if self.layout.spike_words:
            host = np.empty((max(end - start, 1), self.layout.spike_words), np.uint32)
            self.rt.copy_from_device(self._buffers[SPIKE_RECORD], host, blocking=False)
            out.append((None, "spikes", start, host, end - start))
        for band in self.layout.signal_bands:
            count = (end - band.phase) // band.interval - (start - band.phase) // band.interval
            host = np.empty((min(max(count, 1), self.chunk_steps // band.interval + 1), band.ncols), self.dtype)
            self.rt.copy_from_device(self._buffers[band.buffer], host, blocking=False)
            out.append((band, "signals", start, host, count))
        for table in self._recorded_sources():
            host = np.empty((max(end - start, 1), len(table.specs)), self.dtype)
            self.rt.copy_from_device(self._buffers[table.record_buffer], host, blocking=False)
            out.append((table, "sources", start, host, end - start))
        return out

    def _store(self, band, kind, start, host, count):
        if kind == "spikes":
            self._store_spikes(start, host[:count])
            return
        if kind == "sources":
            for spec in band.specs:
                if spec.source.record:
                    self.source_recorded.setdefault(spec.source.name, []).append(
                        (start, host[:count, spec.row].astype(float)))
            return
        for rec in band.records:        # each group's columns
            self.recorded[rec.index].append(host[:count, rec.column:rec.column + len(rec.indices)].copy())

    def _check_spike_memory(self, rows: np.ndarray):
        """Refuse the spikes of a chunk that would not fit in the host's free memory (their number is known only
        once they happened: the run stops at the chunk, with an error naming the recordings, not the OOM killer)."""
        n = 0
        for band in self.layout.spike_bands:
            part = np.ascontiguousarray(rows[:, band.offset:band.offset + band.words])
            n += int(part.view(np.uint8).sum(dtype=np.int64)) if band.counts else _popcount(part)
        need = n * HOST_BYTES_PER_SPIKE
        free = available_host_bytes() if need else None
        if free is not None and need > HOST_MEMORY_FRACTION * free:
            names = ", ".join(sorted({f"'{rec.group.name}'" for rec in self.layout.records
                                      if rec.variable == "spikes"}))
            raise HostMemoryError(
                f"recording the spikes of {names}: the {n:,} spikes of the last {len(rows):,} steps need "
                f"{_fmt_bytes(need)} of host memory, but {_fmt_bytes(free)} is available: record fewer cells, or "
                "run in shorter parts and get_data(clear=True) between them")

    def _store_spikes(self, start: int, rows: np.ndarray):
        """The spikes of one chunk (a row of the spike recording per step) to each recorded group: (steps, cells)."""
        self._check_spike_memory(rows)
        found = []          # (steps, global cells) of each band
        for band in self.layout.spike_bands:
            part = rows[:, band.offset:band.offset + band.words]
            if len(band.cells) * 8 < band.hi - band.lo:    # a few cells of the band: read their bits or bytes only
                steps, cells = _spikes_of_cells(part, band.counts, band.cells - band.lo)
            else:
                # in slices of steps: the temporaries of a chunk of many spiking cells stay small
                per_slice = max(1, SPIKE_DECODE_BYTES // max(1, 4 * band.words))
                pieces = [_spikes_of_band(np.ascontiguousarray(part[r:r + per_slice]), band.counts, band.words)
                          for r in range(0, len(part), per_slice)]
                steps = np.concatenate([p[0] + r for p, r in zip(pieces, range(0, len(part), per_slice))]
                                       or [np.zeros(0, np.int64)])
                cells = np.concatenate([p[1] for p in pieces] or [np.zeros(0, np.int64)])
                if len(band.cells) < band.hi - band.lo:    # cells in the band's span that are not recorded
                    keep = band.recorded[cells]
                    steps, cells = steps[keep], cells[keep]
            found.append((steps + start, cells + band.lo))
        steps = np.concatenate([f[0] for f in found])
        cells = np.concatenate([f[1] for f in found])
        records = [rec for rec in self.layout.records if rec.variable == "spikes"]
        many = len(records) > SPIKE_RECORDS_MASKED
        if many:    # sorted by cell (each cell's spikes in time order), each group's spikes are a slice
            order = np.argsort(cells, kind="stable")
            steps, cells = steps[order], cells[order]
        for rec in records:
            first = self.layout.group_slot[rec.group][1].global_start
            if many:
                lo, hi = np.searchsorted(cells, [first, first + rec.group.size])
                self.recorded[rec.index].append((steps[lo:hi], cells[lo:hi] - first))
            else:
                mine = (cells >= first) & (cells < first + rec.group.size)
                self.recorded[rec.index].append((steps[mine], cells[mine] - first))

    def _synapse_slice(self, sg):
        """The synapse block of group ``sg`` and the slice its synapses take in the block's arrays."""
        cached = getattr(self, "_slices", None)
        if cached is None or cached[0] is not self.layout:     # one lookup table per layout (the groups are kept)
            table = {id(g): (sb, slice(sb.group_syn[k], sb.group_syn[k] + len(g.pre_ind)))
                     for sb in self.layout.synapse_blocks for k, g in enumerate(sb.groups)}
            cached = self._slices = (self.layout, table)
        try:
            return cached[1][id(sg)]
        except KeyError:
            raise KeyError(sg.name) from None

    def _positions(self, sg, index) -> np.ndarray:
        """Positions in the block's arrays of the synapses ``index`` (in the group's own order) of ``sg``."""
        inverse = self._inverse_order.get(id(sg))
        if inverse is None:
            order = self.synapse_order[sg]
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            self._inverse_order[id(sg)] = inverse
        return self._synapse_slice(sg)[1].start + inverse[np.asarray(index, np.int64)]

    def changes_on_device(self, sg, var: str) -> bool:
        """Whether the synapse model of ``sg`` updates per-synapse ``var`` as it runs (e.g. learned weights)."""
        return var in self._synapse_slice(sg)[0].written_vars

    def read_synapse_var(self, sg, var: str, index=None) -> np.ndarray:
        """Current values of per-synapse ``var`` of synapse group ``sg``, in the group's own order; ``index``: of
        those synapses only (the group's slice of the device array is read, or just those elements)."""
        sb, sl = self._synapse_slice(sg)
        name = sb.buffer(f"var_{var}")
        if index is not None:
            return self._read_elements(name, self._positions(sg, index)).astype(float)
        host = np.empty(sl.stop - sl.start, self._dtype(name))
        self._download(name, host, first=sl.start)
        out = np.empty(len(host), float)
        out[self.synapse_order[sg]] = host
        return out

    def write_synapse_var(self, sg, var: str, values, reset_value: bool = True, index=None):
        """Set per-synapse ``var`` of ``sg`` (in the group's order; ``index``: of those synapses only, ``values``
        aligned with it) on the device and, with ``reset_value``, as the value :meth:`reset` returns to."""
        sb, sl = self._synapse_slice(sg)
        name = sb.buffer(f"var_{var}")
        if index is not None and var == sb.model.post_trace:     # the targets' trace constant needs the whole group
            whole = self.read_synapse_var(sg, var)
            whole[np.asarray(index, np.int64)] = values
            values, index = whole, None
        if index is not None:
            positions = self._positions(sg, index)
            values = np.asarray(values, float).astype(self._dtype(name))
            if reset_value and name in self._host:      # (else the device's value is the one reset() keeps)
                self._host[name][positions] = values
            self._write_elements(name, positions, values)
            return
        part = np.asarray(values, float)[self.synapse_order[sg]].astype(self._dtype(name))
        if reset_value and name in self._host:
            self._host[name][sl] = part
        self._upload_array(name, part, first=sl.start)
        if var == sb.model.post_trace and "pg_tau_minus" in self._host:      # the targets' trace follows it
            tau = self._host["pg_tau_minus"].astype(float)
            self._set_trace_constant(tau, sb, sg, values, replace=True)
            self._host["pg_tau_minus"] = tau.astype(self.dtype)
            self.upload("pg_tau_minus")

    def source_recording(self, name: str):
        """(steps, currents summed over the targets) recorded of current source ``name`` since step 0."""
        parts = self.source_recorded.get(name, [])
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0)
        return (np.concatenate([np.arange(start, start + len(v)) for start, v in parts]),
                np.concatenate([v for _, v in parts]))

    def adopt_recordings(self, old: "Simulation"):
        """Take over what ``old`` recorded (same group, variable and interval) after a rebuild; signals of cells
        added to a recording are NaN in the rows recorded before."""
        self.source_recorded = dict(old.source_recorded)
        for rec in self.layout.records:
            for prev in old.layout.records:
                if (prev.group is rec.group and prev.variable == rec.variable and prev.interval == rec.interval
                        and prev.phase == rec.phase):
                    if np.array_equal(prev.indices, rec.indices) or (
                            rec.variable == "spikes" and np.isin(prev.indices, rec.indices).all()):
                        self.recorded[rec.index] = old.recorded[prev.index]     # (spikes: (steps, cells) of each)
                    elif rec.variable != "spikes" and np.isin(prev.indices, rec.indices).all():
                        cols = np.searchsorted(rec.indices, prev.indices)
                        widened = []
                        for chunk in old.recorded[prev.index]:
                            wide = np.full((len(chunk), len(rec.indices)), np.nan, chunk.dtype)
                            wide[:, cols] = chunk
                            widened.append(wide)
                        self.recorded[rec.index] = widened

    def records_of(self, group):
        """The RecordSpecs of ``group`` by variable name."""
        return {rec.variable: rec for rec in self.layout.records if rec.group is group}
