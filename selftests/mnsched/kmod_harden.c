// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_harden.c - what a local user must not be able to do with
 * /dev/mnsched (issue 14): pin memory past its memory cgroup's limit, and
 * keep an M (and its group, pages and the module) alive across execve.
 * The exec tests re-execute this program (see exec_child()).
 *
 * The memory cgroup tests need cgroup v2 with the memory controller (the
 * test VM mounts it at /sys/fs/cgroup) and root.  The VM runs each program
 * in /sys/fs/cgroup/mn-prog, which holds processes, so cgroup v2's
 * no-internal-process rule forbids enabling a controller for its children;
 * the root cgroup is exempt.  A test therefore enables +memory at the root,
 * makes a cgroup of its own next to mn-prog, and moves a worker process
 * into it (the test itself stays in mn-prog, so the VM's cgroup.kill still
 * reaches it; the worker dies with it, PR_SET_PDEATHSIG).  The test reads
 * the worker's memory.current between steps, so that its own reads are
 * charged elsewhere.  The worker touches its stack before it moves and
 * allocates nothing afterwards but what the step under test allocates: at
 * the limit, a page fault or a pipe buffer would invoke the cgroup's OOM
 * killer.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

#define CG_ROOT "/sys/fs/cgroup"

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* A number from a cgroup file ("max" is -1), or of key @key in it; -2 on error. */
static long cg_read(const char *dir, const char *file, const char *key)
{
	char path[256], k[64], v[64];
	long ret = -2;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -2;
	if (!key) {
		if (fscanf(f, "%63s", v) == 1)
			ret = strcmp(v, "max") ? strtol(v, NULL, 10) : -1;
	} else {
		while (fscanf(f, "%63s %63s", k, v) == 2) {
			if (!strcmp(k, key)) {
				ret = strtol(v, NULL, 10);
				break;
			}
		}
	}
	fclose(f);
	return ret;
}

/*
 * Make a cgroup with the memory controller under the root: 0, or a reason
 * to skip in @why.
 */
static int cg_make(char *dir, size_t len, const char **why)
{
	char ctl[256];
	FILE *f;

	*why = NULL;
	if (geteuid()) {
		*why = "needs root";
		return -1;
	}
	f = fopen(CG_ROOT "/cgroup.controllers", "r");
	if (!f) {
		*why = "no cgroup v2 at " CG_ROOT;
		return -1;
	}
	if (!fgets(ctl, sizeof(ctl), f))
		ctl[0] = 0;
	fclose(f);
	if (!strstr(ctl, "memory")) {
		*why = "no memory controller in cgroup v2";
		return -1;
	}
	/* The root is exempt from the no-internal-process rule. */
	if (cg_write(CG_ROOT, "cgroup.subtree_control", "+memory")) {
		*why = "cannot enable +memory at the cgroup root";
		return -1;
	}
	snprintf(dir, len, CG_ROOT "/mn-kmod-harden.%d", getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		*why = "cannot create a cgroup";
		return -1;
	}
	if (cg_read(dir, "memory.current", NULL) < 0) {
		rmdir(dir);
		*why = "no memory.current in a new cgroup";
		return -1;
	}
	return 0;
}

static void cg_remove(const char *dir)
{
	int i;

	for (i = 0; i < 200 && rmdir(dir) && errno == EBUSY; i++)
		kt_sleep_ns(10000000);
}

/* ---- a worker in its own cgroup, stepped by the test ------------------ */

#define MAX_FDS 16

struct worker {
	volatile int step;	/* the test asks for this step */
	volatile int done;	/* the worker finished this step */
	int nr_fds;
	int nr_p;
	int fds[MAX_FDS];
	long ret[MAX_FDS];	/* CONFIG results, or open's -errno */
	int ok;			/* configured files */
	long err;		/* the first failure */
};

/* Wait (1 ms polls) until *@v == @want; 0 or -ETIMEDOUT. */
static int wait_val(volatile int *v, int want, int ms)
{
	while (*v != want) {
		if (ms-- <= 0)
			return -ETIMEDOUT;
		kt_sleep_ns(1000000);
	}
	return 0;
}

static void touch_stack(void)
{
	volatile char buf[64 << 10];
	size_t i;

	for (i = 0; i < sizeof(buf); i += 4096)
		buf[i] = 1;
}

