// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_fuzz.c - random ioctls and mmaps on /dev/mnsched: every call must
 * return, the device must keep working, the kernel must not complain
 * (the VM checks dmesg after each program) and nothing may leak.
 *
 *   fuzz_100k     random calls from one thread
 *   fuzz_threads  random calls from four threads on one file
 *   storm         a process of eight threads calling the module (random
 *                 calls, SWAP/PARK/UNPARK, the blocked-M handoff) while
 *                 one of them forks, vforks, madvises and mprotects the P
 *                 mapping, closes and reopens the file, kills children
 *                 with parked Ms, and execs the program again (see
 *                 storm_gen()); several generations, one per exec
 *   rmmod_after_fuzz  nothing left allocated, and the module unloads
 *
 * MN_FUZZ_CALLS sets the number of module calls of each case (default
 * 200,000: about 10 s in all on Debian's kernels in the VM, 50 s on the
 * debug kernel); MN_FUZZ_SEED fixes the random seeds (default: the clock;
 * each case logs its seed).  Long runs: see the README (kmod_fuzz).
 */
#include <sched.h>
#include <poll.h>
#include <setjmp.h>
#include <sys/klog.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

static long env_long(const char *name, long def)
{
	const char *e = getenv(name);
	char *end;
	long v;

	if (!e || !*e)
		return def;
	v = strtol(e, &end, 0);
	return *end || v <= 0 ? def : v;
}

static long fuzz_calls(void)
{
	return env_long("MN_FUZZ_CALLS", 200000);
}

static uint64_t fuzz_seed(void)
{
	long s = env_long("MN_FUZZ_SEED", 0);

	return s ? (uint64_t)s : kt_now() ^ ((uint64_t)getpid() << 32);
}

static const unsigned long cmds[] = {
	MNSCHED_IOC_VERSION, MNSCHED_IOC_CONFIG, MNSCHED_IOC_REGISTER,
	MNSCHED_IOC_PARK, MNSCHED_IOC_UNPARK, MNSCHED_IOC_SWAP,
	MNSCHED_IOC_SET_P, MNSCHED_IOC_SPARE, MNSCHED_IOC_UNREGISTER,
	MNSCHED_IOC_PREEMPT, MNSCHED_IOC_REJOIN,
};

/* PREEMPT's mark, when a call turns the module's preemption on: a byte of
 * our own, so a preemption the fuzzing sets up writes nothing else; and
 * what the module reads to tell the runtime's code: a text range, a G
 * pointer and a G of our own (its mark at offset 8, its stack's bounds at
 * 16: all of user space). */
static volatile uint8_t fuzz_mark;
static const char fuzz_text[64];
static uint64_t fuzz_g[4] = { 0, 0, 4096, 0x7ffffffff000ull };
static void *volatile fuzz_curg = fuzz_g;
static void *volatile fuzz_p, *volatile fuzz_oldp;
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const int64_t timeouts[] = { 0, 1, 1000, 100000, -1, INT64_MIN, INT64_MAX };

/*
 * Random but bounded in time: waits are short or woken by the unparker;
 * with @bounded, never longer than 200 us (an M of a file replaced
 * meanwhile cannot be unparked).
 */
static void fill_arg(uint64_t *s, unsigned char *buf, size_t n, unsigned long cmd,
		     int bounded)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = xs(s);
	switch (xs(s) % 4) {
	case 0:
		memset(buf, 0, n);
		break;
	case 1:
		buf[xs(s) % n] = 0;
		break;
	default:
		break;
	}
	if (cmd == MNSCHED_IOC_PARK || cmd == MNSCHED_IOC_SPARE) {
		int64_t t = timeouts[xs(s) % 7];

		/* Unbounded waits are rare: the unparker ends them. */
		if ((t == -1 || t == INT64_MIN || t == INT64_MAX) && (bounded || xs(s) % 16))
			t = 200000;
		memcpy(buf, &t, 8);
	} else if (cmd == MNSCHED_IOC_SWAP) {
		int64_t t = xs(s) % 300000;

		memcpy(buf + 8, &t, 8);
		if (xs(s) & 1)
			memset(buf, 0, 4);
	} else if (cmd == MNSCHED_IOC_PREEMPT &&
		   n >= (int)sizeof(struct mnsched_preempt) && (xs(s) & 1)) {
		struct mnsched_preempt a = {
			.mark = (uint64_t)(uintptr_t)&fuzz_mark,
			.slice_ns = xs(s) % 3 ? 1000000 + xs(s) % 1000000000 : 0,
			.text_start = (uint64_t)(uintptr_t)fuzz_text,
			.text_end = (uint64_t)(uintptr_t)(fuzz_text + 64),
			.curg = (uint64_t)(uintptr_t)&fuzz_curg,
			.g_mark_off = 8,
			.g_stack_off = 16,
			.p_id_off = xs(s) % 16,
			.m_p = (uint64_t)(uintptr_t)&fuzz_p,
			.m_oldp = (uint64_t)(uintptr_t)&fuzz_oldp,
		};

		memcpy(buf, &a, sizeof(a));
	} else if (cmd == MNSCHED_IOC_CONFIG && (xs(s) & 1)) {
		uint32_t p = xs(s) % 300;

		memcpy(buf, &p, 4);
	}
}

