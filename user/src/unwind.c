// SPDX-License-Identifier: MIT
/*
 * unwind.c - stacks of Gs for dumps and stall reports, symbolized.
 *
 * A G that is not running has its registers in the switch frame at g->sp
 * (switch_x86_64.S); a running one has them captured by a signal on its M
 * (debug.c).  Either way we start from a struct mn_regs and, when we have
 * one, a copy of the stack taken while it was still, and walk it:
 *
 *  - with libdw (elfutils, Debian's libdw1): CFI unwinding from the
 *    registers through our own Dwfl_Thread_Callbacks, and function, offset,
 *    file and line for each frame.  libdw is dlopen'ed at the first dump, so
 *    libmnsched links nothing more and a program without libdw still gets
 *    stacks, from:
 *  - frame pointers (libmnsched is built with them; user code at -O2 is
 *    not, so frames of such code may be missing) and dladdr() names.
 *
 * Every read of the target memory goes through mn_safe_read
 * (process_vm_readv on ourselves): a corrupt stack yields a short or odd
 * stack, never a fault, and sanitizers do not see the racy reads.
 * Callers serialize (debug.c holds its dump lock).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "runtime.h"
#include "debug.h"

#if __has_include(<elfutils/libdwfl.h>)
#include <elfutils/libdwfl.h>
#define MN_HAVE_LIBDW 1
#else
#define MN_HAVE_LIBDW 0
#endif

static pid_t self_pid;

int mn_safe_read(void *dst, uint64_t src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)src, n };
	long got;

	if (!self_pid)
		self_pid = (pid_t)syscall(SYS_getpid);
	if (!src || n == 0)
		return n ? -EFAULT : 0;
	got = mn_syscall6(SYS_process_vm_readv, self_pid, (long)&l, 1,
			  (long)&r, 1, 0);
	return got == (long)n ? 0 : -EFAULT;
}

/*
 * Read a word: from the copy when it covers addr, else live memory.  The
 * bounds are checked as offsets into the copy: addr comes from the stack
 * being unwound, and a wild one near 2^64 (a CFA of -8) made "addr + 8"
 * wrap to 0 and pass, and the copy was read at a wild address.
 */
static bool read_word(const struct mn_stackcopy *sc, uint64_t addr,
		      uint64_t *out)
{
	if (sc && sc->buf && addr >= sc->lo && sc->len >= 8 &&
	    addr - sc->lo <= sc->len - 8) {
		memcpy(out, sc->buf + (addr - sc->lo), 8);
		return true;
	}
	return mn_safe_read(out, addr, 8) == 0;
}

/* ---- frame pointers (no libdw) ----------------------------------------- */

static int unwind_fp(const struct mn_regs *regs, const struct mn_stackcopy *sc,
		     uint64_t *pcs, int max)
{
	uint64_t fp, next, ret;
	int n = 0;

	if (!(regs->valid & (1u << MN_REG_RIP)) || max <= 0)
		return 0;
	pcs[n++] = regs->r[MN_REG_RIP];
	if (!(regs->valid & (1u << MN_REG_RBP)))
		return n;
	fp = regs->r[MN_REG_RBP];
	while (n < max && fp && !(fp & 7)) {
		if (!read_word(sc, fp, &next) || !read_word(sc, fp + 8, &ret) ||
		    ret < 4096)
			break;
		pcs[n++] = ret;
		if (next <= fp)		/* the stack grows down: callers are above */
			break;
		fp = next;
	}
	return n;
}

/* Test hook: the frame-pointer walk over a stack copy [lo, lo + len). */
__attribute__((visibility("default")))
int mn_debug_unwind_fp(uint64_t rip, uint64_t rbp, uint64_t lo,
		       const void *buf, size_t len, uint64_t *pcs, int max);
int mn_debug_unwind_fp(uint64_t rip, uint64_t rbp, uint64_t lo,
		       const void *buf, size_t len, uint64_t *pcs, int max)
{
	struct mn_regs regs = { .valid = 1u << MN_REG_RIP | 1u << MN_REG_RBP };
	struct mn_stackcopy sc = { lo, len, buf };

	regs.r[MN_REG_RIP] = rip;
	regs.r[MN_REG_RBP] = rbp;
	return unwind_fp(&regs, &sc, pcs, max);
}

/* ---- libdw ---------------------------------------------------------------- */

