// SPDX-License-Identifier: MIT
/*
 * debug.c - G dumps with stacks (on a signal, and in the deadlock report),
 * stall reports, and mn_debug_info for gdb and mnsched-prof.
 *
 * MNSCHED_DEBUG=dump=SIGNAL: SIGQUIT dumps every G and exits with status 2,
 *   as Go does; SIGUSR1, SIGUSR2 or SIGHUP dump and let the program go on.
 *   Without the setting no handler is installed (SIGQUIT keeps its default:
 *   a core dump, which tools/gdb/mnsched.py reads).
 * MNSCHED_DEBUG=stall=MS: a G that runs MS ms without a G switch is
 *   reported once per stall, with its stack.
 *
 * Signal safety.  The dump signal's handler only sets a bit and wakes the
 * debug thread with a raw futex call.  That thread (started only when one
 * of the settings is given; every signal but the faults blocked) does the
 * work: it walks the stack arenas with fault-safe reads (mn_safe_read)
 * instead of taking the runtime's locks, unwinds and symbolizes (unwind.c),
 * and prints.
 * The stack of a G that is running is taken by its own thread: the debug
 * thread sends SIGURG (as Go's preemption does) to that M's thread, whose
 * handler copies its registers and the G's stack into a preallocated
 * buffer with process_vm_readv (no malloc, nothing but system calls and
 * stores) and wakes the debug thread; it then unwinds the copy.  A thread
 * sleeping in the kernel is not signalled (that would cut a nanosleep
 * short): its user pc and sp come from /proc/self/task/TID/syscall and its
 * kernel stack from /proc/self/task/TID/stack (root only).
 *
 * The deadlock report (proc.c) calls mn_debug_dump on the M that found the
 * deadlock; every G is parked then, so no signal is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"

_Atomic uint64_t mn_debug_now MN_HIDDEN;

/* ---- settings ------------------------------------------------------------ */

static int dump_sig;		/* 0: no dump signal */
static bool dump_exit;
static uint64_t stall_ns;	/* 0: no stall reports */

static const struct {
	const char *name;
	int sig;
	bool exit;
} dump_sigs[] = {
	{ "SIGQUIT", SIGQUIT, true },
	{ "SIGUSR1", SIGUSR1, false },
	{ "SIGUSR2", SIGUSR2, false },
	{ "SIGHUP", SIGHUP, false },
};

static const char *signame(int sig)
{
	for (size_t i = 0; i < sizeof(dump_sigs) / sizeof(dump_sigs[0]); i++)
		if (dump_sigs[i].sig == sig)
			return dump_sigs[i].name;
	return "signal";
}

int mn_debug_setting(const char *key, const char *value)
{
	if (!strcmp(key, "dump")) {
		if (!strcmp(value, "0")) {
			dump_sig = 0;
			return 0;
		}
		if (!strcmp(value, "1"))
			value = "SIGQUIT";
		for (size_t i = 0; i < sizeof(dump_sigs) / sizeof(dump_sigs[0]); i++) {
			if (!strcmp(value, dump_sigs[i].name) ||
			    !strcmp(value, dump_sigs[i].name + 3)) {
				dump_sig = dump_sigs[i].sig;
				dump_exit = dump_sigs[i].exit;
				return 0;
			}
		}
		fprintf(stderr, "mnsched: MNSCHED_DEBUG: dump=%s: want SIGQUIT "
			"(dump every goroutine and exit 2, as Go), SIGUSR1, "
			"SIGUSR2 or SIGHUP (dump and continue), or 0\n", value);
		return -EINVAL;
	}
	if (!strcmp(key, "stall")) {
		char *end;
		long v;
		int saved = errno;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || !*value || *end || v < 0 || v > 3600 * 1000) {
			errno = saved;
			fprintf(stderr, "mnsched: MNSCHED_DEBUG: stall=%s: want a "
				"number of milliseconds (1..3600000; 0 off)\n", value);
			return -EINVAL;
		}
		errno = saved;
		stall_ns = (uint64_t)v * 1000000ull;
		return 0;
	}
	return 1;
}

/* ---- mn_debug_info ------------------------------------------------------- */

static const char *reason_names[MN_WAIT__COUNT];