struct fuzz {
	int fd;
	int n;
	uint64_t seed;
	volatile int stop;
	long id;
	long calls;
	long odd_errors;
};

static void *unparker(void *arg)
{
	struct fuzz *f = arg;
	int i;

	/* Wakes waits with long or infinite timeouts, including SPARE. */
	while (!f[0].stop) {
		for (i = 0; i < 4; i++)
			kt_unpark(f[i].fd, __atomic_load_n(&f[i].id, __ATOMIC_RELAXED));
		kt_sleep_ns(500000);
	}
	return NULL;
}

static int errno_ok(long r)
{
	switch (r) {
	case -EINVAL: case -EFAULT: case -ESRCH: case -EPERM: case -ENOTTY:
	case -EBUSY: case -ETIMEDOUT: case -EINTR: case -ENOSPC:
		return 1;
	}
	return r >= 0;
}

/*
 * One random call on @fd: an ioctl, or one time in 64 an mmap (written to
 * when writable, and unmapped).  *@cmd is the ioctl's command, 0 for an
 * mmap; *@id the M id of a REGISTER that succeeded.  Returns the
 * ioctl's result (-errno), 0 for an mmap.
 */
static long fuzz_call(int fd, uint64_t *s, int bounded, unsigned long *cmdp, long *id)
{
	unsigned char buf[64];
	unsigned long cmd, a;
	int ps = getpagesize();
	long r;

	if (xs(s) % 64 == 0) {
		/* Random mapping. */
		size_t len = (xs(s) % 6) * ps;
		off_t off = (off_t)(xs(s) % 6) * ps;
		int prot = xs(s) % 8;
		int flags = xs(s) & 1 ? MAP_SHARED : MAP_PRIVATE;
		void *m = mmap(NULL, len ? len : 1, prot, flags, fd, off);

		if (m != MAP_FAILED) {
			if (prot & PROT_WRITE)
				memset(m, 0xff, len ? len : 1);
			munmap(m, len ? len : 1);
		}
		*cmdp = 0;
		return 0;
	}
	switch (xs(s) % 8) {
	case 0:
		/* Random command number, mostly with our magic. */
		cmd = xs(s) & 0xffffffffu;
		if (xs(s) & 1)
			cmd = (cmd & ~0xff00ul) | (MNSCHED_IOC_MAGIC << 8);
		break;
	default:
		cmd = cmds[xs(s) % NCMDS];
		break;
	}
	fill_arg(s, buf, sizeof(buf), cmd, bounded);
	switch (xs(s) % 8) {
	case 0:
		a = 0;
		break;
	case 1:
		a = xs(s);
		break;
	case 2:
		a = 0xffff888000000000ull + (xs(s) & 0xffff);
		break;
	case 3:
		a = xs(s) % 70;
		break;
	case 4:
		a = (unsigned long)-1;
		break;
	default:
		a = (unsigned long)buf;
		break;
	}
	/* Value commands take small numbers most of the time. */
	if ((cmd == MNSCHED_IOC_UNPARK || cmd == MNSCHED_IOC_SET_P) && (xs(s) & 1))
		a = xs(s) % 12 - 1;
	r = kt_ioc(fd, cmd, a);
	*cmdp = cmd;
	if (cmd == MNSCHED_IOC_REGISTER && r >= 0)
		__atomic_store_n(id, r, __ATOMIC_RELAXED);
	return r;
}