/* Step 1: open and configure nr_fds files (stop at the first failure). */
static void worker_configure(struct worker *w)
{
	struct mnsched_config c;
	int i;

	for (i = 0; i < w->nr_fds; i++) {
		w->fds[i] = open(MNSCHED_DEVICE, O_RDWR | O_CLOEXEC);
		if (w->fds[i] < 0) {
			w->ret[i] = -errno;
			w->err = w->ret[i];
			break;
		}
		memset(&c, 0, sizeof(c));
		c.nr_p = w->nr_p;
		w->ret[i] = ioctl(w->fds[i], MNSCHED_IOC_CONFIG, &c) ? -errno : 0;
		if (w->ret[i]) {
			w->err = w->ret[i];
			close(w->fds[i]);
			w->fds[i] = -1;
			break;
		}
		w->ok++;
	}
}

static void worker_main(struct worker *w)
{
	void *maps[MAX_FDS];
	int i, s, mapped = 0;
	size_t len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	touch_stack();
	len = (size_t)w->nr_p * getpagesize();
	do {
		/* The step asked for; those skipped are not done. */
		for (i = 0; w->step == w->done; i++) {
			if (i > 20000)
				_exit(1);
			kt_sleep_ns(1000000);
		}
		s = w->step;
		switch (s) {
		case 1:
			worker_configure(w);
			break;
		case 2:
			/* Map and touch every P page: no new charges. */
			for (i = 0; i < w->ok; i++) {
				maps[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
					       w->fds[i], 0);
				if (maps[i] == MAP_FAILED)
					_exit(2);
				memset(maps[i], 1, len);
			}
			mapped = 1;
			break;
		case 3:
			for (i = 0; mapped && i < w->ok; i++)
				munmap(maps[i], len);
			mapped = 0;
			break;
		case 4:
			for (i = 0; i < w->ok; i++)
				close(w->fds[i]);
			break;
		}
		w->done = s;
	} while (s != 4);
	_exit(0);
}

struct cgtest {
	char cg[256];
	struct worker *w;
	pid_t pid;
};

/* Fork the worker and move it into a new cgroup; 0, or a reason to skip. */
static int cgtest_start(struct cgtest *t, int nr_fds, int nr_p, const char *max,
			const char **why)
{
	char pid[32];

	if (cg_make(t->cg, sizeof(t->cg), why))
		return -1;
	if (max && cg_write(t->cg, "memory.max", max)) {
		*why = "cannot set memory.max";
		cg_remove(t->cg);
		return -1;
	}
	t->w = mmap(NULL, sizeof(*t->w), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->w == MAP_FAILED) {
		*why = "mmap";
		cg_remove(t->cg);
		return -1;
	}
	memset(t->w, 0, sizeof(*t->w));
	t->w->nr_fds = nr_fds;
	t->w->nr_p = nr_p;
	t->pid = fork();
	if (t->pid == 0)
		worker_main(t->w);
	snprintf(pid, sizeof(pid), "%d", t->pid);
	if (t->pid < 0 || cg_write(t->cg, "cgroup.procs", pid)) {
		*why = "cannot move the worker into its cgroup";
		if (t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, NULL, 0);
		}
		cg_remove(t->cg);
		return -1;
	}
	return 0;
}

/* Run step @s; returns the worker's memory.current after it, or < 0. */
static long cgtest_step(struct cgtest *t, int s)
{
	t->w->step = s;
	if (wait_val(&t->w->done, s, 20000))
		return -1;
	return cg_read(t->cg, "memory.current", NULL);
}

static int cgtest_end(struct cgtest *t)
{
	int st = -1;

	if (t->w->done < 4) {
		t->w->step = 4;
		if (wait_val(&t->w->done, 4, 5000))
			kill(t->pid, SIGKILL);
	}
	waitpid(t->pid, &st, 0);
	cg_remove(t->cg);
	munmap(t->w, sizeof(*t->w));
	return st;
}

#define MIB (1l << 20)

/*
 * Issue 14, item 1: the P pages (and the rest) are charged to the caller's
 * memory cgroup, and uncharged when freed.  Four files with 256 Ps each
 * pin 4 MiB; memory.current moves in batches of up to 64 pages per CPU
 * (the memcg per-CPU stock), hence the margins.
 */