#define OFF(t, f)	((uint32_t)offsetof(struct t, f))
__attribute__((visibility("default"), used))
struct mn_debug_info mn_debug_info = {
	.magic = "mnsched",
	.version = MN_DEBUG_INFO_VERSION,
	.size = sizeof(struct mn_debug_info),
	.g_size = sizeof(struct mn_g),
	.g_sp = OFF(mn_g, sp),
	.g_status = OFF(mn_g, status),
	.g_waitreason = OFF(mn_g, waitreason),
	.g_goid = OFF(mn_g, goid),
	.g_fn = OFF(mn_g, fn),
	.g_name = OFF(mn_g, name),
	.g_parent = OFF(mn_g, parent),
	.g_stack_lo = OFF(mn_g, stack_lo),
	.g_stack_hi = OFF(mn_g, stack_hi),
	.g_is_g0 = OFF(mn_g, is_g0),
	.g_gopc = OFF(mn_g, gopc),
	.g_waitsince = OFF(mn_g, waitsince),
	.g_labels = OFF(mn_g, labels),
	.m_size = sizeof(struct mn_m),
	.m_g0 = OFF(mn_m, g0),
	.m_curg = OFF(mn_m, curg),
	.m_p = OFF(mn_m, p),
	.m_id = OFF(mn_m, id),
	.m_tid = OFF(mn_m, tid),
	.m_alllink = OFF(mn_m, alllink),
	.m_spinning = OFF(mn_m, spinning),
	.p_id = OFF(mn_p, id),
	.p_m = OFF(mn_p, m),
	.p_sh = OFF(mn_p, sh),
	.ls_size = sizeof(struct mn_labelset),
	.ls_id = OFF(mn_labelset, id),
	.ls_n = OFF(mn_labelset, n),
	.ls_kv = OFF(mn_labelset, kv),
	.label_key = OFF(mn_label, key),
	.label_value = OFF(mn_label, value),
	/* switch_x86_64.S: MXCSR+CW, r15 r14 r13 r12 rbx rbp, return address */
	.sw_r15 = 8, .sw_r14 = 16, .sw_r13 = 24, .sw_r12 = 32,
	.sw_rbx = 40, .sw_rbp = 48, .sw_ret = 56, .sw_frame = 64,
	.nwaitreasons = MN_WAIT__COUNT,
	.st_idle = MN_G_IDLE, .st_runnable = MN_G_RUNNABLE,
	.st_running = MN_G_RUNNING, .st_syscall = MN_G_SYSCALL,
	.st_waiting = MN_G_WAITING, .st_dead = MN_G_DEAD,
};
#undef OFF

static void fill_info(void)
{
	struct mn_debug_info *d = &mn_debug_info;
	uintptr_t tp;

	/* x86-64: %fs:0 holds the thread pointer itself (the TCB). */
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	d->tls_m_off = (int64_t)((intptr_t)&mn_tls_m - (intptr_t)tp);
	mn_stack_debug_layout(d);
	for (int i = 0; i < MN_WAIT__COUNT; i++)
		reason_names[i] = mn_waitreason_str(i);
	d->waitreasons_addr = (uintptr_t)reason_names;
	d->trampoline = (uintptr_t)mn_g_trampoline;
	d->dump_signal = dump_sig;
	d->stall_ms = (uint32_t)(stall_ns / 1000000);
	d->nprocs_addr = (uintptr_t)&mn_sched.nprocs;
	d->allp_addr = (uintptr_t)&mn_sched.allp;
	d->now_addr = (uintptr_t)&mn_debug_now;
	/* Last: tools take a non-zero allm_addr to mean "started". */
	__atomic_store_n(&d->allm_addr, (uintptr_t)&mn_sched.allm,
			 __ATOMIC_RELEASE);
}

/* ---- the debug thread ---------------------------------------------------- */

enum { REQ_DUMP = 1, REQ_STALL = 2 };
static _Atomic uint32_t dbg_word, dbg_req;
static pid_t self_pid;
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;