static void *fuzzer(void *arg)
{
	struct fuzz *f = arg;
	uint64_t s = f->seed;
	unsigned long cmd;
	long r;
	int i;

	/* f->n ioctls, with random mmaps in between. */
	for (i = 0; i < f->n && !f->stop;) {
		r = fuzz_call(f->fd, &s, 0, &cmd, &f->id);
		if (!cmd)
			continue;
		i++;
		if (!errno_ok(r))
			__atomic_add_fetch(&f->odd_errors, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run_fuzz(struct __test_metadata *_metadata, int threads, int per_thread)
{
	struct mnsched_version v;
	struct fuzz f[4];
	pthread_t t[4], u;
	long base, calls = 0, odd = 0;
	uint64_t seed = fuzz_seed();
	int fd, i;

	base = kt_counter_base("allocated");
	fd = kt_open();
	ASSERT_LE(0, fd);
	TH_LOG("seed %#llx", (unsigned long long)seed);
	memset(f, 0, sizeof(f));
	for (i = 0; i < 4; i++) {
		f[i].fd = fd;
		f[i].id = -1;
		f[i].n = per_thread;
		f[i].seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ seed;
	}
	ASSERT_EQ(0, pthread_create(&u, NULL, unparker, &f[0]));
	for (i = 0; i < threads; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fuzzer, &f[i]));
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		calls += f[i].calls;
		odd += f[i].odd_errors;
	}
	f[0].stop = 1;
	pthread_join(u, NULL);
	TH_LOG("%ld ioctls, %ld unexpected errors", calls, odd);
	EXPECT_EQ(0, odd);
	/* Still works. */
	EXPECT_EQ(0, kt_ioc_p(fd, MNSCHED_IOC_VERSION, &v));
	close(fd);
	if (base >= 0)
		EXPECT_EQ(base, kt_counter_wait("allocated", base, 3000));
}

/* ---- the storm -------------------------------------------------------- */

/*
 * A storm process calls the module from eight threads at once:
 *   fuzzer      random calls (fuzz_call(), waits of at most 200 us)
 *   2 swappers  SWAP to each other, PARK, UNPARK, SET_P
 *   blocker     an M that holds P 0 in state SYSCALL and blocks in read()
 *   spare       an M in SPARE, handed P 0 when the blocker blocks; it
 *               takes it (compare-and-swap), gives it up and writes the
 *               byte the blocker's read() waits for
 *   unparker    UNPARKs every M above, every millisecond
 *   2 x chaos   forks (the child's calls must fail with -EPERM and the P
 *               mapping must not be there: SIGBUS or SIGSEGV), vforks
 *               (the same calls, from the same address space), madvises
 *               the P mapping (MADV_DOFORK, DONTFORK, DONTNEED, REMOVE,
 *               ...), maps, mprotects and unmaps the device, closes and
 *               reopens the file (dup2() onto the number the others use),
 *               forks children that become Ms holding a P in SYSCALL and
 *               SIGKILLs them while they park, makes the spare's SPARE
 *               argument read-only for a while, and, once the generation's
 *               calls are done, calls execve() on this program while the
 *               other threads are in their calls
 * The exec'd program (exec_storm(), run before the harness) is the next
 * generation: it checks that the file it inherited (when not
 * close-on-exec) gives -EPERM, then storms again.  The last generation
 * stops its threads and exits.  Every process reports its counts on a
 * pipe the test reads (struct storm_rep).
 */
#define STORM_NP	4
#define STORM_MAPS	64
#define STORM_GEN_CALLS	10000	/* calls per generation (exec) */

struct storm_rep {
	int64_t calls;		/* module calls: ioctls and mmaps of the device */
	int64_t odd;		/* results that break a rule */
	int64_t forks, vforks, execs, reopens, madvises, maps, kills, protects;
	int64_t spare_efaults;	/* SPAREs that could not report (read-only) */
	int64_t started;	/* generations that started (storm_start) */
};

struct storm {
	int fd;			/* the file's number: reopening keeps it */
	int cloexec;		/* whether it is close-on-exec */
	int report;		/* the report pipe */
	int gen, gens;
	long budget;		/* calls for this generation */
	long left;		/* calls for the generations after it */
	uint64_t seed;
	volatile int stop;
	struct mnsched_pstate *pst;	/* a mapping of the current file */
	struct mnsched_pstate *maps[STORM_MAPS];	/* never unmapped */
	int nmaps;
	int hand[2];		/* the spare writes, the blocker reads */
	/*
	 * The spare's SPARE argument, one page mapped twice: the spare writes
	 * and reads it through @arg_rw, passes @arg to the module, and chaos
	 * makes @arg read-only now and then (a SPARE that cannot report the
	 * P it took must give it back).
	 */
	struct mnsched_spare *arg_rw;
	struct mnsched_spare *arg;
	long ids[6];		/* M ids: fuzzers, swappers, blocker, spare */
	struct storm_rep r;
};

#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)

static int storm_errno_ok(long r)
{
	switch (r) {
	/* Not -EPERM: the storm process owns its files. */
	case -EINVAL: case -EFAULT: case -ESRCH: case -ENOTTY: case -EBUSY:
	case -ETIMEDOUT: case -EINTR: case -ENOSPC: case -EBADF: case -ENOMEM:
		return 1;
	}
	return r >= 0;
}

static int storm_fd(struct storm *s)
{
	return __atomic_load_n(&s->fd, __ATOMIC_RELAXED);
}

static long sc(struct storm *s, unsigned long cmd, unsigned long arg)
{
	long r = kt_ioc(storm_fd(s), cmd, arg);

	ADD(s->r.calls, 1);
	if (!storm_errno_ok(r))
		ADD(s->r.odd, 1);
	return r;
}

static long sc_p(struct storm *s, unsigned long cmd, const void *arg)
{
	return sc(s, cmd, (unsigned long)arg);
}

static struct mnsched_pstate *storm_pst(struct storm *s, int p)
{
	return kt_pst(__atomic_load_n(&s->pst, __ATOMIC_ACQUIRE), p);
}

static int storm_cas(struct mnsched_pstate *p, __u32 from, __u32 to)
{
	return __atomic_compare_exchange_n(&p->state, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void storm_set_state(struct mnsched_pstate *p, __u32 st)
{
	__atomic_store_n(&p->state, st, __ATOMIC_RELEASE);
}

static int storm_done(struct storm *s)
{
	return s->stop || __atomic_load_n(&s->r.calls, __ATOMIC_RELAXED) >= s->budget + 5000;
}

/* Register (again: the file may have been replaced) as M slot @slot. */
static long storm_register(struct storm *s, int slot)
{
	long id = sc(s, MNSCHED_IOC_REGISTER, 0);

	if (id >= 0)
		__atomic_store_n(&s->ids[slot], id, __ATOMIC_RELAXED);
	return id;
}

struct storm_thread {
	struct storm *s;
	int slot;
	uint64_t seed;
};

static void *storm_fuzzer(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;
	unsigned long cmd;
	long r;

	while (!storm_done(s)) {
		r = fuzz_call(storm_fd(s), &t->seed, 1, &cmd, &s->ids[t->slot]);
		ADD(s->r.calls, 1);
		if (cmd && !storm_errno_ok(r))
			ADD(s->r.odd, 1);
	}
	return NULL;
}

static void *storm_swapper(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;
	int other = t->slot == 2 ? 3 : 2;
	long r = -ESRCH, o;

	while (!storm_done(s)) {
		if (r == -ESRCH)
			storm_register(s, t->slot);
		o = __atomic_load_n(&s->ids[other], __ATOMIC_RELAXED);
		switch (xs(&t->seed) % 8) {
		case 0: case 1: case 2:
			r = sc_p(s, MNSCHED_IOC_SWAP, &(struct mnsched_swap){
				.target = o < 0 ? 0 : o, .timeout_ns = xs(&t->seed) % 1000000 });
			break;
		case 3:
			r = sc_p(s, MNSCHED_IOC_PARK, &(struct mnsched_park){
				.timeout_ns = xs(&t->seed) % 500000 });
			break;
		case 4: case 5:
			r = sc(s, MNSCHED_IOC_UNPARK, o < 0 ? 0 : o);
			break;
		case 6:
			r = sc(s, MNSCHED_IOC_SET_P, xs(&t->seed) % (STORM_NP + 1) - 1);
			break;
		default:
			r = sc_p(s, MNSCHED_IOC_SWAP, &(struct mnsched_swap){
				.target = s->ids[t->slot], .timeout_ns = 0 });
			break;
		}
	}
	return NULL;
}

/* Holds P 0 in state SYSCALL and blocks in read(): the handoff. */
static void *storm_blocker(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;
	struct mnsched_pstate *p;
	long r = -ESRCH;
	char ch;

	while (!storm_done(s)) {
		if (r == -ESRCH)
			storm_register(s, t->slot);
		p = storm_pst(s, 0);
		r = sc(s, MNSCHED_IOC_SET_P, 0);
		storm_set_state(p, MNSCHED_P_SYSCALL);
		if (read(s->hand[0], &ch, 1) < 0)
			break;
		/* mn_syscall_exit: our P, unless the spare took it. */
		if (!storm_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))
			storm_set_state(p, MNSCHED_P_RUNNING);
		if (xs(&t->seed) % 4 == 0)
			sc(s, MNSCHED_IOC_SET_P, -1);
	}
	return NULL;
}

static void *storm_spare(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;
	struct mnsched_spare a;
	long r = -ESRCH;
	int p;

	while (!storm_done(s)) {
		if (r == -ESRCH)
			storm_register(s, t->slot);
		a = (struct mnsched_spare){ .timeout_ns = xs(&t->seed) % 20000000, .p = -2 };
		if (s->arg && xs(&t->seed) % 2) {
			*s->arg_rw = a;
			r = sc_p(s, MNSCHED_IOC_SPARE, s->arg);
			a = *s->arg_rw;
			if (r == -EFAULT)
				ADD(s->r.spare_efaults, 1);
		} else {
			r = sc_p(s, MNSCHED_IOC_SPARE, &a);
		}
		p = !r && a.p >= 0 && a.p < STORM_NP ? a.p : -1;
		/* Take it, run "a G", leave it idle; the blocker finds it gone. */
		if (p >= 0 && storm_cas(storm_pst(s, p), MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))
			storm_set_state(storm_pst(s, p), MNSCHED_P_IDLE);
		if (p >= 0)
			sc(s, MNSCHED_IOC_SET_P, -1);
		/* Unblock the blocker (the pipe is non-blocking: it may be full). */
		if (write(s->hand[1], "x", 1) < 0 && errno != EAGAIN)
			break;
	}
	return NULL;
}

static void *storm_unparker(void *arg)
{
	struct storm *s = arg;
	long id;
	int i;

	while (!s->stop) {
		for (i = 0; i < 6; i++) {
			id = __atomic_load_n(&s->ids[i], __ATOMIC_RELAXED);
			if (id >= 0)
				sc(s, MNSCHED_IOC_UNPARK, id);
		}
		kt_sleep_ns(1000000);
	}
	return NULL;
}

/* A few random calls from another process: each must fail with -EPERM. */
static void foreign_calls(struct storm *s, int fd, uint64_t *seed, int n)
{
	unsigned long cmd;
	void *m;
	long r;
	int i;

	for (i = 0; i < n; i++) {
		cmd = cmds[xs(seed) % NCMDS];
		r = kt_ioc(fd, cmd, xs(seed) % 3 ? 0 : xs(seed) % 4);
		ADD(s->r.calls, 1);
		/* -EBADF: chaos closed it (fork and vfork copy the table). */
		if (r != -EPERM && r != -EBADF)
			ADD(s->r.odd, 1);
	}
	r = kt_register(fd);
	ADD(s->r.calls, 1);
	if (r != -EPERM && r != -EBADF)
		ADD(s->r.odd, 1);
	m = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, fd, 0);
	ADD(s->r.calls, 1);
	if (m != MAP_FAILED || (errno != EPERM && errno != EBADF))
		ADD(s->r.odd, 1);
}

static void storm_report(struct storm *s)
{
	struct storm_rep r = s->r;

	if (write(s->report, &r, sizeof(r)) != sizeof(r))
		_exit(120);
}

static sigjmp_buf child_jb;

static void child_fault(int sig)
{
	siglongjmp(child_jb, sig);
}

/* fork: the child may not call the module, nor see the P pages. */
static void chaos_fork(struct storm *s, uint64_t *seed)
{
	int st;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		volatile __u64 g;

		memset(&s->r, 0, sizeof(s->r));
		foreign_calls(s, storm_fd(s), seed, 4);
		storm_report(s);
		/* The test reads the reports until every writer is gone. */
		close(s->report);
		signal(SIGBUS, child_fault);
		signal(SIGSEGV, child_fault);
		if (sigsetjmp(child_jb, 1))
			_exit(0);
		g = storm_pst(s, xs(seed) % STORM_NP)->goid;
		(void)g;
		/* It read the parent's page. */
		_exit(1);
	}
	ADD(s->r.forks, 1);
	if (waitpid(pid, &st, 0) == pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		ADD(s->r.odd, 1);
}

struct vfork_arg {
	struct storm *s;
	uint64_t seed;
};

static int vfork_child(void *arg)
{
	struct vfork_arg *v = arg;

	/* The same memory as the parent: counts go straight to s->r. */
	foreign_calls(v->s, storm_fd(v->s), &v->seed, 4);
	return 0;
}

static void chaos_vfork(struct storm *s, uint64_t *seed)
{
	static __thread char stack[64 << 10] __attribute__((aligned(16)));
	struct vfork_arg v = { .s = s, .seed = xs(seed) };
	pid_t pid;

	pid = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &v);
	if (pid < 0)
		return;
	ADD(s->r.vforks, 1);
	waitpid(pid, NULL, 0);
}