TEST(memcg_charges_p_pages)
{
	long m0, m1, m2, m3, m4, p0;
	struct cgtest t;
	const char *why;

	KT_REQUIRE_DEV();
	kt_counter_base("allocated");	/* earlier tests' Ms freed */
	if (cgtest_start(&t, 4, 256, NULL, &why))
		SKIP(return, "%s", why);
	p0 = t_counter("pages");
	m0 = cg_read(t.cg, "memory.current", NULL);
	m1 = cgtest_step(&t, 1);
	EXPECT_EQ(4, t.w->ok);
	EXPECT_EQ(p0 + 4 * 256, t_counter("pages"));
	m2 = cgtest_step(&t, 2);
	m3 = cgtest_step(&t, 3);
	m4 = cgtest_step(&t, 4);
	TH_LOG("memory.current: %ld KiB, after 4 x CONFIG 256: %ld KiB, mapped %ld KiB, unmapped %ld KiB, closed %ld KiB",
	       m0 >> 10, m1 >> 10, m2 >> 10, m3 >> 10, m4 >> 10);
	EXPECT_EQ(0, cgtest_end(&t));
	ASSERT_LE(0, m0);
	ASSERT_LE(0, m4);
	EXPECT_LE(4 * MIB - MIB / 2, m1 - m0);
	EXPECT_GE(4 * MIB + 3 * MIB / 4, m1 - m0);
	/* Mapping adds page tables, not pages. */
	EXPECT_GE(MIB / 2, m2 - m1);
	/* Freed and uncharged. */
	EXPECT_LE(4 * MIB - MIB / 2, m1 - m4);
	EXPECT_EQ(p0, kt_counter_wait("pages", p0, 2000));
}

/*
 * Issue 14, item 1: at memory.max, CONFIG (or open) fails with -ENOMEM,
 * nothing of the failed call stays allocated, no OOM kill, and the memory
 * pinned stays under the limit.  Before the fix, 16 files x 256 Ps (16 MiB)
 * all succeeded in a 4 MiB cgroup.
 */
TEST(memcg_limit_enomem)
{
	long p0, p1, cur, max, oom, oom_kill;
	struct cgtest t;
	const char *why;

	KT_REQUIRE_DEV();
	kt_counter_base("allocated");
	if (cgtest_start(&t, MAX_FDS, 256, "4194304", &why))
		SKIP(return, "%s", why);
	p0 = t_counter("pages");
	cgtest_step(&t, 1);
	/* Still at the limit: read what the worker holds. */
	p1 = t_counter("pages");
	cur = cg_read(t.cg, "memory.current", NULL);
	max = cg_read(t.cg, "memory.max", NULL);
	oom = cg_read(t.cg, "memory.events", "oom");
	oom_kill = cg_read(t.cg, "memory.events", "oom_kill");
	TH_LOG("%d of %d files configured, then %ld; memory.current %ld KiB of %ld KiB; %ld P pages",
	       t.w->ok, MAX_FDS, t.w->err, cur >> 10, max >> 10, p1 - p0);
	EXPECT_EQ(-ENOMEM, t.w->err);
	EXPECT_LE(1, t.w->ok);
	EXPECT_GE(4, t.w->ok);
	/* The failed CONFIG left nothing behind. */
	EXPECT_EQ(t.w->ok * 256, p1 - p0);
	EXPECT_GE(max, cur);
	EXPECT_EQ(0, oom);
	EXPECT_EQ(0, oom_kill);
	EXPECT_EQ(0, cgtest_end(&t));
	EXPECT_EQ(p0, kt_counter_wait("pages", p0, 2000));
}

/* ---- execve ------------------------------------------------------------ */

/*
 * The exec'd program is this file again: a constructor runs it before the
 * harness when MN_HARDEN_EXEC="REPORT_FD GO_FD OLD_FD" is set.  It reports
 * what the old file does for it, waits for the test's go, opens a file of
 * its own and registers, reports again, and waits for the last go.
 */
struct exec_res {
	long old_version;	/* VERSION on the inherited file, 1 when none */
	long old_register;	/* REGISTER on it */
	int old_mmap_errno;	/* mmap of it */
	long new_register;	/* REGISTER on a file of its own */
};

static void exec_child_report(int fd, const void *r, size_t n)
{
	if (write(fd, r, n) != (ssize_t)n)
		_exit(3);
}