/* Async-signal-safe: atomics and a raw futex call. */
static void dbg_wake(uint32_t what)
{
	atomic_fetch_or(&dbg_req, what);
	atomic_fetch_add(&dbg_word, 1);
	mn_futex(&dbg_word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void dump_handler(int sig)
{
	(void)sig;
	dbg_wake(REQ_DUMP);
}

/* A request to the thread running a G for its registers and stack. */
enum { CAP_IDLE, CAP_WANTED, CAP_WRITING, CAP_DONE };
#define CAP_BYTES	(256u << 10)
static struct {
	_Atomic uint32_t state;
	_Atomic pid_t tid;
	struct mn_regs regs;
	uint64_t g;		/* the G its M was running */
	uint64_t lo;
	size_t len;
	unsigned char *buf;
} capt;
static struct sigaction old_urg;

static void capture_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint32_t want = CAP_WANTED;
	greg_t *gr;
	struct mn_m *m;
	struct mn_g *g;
	uint64_t sp;

	if (si->si_code != SI_TKILL || si->si_pid != self_pid ||
	    atomic_load(&capt.tid) != (pid_t)mn_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0) ||
	    !atomic_compare_exchange_strong(&capt.state, &want, CAP_WRITING)) {
		/* Not ours: whoever had SIGURG before us. */
		if ((old_urg.sa_flags & SA_SIGINFO) && old_urg.sa_sigaction)
			old_urg.sa_sigaction(sig, si, ucv);
		else if (!(old_urg.sa_flags & SA_SIGINFO) &&
			 old_urg.sa_handler != SIG_DFL &&
			 old_urg.sa_handler != SIG_IGN)
			old_urg.sa_handler(sig);
		return;
	}
	gr = uc->uc_mcontext.gregs;
	capt.regs.r[MN_REG_RIP] = (uint64_t)gr[REG_RIP];
	capt.regs.r[MN_REG_RSP] = (uint64_t)gr[REG_RSP];
	capt.regs.r[MN_REG_RBP] = (uint64_t)gr[REG_RBP];
	capt.regs.r[MN_REG_RBX] = (uint64_t)gr[REG_RBX];
	capt.regs.r[MN_REG_R12] = (uint64_t)gr[REG_R12];
	capt.regs.r[MN_REG_R13] = (uint64_t)gr[REG_R13];
	capt.regs.r[MN_REG_R14] = (uint64_t)gr[REG_R14];
	capt.regs.r[MN_REG_R15] = (uint64_t)gr[REG_R15];
	capt.regs.valid = (1u << MN_NREGS) - 1;
	capt.regs.rip_is_ret = false;
	m = mn_curm();
	g = m ? m->curg : NULL;
	capt.g = (uintptr_t)g;
	capt.len = 0;
	sp = capt.regs.r[MN_REG_RSP];
	if (g && sp >= (uintptr_t)g->stack_lo && sp < (uintptr_t)g->stack_hi) {
		size_t n = (uintptr_t)g->stack_hi - sp;

		if (n > CAP_BYTES)
			n = CAP_BYTES;
		/* process_vm_readv: a plain copy of our own stack would trip
		 * ASan on the redzones of live frames. */
		if (mn_safe_read(capt.buf, sp, n) == 0) {
			capt.lo = sp;
			capt.len = n;
		}
	}
	atomic_store(&capt.state, CAP_DONE);
	mn_futex(&capt.state, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* ---- reading the runtime from the debug thread ---------------------------- */

struct minfo {
	uint64_t addr;
	struct mn_m m;		/* a copy */
};

struct dumpctx {
	FILE *f;
	uint64_t now;
	struct minfo *ms;
	int nm;
	unsigned char *snap;	/* stack copies of parked Gs */
};

#define SNAP_BYTES	(256u << 10)
#define MAX_MS		100000

static void read_ms(struct dumpctx *c)
{
	uint64_t a = 0;
	int cap = 0;

	c->nm = 0;
	c->ms = NULL;
	mn_safe_read(&a, (uintptr_t)&mn_sched.allm, sizeof(a));
	while (a && c->nm < MAX_MS) {
		if (c->nm == cap) {
			struct minfo *n;

			cap = cap ? 2 * cap : 16;
			n = realloc(c->ms, (size_t)cap * sizeof(*n));
			if (!n)
				break;
			c->ms = n;
		}
		c->ms[c->nm].addr = a;
		if (mn_safe_read(&c->ms[c->nm].m, a, sizeof(struct mn_m)))
			break;
		a = (uintptr_t)c->ms[c->nm].m.alllink;
		c->nm++;
	}
}

static bool is_g0_of(const struct minfo *mi, uint64_t g)
{
	return g == mi->addr + offsetof(struct mn_m, g0);
}

static struct minfo *m_running(struct dumpctx *c, uint64_t g)
{
	for (int i = 0; i < c->nm; i++)
		if ((uintptr_t)c->ms[i].m.curg == g && !is_g0_of(&c->ms[i], g))
			return &c->ms[i];
	return NULL;
}

/* The G headers of every G alive, by the arena walk of stack.c, through
 * mn_debug_info (which fill_info completed) and fault-safe reads only. */
struct gref {
	uint64_t goid;
	uint64_t addr;
};

static int gref_cmp(const void *a, const void *b)
{
	const struct gref *x = a, *y = b;

	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

static bool g_alive(const struct mn_g *h, uint64_t slot, uint32_t sclass)
{
	int st = h->status;

	return (uintptr_t)h->slot == slot && h->sclass == sclass && h->goid &&
	       st >= MN_G_RUNNABLE && st <= MN_G_WAITING;
}

static bool read_g(uint64_t addr, struct mn_g *h)
{
	return mn_safe_read(h, addr, sizeof(*h)) == 0;
}

static struct gref *collect_gs(size_t *np)
{
	const struct mn_debug_info *d = &mn_debug_info;
	struct gref *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t arr = 0, na = 0;

	mn_safe_read(&arr, d->arenas_addr, 8);
	mn_safe_read(&na, d->narenas_addr, 8);
	for (uint64_t a = 0; arr && a < na && a < (1u << 24); a++) {
		unsigned char ab[64];
		uint64_t base, size, ss;
		uint32_t sclass;

		if (d->arena_size > sizeof(ab) ||
		    mn_safe_read(ab, arr + a * d->arena_size, d->arena_size))
			break;
		memcpy(&base, ab + d->arena_base, 8);
		memcpy(&size, ab + d->arena_bytes, 8);
		memcpy(&sclass, ab + d->arena_sclass, 4);
		if (sclass > 30)
			continue;
		ss = 1ull << (sclass + d->class_min_shift);
		if (!size || size % ss || size > (1ull << 34))
			continue;
		for (uint64_t off = 0; off < size; off += ss) {
			uint64_t slot = base + off;
			uint64_t colour = ((slot / ss) * d->colour_mul % d->colours) *
					  d->colour_bytes;
			uint64_t g = slot + ss - d->g_hdr - colour;
			struct mn_g h;

			if (!read_g(g, &h) || !g_alive(&h, slot, sclass))
				continue;
			if (n == cap) {
				struct gref *nv;

				cap = cap ? 2 * cap : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					goto out;
				v = nv;
			}
			v[n].goid = h.goid;
			v[n].addr = g;
			n++;
		}
	}
out:
	if (n)
		qsort(v, n, sizeof(*v), gref_cmp);
	*np = n;
	return v;
}

static const char *gstatus_str(const struct mn_g *h)
{
	switch (h->status) {
	case MN_G_WAITING:
		return mn_waitreason_str(h->waitreason);
	case MN_G_RUNNABLE:
		return "runnable";
	case MN_G_SYSCALL:
		return "syscall";
	case MN_G_RUNNING:
		return "running";
	}
	return "?";
}

static void print_str(FILE *f, uint64_t addr, size_t max)
{
	char s[128];

	if (max > sizeof(s))
		max = sizeof(s);
	/* a string may end just before an unmapped page: read it piecewise */
	for (size_t i = 0; i < max - 1; i++) {
		if (mn_safe_read(&s[i], addr + i, 1)) {
			s[i] = 0;
			break;
		}
		if (!s[i])
			break;
		if (i == max - 2)
			s[i + 1] = 0;
	}
	s[max - 1] = 0;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
			*p = '?';
	fputs(s, f);
}

/* " (name) {k=v, ...}" */
static void print_name_labels(FILE *f, const struct mn_g *h)
{
	struct mn_labelset ls;

	if (h->name) {
		fputs(" (", f);
		print_str(f, (uintptr_t)h->name, 64);
		fputc(')', f);
	}
	if (h->labels && mn_safe_read(&ls, (uintptr_t)h->labels, sizeof(ls)) == 0 &&
	    ls.n && ls.n <= MN_LABELS_MAX) {
		fputs(" {", f);
		for (uint32_t i = 0; i < ls.n; i++) {
			ls.kv[i].key[MN_LABEL_KEY - 1] = 0;
			ls.kv[i].value[MN_LABEL_VALUE - 1] = 0;
			fprintf(f, "%s%s=%s", i ? ", " : "", ls.kv[i].key,
				ls.kv[i].value);
		}
		fputc('}', f);
	}
}

/* "goroutine 7 [chan receive, 3 minutes] (name) {k=v}" */
static void print_g_header(FILE *f, const struct mn_g *h, uint64_t now)
{
	fprintf(f, "goroutine %llu [%s", (unsigned long long)h->goid,
		gstatus_str(h));
	if (h->status == MN_G_WAITING && h->waitsince && now > h->waitsince) {
		uint64_t s = (now - h->waitsince) / 1000000000ull;

		/* Go prints minutes from one minute on; seconds are useful
		 * to us below that, but not below one */
		if (s >= 60)
			fprintf(f, ", %llu minutes", (unsigned long long)(s / 60));
		else if (s >= 1)
			fprintf(f, ", %llu s", (unsigned long long)s);
	}
	fputc(']', f);
	print_name_labels(f, h);
}

static void print_created_by(FILE *f, const struct mn_g *h)
{
	char sym[512];

	if (h->gopc)
		mn_symbolize((uintptr_t)h->gopc, true, sym, sizeof(sym));
	else
		snprintf(sym, sizeof(sym), "?");
	if (h->parent)
		fprintf(f, "\tcreated by goroutine %llu at %s\n",
			(unsigned long long)h->parent, sym);
	else if (h->is_main)
		fprintf(f, "\tcreated by mn_main, called at %s\n", sym);
	else
		fprintf(f, "\tcreated by a thread that is not a G, at %s\n", sym);
}

/* State of a thread: 'R', 'S', 'D', ... or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static ssize_t read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < n - 1 && (r = read(fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	close(fd);
	buf[got] = 0;
	return got;
}

static void print_kernel_stack(FILE *f, pid_t tid)
{
	char path[64], buf[4096], *line, *save = NULL;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;		/* not root, or no CONFIG_STACKTRACE */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "[<0>] ", 6))
			line += 6;	/* addresses hidden: kptr_restrict */
		fprintf(f, "\t    [kernel] %s\n", line);
	}
}