#if MN_HAVE_LIBDW
static struct {
	bool tried, ok;
	void *h;
	Dwfl *dwfl;
	Dwfl *(*begin)(const Dwfl_Callbacks *);
	void (*report_begin_add)(Dwfl *);
	int (*linux_proc_report)(Dwfl *, pid_t);
	int (*report_end)(Dwfl *, void *, void *);
	int (*linux_proc_find_elf)(Dwfl_Module *, void **, const char *,
				   Dwarf_Addr, char **, Elf **);
	int (*standard_find_debuginfo)(Dwfl_Module *, void **, const char *,
				       Dwarf_Addr, const char *, const char *,
				       GElf_Word, char **);
	bool (*attach_state)(Dwfl *, Elf *, pid_t,
			     const Dwfl_Thread_Callbacks *, void *);
	int (*getthread_frames)(Dwfl *, pid_t, int (*)(Dwfl_Frame *, void *),
				void *);
	bool (*thread_state_registers)(Dwfl_Thread *, int, unsigned,
				       const Dwarf_Word *);
	void (*thread_state_register_pc)(Dwfl_Thread *, Dwarf_Word);
	bool (*frame_pc)(Dwfl_Frame *, Dwarf_Addr *, bool *);
	Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
	const char *(*module_addrinfo)(Dwfl_Module *, GElf_Addr, GElf_Off *,
				       GElf_Sym *, GElf_Word *, Elf **,
				       Dwarf_Addr *);
	Dwfl_Line *(*module_getsrc)(Dwfl_Module *, Dwarf_Addr);
	const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *,
				Dwarf_Word *, Dwarf_Word *);
	const char *(*module_info)(Dwfl_Module *, void ***, Dwarf_Addr *,
				   Dwarf_Addr *, Dwarf_Addr *, Dwarf_Addr *,
				   const char **, const char **);
} dw;

/* The G being unwound: libdw's callbacks have no other way to get it. */
static struct {
	const struct mn_regs *regs;
	const struct mn_stackcopy *sc;
	uint64_t *pcs;
	int n, max;
} cur;

#define FAKE_TID 0x7fffffff	/* libdw wants a thread id; ours are Gs */

static pid_t dw_next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	return 0;	/* only get_thread: there is no list */
}

static bool dw_get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg,
			  void **thread_argp)
{
	*thread_argp = NULL;
	return tid == FAKE_TID && cur.regs;
}

static bool dw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			   void *dwfl_arg)
{
	uint64_t v;

	if (!read_word(cur.sc, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool dw_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	/* DWARF register numbers of x86-64 for MN_REG_* (RIP separate) */
	static const int dwarf_no[MN_NREGS] = {
		[MN_REG_RSP] = 7, [MN_REG_RBP] = 6, [MN_REG_RBX] = 3,
		[MN_REG_R12] = 12, [MN_REG_R13] = 13, [MN_REG_R14] = 14,
		[MN_REG_R15] = 15,
	};
	const struct mn_regs *r = cur.regs;
	Dwarf_Word pc = r->r[MN_REG_RIP];

	for (int i = MN_REG_RSP; i < MN_NREGS; i++) {
		Dwarf_Word v = r->r[i];

		if ((r->valid & (1u << i)) &&
		    !dw.thread_state_registers(thread, dwarf_no[i], 1, &v))
			return false;
	}
	/* A return address is looked up inside its call instruction (the
	 * call may be the last one of a noreturn caller). */
	dw.thread_state_register_pc(thread, r->rip_is_ret ? pc - 1 : pc);
	return true;
}

static const Dwfl_Thread_Callbacks dw_thread_cbs = {
	.next_thread = dw_next_thread,
	.get_thread = dw_get_thread,
	.memory_read = dw_memory_read,
	.set_initial_registers = dw_set_initial_registers,
};

/* Separate debug files by build-id and debuglink, but never debuginfod: a
 * dump must not wait for the network. */
static int dw_find_debuginfo(Dwfl_Module *mod, void **userdata,
			     const char *modname, Dwarf_Addr base,
			     const char *file, const char *debuglink,
			     GElf_Word crc, char **debuginfo_file_name)
{
	if (mn_sched.env.debuginfod)
		return -1;
	return dw.standard_find_debuginfo(mod, userdata, modname, base, file,
					  debuglink, crc, debuginfo_file_name);
}

static char *dw_debuginfo_path;
static Dwfl_Callbacks dw_cbs = {
	.find_debuginfo = dw_find_debuginfo,
	.debuginfo_path = &dw_debuginfo_path,
};

static int dw_frame(Dwfl_Frame *state, void *arg)
{
	Dwarf_Addr pc;
	bool act;

	if (cur.n >= cur.max || !dw.frame_pc(state, &pc, &act) || pc < 4096)
		return DWARF_CB_ABORT;
	if (cur.n == 0 && cur.regs->rip_is_ret)
		pc += 1;	/* we started it at the call instruction */
	cur.pcs[cur.n++] = pc;
	return DWARF_CB_OK;
}

#define DW_SYM(f, name) do {						\
	*(void **)&dw.f = dlsym(dw.h, name);				\
	if (!dw.f)							\
		goto fail;						\
} while (0)

static bool dw_load(void)
{
	dw.h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dw.h)
		return false;
	DW_SYM(begin, "dwfl_begin");
	DW_SYM(report_begin_add, "dwfl_report_begin_add");
	DW_SYM(linux_proc_report, "dwfl_linux_proc_report");
	DW_SYM(report_end, "dwfl_report_end");
	DW_SYM(linux_proc_find_elf, "dwfl_linux_proc_find_elf");
	DW_SYM(standard_find_debuginfo, "dwfl_standard_find_debuginfo");
	DW_SYM(attach_state, "dwfl_attach_state");
	DW_SYM(getthread_frames, "dwfl_getthread_frames");
	DW_SYM(thread_state_registers, "dwfl_thread_state_registers");
	DW_SYM(thread_state_register_pc, "dwfl_thread_state_register_pc");
	DW_SYM(frame_pc, "dwfl_frame_pc");
	DW_SYM(addrmodule, "dwfl_addrmodule");
	DW_SYM(module_addrinfo, "dwfl_module_addrinfo");
	DW_SYM(module_getsrc, "dwfl_module_getsrc");
	DW_SYM(lineinfo, "dwfl_lineinfo");
	DW_SYM(module_info, "dwfl_module_info");
	dw_cbs.find_elf = dw.linux_proc_find_elf;
	dw.dwfl = dw.begin(&dw_cbs);
	if (!dw.dwfl)
		goto fail;
	dw.report_begin_add(dw.dwfl);
	if (dw.linux_proc_report(dw.dwfl, getpid()) != 0 ||
	    dw.report_end(dw.dwfl, NULL, NULL) != 0 ||
	    !dw.attach_state(dw.dwfl, NULL, getpid(), &dw_thread_cbs, NULL))
		goto fail;	/* dw.dwfl is leaked: this happens once */
	return true;
fail:
	dw.dwfl = NULL;
	return false;
}

