"""Turn a :class:`~.network.Network` into kernel source for one dialect.

Neuron groups with the same model (same digest) are merged into one block: one branch of the
single ``neuron_update`` kernel over a contiguous index range, with per-neuron parameters in
device buffers so that parameter changes never recompile.  Synapse groups are merged the same way
in ``spike_propagation``.  Model snippets go through :func:`.snippets.render`; the kernel shapes
live in ``kernels/templates``, one template per kernel.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction

import jinja2
import numpy as np

from ..kernels.dialects import DIALECTS
from ..kernels import TEMPLATE_DIR, cache
from ..kernels.runtime.diagnostics import mark_snippet
from .errors import CodegenError
from .layout import (ERRORS, PROCEDURAL_ROWS, PROCEDURAL_TABLES, SPIKE_RECORD, GroupSlot, KernelArg, Layout,
                     NeuronBlock, ProceduralBlock, ProceduralSpec, RecordSpec, SourceSpec, SynapseBlock)
from .models import evaluate_derived
from .network import Network
from .procedural import ATTEMPT_BITS, DELAY_WORD, VALUE_COUNTER, WEIGHT_WORD, gap_table
from .snippets import render

#: Entries of each neuron's spike history kept for synapse models with a post trace (NEST's archiving node keeps
#: every spike a synapse has not seen yet): at least HISTORY_SIZE, more where memory allows (see history_size).
HISTORY_SIZE = 64
#: The most entries kept, and the device memory (bytes) the history may take to keep more than HISTORY_SIZE.
HISTORY_SIZE_MAX = 1024
HISTORY_BUDGET = 256 * 2 ** 20


def history_size(n_neurons: int, itemsize: int, device_memory: int) -> int:
    """Entries per neuron of the spike history: a power of two from HISTORY_SIZE to HISTORY_SIZE_MAX, as many as
    fit in HISTORY_BUDGET (and 5 % of the device's memory) -- 1024 for up to 32,768 cells, 64 above 262,144
    (single precision).  A pre cell silent while its target fires more often loses pairings (with a warning)."""
    budget = min(HISTORY_BUDGET, device_memory // 20)
    size = HISTORY_SIZE
    while size < HISTORY_SIZE_MAX and 2 * size * 2 * itemsize * max(n_neurons, 1) <= budget:
        size *= 2
    return size

#: Arrays packed into one device buffer start at multiples of this many elements (64-byte aligned for 4-byte types).
PACK_ALIGN = 16

#: Names every neuron snippet may use besides the model's own.
NEURON_BUILTINS = {"t": "t", "dt": "dt", "step": "step", "i_inj": "i_inj"}
#: The int state variable holding a cell's index in its population, GeNN's ``id`` in neuron snippets.
CELL_INDEX = "pg_id"


def _reads_cell_index(model) -> bool:
    """Whether a neuron snippet of ``model`` reads ``id`` (and the model has no variable or parameter of that name)."""
    return "id" not in model.var_names and "id" not in model.all_param_names and model.reads("id")

#: The random numbers of model snippets: ``uniform()`` in [0, 1) and ``normal()`` (standard normal), drawn from
#: the counter-based stream ``pg_rng`` of the cell or synapse and step.
RANDOM_FUNCTIONS = {"uniform": "pg_uniform", "normal": "pg_gauss"}
#: RK4 sub-steps keep h x (the model's fastest rate) at most this: accurate to about 1e-4 per step for the fastest
#: component, well inside RK4's stability (2.8).
RK4_RATE_STEP = 0.5
#: Per cell, the current of the sources computed once per step (one work-item), consumed by the neuron loop.
INJECTED = "pg_inj"


def _from_stream(code: str) -> str:
    """A rendered snippet with its random draws taken from the stream ``pg_rng``."""
    for function in RANDOM_FUNCTIONS.values():
        code = code.replace(f"{function}(", f"{function}(&pg_rng")
    return code


def _uses_stream(*codes: str) -> bool:
    return any(f"{function}(" in code for code in codes for function in RANDOM_FUNCTIONS.values())

# GSL's Runge-Kutta-Fehlberg 4(5) tableau and step-size control (rkf45.c, cstd.c).
_F = Fraction
RKF45 = {
    "a": [[], [_F(1, 4)], [_F(3, 32), _F(9, 32)], [_F(1932, 2197), _F(-7200, 2197), _F(7296, 2197)],
          [_F(8341, 4104), _F(-32832, 4104), _F(29440, 4104), _F(-845, 4104)],
          [_F(-6080, 20520), _F(41040, 20520), _F(-28352, 20520), _F(9295, 20520), _F(-5643, 20520)]],
    "c": [_F(902880, 7618050), 0, _F(3953664, 7618050), _F(3855735, 7618050), _F(-1371249, 7618050),
          _F(277020, 7618050)],
    "e": [_F(1, 360), 0, _F(-128, 4275), _F(-2197, 75240), _F(1, 50), _F(2, 55)],
}


def _pack_args(args: list, packed: dict):
    """A kernel's arguments with packed arrays replaced by their buffer, and the declarations that name the
    arrays inside the kernel (pointers into the buffer)."""
    where = {name: (buffer, offset) for buffer, members in packed.items() for name, offset, _ in members}
    out, aliases = [], []
    for a in args:
        if a.name in where:
            buffer, offset = where[a.name]
            _add_arg(out, KernelArg(buffer, a.ctype))
            aliases.append(f"GLOBAL {a.ctype.rstrip('*')} *RESTRICT {a.name} = {buffer} + {offset};")
        else:
            _add_arg(out, a)
    return out, aliases


#: Above this many cells (in all; integrated by RKF45) one work-item running many steps per launch is not used.
SERIAL_MAX_CELLS = 300_000
SERIAL_MAX_ADAPTIVE_CELLS = 4_000


#: Per cell, for the noise of current sources: its index in its group, and its group's RNG stream.
CELL_KEY, CELL_STREAM = "pg_cell_key", "pg_cell_stream"
#: Up to this many groups in a neuron block, a cell's RNG stream is picked by selects; beyond, from CELL_STREAM.
RNG_STREAM_SELECTS = 8


def _band_entry(band) -> dict:
    """What the kernel templates read of a SpikeBand: global cells lo to hi, first word, bytes or bits."""
    return {"lo": band.lo, "hi": band.hi, "offset": band.offset, "counts": band.counts}


def _leave_neuron_loop(blocks: list, records: list):
    """Take ``records`` (their buffers) out of the neuron blocks' recording code: another phase writes them."""
    names = {r["buffer"] for r in records}
    for b in blocks:
        b["records"] = [r for r in b["records"] if r["buffer"] not in names]


def _add_arg(args: list, arg: KernelArg):
    """Append ``arg`` to a kernel's argument list unless it is there already (blocks share buffers)."""
    if all(a.name != arg.name for a in args):
        args.append(arg)


@dataclass
class Program:
    """Generated source, the kernels' argument lists and the layout they assume."""

    source: str
    kernel_args: dict       # kernel name -> [KernelArg]
    layout: Layout
    dialect: str
    precision: str
    #: device buffer -> [(array name, element offset, element count)]: fixed-size arrays packed into one buffer
    packed: dict = field(default_factory=dict)


def _check_connects(group, kind: str, group_slot: dict):
    """A synapse or procedural group must join neuron groups of the network, onto a receptor of its target."""
    if group.post not in group_slot or group.pre not in group_slot:
        raise CodegenError(f"{kind} '{group.name}' connects groups that are not in the network")
    if group.receptor not in group.post.model.receptors:
        raise CodegenError(f"{kind} '{group.name}': receptor '{group.receptor}' not in "
                           f"{group.post.model.name} receptors {group.post.model.receptors}")


def _literal(x, single: bool) -> str:
    text = repr(float(x))
    if text in ("inf", "-inf", "nan"):
        raise CodegenError(f"cannot write {text} as a literal")
    return text + ("f" if single else "")


@functools.lru_cache(maxsize=None)
def _env():
    """The template environment, made once: it keeps the compiled templates (jinja2 checks their files' mtimes),
    and keeps them beside the kernel cache too, so a new process does not parse them again (~35 ms)."""
    folder = cache.cache_dir().parent / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        bytecode = jinja2.FileSystemBytecodeCache(str(folder))
    except OSError:
        bytecode = None
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              bytecode_cache=bytecode)