/*
 * Registers and stack of the G gaddr (header h) running on M mi, taken by
 * its own thread or, if it sleeps in the kernel, from /proc.  Prints a line
 * saying why when it cannot; *in_kernel: print its kernel stack.
 */
static bool capture_running(struct dumpctx *c, const struct minfo *mi,
			    uint64_t gaddr, const struct mn_g *h,
			    struct mn_regs *regs, struct mn_stackcopy *sc,
			    bool *in_kernel)
{
	pid_t tid = mi->m.tid;
	char st = thread_state(tid);
	struct timespec ts = { 1, 0 };
	uint32_t v;

	*in_kernel = false;
	memset(regs, 0, sizeof(*regs));
	memset(sc, 0, sizeof(*sc));
	if (st == 'S' || st == 'D' || st == 't' || st == 'T') {
		char path[64], buf[256];
		unsigned long long sp = 0, pc = 0;
		char *last, *prev;

		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
		if (read_file(path, buf, sizeof(buf)) <= 0) {
			fprintf(c->f, "\t(its thread %d sleeps in the kernel; "
				"/proc/self/task/%d/syscall is not readable)\n", tid, tid);
			return false;
		}
		buf[strcspn(buf, "\n")] = 0;
		last = strrchr(buf, ' ');
		if (last) {
			*last = 0;
			prev = strrchr(buf, ' ');
			pc = strtoull(last + 1, NULL, 0);
			sp = strtoull(prev ? prev + 1 : buf, NULL, 0);
		}
		if (!pc || !sp) {
			fprintf(c->f, "\t(its thread %d is in the kernel: %s)\n",
				tid, buf);
			return false;
		}
		regs->r[MN_REG_RIP] = pc;
		regs->r[MN_REG_RSP] = sp;
		regs->valid = 1u << MN_REG_RIP | 1u << MN_REG_RSP;
		if (sp >= (uintptr_t)h->stack_lo && sp < (uintptr_t)h->stack_hi) {
			size_t n = (uintptr_t)h->stack_hi - sp;

			if (n > SNAP_BYTES)
				n = SNAP_BYTES;
			if (mn_safe_read(c->snap, sp, n) == 0)
				*sc = (struct mn_stackcopy){ sp, n, c->snap };
		}
		*in_kernel = true;
		return true;
	}
	if (!capt.buf) {
		fprintf(c->f, "\t(running on thread %d: no stack capture without "
			"MNSCHED_DEBUG=dump or stall)\n", tid);
		return false;
	}
	atomic_store(&capt.tid, tid);
	atomic_store(&capt.state, CAP_WANTED);
	if (syscall(SYS_tgkill, self_pid, tid, SIGURG)) {
		atomic_store(&capt.state, CAP_IDLE);
		fprintf(c->f, "\t(cannot signal its thread %d)\n", tid);
		return false;
	}
	while ((v = atomic_load(&capt.state)) == CAP_WANTED) {
		if (mn_futex(&capt.state, FUTEX_WAIT_PRIVATE, CAP_WANTED, &ts) ==
		    -ETIMEDOUT) {
			v = CAP_WANTED;
			if (atomic_compare_exchange_strong(&capt.state, &v, CAP_IDLE)) {
				fprintf(c->f, "\t(its thread %d did not answer SIGURG "
					"within a second: signals blocked?)\n", tid);
				return false;
			}
		}
	}
	while (atomic_load(&capt.state) != CAP_DONE)
		__builtin_ia32_pause();	/* the handler is finishing */
	*regs = capt.regs;
	if (capt.len)
		*sc = (struct mn_stackcopy){ capt.lo, capt.len, capt.buf };
	atomic_store(&capt.state, CAP_IDLE);
	if (capt.g != gaddr) {
		fprintf(c->f, "\t(it stopped running before its thread %d "
			"answered)\n", tid);
		return false;
	}
	return true;
}