__attribute__((constructor)) static void exec_child(void)
{
	const char *e = getenv("MN_HARDEN_EXEC");
	int rfd, gfd, old, fd;
	struct mnsched_version v;
	struct exec_res r;
	char go;
	void *a;

	if (!e)
		return;
	if (sscanf(e, "%d %d %d", &rfd, &gfd, &old) != 3)
		_exit(2);
	memset(&r, 0, sizeof(r));
	r.old_version = 1;
	r.old_register = 1;
	if (old >= 0) {
		r.old_version = kt_ioc_p(old, MNSCHED_IOC_VERSION, &v);
		r.old_register = kt_register(old);
		a = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, old, 0);
		r.old_mmap_errno = a == MAP_FAILED ? errno : 0;
	}
	exec_child_report(rfd, &r, sizeof(r));
	if (read(gfd, &go, 1) != 1)
		_exit(0);
	fd = kt_open();
	r.new_register = fd < 0 ? -errno : kt_register(fd);
	exec_child_report(rfd, &r, sizeof(r));
	if (read(gfd, &go, 1) != 1)
		_exit(0);
	_exit(0);
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/mnsched/refcnt", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

struct exec_setup {
	int cloexec;		/* open the file O_CLOEXEC */
	int from_thread;	/* exec from a second M, the first one alive */
	int hold_p;		/* the exec'ing M holds P 0 in state SYSCALL */
};

struct exec_run {
	int fd;
	int go;			/* the exec'ing thread's go */
	const struct exec_setup *s;
	char env[64];
};

static void exec_self(struct exec_run *x)
{
	char *argv[] = { "kmod_harden", NULL };
	char *envp[] = { x->env, NULL };
	struct mnsched_pstate *pst;
	char go;

	if (kt_register(x->fd) < 0)
		_exit(10);
	if (x->s->hold_p) {
		pst = kt_map(x->fd, 2);
		if (!pst || kt_set_p(x->fd, 0))
			_exit(11);
		__atomic_store_n(&pst->state, MNSCHED_P_SYSCALL, __ATOMIC_RELEASE);
	}
	if (x->go >= 0 && read(x->go, &go, 1) != 1)
		_exit(12);
	execve("/proc/self/exe", argv, envp);
	_exit(13);
}

static void *exec_thread(void *arg)
{
	exec_self(arg);
	return NULL;
}

/*
 * Fork a child that opens a file, registers, and execs this program from
 * an M; returns its pid, with the exec'd program's first report in @r.
 */