/* A child whose M holds a P in SYSCALL and parks, killed meanwhile. */
static void chaos_kill(struct storm *s, uint64_t *seed)
{
	struct mnsched_pstate *p;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		/* Also when an exec kills the thread that would kill us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(&s->r, 0, sizeof(s->r));
		s->r.calls = 5;
		storm_report(s);
		close(s->report);
		fd = kt_open();
		if (fd < 0 || kt_config(fd, 2))
			_exit(0);
		p = kt_map(fd, 2);
		if (!p || kt_register(fd) < 0 || kt_set_p(fd, 1))
			_exit(0);
		storm_set_state(kt_pst(p, 1), MNSCHED_P_SYSCALL);
		/* Bounded: an orphan (see above) must not stay. */
		kt_park(fd, xs(seed) & 1 ? 200000000 : 1000000);
		/* Sometimes exits first, holding its P. */
		_exit(0);
	}
	ADD(s->r.kills, 1);
	kt_sleep_ns(xs(seed) % 2000000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static const int advices[] = {
	MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_REMOVE, MADV_KEEPONFORK,
	MADV_WIPEONFORK, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
	MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
	MADV_DONTDUMP, MADV_DODUMP, MADV_FREE, MADV_MERGEABLE, MADV_HUGEPAGE,
};
#define NADV (sizeof(advices) / sizeof(advices[0]))

/* The spare's argument read-only for a while: its SPARE may fail. */
static void chaos_protect_arg(struct storm *s, uint64_t *seed)
{
	if (!s->arg)
		return;
	mprotect(s->arg, getpagesize(), PROT_READ);
	kt_sleep_ns(xs(seed) % 3000000);
	mprotect(s->arg, getpagesize(), PROT_READ | PROT_WRITE);
	ADD(s->r.protects, 1);
}

static void chaos_madvise(struct storm *s, uint64_t *seed)
{
	char *m = (char *)__atomic_load_n(&s->pst, __ATOMIC_ACQUIRE);
	int ps = getpagesize(), off = xs(seed) % STORM_NP;
	int n = 1 + xs(seed) % (STORM_NP - off);

	madvise(m + off * ps, n * ps, advices[xs(seed) % NADV]);
	ADD(s->r.madvises, 1);
}

/* A mapping of its own: mprotect, madvise, mremap, partial munmap. */
static void chaos_map(struct storm *s, uint64_t *seed)
{
	int ps = getpagesize(), off = xs(seed) % STORM_NP;
	size_t len = (1 + xs(seed) % (STORM_NP - off)) * ps;
	int prot = (xs(seed) % 4) & (PROT_READ | PROT_WRITE);
	char *m, *m2;

	m = mmap(NULL, len, prot | PROT_READ, MAP_SHARED, storm_fd(s), (off_t)off * ps);
	ADD(s->r.calls, 1);
	ADD(s->r.maps, 1);
	if (m == MAP_FAILED)
		return;
	switch (xs(seed) % 5) {
	case 0:
		mprotect(m, ps, xs(seed) % 2 ? PROT_NONE : PROT_READ | PROT_WRITE);
		break;
	case 1:
		madvise(m, len, advices[xs(seed) % NADV]);
		break;
	case 2:
		m2 = mremap(m, len, len, MREMAP_MAYMOVE);
		if (m2 != MAP_FAILED)
			m = m2;
		break;
	case 3:
		if (len > (size_t)ps) {
			/*
			 * A hole, then the two pieces on either side: not
			 * munmap(m, len), which would also unmap another
			 * chaos thread's mapping if its mmap() landed in the
			 * hole in between (its read then died of SIGSEGV:
			 * the storm's one failure, 6.12 and the debug VM).
			 */
			munmap(m + ps, ps);
			munmap(m, ps);
			if (len > 2 * (size_t)ps)
				munmap(m + 2 * ps, len - 2 * ps);
			return;
		}
		break;
	default:
		/* Touch it (read: it may be read-only). */
		(void)*(volatile __u32 *)m;
		break;
	}
	munmap(m, len);
}

/* Replace the file under the others' feet, keeping its number. */
static void chaos_reopen(struct storm *s, uint64_t *seed)
{
	int cloexec = xs(seed) & 1, fd, old = storm_fd(s);
	struct mnsched_pstate *p = NULL;

	if (xs(seed) % 4 == 0) {
		/* Closed for a while: the others get -EBADF. */
		close(old);
		kt_sleep_ns(xs(seed) % 500000);
	}
	fd = open(MNSCHED_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	sc(s, MNSCHED_IOC_VERSION, 0);
	if (kt_config(fd, STORM_NP) == 0 && s->nmaps < STORM_MAPS) {
		p = kt_map(fd, STORM_NP);
		if (p)
			s->maps[s->nmaps++] = p;
	}
	ADD(s->r.calls, 2);
	if (fd != old) {
		dup2(fd, old);
		close(fd);
	}
	fcntl(old, F_SETFD, cloexec ? FD_CLOEXEC : 0);
	s->cloexec = cloexec;
	if (p)
		__atomic_store_n(&s->pst, p, __ATOMIC_RELEASE);
	ADD(s->r.reopens, 1);
}

static void storm_exec(struct storm *s)
{
	char env[160], *argv[] = { "kmod_fuzz", NULL }, *envp[] = { env, NULL };
	static int once;

	/* One chaos thread execs; the other waits to be killed by it. */
	if (__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
		for (;;)
			pause();

	snprintf(env, sizeof(env), "MN_FUZZ_STORM=%d %d %ld %d %d %llu",
		 s->gen + 1, s->gens, s->left, s->report,
		 s->cloexec ? -1 : storm_fd(s), (unsigned long long)xs(&s->seed));
	ADD(s->r.execs, 1);
	storm_report(s);
	/* The other threads are in their calls: de_thread() kills them. */
	execve("/proc/self/exe", argv, envp);
	/* Not reached; count it as broken. */
	memset(&s->r, 0, sizeof(s->r));
	s->r.odd = 1;
	storm_report(s);
	_exit(121);
}

static void *storm_chaos(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;

	while (!s->stop) {
		if (__atomic_load_n(&s->r.calls, __ATOMIC_RELAXED) >= s->budget) {
			if (s->gen + 1 < s->gens)
				storm_exec(s);
			s->stop = 1;
			break;
		}
		switch (xs(&t->seed) % 17) {
		case 0: case 1: case 2: case 3: case 4:
			chaos_madvise(s, &t->seed);
			break;
		case 5: case 6: case 7: case 8:
			chaos_map(s, &t->seed);
			break;
		case 9: case 10:
			chaos_fork(s, &t->seed);
			break;
		case 11: case 12:
			chaos_vfork(s, &t->seed);
			break;
		case 13:
			chaos_kill(s, &t->seed);
			break;
		case 14:
			chaos_reopen(s, &t->seed);
			break;
		case 15:
			chaos_protect_arg(s, &t->seed);
			break;
		default:
			kt_sleep_ns(xs(&t->seed) % 200000);
			break;
		}
	}
	return NULL;
}

static void cat_line(const char *path, const char *key)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!key || !strncmp(line, key, strlen(key)))
			fprintf(stderr, "  %s: %s", path, line);
	fclose(f);
}

static void storm_die(int code, const char *what, int err)
{
	fprintf(stderr, "storm generation: %s: %s\n", what, strerror(err));
	cat_line("/proc/meminfo", "MemAvailable");
	cat_line("/proc/loadavg", NULL);
	cat_line("/proc/sys/kernel/threads-max", NULL);
	cat_line("/proc/self/status", "Threads");
	_exit(code);
}

/* pthread_create(), retried for a while on EAGAIN (a transient shortage). */
static int storm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int i, err;

	for (i = 0; i < 200; i++) {
		err = pthread_create(t, NULL, fn, arg);
		if (err != EAGAIN)
			break;
		kt_sleep_ns(10000000);
	}
	if (i)
		fprintf(stderr, "storm generation: pthread_create: EAGAIN %d times\n", i);
	return err;
}