/* Registers of a G that is not running, from its switch frame. */
static bool parked_regs(struct dumpctx *c, const struct mn_g *h,
			struct mn_regs *regs, struct mn_stackcopy *sc)
{
	uint64_t sp = (uintptr_t)h->sp, fr[8];
	size_t n;

	memset(regs, 0, sizeof(*regs));
	memset(sc, 0, sizeof(*sc));
	if (!sp || sp < (uintptr_t)h->stack_lo || sp + 64 > (uintptr_t)h->stack_hi ||
	    mn_safe_read(fr, sp, sizeof(fr)))
		return false;
	regs->r[MN_REG_R15] = fr[1];
	regs->r[MN_REG_R14] = fr[2];
	regs->r[MN_REG_R13] = fr[3];
	regs->r[MN_REG_R12] = fr[4];
	regs->r[MN_REG_RBX] = fr[5];
	regs->r[MN_REG_RBP] = fr[6];
	regs->r[MN_REG_RIP] = fr[7];
	regs->r[MN_REG_RSP] = sp + 64;
	regs->valid = (1u << MN_NREGS) - 1;
	regs->rip_is_ret = true;
	n = (uintptr_t)h->stack_hi - sp;
	if (n > SNAP_BYTES)
		n = SNAP_BYTES;
	if (mn_safe_read(c->snap, sp, n) == 0)
		*sc = (struct mn_stackcopy){ sp, n, c->snap };
	return true;
}

