# SPDX-License-Identifier: MIT
"""mnsched support for gdb: see the goroutines (Gs) of a program linked with
libmnsched, in a live process or a core file.

    info goroutines          every G: id, state, wait reason, how long it
                             has waited, M and P, name, labels, entry function
    goroutine N bt           the stack of G N (N may be "all")
    goroutine N CMD          any gdb command with G N's innermost frame
                             selected (e.g. "goroutine 7 info locals")

A G that is not running is unwound from the registers its last switch saved
(switch_x86_64.S); a running one from the thread of the M that runs it.
Everything the script needs to know about the runtime comes from one object
in it, mn_debug_info (user/src/debug.h): offsets, the stack arenas, the
switch frame.  No runtime DWARF is needed, only symbols.

gdb loads this file by itself for programs linked with libmnsched once it
is installed (`make install`: the library's .debug_gdb_scripts section
names it, as Go's runtime-gdb.py).  In the source tree:
    gdb -x tools/gdb/mnsched.py PROGRAM [PID|CORE]
"""

import struct

import gdb

try:
    from gdb.unwinder import Unwinder, register_unwinder
except ImportError:  # gdb without Python unwinders (< 7.10)
    Unwinder = object
    register_unwinder = None


class MnError(Exception):
    """A clear message for the user, never a traceback."""


# struct mn_debug_info, in order (user/src/debug.h); native alignment
DESC_FIELDS = [
    ("magic", "8s"), ("version", "I"), ("size", "I"), ("tls_m_off", "q"),
    ("allm_addr", "Q"), ("allp_addr", "Q"), ("nprocs_addr", "Q"),
    ("now_addr", "Q"), ("arenas_addr", "Q"), ("narenas_addr", "Q"),
    ("arena_size", "I"), ("arena_base", "I"), ("arena_bytes", "I"),
    ("arena_sclass", "I"), ("page", "I"), ("class_min_shift", "I"),
    ("g_hdr", "I"), ("colour_mul", "I"), ("colours", "I"),
    ("colour_bytes", "I"),
    ("g_size", "I"), ("g_sp", "I"), ("g_status", "I"), ("g_waitreason", "I"),
    ("g_goid", "I"), ("g_fn", "I"), ("g_name", "I"), ("g_parent", "I"),
    ("g_stack_lo", "I"), ("g_stack_hi", "I"), ("g_is_g0", "I"),
    ("g_gopc", "I"), ("g_waitsince", "I"), ("g_labels", "I"),
    ("m_size", "I"), ("m_g0", "I"), ("m_curg", "I"), ("m_p", "I"),
    ("m_id", "I"), ("m_tid", "I"), ("m_alllink", "I"), ("m_spinning", "I"),
    ("p_id", "I"), ("p_m", "I"), ("p_sh", "I"),
    ("ls_size", "I"), ("ls_id", "I"), ("ls_n", "I"), ("ls_kv", "I"),
    ("label_key", "I"), ("label_value", "I"),
    ("sw_rbp", "I"), ("sw_rbx", "I"), ("sw_r12", "I"), ("sw_r13", "I"),
    ("sw_r14", "I"), ("sw_r15", "I"), ("sw_ret", "I"), ("sw_frame", "I"),
    ("trampoline", "Q"), ("waitreasons_addr", "Q"), ("nwaitreasons", "I"),
    ("st_idle", "I"), ("st_runnable", "I"), ("st_running", "I"),
    ("st_syscall", "I"), ("st_waiting", "I"), ("st_dead", "I"),
    ("dump_signal", "i"), ("stall_ms", "I"), ("guard_max", "I"),
]
# "0Q": the trailing padding of the C struct
DESC_FMT = "@" + "".join(f for _, f in DESC_FIELDS) + "0Q"
DESC_VERSION = 2
LABEL_KEY = 32
LABEL_VALUE = 64
MAX_FRAMES = 100


class Desc:
    pass


class G:
    """One G, decoded from a copy of its header."""

    __slots__ = ("addr", "goid", "status", "waitreason", "sp", "fn", "name",
                 "parent", "stack_lo", "stack_hi", "gopc", "waitsince",
                 "labels", "m", "state")


class M:
    __slots__ = ("addr", "id", "tid", "curg", "p", "pid", "spinning")