/* One generation: storm until its calls are done, then exec or exit. */
static void storm_gen(struct storm *s)
{
	struct storm_thread t[7];
	pthread_t th[7], un;
	char ch[64];
	int i, err;

	signal(SIGPIPE, SIG_IGN);
	memset(s->ids, 0xff, sizeof(s->ids));
	s->fd = open(MNSCHED_DEVICE, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		storm_die(122, "open", errno);
	err = -kt_config(s->fd, STORM_NP);
	if (err)
		storm_die(122, "CONFIG", err);
	s->pst = kt_map(s->fd, STORM_NP);
	if (!s->pst || pipe2(s->hand, O_CLOEXEC))
		storm_die(123, "mmap or pipe", errno);
	s->maps[s->nmaps++] = s->pst;
	fcntl(s->hand[1], F_SETFL, O_NONBLOCK);
	i = memfd_create("mn-spare-arg", MFD_CLOEXEC);
	if (i >= 0 && !ftruncate(i, getpagesize())) {
		s->arg_rw = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, i, 0);
		s->arg = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, i, 0);
		if (s->arg_rw == MAP_FAILED || s->arg == MAP_FAILED)
			s->arg_rw = s->arg = NULL;
	}
	if (i >= 0)
		close(i);
	s->cloexec = 1;
	s->r.calls = 2;
	i = storm_thread_start(&un, storm_unparker, s);
	if (i)
		storm_die(124, "pthread_create", i);
	for (i = 0; i < 7; i++) {
		static void *(*const fn[7])(void *) = {
			storm_fuzzer, storm_chaos, storm_swapper, storm_swapper,
			storm_blocker, storm_spare, storm_chaos,
		};

		t[i].s = s;
		t[i].slot = i;
		t[i].seed = s->seed * (i + 3) + 0x9e3779b97f4a7c15ull;
		err = storm_thread_start(&th[i], fn[i], &t[i]);
		if (err)
			storm_die(125, "pthread_create", err);
	}
	/* The last generation: chaos sets stop when the calls are done. */
	pthread_join(th[6], NULL);
	s->stop = 1;
	for (i = 0; i < 6; i++) {
		if (i == 4)
			continue;
		pthread_join(th[i], NULL);
	}
	memset(ch, 'x', sizeof(ch));
	if (write(s->hand[1], ch, sizeof(ch)) < 0)
		ADD(s->r.odd, 1);
	pthread_join(th[4], NULL);
	pthread_join(un, NULL);
	close(storm_fd(s));
	storm_report(s);
	_exit(0);
}