class Generator:
    """Generate the kernels of ``network`` for ``dialect`` ('opencl' or 'cuda') and ``precision``."""

    def __init__(self, network: Network, dialect: str = "opencl", precision: str = "single",
                 spike_workers: int | None = None, spike_bytes: bool = False, fuse: bool | str = True,
                 serial: bool | str = False, history_size: int = HISTORY_SIZE):
        """``spike_workers``: work-items of the propagation pass, each checking a contiguous share of the neurons
        for spikes; None gives one per neuron, right for GPUs.  A CPU device wants a few per core.
        ``spike_bytes``: record spikes as a byte per cell and step rather than a bit (CPU devices).
        ``fuse``: one launch per step where delays allow (True), never (False), or 'cpu': only when some neuron
        model integrates ODEs -- a CPU compiler vectorises a loop-free neuron update on its own but not fused
        with the propagation loops, while the adaptive integrator's loop is not vectorised either way (PoCL).
        ``serial``: run many steps per launch in a single work-item (a CPU device: launches cost more than a
        small network's step): True, False, or 'auto': where :meth:`runs_serially` finds it pays.
        ``history_size``: entries of each neuron's spike history (synapse models with a post trace)."""
        if dialect not in DIALECTS:
            raise CodegenError(f"unknown dialect {dialect!r}; allowed: {sorted(DIALECTS)}")
        if precision not in ("single", "double"):
            raise CodegenError(f"precision must be 'single' or 'double', not {precision!r}")
        self.net = network
        self.dialect = DIALECTS[dialect]
        self.precision = precision
        self.single = precision == "single"
        self.spike_workers = spike_workers
        self.spike_bytes = spike_bytes
        self.fuse = fuse
        self.serial = serial
        self.history_size = history_size

    def integrator(self, model) -> str | None:
        """The integrator the generated code uses for ``model``'s ODEs under the network's ``ode_integrator``."""
        choice = self.net.ode_integrator
        if not model.ode or choice == "rkf45":
            return model.integrator
        if choice == "rk4" and not model.ode_step_code.strip() and not model.rk4_unstable:
            return "rk4"
        return "rk4" if choice == "auto" and model.rk4_equivalent else model.integrator

    # ---- layout -------------------------------------------------------------------------------

    def layout(self) -> Layout:
        blocks, by_digest, group_slot = [], {}, {}
        for g in self.net.neuron_groups:
            key = g.model.digest()
            if key not in by_digest:
                by_digest[key] = NeuronBlock(index=len(blocks), model=g.model, offset=0, size=0, slots=[],
                                             scalar_vars=[v.name for v in g.model.vars if v.type == "scalar"],
                                             int_vars=[v.name for v in g.model.vars if v.type == "int"],
                                             params=list(g.model.all_param_names))
                if _reads_cell_index(g.model):     # each cell's index in its population, kept per cell
                    by_digest[key].int_vars.append(CELL_INDEX)
                if g.model.ode and self.integrator(g.model) == "rkf45":
                    # the proposed RKF45 step, kept per neuron across steps (NEST's IntegrationStep_)
                    h0 = g.model.ode_initial_step
                    by_digest[key].scalar_vars.append("pg_h")
                    by_digest[key].internal_vars["pg_h"] = self.net.dt if h0 is None else min(h0, self.net.dt)
                blocks.append(by_digest[key])
            b = by_digest[key]
            b.slots.append(GroupSlot(group=g, start=b.size, global_start=0))
            b.size += g.size
        for b in blocks:
            per_group = [self._group_params(s.group) for s in b.slots]
            b.param_values = {p: np.concatenate([values[p] for values in per_group]) for p in b.params}
            b.split_params()
        offset = 0
        for b in blocks:
            b.offset = offset
            for s in b.slots:
                s.global_start = offset + s.start
                group_slot[s.group] = (b, s)
            offset += b.size
        planes = {}
        for b in blocks:
            for k, r in enumerate(b.model.receptors):
                planes[(b.index, r)] = k
        n_planes = max([len(b.model.receptors) for b in blocks] + [1])

        sblocks, by_digest, rows = [], {}, 0
        for sg in self.net.synapse_groups:
            _check_connects(sg, "synapse group", group_slot)
            # a model reading neuron variables needs one neuron block on that side: its groups are merged only
            # with groups whose neurons live in the same blocks
            pre_refs, post_refs = sg.model.neuron_refs()
            pre_block = group_slot[sg.pre][0] if pre_refs else None
            post_block = group_slot[sg.post][0] if post_refs else None
            key = (sg.model.digest(), pre_block and pre_block.index, post_block and post_block.index)
            if key not in by_digest:
                by_digest[key] = SynapseBlock(index=len(sblocks), model=sg.model, offset=0, rows=0, groups=[],
                                              group_rows=[], group_syn=[], n_syn=0,
                                              scalar_vars=list(sg.model.var_names), pre_block=pre_block,
                                              post_block=post_block)
                sblocks.append(by_digest[key])
            sb = by_digest[key]
            sb.groups.append(sg)
            sb.group_rows.append(sb.rows)
            sb.group_syn.append(sb.n_syn)
            sb.rows += sg.pre.size
            sb.n_syn += len(sg.pre_ind)
        columns = dyn_synapses = 0
        for sb in sblocks:
            sb.offset = rows
            rows += sb.rows
            if sb.model.post_spike_code.strip():
                sb.columns = sum(sg.post.size for sg in sb.groups)
                sb.column_offset = columns
                columns += sb.columns
            if sb.model.synapse_dynamics_code.strip():
                sb.dynamics_offset = dyn_synapses
                dyn_synapses += sb.n_syn

        procedural, table_offset, rows_offset = [], 0, 0
        for pg in self.net.procedural_groups:
            _check_connects(pg, "procedural group", group_slot)
            post_block, post_slot = group_slot[pg.post]
            table = gap_table(pg.p) if not pg.drawn_rows else np.zeros(0, np.uint32)
            procedural.append(ProceduralSpec(
                pg, group_slot[pg.pre][1].global_start + pg.pre_first,
                planes[(post_block.index, pg.receptor)] * offset + post_slot.global_start + pg.post_first, table,
                table_offset, rows_offset))
            table_offset += len(table)
            rows_offset += pg.n_pre if pg.drawn_rows else 0
        shapes = {}
        for spec in procedural:
            pg = spec.group
            key = (pg.drawn_rows, spec.table_size > 0, pg.random_weight and pg.random_weight[0],
                   pg.random_delay and pg.random_delay[0])
            if key not in shapes:
                shapes[key] = ProceduralBlock(len(shapes), key, [])
            shapes[key].specs.append(spec)

        records = []
        for g in self.net.neuron_groups:
            if g.record_spikes:     # (their place in the spike recording: Layout.place_spike_records)
                cells = np.arange(g.size) if g.spike_cells is None else np.asarray(g.spike_cells, np.int64)
                records.append(RecordSpec(len(records), g, "spikes", cells))
            for var, (indices, interval, *phase) in g.record_vars.items():
                if var not in g.model.var_names:
                    raise CodegenError(f"neuron group '{g.name}' ({g.model.name}) has no variable '{var}' to record")
                records.append(RecordSpec(len(records), g, var, np.asarray(indices, dtype=np.int64), int(interval),
                                          phase=int(phase[0]) % int(interval) if phase else 0))

        sources = [SourceSpec(k, cs, [(group_slot[g][1], np.asarray(idx, dtype=np.int64)) for g, idx in cs.targets])
                   for k, cs in enumerate(self.net.current_sources)]
        n_slots = max(self.net.max_delay_steps() + 1, self.net.min_slots)
        workers = offset if self.spike_workers is None else max(1, min(int(self.spike_workers), offset))
        layout = Layout(n_total=offset, n_receptor_planes=n_planes, n_slots=n_slots, neuron_blocks=blocks,
                        synapse_blocks=sblocks, records=records, sources=sources, group_slot=group_slot,
                        receptor_plane=planes, n_rows=rows, n_columns=columns,
                        n_workers=workers if sblocks or procedural else 0, n_dynamics=dyn_synapses,
                        procedural=procedural, procedural_blocks=list(shapes.values()))
        layout.place_signal_records()
        layout.place_sources()
        return layout

    def _group_params(self, g) -> dict:
        """Every parameter of group ``g``, derived ones included, as arrays of the group's size."""
        values = evaluate_derived(g.model, {p: np.broadcast_to(np.asarray(g.params[p], float), (g.size,))
                                            for p in g.model.params}, self.net.dt)
        return {p: np.broadcast_to(np.asarray(v, float), (g.size,)) for p, v in values.items()}

    # ---- code ---------------------------------------------------------------------------------

    def _neuron_block(self, b: NeuronBlock, layout: Layout, args: list) -> dict:
        m, n = b.model, b.size
        names = dict(NEURON_BUILTINS)
        loads, stores = [], []
        args += [KernelArg(b.state_buffer, "scalar*"), KernelArg(b.param_buffer, "scalar*"),
                 KernelArg(b.shared_param_buffer, "scalar*")]
        if b.int_vars:
            args.append(KernelArg(b.int_state_buffer, "int*"))
        for k, v in enumerate(b.scalar_vars):
            names[v] = f"l_{v}"
            loads.append(f"scalar l_{v} = {b.state_buffer}[{k * n} + i];")
            stores.append(f"{b.state_buffer}[{k * n} + i] = l_{v};")
        for k, v in enumerate(b.int_vars):
            names[v] = f"l_{v}"
            loads.append(f"{'const ' if v == CELL_INDEX else ''}int l_{v} = {b.int_state_buffer}[{k * n} + i];")
            if v != CELL_INDEX:
                stores.append(f"{b.int_state_buffer}[{k * n} + i] = l_{v};")
        if CELL_INDEX in b.int_vars:
            names["id"] = f"l_{CELL_INDEX}"
        for k, p in enumerate(b.params):
            names[p] = f"p_{p}"
            loads.append(f"const scalar p_{p} = {b.param_buffer}[{k * n} + i];")
        # Values shared by the block (or by each of its groups) are read at the top of the kernel, outside any
        # branch, so that a vectorising compiler hoists them out of its loop over work-items: as fast as
        # literals, and still changeable without compiling again.
        hoisted = []
        for k, p in enumerate(b.shared_params):
            names[p] = f"p_{p}"
            hoisted.append(f"const scalar pg_b{b.index}_{p} = {b.shared_param_buffer}[{k}];")
            loads.append(f"const scalar p_{p} = pg_b{b.index}_{p};")
        base, width = len(b.shared_params), len(b.slot_params)
        for k, p in enumerate(b.slot_params):   # the neuron's group's entry of the per-group table, by selects
            names[p] = f"p_{p}"
            for g in range(len(b.slots)):
                hoisted.append(f"const scalar pg_b{b.index}_{p}_{g} = {b.shared_param_buffer}[{base + k + g * width}];")
            value = f"pg_b{b.index}_{p}_{len(b.slots) - 1}"
            for g in range(len(b.slots) - 2, -1, -1):
                value = f"(i < {b.slots[g + 1].start} ? pg_b{b.index}_{p}_{g} : {value})"
            loads.append(f"const scalar p_{p} = {value};")
        for e in m.extra_globals:
            data, start = b.egp_buffers(e.name)
            args += [KernelArg(data, f"{e.type}*"), KernelArg(start, "int*")]
            names[e.name] = f"({data} + {start}[i])"
            names[f"{e.name}_len"] = f"({start}[i + 1] - {start}[i])"
        inputs = []
        for k, r in enumerate(m.receptors):
            names[f"in_{r}"] = f"in_{r}"
            inputs.append({"name": r, "index": k})
        functions = dict(RANDOM_FUNCTIONS)
        ctx = f"neuron model '{m.name}'"
        locals_ = set()

        def code(text, kind, expression=False):
            out, declared = render(text, names, context=f"{ctx} {kind}", functions=functions,
                                   single=self.single, known_locals=locals_, writable=m.var_names,
                                   expression=expression)
            locals_.update(declared)
            return mark_snippet(_from_stream(out), f"{ctx} {kind}")      # this neuron's counter-based stream

        pre_ode = code(m.pre_ode_code, "pre_ode_code")
        ode = [{"name": var, "local": f"l_{var}", "rhs": code(rhs, f"ode {var}", expression=True)}
               for var, rhs in m.ode]
        for o in ode:
            o["scale"] = self._error_scale(m, o)
        substeps = 1
        if self.integrator(m) == "rk4" and m.rk4_rates:     # a fast synapse: RK4 in a fixed number of sub-steps
            fastest = float(np.max(m.rk4_rates(b.param_values)))
            substeps = max(1, int(np.ceil(self.net.dt * fastest / RK4_RATE_STEP - 1e-9)))
        ode_step = code(m.ode_step_code, "ode_step_code")
        sim = code(m.sim_code, "sim_code")
        threshold = code(m.threshold_code, "threshold_code", expression=True).strip() or "0"
        reset = code(m.reset_code, "reset_code")
        unstable = code(m.instability_condition, "instability_condition", expression=True).strip()
        rendered = [pre_ode, ode_step, sim, threshold, reset] + [o["rhs"] for o in ode]

        sources = []
        scattered = False       # a source's current added to pg_inj before the neuron loop (see below)
        # Current sources, a table per model: the expression reads the parameters of the row ``pg_row`` of the
        # table (the template loops over the rows injecting into the cell).  ``mulhi(a, b)`` is the high word of
        # an unsigned 32-bit product; ``normal_at(stream, key, mu, sigma)`` is mu + sigma * z, z a standard
        # normal deviate keyed by (seed, stream, key, target's index in its group, group's RNG stream): the same
        # for a target whatever the layout, and reproducible on the host (library.current_sources.normal_values).
        from .library.current_sources import LIBRARY_SOURCES, NORMAL_TABLE
        for table in layout.source_tables:
            if b.index not in table.blocks:
                continue
            model, width = table.model, len(table.params)
            snames = {"t": "t", "dt": "dt", "step": "step"}
            for k, p in enumerate(table.params):
                snames[p] = f"{table.param_buffer}[pg_row * {width} + {k}]"
            for k, e in enumerate(model.extra_globals):
                snames[e.name] = f"({table.egp_buffer(e.name)} + {table.at_buffer}[pg_row * " \
                                 f"{len(model.extra_globals)} + {k}])"
                snames[f"{e.name}_len"] = f"((int){table.param_buffer}[pg_row * {width} + " \
                                          f"{table.params.index(e.name + '_len')}])"
            internal = {"mulhi": "MULHI_U32", "normal_at": "pg_cs_normal"} if model in LIBRARY_SOURCES \
                else dict(RANDOM_FUNCTIONS)     # the library's own helpers, not for user models
            labels = sorted({spec.source.name for spec in table.specs})
            others = f" (and {len(labels) - 1} more)" if len(labels) > 1 else ""
            context = f"current source '{labels[0]}'{others} ({model.name}) injection_code"
            for v in model.vars:        # a value per injection, at the place of its row (pg_at)
                snames[v.name] = f"{table.var_buffer(v.name)}[pg_at]"
                _add_arg(args, KernelArg(table.var_buffer(v.name), "int*" if v.type == "int" else "scalar*"))
            for ref, target in model.neuron_var_refs:     # the target cell's state at the start of the step
                if target not in m.var_names:
                    raise CodegenError(f"current source '{labels[0]}' ({model.name}) reads the target's variable "
                                       f"'{target}', which neuron model '{m.name}' does not have")
                snames[ref] = names[target]
            record = None
            if table.recorded:
                _add_arg(args, KernelArg(table.record_buffer, "scalar*"))
                record = {"buffer": table.record_buffer, "width": len(table.specs)}
            if model.statements:
                code, _ = render(model.injection_code, snames, single=self.single, writable=model.var_names,
                                 functions={**internal, "injectCurrent": "PG_INJECT"}, context=context)
                code = mark_snippet(_from_stream(code), context)
                rendered.append(code)
                sources.append({"model": model.name, "rows": table.rows_buffer, "layers": table.layers,
                                "code": code, "record": record})
                continue
            current, _ = render(model.injection_code, snames, single=self.single, functions=internal,
                                expression=True, writable=(), context=context)
            current = mark_snippet(_from_stream(current), context)
            rendered.append(current)
            if "pg_cs_normal(" in current:
                for name in (NORMAL_TABLE, CELL_KEY, CELL_STREAM):
                    _add_arg(args, KernelArg(name, "scalar*" if name == NORMAL_TABLE else "int*"))
                current = current.replace(
                    "pg_cs_normal(", f"pg_normal({NORMAL_TABLE}, PG_SEED_LO, PG_SEED_HI, "
                                     f"(unsigned int){CELL_KEY}[gid], (unsigned int){CELL_STREAM}[gid], ")
                if layout.serial and not table.recorded:
                    # keyed by the target, not drawn from its stream: computed for each target before the neuron
                    # loop, which then vectorises
                    self._scatter(table, args, {"per_target": True, "current": f"({current})"})
                    scattered = True
                    continue
            elif layout.serial and not model.vars and not model.neuron_var_refs and not table.recorded and \
                    not any(f"{f}(" in current for f in RANDOM_FUNCTIONS.values()):
                # the same for every target: one work-item computes it once per source and step (an ACSource's
                # sin() per cell and step cost 22 ns a cell-step on 20,000 targets, a StepCurrentSource 5.8) and
                # adds it to its targets' entries of pg_inj, run by run of consecutive cells; the neuron loop
                # reads its cell's entry (a gather through the cell's rows kept it from vectorising: 20,000
                # IF_curr_exp cells with a DCSource took 2.05 ns a cell-step, now 0.53; 0.38 without)
                self._scatter(table, args, {"per_target": False, "current": f"({current})",
                                            "buffer": table.now_buffer, "rows": len(table.specs)})
                _add_arg(args, KernelArg(table.now_buffer, "scalar*"))
                scattered = True
                continue
            sources.append({"model": model.name, "rows": table.rows_buffer, "layers": table.layers,
                            "current": f"({current})", "code": None, "record": record})
        records = [{"buffer": band.buffer, "start": band.start, "stop": band.stop, "interval": band.interval,
                    "phase": band.phase, "columns": band.columns, "ncols": band.ncols, "value": f"l_{band.variable}"}
                   for band in layout.signal_bands if band.block is b]
        band = next((band for band in layout.spike_bands if band.block is b), None)
        # spikes recorded here unless one work-item sets their bits while it scans the spike flags (scan_bands)
        spike_band = None if band is None or (layout.serial and not band.counts) else _band_entry(band)
        return {"model": m.name, "offset": b.offset, "end": b.offset + n, "size": n, "loads": loads, "hoisted": hoisted,
                "stores": stores, "inputs": inputs, "sources": sources,
                "injected": INJECTED if scattered else None, "pre_ode": pre_ode, "ode": ode,
                "ode_step": ode_step, "ode_yp": bool(m.ode_eps_rel and m.ode_a_dydt), "integrator": self.integrator(m),
                "rk4_substeps": substeps,
                "sim": sim,
                "threshold": threshold, "unstable": unstable,
                "reset": reset, "records": records, "spike_band": spike_band, "uses_rng": _uses_stream(*rendered),
                "rng_stream_expr": self._rng_stream_expr(b, args)}

    def _scatter(self, table, args: list, entry: dict):
        """A source table whose currents the one work-item adds to its targets' entries of pg_inj before the neuron
        loops, run by run of consecutive cells (``entry``: how the current is computed, see network_steps)."""
        self._source_values[table.index] = {**entry, "runs": table.runs_buffer, "n_runs": len(table.runs()) // 3}
        _add_arg(args, KernelArg(table.runs_buffer, "int*"))
        _add_arg(args, KernelArg(INJECTED, "scalar*"))

    def _error_scale(self, m, o) -> str:
        """GSL's error scale D for ODE variable ``o``: eps_abs + eps_rel (a_y |y| + a_dydt h |y'|),
        with y' (``pg_yp_<var>``) the derivative at the new point and h the step just taken."""
        lit = lambda x: _literal(x, self.single)  # noqa: E731
        terms = []
        if m.ode_eps_rel and m.ode_a_y:
            terms.append(f"{lit(m.ode_a_y)} * fabs({o['local']})")
        if m.ode_eps_rel and m.ode_a_dydt:
            terms.append(f"{lit(m.ode_a_dydt)} * fabs(pg_step * pg_yp_{o['name']})")
        rel = f"{lit(m.ode_eps_rel)} * ({' + '.join(terms)}) + " if terms else ""
        return f"({rel}{lit(m.abs_tolerance(o['name']))})"

    def _rng_stream_expr(self, b: NeuronBlock, args: list) -> str:
        """The RNG stream of neuron ``i``: its group's stream number, so draws do not depend on the layout.  A
        select per group, or for more groups than RNG_STREAM_SELECTS the cell's entry of a per-cell table (a
        chain of 256 selects was more than OpenCL compilers nest: 300 Poisson populations failed to compile)."""
        if len(b.slots) > RNG_STREAM_SELECTS:
            _add_arg(args, KernelArg(CELL_STREAM, "int*"))
            return f"(unsigned int){CELL_STREAM}[gid]"
        expr = f"{b.slots[-1].group.rng_stream}u"
        for s in reversed(b.slots[:-1]):
            expr = f"(i < {s.start + s.group.size} ? {s.group.rng_stream}u : {expr})"
        return expr

    def _neuron_names(self, sb: SynapseBlock, args: list, pre: str, post: str) -> dict:
        """Names a synapse snippet reads from its neurons: ``st_pre``/``st_post`` and ``<var>_pre``/``<var>_post``.
        ``pre`` and ``post`` are the kernel's expressions for the global indices of the two neurons."""
        names = {}
        if sb.model.uses_spike_times():
            _add_arg(args, KernelArg("pg_st", "scalar*"))
            names.update(st_pre=f"pg_st[{pre}]", st_post=f"pg_st[{post}]")
        if sb.model.uses_previous_spike_times():
            _add_arg(args, KernelArg("pg_prev_st", "scalar*"))
            names.update(prev_st_pre=f"pg_prev_st[{pre}]", prev_st_post=f"pg_prev_st[{post}]")
        pre_refs, post_refs = sb.model.neuron_refs()
        for side, refs, block, index in (("pre", pre_refs, sb.pre_block, pre),
                                          ("post", post_refs, sb.post_block, post)):
            if not refs:
                continue
            groups = sorted({(sg.pre if side == "pre" else sg.post).name for sg in sb.groups})
            for var in refs:
                if var in block.scalar_vars:
                    buffer, k = block.state_buffer, block.scalar_vars.index(var)
                    _add_arg(args, KernelArg(buffer, "scalar*"))
                elif var in block.int_vars:
                    buffer, k = block.int_state_buffer, block.int_vars.index(var)
                    _add_arg(args, KernelArg(buffer, "int*"))
                else:
                    known = ", ".join(v for v in block.scalar_vars + block.int_vars if not v.startswith("pg_"))
                    raise CodegenError(
                        f"synapse group(s) {', '.join(repr(g.name) for g in sb.groups)} (weight-update model "
                        f"'{sb.model.name}'): '{var}_{side}' reads variable '{var}' of the {side}synaptic neurons "
                        f"({', '.join(groups)}), but their model '{block.model.name}' has no such variable "
                        f"(it has: {known or 'none'})")
                names[f"{var}_{side}"] = f"{buffer}[{k * block.size} + ({index} - {block.offset})]"
        return names

    def _synapse_vars(self, sb: SynapseBlock, args: list, names: dict) -> list:
        """Loads of the synapse's state into locals; an 'int' variable, held in a scalar buffer like the others,
        into an int local, so that its snippet has C's int arithmetic (as a neuron's int variables)."""
        ints = {v.name for v in sb.model.vars if v.type == "int"}
        loads = []
        for v in sb.scalar_vars:
            _add_arg(args, KernelArg(sb.buffer(f"var_{v}"), "scalar*"))
            names[v] = f"l_{v}"
            loads.append(f"int l_{v} = (int){sb.buffer(f'var_{v}')}[s];" if v in ints
                         else f"scalar l_{v} = {sb.buffer(f'var_{v}')}[s];")
        return loads

    def _stores(self, sb: SynapseBlock, code: str) -> list:
        """Write back the per-synapse state the snippet changes."""
        stores = []
        for v in sb.scalar_vars:
            if re.search(rf"\bl_{v}\s*([-+*/]?=(?!=)|\+\+|--)", code):
                stores.append(f"{sb.buffer(f'var_{v}')}[s] = l_{v};")     # (an int local converts implicitly)
                if v not in sb.written_vars:
                    sb.written_vars.append(v)
        return stores

    def _synapse_block(self, sb: SynapseBlock, args: list) -> dict:
        m = sb.model
        names = {"t_spike": "pg_t_spike", "t": "pg_t_spike", "dt": "pg_dt", "delay": "((scalar)pg_delay * pg_dt)",
                 "post_spike_count": "pg_hist_n[pg_post]", "history_size": str(self.history_size)}
        for what in ("row_start", "post", "delay"):
            _add_arg(args, KernelArg(sb.buffer(what), "int*"))
        loads = self._synapse_vars(sb, args, names)
        names.update(self._neuron_names(sb, args, "pg_neuron", "pg_post"))
        if m.all_param_names:
            raise CodegenError(f"weight-update model '{m.name}': parameters {m.all_param_names} are not supported "
                               "yet; declare them as variables")
        code, _ = render(m.pre_spike_code, names, context=f"weight-update model '{m.name}' pre_spike_code",
                         functions={"add_to_post": "PG_ADD_TO_POST", **RANDOM_FUNCTIONS,
                                    "post_spike_time": "PG_POST_SPIKE_TIME", "post_spike_trace": "PG_POST_SPIKE_TRACE",
                                    "history_overflow": "PG_HISTORY_OVERFLOW"}, single=self.single,
                         writable=m.var_names)
        uses_rng = _uses_stream(code)
        code = _from_stream(code)
        code = mark_snippet(code, f"weight-update model '{m.name}' pre_spike_code")
        return {"model": m.name, "offset": sb.offset, "end": sb.offset + sb.rows, "rows": sb.rows,
                "row_start": sb.buffer("row_start"), "post": sb.buffer("post"),
                "delay": sb.buffer("delay"), "loads": loads, "stores": self._stores(sb, code), "code": code,
                "uses_rng": uses_rng,
                # synapse streams start above any neuron group's, so draws never coincide
                "rng_stream": (1 << 24) + sb.index}

    def _procedural_block(self, block: ProceduralBlock, args: list) -> dict:
        """What the propagation body needs to draw the connections of a block of procedural groups
        (codegen/procedural.py): C expressions reading the values of group ``pg_p`` from its rows, ``pg_pi`` (ints)
        and ``pg_pv`` (scalars)."""
        total, table, weight_kind, delay_kind = block.key
        _add_arg(args, KernelArg(block.ints_buffer, "int*"))
        _add_arg(args, KernelArg(block.scalars_buffer, "scalar*"))
        if table:
            _add_arg(args, KernelArg(PROCEDURAL_TABLES, "unsigned int*"))
        if total:
            _add_arg(args, KernelArg(PROCEDURAL_ROWS, "int*"))
        from .library.current_sources import NORMAL_TABLE
        if "normal_clipped" in (weight_kind, delay_kind):
            _add_arg(args, KernelArg(NORMAL_TABLE, "scalar*"))
        ints = {name: f"pg_pi[{k}]" for k, name in enumerate(block.INT_FIELDS)}
        scalars = {name: f"pg_pv[{k}]" for k, name in enumerate(block.SCALAR_FIELDS)}

        def drawn(kind, prefix, word):
            if kind is None:
                return None
            a, b = scalars[f"{prefix}_a"], scalars[f"{prefix}_b"]
            return {"kind": kind, "word": word, "low": a, "spread": b, "mu": a, "sigma": b,
                    "bounds": (scalars[f"{prefix}_low"], scalars[f"{prefix}_high"]), "table": NORMAL_TABLE,
                    "attempts": 1 << ATTEMPT_BITS}
        # (the groups' names go into a C comment: plain ASCII, no end of comment)
        names = [spec.group.name.encode("ascii", "replace").decode().replace("*/", "*_/").replace("/*", "/_*")
                 for spec in block.specs]
        return {"names": names, "n_groups": len(block.specs),
                "ints": block.ints_buffer, "scalars": block.scalars_buffer, "n_ints": len(block.INT_FIELDS),
                "n_scalars": len(block.SCALAR_FIELDS), "total": total, "gap_table": table, **ints,
                "weight": scalars["weight"], "inv_log2_q": f"(float){scalars['inv_log2_q']}",
                "rows": PROCEDURAL_ROWS, "table": PROCEDURAL_TABLES, "attempt_bits": ATTEMPT_BITS,
                "random_weight": drawn(weight_kind, "w", WEIGHT_WORD),
                "random_delay": drawn(delay_kind, "d", DELAY_WORD), "value_counter": VALUE_COUNTER,
                "inv_dt": _literal(1.0 / self.net.dt, self.single)}

    def _post_block(self, sb: SynapseBlock, args: list):
        """The column-wise pass of a block with post_spike_code, or None."""
        m = sb.model
        if not sb.columns:
            return None
        names = {"t_post": "pg_t_post", "t": "pg_t_post", "dt": "pg_dt", "delay": "((scalar)pg_delay * pg_dt)"}
        for what in ("col_post", "col_start", "col_syn", "delay"):
            _add_arg(args, KernelArg(sb.buffer(what), "int*"))
        loads = self._synapse_vars(sb, args, names)
        names.update(self._syn_pre_names(sb, args))
        code, _ = render(m.post_spike_code, names, context=f"weight-update model '{m.name}' post_spike_code",
                         functions=dict(RANDOM_FUNCTIONS), single=self.single, writable=m.var_names)
        uses_rng = _uses_stream(code)
        code = _from_stream(code)
        code = mark_snippet(code, f"weight-update model '{m.name}' post_spike_code")
        return {"model": m.name, "offset": sb.column_offset, "end": sb.column_offset + sb.columns,
                "columns": sb.columns, "col_post": sb.buffer("col_post"), "col_start": sb.buffer("col_start"),
                "col_syn": sb.buffer("col_syn"), "delay": sb.buffer("delay"), "loads": loads,
                "stores": self._stores(sb, code), "code": code, "uses_rng": uses_rng,
                "rng_stream": (1 << 25) + sb.index}

    def _syn_pre_names(self, sb: SynapseBlock, args: list) -> dict:
        """Neuron names for a kernel that visits synapses one by one: the presynaptic neuron from syn_pre."""
        names = self._neuron_names(sb, args, f"{sb.buffer('syn_pre')}[s]", "pg_post")
        if any(n.endswith("_pre") for n in names):
            sb.needs_syn_pre = True
            _add_arg(args, KernelArg(sb.buffer("syn_pre"), "int*"))
        return names

    def _dynamics_block(self, sb: SynapseBlock, args: list):
        """The per-step pass of a block with synapse_dynamics_code, or None."""
        m = sb.model
        if not m.synapse_dynamics_code.strip():
            return None
        names = {"t": "pg_t", "dt": "pg_dt", "delay": "((scalar)pg_delay * pg_dt)"}
        for what in ("post", "delay"):
            _add_arg(args, KernelArg(sb.buffer(what), "int*"))
        loads = self._synapse_vars(sb, args, names)
        names.update(self._syn_pre_names(sb, args))
        code, _ = render(m.synapse_dynamics_code, names,
                         context=f"weight-update model '{m.name}' synapse_dynamics_code",
                         functions={"add_to_post": "PG_ADD_TO_POST", **RANDOM_FUNCTIONS}, single=self.single,
                         writable=m.var_names)
        uses_rng = _uses_stream(code)
        code = _from_stream(code)
        code = mark_snippet(code, f"weight-update model '{m.name}' synapse_dynamics_code")
        return {"model": m.name, "offset": sb.dynamics_offset, "end": sb.dynamics_offset + sb.n_syn,
                "post": sb.buffer("post"), "delay": sb.buffer("delay"), "loads": loads,
                "stores": self._stores(sb, code), "code": code, "uses_rng": uses_rng,
                "rng_stream": (1 << 26) + sb.index}

    def generate(self) -> Program:
        layout = self.layout()
        layout.serial = self.serial is True or (self.serial == "auto" and self.runs_serially(layout))
        # a bit per cell and step, or a byte (the number of spikes) for models that emit several, and on CPU
        # devices, where the atomic OR of a bit field keeps the compiler from vectorising the neuron update;
        # one work-item (serial) sets bits while it scans the spike flags, outside the neuron loop
        layout.place_spike_records(lambda b: b.model.multiple_spikes or (self.spike_bytes and not layout.serial))
        env = _env()
        prelude = self.dialect.prelude(self.precision)
        # every kernel starts with the same five arguments, so the runtime can treat them alike; rng_epoch (the
        # recording segment: it grows at each reset) joins the key of every random draw, so trials differ
        common_args = [KernelArg("step_base", "int", buffer=False), KernelArg("chunk_start", "int", buffer=False),
                       KernelArg("spiked", "unsigned char*"), KernelArg("inbuf", "scalar*"),
                       KernelArg("rng_epoch", "int", buffer=False)]

        nargs = []
        self._source_values = {}    # table index -> a current the one work-item computes once per source and step
        blocks = [self._neuron_block(b, layout, nargs) for b in layout.neuron_blocks]
        for table in layout.source_tables:
            nargs += [KernelArg(table.param_buffer, "scalar*"), KernelArg(table.rows_buffer, "int*")]
            if table.model.extra_globals:
                nargs.append(KernelArg(table.at_buffer, "int*"))
            for e in table.model.extra_globals:
                nargs.append(KernelArg(table.egp_buffer(e.name), f"{e.type}*"))
        if layout.spike_words:
            nargs.append(KernelArg(SPIKE_RECORD, "unsigned int*"))
        for band in layout.signal_bands:
            nargs += [KernelArg(band.buffer, "scalar*"), KernelArg(band.columns, "int*")]
        history = any(sb.model.post_trace for sb in layout.synapse_blocks)
        if history:   # buffers shared by the neuron kernel (writes) and the propagation kernel (reads)
            hargs = [KernelArg("pg_hist_t", "scalar*"), KernelArg("pg_hist_k", "scalar*"),
                     KernelArg("pg_hist_n", "int*"), KernelArg("pg_tau_minus", "scalar*"),
                     KernelArg(ERRORS, "int*")]
            nargs += hargs
        if any(b["unstable"] for b in blocks):
            _add_arg(nargs, KernelArg(ERRORS, "int*"))
        sargs = list(hargs) if history else []
        if layout.synapse_blocks:   # the rows of neuron n: pg_pre_rows[pg_pre_row_start[n] ... pg_pre_row_start[n + 1]]
            sargs += [KernelArg("pg_pre_row_start", "int*"), KernelArg("pg_pre_rows", "int*")]
        sblocks = [self._synapse_block(sb, sargs) for sb in layout.synapse_blocks]
        procedural = [self._procedural_block(block, sargs) for block in layout.procedural_blocks]
        pargs = []
        pblocks = [p for p in (self._post_block(sb, pargs) for sb in layout.synapse_blocks) if p]
        dargs = []
        dblocks = [d for d in (self._dynamics_block(sb, dargs) for sb in layout.synapse_blocks) if d]
        # the neurons' last spike times, kept by the neuron kernel when a synapse snippet reads st_pre/st_post
        spike_times = any(sb.model.uses_spike_times() for sb in layout.synapse_blocks)
        previous_spike_times = any(sb.model.uses_previous_spike_times() for sb in layout.synapse_blocks)
        if spike_times:
            nargs.append(KernelArg("pg_st", "scalar*"))
        if previous_spike_times:
            nargs.append(KernelArg("pg_prev_st", "scalar*"))
        reads_neurons = spike_times or any(sb.pre_block or sb.post_block for sb in layout.synapse_blocks)
        seed = int(self.net.seed) & 0xFFFFFFFFFFFFFFFF
        values = dict(prelude=prelude, n_total=layout.n_total, n_slots=layout.n_slots, n_rows=layout.n_rows,
                      ring_stride=layout.n_receptor_planes * layout.n_total, blocks=blocks, sblocks=sblocks,
                      rk=self._rk_literals(), dt=_literal(self.net.dt, self.single), seed_lo=seed & 0xFFFFFFFF,
                      seed_hi=seed >> 32, history=history, history_size=self.history_size, pblocks=pblocks,
                      n_columns=layout.n_columns, n_workers=layout.n_workers, dblocks=dblocks,
                      n_dynamics=layout.n_dynamics, procedural=procedural, delivers=layout.delivers,
                      spike_times=spike_times, previous_spike_times=previous_spike_times, atomic=True, scan_bands=[],
                      spike_record=SPIKE_RECORD, spike_words=layout.spike_words, spike_scan=False,
                      source_values=list(self._source_values.values()))
        # One fused launch per step needs delays of two steps or more, and no synapse code reading what the
        # neuron part of the same launch writes (spike history, spike times, neuron variables); nor a
        # postsynaptic learning or per-step synapse pass.
        min_delay = self.net.min_delay_steps()
        fuse = self.fuse if self.fuse != "cpu" else any(b.model.ode for b in layout.neuron_blocks)
        if (fuse and layout.delivers and not history and not reads_neurons and not pblocks and not dblocks
                and min_delay >= 2):
            fused = common_args + nargs
            for a in sargs:
                _add_arg(fused, a)
            kernels = {"network_step": fused}
        else:   # launched in this order in every step
            kernels = {"neuron_update": common_args + nargs}
            if dblocks:
                kernels["synapse_dynamics"] = common_args + dargs
            if layout.delivers:
                kernels["spike_propagation"] = common_args + sargs
            if pblocks:
                kernels["post_learning"] = common_args + pargs
        if layout.serial:
            merged = []
            for args in kernels.values():
                for a in args:
                    _add_arg(merged, a)
            values.update(n_workers=1, atomic=False, spike_scan=True,
                          scan_bands=[_band_entry(band) for band in layout.spike_bands
                                                                 if not band.counts],
                          sampled_records=self._sampled_records(layout, blocks, merged))
            kernels = {"network_steps": merged + [KernelArg("pg_steps", "int", buffer=False)]}
        packed = self._packing(layout)
        sources = []
        for name, args in kernels.items():
            args, aliases = _pack_args(args, packed)
            kernels[name] = args
            # Not restrict in network_steps: there PoCL's compiler was seen to hoist a load, from a buffer that the
            # step loop writes, out of that loop (a recorded state variable kept its first value).
            restrict = name != "network_steps"
            text = env.get_template(f"{name}.c.j2").render(
                signature=", ".join(a.declaration(restrict) for a in args), **values)
            head = text.index("{", text.index(f"KERNEL void {name}(")) + 1
            text = text[:head] + "".join(f"\n    {line}" for line in aliases) + text[head:]
            sources.append(text if not sources else text.split(prelude, 1)[1])   # the prelude once
        used = {a.name for args in kernels.values() for a in args}
        return Program(source="\n".join(sources), kernel_args=kernels, layout=layout, dialect=self.dialect.name,
                       precision=self.precision, packed={k: v for k, v in packed.items() if k in used})

    @staticmethod
    def _sampled_records(layout: Layout, blocks: list, args: list) -> list:
        """Recorded state variables that the one work-item of network_steps copies after the neuron loop, from
        the recorded cells only (the list of them: ``band.cells``), rather than by a scattered store that every
        cell of the loop tests for."""
        out = []
        for band in layout.signal_bands:
            b = band.block
            if band.variable in b.scalar_vars:
                source = f"{b.state_buffer}[{b.scalar_vars.index(band.variable) * b.size} + pg_cell]"
            else:
                source = f"(scalar){b.int_state_buffer}[{b.int_vars.index(band.variable) * b.size} + pg_cell]"
            out.append({"buffer": band.buffer, "cells": band.cells, "ncols": band.ncols, "interval": band.interval,
                        "phase": band.phase, "variable": band.variable, "source": source})
            _add_arg(args, KernelArg(band.cells, "int*"))
        _leave_neuron_loop(blocks, out)
        return out

    def runs_serially(self, layout: Layout) -> bool:
        """Whether one work-item running many steps per launch beats a launch per kernel and step.  Its loops over
        the cells vectorise (a block at a time), while a launch costs more than a small network's whole step;
        only the loop of the adaptive integrator (RKF45) does not vectorise, so many such cells are better spread
        over the cores.  Measured with PoCL on two cores: VA CUBA 4k-256k cells 2x-5x faster in one work-item,
        VA COBA (RK4) 5x, the microcircuit at 10 % and Brunel (Poisson sources) 1.5x-2x; AdEx with RKF45
        about even from 1,000 to 16,000 cells."""
        adaptive = sum(b.size for b in layout.neuron_blocks if b.model.ode and self.integrator(b.model) == "rkf45")
        return adaptive <= SERIAL_MAX_ADAPTIVE_CELLS and layout.n_total <= SERIAL_MAX_CELLS

    def _packing(self, layout: Layout) -> dict:
        """The fixed-size arrays packed into one device buffer each per neuron block (state, parameters, table),
        per synapse block (indices; variables) and for the neurons' rows: PoCL charges every kernel launch per
        buffer argument, so fewer, larger buffers make every step cheaper.  Element counts match the packing
        in :class:`~.simulation.Simulation`; each array starts at a multiple of PACK_ALIGN elements."""
        groups = {}
        for b in layout.neuron_blocks:
            table = len(b.shared_params) + len(b.slots) * len(b.slot_params)
            groups[f"nb{b.index}"] = ("scalar*", [(b.state_buffer, len(b.scalar_vars) * b.size),
                                                  (b.param_buffer, max(len(b.params), 1) * b.size),
                                                  (b.shared_param_buffer, max(table, 1))])
        for sb in layout.synapse_blocks:
            ints = [(sb.buffer("row_start"), sb.rows + 1), (sb.buffer("post"), sb.n_syn),
                    (sb.buffer("delay"), sb.n_syn)]
            if sb.columns:
                ints += [(sb.buffer("col_post"), sb.columns), (sb.buffer("col_start"), sb.columns + 1),
                         (sb.buffer("col_syn"), sb.n_syn)]
            if sb.needs_syn_pre:
                ints.append((sb.buffer("syn_pre"), sb.n_syn))
            groups[f"sb{sb.index}_ints"] = ("int*", ints)
            groups[f"sb{sb.index}_vars"] = ("scalar*", [(sb.buffer(f"var_{v}"), sb.n_syn) for v in sb.scalar_vars])
        if layout.synapse_blocks:
            groups["pg_pre"] = ("int*", [("pg_pre_row_start", layout.n_total + 1), ("pg_pre_rows", layout.n_rows)])
        packed = {}
        for buffer, (ctype, members) in groups.items():
            offset, out = 0, []
            for name, count in members:
                out.append((name, offset, count))
                offset += -(-count // PACK_ALIGN) * PACK_ALIGN
            packed[buffer] = out
        return packed

    def _rk_literals(self) -> dict:
        lit = lambda x: _literal(x, self.single)  # noqa: E731
        return {"a": [[lit(x) for x in row] for row in RKF45["a"]],
                "c": [lit(x) if x else 0 for x in RKF45["c"]], "e": [lit(x) if x else 0 for x in RKF45["e"]],
                "dec": lit(1.1), "inc": lit(0.5), "safety": lit(0.9), "dec_exp": lit(-1 / 5),
                "inc_exp": lit(-1 / 6), "min_factor": lit(0.2), "max_factor": lit(5.0)}