/* One G: header, stack, creator. */
static void dump_g(struct dumpctx *c, uint64_t gaddr, bool stall_header,
		   uint64_t ran_ns)
{
	struct mn_g h, h2;
	struct minfo *mi = NULL;
	struct mn_regs regs;
	struct mn_stackcopy sc;
	uint64_t pcs[MN_MAX_FRAMES];
	bool ok = false, in_kernel = false, moved = false;
	int n = 0;

	if (!read_g(gaddr, &h)) {
		fprintf(c->f, "goroutine at %#llx: cannot read it\n\n",
			(unsigned long long)gaddr);
		return;
	}
	if (h.status == MN_G_RUNNING || h.status == MN_G_SYSCALL)
		mi = m_running(c, gaddr);
	if (stall_header) {
		fprintf(c->f, "mnsched: goroutine %llu", (unsigned long long)h.goid);
		print_name_labels(c->f, &h);
		fprintf(c->f, " has run for %llu ms without entering the runtime "
			"(MNSCHED_DEBUG=stall=%llu)", (unsigned long long)(ran_ns / 1000000),
			(unsigned long long)(stall_ns / 1000000));
	} else {
		print_g_header(c->f, &h, c->now);
	}
	if (mi) {
		int pid = -1;

		if (mi->m.p) {
			struct mn_p p;

			if (mn_safe_read(&p, (uintptr_t)mi->m.p, sizeof(p)) == 0)
				pid = p.id;
		}
		fprintf(c->f, " on M %d (thread %d)", mi->m.id, mi->m.tid);
		if (pid >= 0)
			fprintf(c->f, ", P %d", pid);
	}
	fputs(":\n", c->f);
	if (mi) {
		ok = capture_running(c, mi, gaddr, &h, &regs, &sc, &in_kernel);
	} else if (h.status == MN_G_RUNNING || h.status == MN_G_SYSCALL) {
		fprintf(c->f, "\t(running, but on no M: it is switching)\n");
	} else {
		/* Not running: its switch frame, checked again after the copy
		 * (it may have run meanwhile). */
		for (int tries = 0; tries < 3 && !ok; tries++) {
			ok = parked_regs(c, &h, &regs, &sc);
			if (!read_g(gaddr, &h2) || h2.sp != h.sp ||
			    h2.status != h.status) {
				moved = true;
				ok = false;
				h = h2;
			}
		}
		if (!ok)
			fprintf(c->f, "\t(stack unavailable: %s)\n",
				moved ? "it kept running while being dumped" :
				"its saved stack pointer is outside its stack");
	}
	if (ok && regs.rip_is_ret && regs.r[MN_REG_RIP] == mn_debug_info.trampoline) {
		char sym[512];

		mn_symbolize((uintptr_t)h.fn, false, sym, sizeof(sym));
		fprintf(c->f, "\t(not started yet) %s\n", sym);
	} else if (ok) {
		n = mn_unwind(&regs, &sc, pcs, MN_MAX_FRAMES);
		/* The trampoline below mn_g_start is no news. */
		for (int i = 1; i < n; i++)
			if (pcs[i] - mn_debug_info.trampoline < 16)
				n = i;
		if (n == 0)
			fprintf(c->f, "\t(stack unavailable: cannot unwind from pc %#llx)\n",
				(unsigned long long)regs.r[MN_REG_RIP]);
		mn_print_frames(c->f, pcs, n, regs.rip_is_ret);
		if (n == MN_MAX_FRAMES)
			fprintf(c->f, "\t...\n");
	}
	if (in_kernel)
		print_kernel_stack(c->f, mi->m.tid);
	print_created_by(c->f, &h);
	fputc('\n', c->f);
}

static void dump_ms_ps(struct dumpctx *c)
{
	struct mn_p **allp = NULL;
	int np = 0;

	for (int i = c->nm - 1; i >= 0; i--) {
		const struct mn_m *m = &c->ms[i].m;
		uint64_t cg = (uintptr_t)m->curg;
		struct mn_g h;
		struct mn_p p;
		int pid = -1;

		if (m->p && mn_safe_read(&p, (uintptr_t)m->p, sizeof(p)) == 0)
			pid = p.id;
		fprintf(c->f, "M%d: thread=%d p=%d curg=", m->id, m->tid, pid);
		if (!cg)
			fprintf(c->f, "-");
		else if (is_g0_of(&c->ms[i], cg))
			fprintf(c->f, "g0");
		else if (read_g(cg, &h))
			fprintf(c->f, "%llu", (unsigned long long)h.goid);
		else
			fprintf(c->f, "?");
		fprintf(c->f, " spinning=%d\n", m->spinning);
	}
	mn_safe_read(&allp, (uintptr_t)&mn_sched.allp, sizeof(allp));
	mn_safe_read(&np, (uintptr_t)&mn_sched.nprocs, sizeof(np));
	for (int i = 0; allp && i < np && i < MNSCHED_MAX_P; i++) {
		static const char *const pst[] = { "idle", "running", "syscall", "stopped" };
		struct mnsched_pstate sh;
		struct mn_p *pp = NULL;
		struct mn_p p;
		int mid = -1;

		if (mn_safe_read(&pp, (uintptr_t)&allp[i], sizeof(pp)) ||
		    mn_safe_read(&p, (uintptr_t)pp, sizeof(p)) ||
		    mn_safe_read(&sh, (uintptr_t)p.sh, sizeof(sh)))
			continue;
		if (p.m) {
			struct mn_m m;

			if (mn_safe_read(&m, (uintptr_t)p.m, sizeof(m)) == 0)
				mid = m.id;
		}
		fprintf(c->f, "P%d: status=%s m=%d goid=%llu runq=%u schedtick=%llu "
			"syscalltick=%llu\n", i, sh.state < 4 ? pst[sh.state] : "?",
			mid, (unsigned long long)(sh.state == MNSCHED_P_IDLE ? 0 : sh.goid),
			sh.runq_len, (unsigned long long)sh.schedtick,
			(unsigned long long)sh.syscalltick);
	}
}