static void storm_start(struct storm *s, int gen, int gens, long calls, int report,
			uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->gens = gens;
	s->report = report;
	s->seed = seed ? seed : 1;
	s->budget = calls / (gens - gen);
	s->left = calls - s->budget;
	/* A process that dies is then placed: between an exec and the next
	 * generation's start, or in a generation. */
	s->r.started = 1;
	storm_report(s);
	s->r.started = 0;
	storm_gen(s);
}

/*
 * The exec'd program: MN_FUZZ_STORM="GEN GENS CALLS REPORT_FD OLD_FD SEED".
 * It runs before the harness (a constructor) and never returns.
 */
__attribute__((constructor)) static void exec_storm(void)
{
	const char *e = getenv("MN_FUZZ_STORM");
	static struct storm s;
	unsigned long long seed;
	int gen, gens, rep, old;
	long calls;

	if (!e)
		return;
	if (sscanf(e, "%d %d %ld %d %d %llu", &gen, &gens, &calls, &rep, &old, &seed) != 6)
		_exit(126);
	if (old >= 0) {
		/* The old program's file: the new one may not use it. */
		uint64_t x = seed;

		memset(&s, 0, sizeof(s));
		s.report = rep;
		foreign_calls(&s, old, &x, 8);
		close(old);
		storm_report(&s);
	}
	storm_start(&s, gen, gens, calls, rep, seed);
}