def _u64(buf, off):
    return struct.unpack_from("<Q", buf, off)[0]


def _u32(buf, off):
    return struct.unpack_from("<I", buf, off)[0]


def _i32(buf, off):
    return struct.unpack_from("<i", buf, off)[0]


class Runtime:
    """A snapshot of the runtime in the selected inferior."""

    def __init__(self):
        self.inf = gdb.selected_inferior()
        if self.inf is None or self.inf.pid == 0 and not self._has_core():
            raise MnError("no process or core file: run the program, attach "
                          "to it or load a core first")
        self.d = self._desc()
        self.reasons = self._reasons()
        self.now = self._read_u64(self.d.now_addr) if self.d.now_addr else 0
        self.ms = self._ms()

    @staticmethod
    def _has_core():
        try:
            return gdb.selected_inferior().threads() != ()
        except gdb.error:
            return False

    def read(self, addr, n):
        if not addr:
            raise gdb.MemoryError("NULL address")
        return bytes(self.inf.read_memory(addr, n))

    def _read_u64(self, addr):
        return _u64(self.read(addr, 8), 0)

    def _desc(self):
        try:
            addr = int(gdb.parse_and_eval("(unsigned long)&mn_debug_info"))
        except gdb.error:
            raise MnError("this program is not linked with libmnsched (no "
                          "symbol mn_debug_info), or its symbols are not "
                          "loaded")
        size = struct.calcsize(DESC_FMT)
        try:
            raw = self.read(addr, size)
        except gdb.MemoryError:
            raise MnError("cannot read mn_debug_info at %#x (a truncated "
                          "core file?)" % addr)
        d = Desc()
        for (name, _), v in zip(DESC_FIELDS, struct.unpack(DESC_FMT, raw)):
            setattr(d, name, v)
        if not d.magic.startswith(b"mnsched"):
            raise MnError("mn_debug_info at %#x does not look like the "
                          "runtime's (magic %r)" % (addr, d.magic))
        if d.version != DESC_VERSION or d.size != size:
            raise MnError("this mnsched.py understands mn_debug_info version "
                          "%d (%d bytes), the program has version %d (%d "
                          "bytes): use the script of its libmnsched"
                          % (DESC_VERSION, size, d.version, d.size))
        if not d.allm_addr:
            raise MnError("the mnsched runtime has not started yet (mn_main "
                          "has not been called)")
        return d

    def _reasons(self):
        names = []
        d = self.d
        for i in range(d.nwaitreasons):
            try:
                p = self._read_u64(d.waitreasons_addr + 8 * i)
                names.append(self.inf.read_memory(p, 32).tobytes()
                             .split(b"\0")[0].decode("ascii", "replace"))
            except gdb.MemoryError:
                names.append("reason %d" % i)
        return names

    def _ms(self):
        d = self.d
        ms = []
        try:
            a = self._read_u64(d.allm_addr)
        except gdb.MemoryError:
            return ms
        seen = set()
        while a and a not in seen and len(ms) < 100000:
            seen.add(a)
            try:
                raw = self.read(a, d.m_size)
            except gdb.MemoryError:
                break
            m = M()
            m.addr = a
            m.id = _i32(raw, d.m_id)
            m.tid = _i32(raw, d.m_tid)
            m.curg = _u64(raw, d.m_curg)
            m.p = _u64(raw, d.m_p)
            m.spinning = raw[d.m_spinning]
            m.pid = -1
            if m.p:
                try:
                    m.pid = _i32(self.read(m.p + d.p_id, 4), 0)
                except gdb.MemoryError:
                    pass
            if m.curg == a + d.m_g0:
                m.curg = 0      # on g0: scheduling, no G
            ms.append(m)
            a = _u64(raw, d.m_alllink)
        return ms

    def status_name(self, g):
        d = self.d
        if g.status == d.st_waiting:
            if 0 <= g.waitreason < len(self.reasons):
                return self.reasons[g.waitreason]
            return "waiting (reason %d)" % g.waitreason
        return {d.st_runnable: "runnable", d.st_running: "running",
                d.st_syscall: "syscall"}.get(g.status, "?%d" % g.status)

    def decode_g(self, addr, raw):
        d = self.d
        g = G()
        g.addr = addr
        g.goid = _u64(raw, d.g_goid)
        g.status = _i32(raw, d.g_status)
        g.waitreason = _i32(raw, d.g_waitreason)
        g.sp = _u64(raw, d.g_sp)
        g.fn = _u64(raw, d.g_fn)
        g.name = _u64(raw, d.g_name)
        g.parent = _u64(raw, d.g_parent)
        g.stack_lo = _u64(raw, d.g_stack_lo)
        g.stack_hi = _u64(raw, d.g_stack_hi)
        g.gopc = _u64(raw, d.g_gopc)
        g.waitsince = _u64(raw, d.g_waitsince)
        g.labels = _u64(raw, d.g_labels)
        g.m = None
        for m in self.ms:
            if m.curg == addr:
                g.m = m
        g.state = self.status_name(g)
        return g

    def gs(self, warn):
        """Every live G, by id.  warn(msg) is told what could not be read."""
        d = self.d
        out = []
        try:
            arenas = self._read_u64(d.arenas_addr)
            narenas = self._read_u64(d.narenas_addr)
        except gdb.MemoryError as e:
            warn("cannot read the stack arena table (%s): no goroutines "
                 "can be listed" % e)
            return out
        alive = (d.st_runnable, d.st_running, d.st_syscall, d.st_waiting)
        known = alive + (d.st_idle, d.st_dead)
        bad_slots = 0
        for a in range(min(narenas, 1 << 24)):
            try:
                ar = self.read(arenas + a * d.arena_size, d.arena_size)
            except gdb.MemoryError as e:
                warn("cannot read stack arena %d of %d (%s): the Gs there "
                     "are missing from this list" % (a, narenas, e))
                continue
            base = _u64(ar, d.arena_base)
            size = _u64(ar, d.arena_bytes)
            sclass = _u32(ar, d.arena_sclass)
            if sclass > 30:
                warn("stack arena %d is corrupt (size class %d)" % (a, sclass))
                continue
            ss = 1 << (sclass + d.class_min_shift)
            if not size or size % ss or size > 1 << 34:
                warn("stack arena %d is corrupt (%d bytes of %d-byte slots)"
                     % (a, size, ss))
                continue
            for off in range(0, size, ss):
                slot = base + off
                colour = ((slot // ss) * d.colour_mul % d.colours) * d.colour_bytes
                gaddr = slot + ss - d.g_hdr - colour
                try:
                    raw = self.read(gaddr, d.g_size)
                except gdb.MemoryError:
                    bad_slots += 1
                    continue
                status = _i32(raw, d.g_status)
                if status not in known:
                    warn("the G header at %#x is corrupt (status %d): "
                         "skipped" % (gaddr, status))
                    continue
                if status not in alive or not _u64(raw, d.g_goid):
                    continue
                # A live G's stack is its slot, from above the guard up to
                # its header; the guard is a 16th of the slot, at least a
                # page, at most guard_max (stack.c's guard_size).
                guard = min(max(ss // 16, d.page), d.guard_max)
                lo, hi = _u64(raw, d.g_stack_lo), _u64(raw, d.g_stack_hi)
                if hi != gaddr or lo != slot + guard:
                    warn("the G header at %#x (goroutine %d?) is corrupt "
                         "(stack [%#x, %#x), its slot is [%#x, %#x)): skipped"
                         % (gaddr, _u64(raw, d.g_goid), lo, hi, slot + guard, gaddr))
                    continue
                out.append(self.decode_g(gaddr, raw))
        if bad_slots:
            warn("%d stack slots could not be read: their Gs, if any, are "
                 "missing (a truncated core?  gcore cannot copy stacks with "
                 "guard pages, Linux 6.13+: use the kernel's core, or run "
                 "with MNSCHED_STACKGUARD=canary)" % bad_slots)
        out.sort(key=lambda g: g.goid)
        return out

    def cstr(self, addr, n=64):
        if not addr:
            return ""
        try:
            b = self.inf.read_memory(addr, n).tobytes()
        except gdb.MemoryError:
            b = b""
            for i in range(n):      # up to an unmapped page
                try:
                    b += self.inf.read_memory(addr + i, 1).tobytes()
                except gdb.MemoryError:
                    break
        s = b.split(b"\0")[0].decode("utf-8", "replace")
        return "".join(c if c.isprintable() else "?" for c in s)

    def labels(self, g):
        d = self.d
        if not g.labels:
            return []
        try:
            raw = self.read(g.labels, d.ls_size)
        except gdb.MemoryError:
            return [("?", "?")]
        n = _u32(raw, d.ls_n)
        if n > 8:
            return [("?", "corrupt label set")]
        out = []
        stride = LABEL_KEY + LABEL_VALUE
        for i in range(n):
            base = d.ls_kv + i * stride
            k = raw[base + d.label_key:base + d.label_key + LABEL_KEY]
            v = raw[base + d.label_value:base + d.label_value + LABEL_VALUE]
            out.append((k.split(b"\0")[0].decode("utf-8", "replace"),
                        v.split(b"\0")[0].decode("utf-8", "replace")))
        return out

    def find(self, goid, warn):
        for g in self.gs(warn):
            if g.goid == goid:
                return g
        return None

    def saved_regs(self, g):
        """Registers of a G that is not running, from its switch frame."""
        d = self.d
        if not (g.stack_lo <= g.sp and g.sp + d.sw_frame <= g.stack_hi):
            raise MnError("its saved stack pointer %#x is outside its stack "
                          "[%#x, %#x)" % (g.sp, g.stack_lo, g.stack_hi))
        try:
            fr = self.read(g.sp, d.sw_frame)
        except gdb.MemoryError as e:
            raise MnError("cannot read its switch frame at %#x (%s)" % (g.sp, e))
        regs = {
            "rip": _u64(fr, d.sw_ret), "rsp": g.sp + d.sw_frame,
            "rbp": _u64(fr, d.sw_rbp), "rbx": _u64(fr, d.sw_rbx),
            "r12": _u64(fr, d.sw_r12), "r13": _u64(fr, d.sw_r13),
            "r14": _u64(fr, d.sw_r14), "r15": _u64(fr, d.sw_r15),
        }
        if regs["rip"] < 4096:
            raise MnError("its saved return address %#x is not code (the "
                          "stack was overwritten?)" % regs["rip"])
        return regs


def sym(addr):
    """'func+off' for a code address, or hex."""
    if not addr:
        return "?"
    try:
        b = gdb.block_for_pc(addr)
        while b is not None and b.function is None:
            b = b.superblock
        if b is not None and b.function is not None:
            return "%s+%d" % (b.function.print_name, addr - b.start)
    except RuntimeError:
        pass
    try:
        s = gdb.execute("info symbol %#x" % addr, to_string=True).strip()
        if not s.startswith("No symbol"):
            return s.split(" in section")[0].replace(" + ", "+")
    except gdb.error:
        pass
    return "%#x" % addr


def where(addr):
    """'file:line' of a return address, or ''."""
    try:
        sal = gdb.find_pc_line(addr - 1)
        if sal.symtab is not None:
            return "%s:%d" % (sal.symtab.filename, sal.line)
    except RuntimeError:
        pass
    return ""


def fmt_wait(rt, g):
    if g.status != rt.d.st_waiting or not g.waitsince or not rt.now or \
            rt.now < g.waitsince:
        return "-"
    s = (rt.now - g.waitsince) / 1e9
    if s < 1:
        return "%dms" % (s * 1000)
    if s < 120:
        return "%.1fs" % s
    if s < 7200:
        return "%.0fm" % (s / 60)
    return "%.1fh" % (s / 3600)


def fn_name(addr):
    if not addr:
        return "?"
    try:
        b = gdb.block_for_pc(addr)
        while b is not None and b.function is None:
            b = b.superblock
        if b is not None and b.function is not None:
            return b.function.print_name
    except RuntimeError:
        pass
    s = sym(addr)
    return s.split("+")[0]


def current_goid(rt):
    th = gdb.selected_thread()
    if th is None:
        return 0
    tid = th.ptid[1] or th.ptid[0]
    for m in rt.ms:
        if m.tid == tid and m.curg:
            try:
                return _u64(rt.read(m.curg + rt.d.g_goid, 8), 0)
            except gdb.MemoryError:
                return 0
    return 0


def warn(msg):
    gdb.write("mnsched: %s\n" % msg, gdb.STDERR)


class GoroutineUnwinder(Unwinder):
    """While a parked G is being shown, the selected thread's frame 0
    "returns" into that G: its caller's registers are the G's saved ones.
    Otherwise it does nothing."""

    def __init__(self):
        super().__init__("mnsched-goroutine")
        self.regs = None

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        sp = pending_frame.read_register("rsp")
        pc = pending_frame.read_register("rip")
        info = pending_frame.create_unwind_info(FrameId(sp, pc))
        for name, val in self.regs.items():
            t = pending_frame.read_register(name).type
            info.add_saved_register(name, gdb.Value(val).cast(t))
        return info


class FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


unwinder = GoroutineUnwinder()
if register_unwinder is not None:
    register_unwinder(None, unwinder, replace=True)


def frame_line(level, f):
    pc = f.pc()
    name = f.name() or "??"
    s = "#%-3d 0x%016x in %s" % (level, pc, name)
    try:
        sal = f.find_sal()
        if sal.symtab is not None:
            s += " at %s:%d" % (sal.symtab.filename, sal.line)
        elif f.type() != gdb.INLINE_FRAME:
            lib = gdb.solib_name(pc)
            if lib:
                s += " from %s" % lib
    except (gdb.error, RuntimeError):
        pass
    return s


def print_frames(first, out):
    """Frames from `first` on; stops at mn_g_start's caller (the
    trampoline), an error (a corrupt stack) or MAX_FRAMES."""
    f, level = first, 0
    while f is not None and level < MAX_FRAMES:
        out(frame_line(level, f))
        if f.name() == "mn_g_start":
            return
        try:
            f = f.older()
        except (gdb.error, gdb.MemoryError) as e:
            out("     (cannot unwind further: %s)" % e)
            return
        level += 1
    if f is not None:
        out("     ...")


class SavedThread:
    """Select thread th (or keep the current one) and come back after."""

    def __init__(self, th=None):
        self.th = th

    def __enter__(self):
        self.old = gdb.selected_thread()
        try:
            self.old_frame = gdb.selected_frame()
        except gdb.error:
            self.old_frame = None
        if self.th is not None:
            self.th.switch()
        return self

    def __exit__(self, *exc):
        unwinder.regs = None
        gdb.invalidate_cached_frames()
        if self.old is not None and self.old.is_valid():
            self.old.switch()
            if self.old_frame is not None and self.old_frame.is_valid():
                try:
                    self.old_frame.select()
                except gdb.error:
                    pass
        return False


def thread_of(tid):
    for th in gdb.selected_inferior().threads():
        if th.ptid[1] == tid or (th.ptid[1] == 0 and th.ptid[0] == tid):
            return th
    return None


def g_context(rt, g):
    """A context manager that shows G g's stack from gdb.newest_frame()
    (running: its M's thread) or from newest().older() (parked)."""
    if g.m is not None:
        th = thread_of(g.m.tid)
        if th is None:
            raise MnError("it runs on M %d, thread %d, which gdb does not "
                          "have (a core without that thread?)" % (g.m.id, g.m.tid))
        return SavedThread(th), False
    if g.status in (rt.d.st_running, rt.d.st_syscall):
        raise MnError("it is running but no M has it as its G (it was "
                      "switching when the process stopped)")
    if g.sp and _is_trampoline(rt, g):
        raise MnError("not started yet: it will run %s" % sym(g.fn))
    regs = rt.saved_regs(g)
    if register_unwinder is None:
        raise MnError("this gdb has no Python unwinders (gdb 7.10 or later "
                      "is needed)")
    return SavedThread(None), regs


def _is_trampoline(rt, g):
    try:
        ret = _u64(rt.read(g.sp + rt.d.sw_ret, 8), 0)
    except gdb.MemoryError:
        return False
    return ret == rt.d.trampoline


def run_in_g(rt, g, body):
    """Call body(first_frame) with G g's stack visible."""
    ctx, regs = g_context(rt, g)
    with ctx:
        if regs:
            if gdb.selected_thread() is None:
                raise MnError("no thread to borrow for the unwinding")
            unwinder.regs = regs
            gdb.invalidate_cached_frames()
            first = gdb.newest_frame().older()
            if first is None:
                raise MnError("gdb could not unwind from its saved registers")
        else:
            gdb.invalidate_cached_frames()
            first = gdb.newest_frame()
        body(first)


def g_header(rt, g):
    s = "goroutine %d [%s" % (g.goid, g.state)
    w = fmt_wait(rt, g)
    if w != "-":
        s += ", %s" % w
    s += "]"
    if g.name:
        s += " (%s)" % rt.cstr(g.name)
    lab = rt.labels(g)
    if lab:
        s += " {%s}" % ", ".join("%s=%s" % kv for kv in lab)
    if g.m is not None:
        s += " on M %d (thread %d)" % (g.m.id, g.m.tid)
        if g.m.pid >= 0:
            s += ", P %d" % g.m.pid
    return s + ":"


def g_bt(rt, g, out):
    out(g_header(rt, g))
    try:
        run_in_g(rt, g, lambda first: print_frames(first, out))
    except MnError as e:
        out("     (%s)" % e)
    except (gdb.error, gdb.MemoryError, RuntimeError) as e:
        out("     (cannot show its stack: %s)" % e)
    if g.parent:
        out("     created by goroutine %d at %s %s" % (g.parent, sym(g.gopc),
                                                     where(g.gopc)))
    elif g.gopc:
        out("     created at %s %s" % (sym(g.gopc), where(g.gopc)))


def guarded(fn):
    """Run a command body: MnError as a message, anything else as a short
    internal error, never a Python traceback."""
    def wrapper(self, arg, from_tty):
        try:
            fn(self, arg, from_tty)
        except MnError as e:
            gdb.write("mnsched: %s\n" % e, gdb.STDERR)
        except KeyboardInterrupt:
            gdb.write("mnsched: interrupted\n", gdb.STDERR)
        except Exception as e:    # pylint: disable=broad-except
            gdb.write("mnsched: internal error: %s: %s\n"
                      % (type(e).__name__, e), gdb.STDERR)
    return wrapper


class InfoGoroutines(gdb.Command):
    """List the goroutines (Gs) of an mnsched program.
Usage: info goroutines
Id, state or wait reason, time waited, the M and P running it, name,
labels and entry function.  * marks the G of the selected thread."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK)

    @guarded
    def invoke(self, arg, from_tty):
        rt = Runtime()
        cur = current_goid(rt)
        gs = rt.gs(warn)
        gdb.write("  %-7s %-20s %-7s %-4s %-4s %-14s %s\n"
                  % ("Id", "State", "Waited", "M", "P", "Name", "Function"))
        for g in gs:
            name = rt.cstr(g.name)
            lab = rt.labels(g)
            if lab:
                name += " {%s}" % ",".join("%s=%s" % kv for kv in lab)
            gdb.write("%s %-7d %-20s %-7s %-4s %-4s %-14s %s\n" % (
                "*" if g.goid == cur else " ", g.goid, g.state,
                fmt_wait(rt, g), g.m.id if g.m else "-",
                g.m.pid if g.m and g.m.pid >= 0 else "-", name or "-",
                fn_name(g.fn)))
        gdb.write("%d goroutines, %d Ms\n" % (len(gs), len(rt.ms)))


class GoroutineCmd(gdb.Command):
    """Show or act on one goroutine, or all of them.
Usage: goroutine N bt       the stack of G N
       goroutine all bt     every G's stack
       goroutine N CMD      run gdb command CMD with G N's innermost frame
                            selected (e.g. goroutine 7 info locals)"""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK)

    @guarded
    def invoke(self, arg, from_tty):
        argv = arg.split(None, 1)
        if len(argv) < 2:
            raise MnError("usage: goroutine N|all bt, or goroutine N COMMAND")
        which, cmd = argv[0], argv[1].strip()
        rt = Runtime()
        out = lambda s: gdb.write(s + "\n")
        if which == "all":
            if cmd not in ("bt", "backtrace", "where"):
                raise MnError("goroutine all: only bt")
            for g in rt.gs(warn):
                g_bt(rt, g, out)
                out("")
            return
        try:
            goid = int(which, 0)
        except ValueError:
            raise MnError("'%s' is not a goroutine id (a number, or all)" % which)
        g = rt.find(goid, warn)
        if g is None:
            raise MnError("no goroutine %d (dead, or never existed)" % goid)
        if cmd in ("bt", "backtrace", "where"):
            g_bt(rt, g, out)
            return

        def body(first):
            first.select()
            gdb.execute(cmd, from_tty)
        run_in_g(rt, g, body)


InfoGoroutines()
GoroutineCmd()