static bool ctx_begin(struct dumpctx *c, FILE *f)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->now = mn_nanotime();
	c->snap = malloc(SNAP_BYTES);
	if (!self_pid)
		self_pid = getpid();
	if (!c->snap)
		return false;
	mn_unwind_init();
	read_ms(c);
	return true;
}

static void ctx_end(struct dumpctx *c)
{
	free(c->snap);
	free(c->ms);
}

static void dump_locked(FILE *f, bool ms_ps)
{
	struct dumpctx c;
	struct gref *gs;
	size_t n;

	pthread_mutex_lock(&dump_lock);
	flockfile(f);
	if (!ctx_begin(&c, f)) {
		fprintf(f, "mnsched: out of memory for the goroutine dump\n");
		goto out;
	}
	gs = collect_gs(&n);
	for (size_t i = 0; i < n; i++)
		dump_g(&c, gs[i].addr, false, 0);
	free(gs);
	if (ms_ps)
		dump_ms_ps(&c);
	ctx_end(&c);
out:
	fflush(f);
	funlockfile(f);
	pthread_mutex_unlock(&dump_lock);
}

#define DUMP_STACK	(4u << 20)	/* libdw's DWARF readers recurse */
static pthread_t debug_tid;
static bool debug_running;

struct dumpjob {
	FILE *f;
	bool ms_ps;
};

static void *dump_job(void *arg)
{
	struct dumpjob *j = arg;
	mn_block_signals_but_faults();
	dump_locked(j->f, j->ms_ps);
	return NULL;
}

/*
 * From the debug thread, in place.  From anywhere else (the deadlock
 * report, on an M whose stack is 256 KiB) on a thread of our own with a
 * stack big enough for libdw, if one can be made.
 */
void mn_debug_dump(FILE *f, bool ms_ps)
{
	struct dumpjob j = { f, ms_ps };
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (!mn_debug_info.allm_addr)
		fill_info();	/* a deadlock before mn_debug_start: cannot be */
	if (debug_running && pthread_equal(pthread_self(), debug_tid)) {
		dump_locked(f, ms_ps);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, DUMP_STACK);
	err = pthread_create(&t, &attr, dump_job, &j);
	pthread_attr_destroy(&attr);
	if (err) {
		dump_locked(f, ms_ps);
		return;
	}
	pthread_join(t, NULL);
}

/* Dumps a signal asked for, once printed (a test hook reads it). */
static _Atomic uint64_t signal_dumps;

__attribute__((visibility("default")))
const volatile _Atomic uint64_t *mn_debug_signal_dumps(void);
const volatile _Atomic uint64_t *mn_debug_signal_dumps(void)
{
	return &signal_dumps;
}

static void signal_dump(void)
{
	fprintf(stderr, "mnsched: %s: goroutine dump (MNSCHED_DEBUG=dump=%s; "
		"stacks: %s)\n\n", signame(dump_sig), signame(dump_sig),
		mn_unwinder_name());
	mn_debug_dump(stderr, true);
	if (dump_exit) {
		fprintf(stderr, "mnsched: exit status 2 (%s)\n", signame(dump_sig));
		fflush(stderr);
		_exit(2);
	}
	fprintf(stderr, "mnsched: end of goroutine dump\n");
	fflush(stderr);
	atomic_fetch_add(&signal_dumps, 1);
}

/* ---- stalls ---------------------------------------------------------------- */

struct stall {
	uint64_t tick, goid, ran;
	struct mn_m *m;		/* a G demoted without a P: its M (preempt.c) */
	_Atomic bool pending;
};
static struct stall *stalls;	/* one per P */

/* sysmon, from mn_overrun_scan: remember, once per run, and wake. */
static void stall_found(struct mn_p *p, struct mn_m *dm, uint64_t goid,
			uint64_t ran_ns, uint64_t tick, void *arg)
{
	struct stall *s = &stalls[p->id];

	(void)arg;
	if ((s->tick == tick && s->goid == goid) ||
	    atomic_load_explicit(&s->pending, memory_order_acquire))
		return;
	s->tick = tick;
	s->goid = goid;
	s->ran = ran_ns;
	s->m = dm;
	atomic_store_explicit(&s->pending, true, memory_order_release);
	dbg_wake(REQ_STALL);
}

/* Stall reports printed with a stack (a test hook reads it). */
static _Atomic uint64_t stall_reports;