struct storm_total {
	struct storm_rep r;
	long records;
	int timed_out;
};

/* Read the reports until every storm process is gone, or @ms passed. */
static void storm_collect(int fd, struct storm_total *t, long ms)
{
	uint64_t end = kt_now() + (uint64_t)ms * 1000000;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct storm_rep r;
	ssize_t n;

	for (;;) {
		int left = (int)((end - kt_now()) / 1000000);

		if ((int64_t)(end - kt_now()) <= 0 || poll(&pfd, 1, left) == 0) {
			t->timed_out = 1;
			return;
		}
		n = read(fd, &r, sizeof(r));
		if (n == 0)
			return;
		if (n != sizeof(r)) {
			if (n < 0 && errno == EINTR)
				continue;
			t->r.odd++;
			return;
		}
		t->records++;
		t->r.calls += r.calls;
		t->r.odd += r.odd;
		t->r.forks += r.forks;
		t->r.vforks += r.vforks;
		t->r.execs += r.execs;
		t->r.reopens += r.reopens;
		t->r.madvises += r.madvises;
		t->r.maps += r.maps;
		t->r.kills += r.kills;
		t->r.protects += r.protects;
		t->r.spare_efaults += r.spare_efaults;
		t->r.started += r.started;
	}
}

/* Write @val to the sysctl file @path; its old value, or -1. */
static int sysctl_swap(const char *path, int val)
{
	char b[32];
	int fd = open(path, O_RDWR), old = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	if (n > 0) {
		b[n] = 0;
		old = atoi(b);
		n = snprintf(b, sizeof(b), "%d\n", val);
		if (pwrite(fd, b, (size_t)n, 0) != n)
			old = -1;
	}
	close(fd);
	return old;
}

/*
 * A storm that died of a signal: the kernel's lines about it after
 * @marker (print-fatal-signals: the signal, the pc and the registers,
 * also for a SIGSEGV the kernel forces, as when an execve fails past its
 * point of no return, which leaves no "segfault at" line).
 */
static void storm_klog(struct __test_metadata *_metadata, const char *marker)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *from, *line, *save;
	int n, shown = 0;

	if (len <= 0 || !(buf = malloc((size_t)len + 1)))
		return;
	n = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	if (n <= 0) {
		free(buf);
		return;
	}
	buf[n] = 0;
	from = strstr(buf, marker);
	for (line = strtok_r(from ? from : buf, "\n", &save); line && shown < 40;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "kmod_fuzz") || strstr(line, "RIP:") ||
		    strstr(line, "fatal signal") || strstr(line, "segfault") ||
		    strstr(line, "Code:")) {
			TH_LOG("kernel: %s", line);
			shown++;
		}
	free(buf);
}