static pid_t exec_start(struct __test_metadata *_metadata, const struct exec_setup *s,
			int rep[2], int go[2], struct exec_res *r)
{
	pid_t pid;

	if (pipe(rep) || pipe(go))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct exec_run x = { .s = s, .go = -1 };
		int tgo[2];
		pthread_t t;

		close(rep[0]);
		close(go[1]);
		x.fd = open(MNSCHED_DEVICE, O_RDWR | (s->cloexec ? O_CLOEXEC : 0));
		if (x.fd < 0 || kt_config(x.fd, 2))
			_exit(14);
		snprintf(x.env, sizeof(x.env), "MN_HARDEN_EXEC=%d %d %d", rep[1], go[0],
			 s->cloexec ? -1 : x.fd);
		if (!s->from_thread)
			exec_self(&x);
		/* The main thread stays an M, parked, while another M execs. */
		if (kt_register(x.fd) < 0 || pipe(tgo))
			_exit(15);
		x.go = tgo[0];
		if (pthread_create(&t, NULL, exec_thread, &x))
			_exit(16);
		kt_sleep_ns(20000000);
		if (write(tgo[1], "g", 1) != 1)
			_exit(17);
		kt_park(x.fd, -1);
		_exit(18);
	}
	close(rep[1]);
	close(go[0]);
	if (read(rep[0], r, sizeof(*r)) != sizeof(*r)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* The exec'd program registers with a file of its own, then exits. */
static int exec_finish(pid_t pid, int rep[2], int go[2], struct exec_res *r)
{
	int st = -1;

	r->new_register = -999;
	if (write(go[1], "g", 1) != 1 || read(rep[0], r, sizeof(*r)) != sizeof(*r))
		kill(pid, SIGKILL);
	else if (write(go[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(rep[0]);
	close(go[1]);
	return st;
}

static void exec_test(struct __test_metadata *_metadata, const struct exec_setup *s)
{
	long base, ms0, g0, ref0;
	int rep[2], go[2], st;
	struct exec_res r;
	pid_t pid;

	KT_REQUIRE_DEV();
	base = kt_counter_base("allocated");
	if (base < 0)
		SKIP(return, "no " T_COUNTERS);
	ms0 = t_counter("ms");
	g0 = t_counter("groups");
	ref0 = module_refcnt();
	pid = exec_start(_metadata, s, rep, go, &r);
	ASSERT_LT(0, pid);
	/* The new program runs: no M of the old one is left. */
	EXPECT_EQ(ms0, kt_counter_wait("ms", ms0, 2000));
	if (s->cloexec) {
		/* Nor its group: the file was closed by the exec. */
		EXPECT_EQ(g0, kt_counter_wait("groups", g0, 2000));
		EXPECT_EQ(base, kt_counter_wait("allocated", base, 2000));
		/* Nothing holds the module: rmmod would succeed. */
		if (ref0 >= 0)
			EXPECT_EQ(ref0, module_refcnt());
		EXPECT_EQ(1, r.old_version);
	} else {
		/* The inherited file belongs to the old program. */
		EXPECT_EQ(g0 + 1, t_counter("groups"));
		EXPECT_EQ(-EPERM, r.old_version);
		EXPECT_EQ(-EPERM, r.old_register);
		EXPECT_EQ(EPERM, r.old_mmap_errno);
		if (ref0 >= 0)
			EXPECT_EQ(ref0 + 1, module_refcnt());
	}
	st = exec_finish(pid, rep, go, &r);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("exec'd child status %#x", st);
	/* A new program can be an M, with a file of its own. */
	EXPECT_LE(0, r.new_register);
	EXPECT_EQ(base, kt_counter_wait("allocated", base, 3000));
	if (ref0 >= 0)
		EXPECT_EQ(ref0, module_refcnt());
}

/*
 * Issue 14, item 2: an M that calls execve() is freed at the exec, and so
 * is its group when the file was close-on-exec; the module is free to go.
 * Before the fix: the M, group and P pages stayed for the new program's
 * lifetime and held the module.
 */
TEST(exec_frees_m)
{
	static const struct exec_setup s = { .cloexec = 1 };

	exec_test(_metadata, &s);
}

/* The same while the M holds a P in state SYSCALL (its blocked mark goes). */
TEST(exec_frees_m_holding_p)
{
	static const struct exec_setup s = { .cloexec = 1, .hold_p = 1 };

	exec_test(_metadata, &s);
}

/*
 * Issue 14, item 2: a file inherited across exec (no O_CLOEXEC) gives the
 * new program -EPERM for every call, and the new program can still become
 * an M with a file of its own.  Before the fix: its REGISTER got -EBUSY.
 */
TEST(exec_inherited_fd_eperm)
{
	static const struct exec_setup s = { .cloexec = 0 };

	exec_test(_metadata, &s);
}

/* exec from a second thread: de_thread() kills the first M, the exec frees the second. */
TEST(exec_from_thread_frees_both)
{
	static const struct exec_setup s = { .cloexec = 1, .from_thread = 1 };

	exec_test(_metadata, &s);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Issue 14, item 2: while the exec'd program runs, rmmod succeeds (and
 * insmod brings the module back).  Before the fix: "Module mnsched is in
 * use" until the new program exited.
 */
TEST(exec_then_rmmod)
{
	static const struct exec_setup s = { .cloexec = 1 };
	const char *ko = getenv("MNSCHED_KO");
	int rep[2], go[2], i, removed = 0;
	struct exec_res r;
	char cmd[512];
	pid_t pid;

	KT_REQUIRE_DEV();
	if (!ko || access(ko, R_OK))
		SKIP(return, "MNSCHED_KO does not name the module file");
	if (geteuid())
		SKIP(return, "needs root");
	pid = exec_start(_metadata, &s, rep, go, &r);
	ASSERT_LT(0, pid);
	/* The M's free may still be queued: retry for up to 2 s. */
	for (i = 0; i < 200 && !removed; i++) {
		removed = run("rmmod mnsched 2>/dev/null") == 0;
		if (!removed)
			kt_sleep_ns(10000000);
	}
	EXPECT_TRUE(removed);
	if (removed) {
		snprintf(cmd, sizeof(cmd), "insmod %s", ko);
		ASSERT_EQ(0, run(cmd));
		for (i = 0; i < 100 && access(MNSCHED_DEVICE, F_OK); i++)
			kt_sleep_ns(1000000);
	}
	exec_finish(pid, rep, go, &r);
	EXPECT_LE(0, r.new_register);
	EXPECT_EQ(0, kt_counter_wait("allocated", 0, 3000));
}

TEST_HARNESS_MAIN