__attribute__((visibility("default")))
const volatile _Atomic uint64_t *mn_debug_stall_reports(void);
const volatile _Atomic uint64_t *mn_debug_stall_reports(void)
{
	return &stall_reports;
}

static void report_stall(int pi, struct mn_m *dm, uint64_t goid, uint64_t ran)
{
	struct dumpctx c;
	struct mn_p *pp = NULL;
	struct mn_p p;
	struct mn_m m;
	struct mn_g h;

	pthread_mutex_lock(&dump_lock);
	flockfile(stderr);
	if (!ctx_begin(&c, stderr))
		goto out;
	if (mn_safe_read(&pp, (uintptr_t)&mn_sched.allp[pi], sizeof(pp)) ||
	    mn_safe_read(&p, (uintptr_t)pp, sizeof(p)) || !(dm ? dm : p.m) ||
	    mn_safe_read(&m, (uintptr_t)(dm ? dm : p.m), sizeof(m)) || !m.curg ||
	    !read_g((uintptr_t)m.curg, &h) || h.goid != goid ||
	    /* An M's curg may name a G that has ended since: its header,
	     * in a stack the stack cache keeps, still has its goid. */
	    (h.status != MN_G_RUNNING && h.status != MN_G_SYSCALL)) {
		fprintf(stderr, "mnsched: goroutine %llu ran for %llu ms without "
			"entering the runtime (MNSCHED_DEBUG=stall=%llu); it moved "
			"on before its stack was taken\n\n", (unsigned long long)goid,
			(unsigned long long)(ran / 1000000),
			(unsigned long long)(stall_ns / 1000000));
		goto end;
	}
	dump_g(&c, (uintptr_t)m.curg, true, ran);
	atomic_fetch_add_explicit(&stall_reports, 1, memory_order_release);
end:
	ctx_end(&c);
out:
	fflush(stderr);
	funlockfile(stderr);
	pthread_mutex_unlock(&dump_lock);
}

static void report_stalls(void)
{
	for (int i = 0; i < mn_sched.nprocs; i++) {
		struct stall *s = &stalls[i];

		if (!atomic_load_explicit(&s->pending, memory_order_acquire))
			continue;
		report_stall(i, s->m, s->goid, s->ran);
		atomic_store_explicit(&s->pending, false, memory_order_release);
	}
}

void mn_debug_tick(uint64_t now)
{
	atomic_store_explicit(&mn_debug_now, now, memory_order_relaxed);
	if (stall_ns && stalls)
		mn_overrun_scan(now, stall_ns, true, stall_found, NULL);
}

static void *debug_thread(void *arg)
{
	(void)arg;
	/* checkdead: a runtime thread, not one that may wake a G. */
	MN_RELAXED_SET(mn_sched.debug_tid, (pid_t)syscall(SYS_gettid));
	mn_block_signals_but_faults();
	/* Load libdw now, not in the middle of a dump. */
	pthread_mutex_lock(&dump_lock);
	mn_unwind_init();
	pthread_mutex_unlock(&dump_lock);
	for (;;) {
		uint32_t w = atomic_load(&dbg_word);
		uint32_t r = atomic_exchange(&dbg_req, 0);

		if (!r) {
			mn_futex(&dbg_word, FUTEX_WAIT_PRIVATE, w, NULL);
			continue;
		}
		if (r & REQ_STALL)
			report_stalls();
		if (r & REQ_DUMP)
			signal_dump();
	}
	return NULL;
}

int mn_debug_start(void)
{
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	self_pid = getpid();
	atomic_store(&mn_debug_now, mn_nanotime());
	fill_info();
	if (!dump_sig && !stall_ns)
		return 0;
	capt.buf = mmap(NULL, CAP_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (capt.buf == MAP_FAILED) {
		capt.buf = NULL;
		return -ENOMEM;
	}
	if (stall_ns) {
		stalls = calloc((size_t)mn_sched.nprocs, sizeof(*stalls));
		if (!stalls)
			return -ENOMEM;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = capture_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGURG, &sa, &old_urg))
		return -errno;
	if (dump_sig) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = dump_handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(dump_sig, &sa, NULL))
			return -errno;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, DUMP_STACK);
	err = pthread_create(&t, &attr, debug_thread, NULL);
	pthread_attr_destroy(&attr);
	if (!err) {
		debug_tid = t;
		debug_running = true;
	}
	return -err;
}

/*
 * gdb finds tools/gdb/mnsched.py through this section (as Go's
 * runtime-gdb.py): `make install` puts it at MN_GDB_SCRIPT, under gdb's
 * auto-load directory, which gdb trusts by default.
 */
#ifndef MN_GDB_SCRIPT
#define MN_GDB_SCRIPT "/usr/share/gdb/auto-load/mnsched/mnsched-gdb.py"
#endif
__asm__(".pushsection .debug_gdb_scripts, \"MS\",@progbits,1\n"
	".byte 1\n"
	".asciz \"" MN_GDB_SCRIPT "\"\n"
	".popsection\n");