bool mn_unwind_init(void)
{
	if (!dw.tried) {
		dw.tried = true;
		dw.ok = !mn_sched.env.no_libdw && dw_load();
	} else if (dw.ok) {
		/* Libraries dlopen'ed since the last dump. */
		dw.report_begin_add(dw.dwfl);
		dw.linux_proc_report(dw.dwfl, getpid());
		dw.report_end(dw.dwfl, NULL, NULL);
	}
	return dw.ok;
}

const char *mn_unwinder_name(void)
{
	return dw.ok ? "libdw" : "frame pointers";
}

int mn_unwind(const struct mn_regs *regs, const struct mn_stackcopy *sc,
	      uint64_t *pcs, int max)
{
	int n;

	if (!dw.ok || !(regs->valid & (1u << MN_REG_RIP)))
		return unwind_fp(regs, sc, pcs, max);
	cur.regs = regs;
	cur.sc = sc;
	cur.pcs = pcs;
	cur.n = 0;
	cur.max = max;
	dw.getthread_frames(dw.dwfl, FAKE_TID, dw_frame, NULL);
	n = cur.n;
	cur.regs = NULL;
	/* CFI gave up at once (no CFI for the first pc): frame pointers. */
	if (n <= 1)
		return unwind_fp(regs, sc, pcs, max);
	return n;
}

static bool dw_symbolize(uint64_t pc, bool ret, char *buf, size_t n)
{
	uint64_t a = ret ? pc - 1 : pc;
	Dwfl_Module *mod = dw.addrmodule(dw.dwfl, a);
	const char *name, *src = NULL, *file = NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	int lineno = 0;

	if (!mod)
		return false;
	name = dw.module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL);
	line = dw.module_getsrc(mod, a);
	if (line)
		src = dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	if (!src)
		dw.module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
	if (ret)
		off += 1;
	if (name && src)
		snprintf(buf, n, "%s+0x%llx (%s:%d)", name,
			 (unsigned long long)off, src, lineno);
	else if (name)
		snprintf(buf, n, "%s+0x%llx (%s)", name,
			 (unsigned long long)off, file ? file : "?");
	else
		snprintf(buf, n, "?? (%s)", file ? file : "?");
	return true;
}
#else /* !MN_HAVE_LIBDW */
bool mn_unwind_init(void)
{
	return false;
}

const char *mn_unwinder_name(void)
{
	return "frame pointers";
}

int mn_unwind(const struct mn_regs *regs, const struct mn_stackcopy *sc,
	      uint64_t *pcs, int max)
{
	return unwind_fp(regs, sc, pcs, max);
}

static bool dw_symbolize(uint64_t pc, bool ret, char *buf, size_t n)
{
	return false;
}
#endif

void mn_symbolize(uint64_t pc, bool ret, char *buf, size_t n)
{
	Dl_info di;

#if MN_HAVE_LIBDW
	if (dw.ok && dw_symbolize(pc, ret, buf, n))
		return;
#else
	(void)dw_symbolize;
#endif
	if (dladdr((void *)(uintptr_t)(ret ? pc - 1 : pc), &di) && di.dli_fname) {
		if (di.dli_sname)
			snprintf(buf, n, "%s+0x%llx (%s)", di.dli_sname,
				 (unsigned long long)(pc - (uintptr_t)di.dli_saddr),
				 di.dli_fname);
		else
			snprintf(buf, n, "?? (%s+0x%llx)", di.dli_fname,
				 (unsigned long long)(pc - (uintptr_t)di.dli_fbase));
		return;
	}
	snprintf(buf, n, "??");
}

void mn_print_frames(FILE *f, const uint64_t *pcs, int n, bool first_is_ret)
{
	char sym[512];

	for (int i = 0; i < n; i++) {
		mn_symbolize(pcs[i], i > 0 || first_is_ret, sym, sizeof(sym));
		fprintf(f, "\t#%-2d 0x%016llx %s\n", i,
			(unsigned long long)pcs[i], sym);
	}
}