FIXTURE(fz) {
	int unused;
};

FIXTURE_SETUP(fz)
{
	if (access(MNSCHED_DEVICE, F_OK))
		SKIP(return, MNSCHED_DEVICE " is absent (module not loaded)");
}

FIXTURE_TEARDOWN(fz)
{
}

/* MN_FUZZ_CALLS (200,000) calls from one thread. */
TEST_F_TIMEOUT(fz, fuzz_100k, 1800)
{
	run_fuzz(_metadata, 1, fuzz_calls());
}

/* MN_FUZZ_CALLS calls from four threads on one file, racing each other. */
TEST_F_TIMEOUT(fz, fuzz_threads, 1800)
{
	run_fuzz(_metadata, 4, (fuzz_calls() + 3) / 4);
}

/*
 * Issue 14, item 6: the storm above, MN_FUZZ_CALLS module calls in all,
 * one exec per STORM_GEN_CALLS.  No call may break a rule (-EPERM to the
 * owner, success for another process, a P page seen by a fork), the
 * kernel must not warn (the VM's dmesg check), and everything must be
 * freed.
 */
TEST_F_TIMEOUT(fz, storm, 3600)
{
	long calls = fuzz_calls(), base;
	uint64_t seed = fuzz_seed();
	struct storm_total t = { 0 };
	struct mnsched_version v;
	int rep[2], gens, st = -1, fd, kmsg, pfs;
	char marker[64];
	pid_t pid;

	base = kt_counter_base("allocated");
	gens = 1 + calls / STORM_GEN_CALLS;
	/* If the storm dies of a signal, the kernel says where (storm_klog). */
	snprintf(marker, sizeof(marker), "mnsched kmod_fuzz: storm %d begins", getpid());
	kmsg = open("/dev/kmsg", O_WRONLY);
	if (kmsg >= 0) {
		if (write(kmsg, marker, strlen(marker)) < 0)
			marker[0] = 0;
		close(kmsg);
	}
	pfs = sysctl_swap("/proc/sys/kernel/print-fatal-signals", 1);
	ASSERT_EQ(0, pipe(rep));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		static struct storm s;

		setpgid(0, 0);
		close(rep[0]);
		storm_start(&s, 0, gens, calls, rep[1], seed);
	}
	setpgid(pid, pid);
	close(rep[1]);
	/* About 25 us per call in the VM, far more on the debug kernel. */
	storm_collect(rep[0], &t, 600000 + calls / 10);
	close(rep[0]);
	if (t.timed_out)
		kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	/* Whatever is left of the process group (a child of a chaos fork). */
	kill(-pid, SIGKILL);
	if (pfs >= 0)
		sysctl_swap("/proc/sys/kernel/print-fatal-signals", pfs);
	if (WIFSIGNALED(st)) {
		TH_LOG("the storm died of signal %d: %lld generations started, %lld execs reported",
		       WTERMSIG(st), (long long)t.r.started, (long long)t.r.execs);
		storm_klog(_metadata, marker);
	}
	TH_LOG("seed %#llx: %lld module calls in %d generations (%lld execs), %lld forks, %lld vforks, %lld killed Ms, %lld reopens, %lld madvises, %lld maps, %lld read-only SPARE arguments (%lld SPAREs got -EFAULT); %lld broken rules",
	       (unsigned long long)seed, (long long)t.r.calls, gens, (long long)t.r.execs,
	       (long long)t.r.forks, (long long)t.r.vforks, (long long)t.r.kills,
	       (long long)t.r.reopens, (long long)t.r.madvises, (long long)t.r.maps,
	       (long long)t.r.protects, (long long)t.r.spare_efaults, (long long)t.r.odd);
	EXPECT_FALSE(t.timed_out);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("storm status %#x", st);
	EXPECT_EQ(0, t.r.odd);
	EXPECT_LE(calls, t.r.calls);
	EXPECT_EQ(gens - 1, t.r.execs);
	EXPECT_EQ(gens, t.r.started);
	if (base >= 0)
		EXPECT_EQ(base, kt_counter_wait("allocated", base, 5000));
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_ioc_p(fd, MNSCHED_IOC_VERSION, &v));
	close(fd);
}

/*
 * After all that: nothing allocated, and the module unloads (and loads
 * again).  Last of the fixture's cases (the harness runs them in order).
 */
TEST_F(fz, rmmod_after_fuzz)
{
	const char *ko = getenv("MNSCHED_KO");
	char cmd[512];
	int i, st = -1;

	if (t_counter("allocated") >= 0)
		EXPECT_EQ(0, kt_counter_wait("allocated", 0, 3000));
	if (!ko || access(ko, R_OK))
		SKIP(return, "MNSCHED_KO does not name the module file");
	if (geteuid())
		SKIP(return, "needs root");
	for (i = 0; i < 300; i++) {
		st = system("rmmod mnsched 2>/dev/null");
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			break;
		kt_sleep_ns(10000000);
	}
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("rmmod failed");
	snprintf(cmd, sizeof(cmd), "insmod %s", ko);
	st = system(cmd);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < 100 && access(MNSCHED_DEVICE, F_OK); i++)
		kt_sleep_ns(1000000);
	EXPECT_EQ(0, t_counter("allocated"));
}

TEST_HARNESS_MAIN
