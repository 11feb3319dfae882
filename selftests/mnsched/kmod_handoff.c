// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_handoff.c - the blocked-M handoff: an M holding a P in state
 * SYSCALL that blocks in the kernel has its P handed to a spare M.
 */
#include <sched.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

static int cas_state(struct mnsched_pstate *p, __u32 from, __u32 to)
{
	return __atomic_compare_exchange_n(&p->state, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void set_state(struct mnsched_pstate *p, __u32 s)
{
	__atomic_store_n(&p->state, s, __ATOMIC_RELEASE);
}

/* Read the kernel-written fields consistently (kseq even and unchanged). */
static void read_kfields(struct mnsched_pstate *p, __u32 *blocked, __u64 *since,
			 __u64 *blocks, __u64 *handoffs)
{
	__u32 s1, s2;

	do {
		s1 = __atomic_load_n(&p->kseq, __ATOMIC_ACQUIRE);
		*blocked = p->blocked;
		*since = p->blocked_since_ns;
		*blocks = p->k_blocks;
		*handoffs = p->k_handoffs;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&p->kseq, __ATOMIC_RELAXED);
	} while ((s1 & 1) || s1 != s2);
}

/* ---- one spare, the main thread blocks in read() holding P 0 ---------- */

#define ITERS 20

struct spare_ctx {
	int fd;
	int pipe_w;
	struct mnsched_pstate *pst;
	volatile int ready;
	volatile int stop;
	int got[ITERS];
	uint64_t t_ret[ITERS];
	uint64_t since[ITERS];
	int cas_ok[ITERS];
	int n;
	long err;
};

static void *spare_thread(void *arg)
{
	struct spare_ctx *c = arg;
	int p;

	if (kt_register(c->fd) < 0) {
		c->err = -1;
		return NULL;
	}
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (c->n < ITERS && !c->stop) {
		long r = kt_spare(c->fd, 2000000000ll, &p);
		uint64_t now = kt_now();
		__u32 b;
		__u64 since, bl, ho;

		if (r == -ETIMEDOUT)
			continue;
		if (r) {
			c->err = r;
			break;
		}
		c->got[c->n] = p;
		c->t_ret[c->n] = now;
		if (p >= 0) {
			read_kfields(kt_pst(c->pst, p), &b, &since, &bl, &ho);
			c->since[c->n] = since;
			/* Take the P: the blocked M is still in read(). */
			c->cas_ok[c->n] = cas_state(kt_pst(c->pst, p), MNSCHED_P_SYSCALL,
						    MNSCHED_P_RUNNING);
			/* Run "another G" on it, then give it back. */
			set_state(kt_pst(c->pst, p), MNSCHED_P_IDLE);
			kt_set_p(c->fd, -1);
		}
		c->n++;
		/* Unblock the M. */
		if (write(c->pipe_w, "x", 1) != 1)
			c->err = -EIO;
	}
	return NULL;
}

TEST(handoff_blocked_read)
{
	struct spare_ctx c = { 0 };
	uint64_t t0[ITERS], lat[ITERS], klat[ITERS];
	__u64 since, blocks0, ho0, blocks, ho;
	struct mnsched_pstate *pst;
	int pfd[2], i, lost = 0;
	__u32 b;
	pthread_t t;
	char ch;

	KT_REQUIRE_DEV();
	c.fd = kt_open();
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, kt_config(c.fd, 2));
	pst = kt_map(c.fd, 2);
	ASSERT_NE(NULL, pst);
	ASSERT_EQ(0, pipe(pfd));
	c.pipe_w = pfd[1];
	c.pst = pst;
	ASSERT_LE(0, kt_register(c.fd));
	ASSERT_TRUE(cas_state(pst, MNSCHED_P_IDLE, MNSCHED_P_RUNNING));
	ASSERT_EQ(0, kt_set_p(c.fd, 0));
	read_kfields(pst, &b, &since, &blocks0, &ho0);
	ASSERT_EQ(0, pthread_create(&t, NULL, spare_thread, &c));
	while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);

	for (i = 0; i < ITERS; i++) {
		/* Let the spare reach SPARE. */
		kt_sleep_ns(3000000);
		t0[i] = kt_now();
		set_state(pst, MNSCHED_P_SYSCALL);
		ASSERT_EQ(1, read(pfd[0], &ch, 1));
		/* mn_syscall_exit: the P was taken, so get one again. */
		if (!cas_state(pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING)) {
			lost++;
			while (!cas_state(pst, MNSCHED_P_IDLE, MNSCHED_P_RUNNING))
				kt_sleep_ns(50000);
			ASSERT_EQ(0, kt_set_p(c.fd, 0));
		}
	}
	pthread_join(t, NULL);
	ASSERT_EQ(0, c.err);
	ASSERT_EQ(ITERS, c.n);
	for (i = 0; i < ITERS; i++) {
		EXPECT_EQ(0, c.got[i]);
		EXPECT_TRUE(c.cas_ok[i]);
		lat[i] = c.t_ret[i] - t0[i];
		klat[i] = c.t_ret[i] - c.since[i];
	}
	EXPECT_EQ(ITERS, lost);
	read_kfields(pst, &b, &since, &blocks, &ho);
	EXPECT_EQ(0, b);
	EXPECT_EQ(ITERS, blocks - blocks0);
	EXPECT_EQ(ITERS, ho - ho0);
	TH_LOG("handoff latency: median %llu us from before read(), %llu us from the block",
	       (unsigned long long)kt_median(lat, ITERS) / 1000,
	       (unsigned long long)kt_median(klat, ITERS) / 1000);
	/* The P runs another G within 5 ms, even under TCG. */
	EXPECT_GT(5000000ull, kt_median(lat, ITERS));
	close(c.fd);
}

/* ---- a helper M that blocks in read() holding a P --------------------- */

struct blocker {
	int fd;
	int p;
	int rfd;
	__u32 state;
	struct mnsched_pstate *pst;
	volatile int ready;
	int cas_back;
	long err;
	int cpu;
	int yields;
};

static void *blocker_thread(void *arg)
{
	struct blocker *b = arg;
	struct mnsched_pstate *p = kt_pst(b->pst, b->p);
	char ch;

	if (kt_register(b->fd) < 0 || kt_set_p(b->fd, b->p)) {
		b->err = -1;
		return NULL;
	}
	set_state(p, b->state);
	__atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
	if (read(b->rfd, &ch, 1) != 1)
		b->err = -EIO;
	b->cas_back = cas_state(p, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING);
	return NULL;
}

static void start_blocker(struct __test_metadata *_metadata, pthread_t *t, struct blocker *b)
{
	ASSERT_EQ(0, pthread_create(t, NULL, blocker_thread, b));
	while (!__atomic_load_n(&b->ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
}

/* Wait up to 1 s for the P's blocked flag to become @want. */
static int wait_blocked(struct mnsched_pstate *p, __u32 want)
{
	__u64 since, bl, ho;
	__u32 b;
	int i;

	for (i = 0; i < 1000; i++) {
		read_kfields(p, &b, &since, &bl, &ho);
		if (b == want)
			return 1;
		kt_sleep_ns(1000000);
	}
	return 0;
}

FIXTURE(ho) {
	int fd;
	int pfd[2];
	struct mnsched_pstate *pst;
};

FIXTURE_SETUP(ho)
{
	self->fd = -1;
	if (access(MNSCHED_DEVICE, F_OK))
		SKIP(return, MNSCHED_DEVICE " is absent (module not loaded)");
	self->fd = kt_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kt_config(self->fd, 2));
	self->pst = kt_map(self->fd, 2);
	ASSERT_NE(NULL, self->pst);
	ASSERT_EQ(0, pipe(self->pfd));
}

FIXTURE_TEARDOWN(ho)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(ho, blocked_flag_then_late_spare)
{
	struct blocker b = { .fd = self->fd, .p = 0, .rfd = self->pfd[0],
			     .state = MNSCHED_P_SYSCALL, .pst = self->pst };
	__u64 since, bl, ho;
	pthread_t t;
	__u32 fl;
	int p = -2;

	start_blocker(_metadata, &t, &b);
	/* No spare yet: the P is marked blocked and the handoff waits. */
	ASSERT_TRUE(wait_blocked(self->pst, 1));
	read_kfields(self->pst, &fl, &since, &bl, &ho);
	EXPECT_LE(since, kt_now());
	EXPECT_LT(kt_now() - 2000000000ull, since);
	EXPECT_EQ(1, bl);
	ASSERT_LE(0, kt_register(self->fd));
	/* Even a zero timeout gets the pending P. */
	ASSERT_EQ(0, kt_spare(self->fd, 0, &p));
	EXPECT_EQ(0, p);
	EXPECT_TRUE(cas_state(self->pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING));
	read_kfields(self->pst, &fl, &since, &bl, &ho);
	EXPECT_EQ(0, fl);
	EXPECT_EQ(1, ho);
	ASSERT_EQ(1, write(self->pfd[1], "x", 1));
	pthread_join(t, NULL);
	EXPECT_EQ(0, b.err);
	/* The blocked M finds its P gone. */
	EXPECT_FALSE(b.cas_back);
}

TEST_F(ho, wakeup_cancels_handoff)
{
	struct blocker b = { .fd = self->fd, .p = 0, .rfd = self->pfd[0],
			     .state = MNSCHED_P_SYSCALL, .pst = self->pst };
	pthread_t t;
	int p = -2;

	start_blocker(_metadata, &t, &b);
	ASSERT_TRUE(wait_blocked(self->pst, 1));
	ASSERT_EQ(1, write(self->pfd[1], "x", 1));
	pthread_join(t, NULL);
	EXPECT_EQ(0, b.err);
	EXPECT_TRUE(b.cas_back);
	/* Running again cleared the mark and cancelled the handoff. */
	EXPECT_EQ(0, self->pst->blocked);
	ASSERT_LE(0, kt_register(self->fd));
	EXPECT_EQ(-ETIMEDOUT, kt_spare(self->fd, 0, &p));
	EXPECT_EQ(-ETIMEDOUT, kt_spare(self->fd, 20000000, &p));
	EXPECT_EQ(0, self->pst->k_handoffs);
}

TEST_F(ho, no_handoff_when_running)
{
	struct blocker b = { .fd = self->fd, .p = 0, .rfd = self->pfd[0],
			     .state = MNSCHED_P_RUNNING, .pst = self->pst };
	pthread_t t;
	int p = -2;

	start_blocker(_metadata, &t, &b);
	ASSERT_LE(0, kt_register(self->fd));
	/* The M blocks, but its P is not in SYSCALL: nothing to hand off. */
	EXPECT_EQ(-ETIMEDOUT, kt_spare(self->fd, 50000000, &p));
	EXPECT_EQ(0, self->pst->k_blocks);
	EXPECT_EQ(0, self->pst->blocked);
	ASSERT_EQ(1, write(self->pfd[1], "x", 1));
	pthread_join(t, NULL);
}

/* A SPARE argument in a read-only page: its input reads, its output faults. */
static struct mnsched_spare *ro_spare(int64_t timeout_ns)
{
	struct mnsched_spare *a;

	a = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return NULL;
	a->timeout_ns = timeout_ns;
	a->p = -2;
	if (mprotect(a, getpagesize(), PROT_READ)) {
		munmap(a, getpagesize());
		return NULL;
	}
	return a;
}

/*
 * Issue 14, item 4: a SPARE whose result cannot be copied out fails with
 * -EFAULT and takes nothing: the blocked P stays pending for the next
 * spare.  Before the fix, the P was taken and then -EFAULT returned (the
 * P was lost to the caller, k_handoffs counted it).
 */
TEST_F(ho, spare_efault_no_effect)
{
	struct blocker b = { .fd = self->fd, .p = 0, .rfd = self->pfd[0],
			     .state = MNSCHED_P_SYSCALL, .pst = self->pst };
	struct mnsched_spare *a;
	pthread_t t;
	int p = -2;

	a = ro_spare(0);
	ASSERT_NE(NULL, a);
	start_blocker(_metadata, &t, &b);
	ASSERT_TRUE(wait_blocked(self->pst, 1));
	ASSERT_LE(0, kt_register(self->fd));
	EXPECT_EQ(-EFAULT, kt_ioc_p(self->fd, MNSCHED_IOC_SPARE, a));
	EXPECT_EQ(1, self->pst->blocked);
	EXPECT_EQ(0, self->pst->k_handoffs);
	/* Still pending: the next spare gets it. */
	EXPECT_EQ(0, kt_spare(self->fd, 0, &p));
	EXPECT_EQ(0, p);
	EXPECT_EQ(1, self->pst->k_handoffs);
	EXPECT_TRUE(cas_state(self->pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING));
	ASSERT_EQ(1, write(self->pfd[1], "x", 1));
	pthread_join(t, NULL);
	munmap(a, getpagesize());
}

struct efault_spare {
	int fd;
	struct mnsched_spare *a;
	volatile pid_t tid;
	volatile long id;
	long ret;
	long park;	/* a PARK with no wait right after */
};

static void *efault_spare_thread(void *arg)
{
	struct efault_spare *e = arg;

	e->id = kt_register(e->fd);
	if (e->id < 0) {
		e->ret = -1000;
		return NULL;
	}
	e->tid = syscall(SYS_gettid);
	e->ret = kt_ioc_p(e->fd, MNSCHED_IOC_SPARE, e->a);
	e->park = kt_park(e->fd, 0);
	return NULL;
}

/* Wait until thread @tid sleeps ('S' in its stat); 0 or -1 after 2 s. */
static int wait_sleeping(pid_t tid)
{
	char path[64], buf[256], *s;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (i = 0; i < 2000; i++) {
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			s = strrchr(buf, ')');
			if (s && s[1] == ' ' && s[2] == 'S')
				return 0;
		}
		kt_sleep_ns(1000000);
	}
	return -1;
}

/*
 * Start a spare (efault_spare_thread()) whose argument waits in a page
 * that is writable when SPARE starts, and make the page read-only once the
 * spare sleeps in SPARE: its result can no longer be copied out.
 */
static void start_efault_spare(struct __test_metadata *_metadata, struct efault_spare *e,
			       pthread_t *t)
{
	e->a = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e->a);
	e->a->timeout_ns = 2000000000ll;
	ASSERT_EQ(0, pthread_create(t, NULL, efault_spare_thread, e));
	while (!e->tid)
		kt_sleep_ns(100000);
	ASSERT_EQ(0, wait_sleeping(e->tid));
	kt_sleep_ns(10000000);
	ASSERT_EQ(0, mprotect(e->a, getpagesize(), PROT_READ));
}

/*
 * Issue 14, item 4: the argument becomes read-only while the spare waits
 * (another thread mprotects it), so the P handed over cannot be reported:
 * SPARE returns -EFAULT and hands the P back, pending as before, to the
 * next spare.  Before the fix, the P was kept by a caller told -EFAULT.
 */
TEST_F(ho, spare_efault_after_wait_hands_back)
{
	struct blocker b = { .fd = self->fd, .p = 0, .rfd = self->pfd[0],
			     .state = MNSCHED_P_SYSCALL, .pst = self->pst };
	struct efault_spare e = { .fd = self->fd };
	pthread_t st, t;
	int p = -2;

	start_efault_spare(_metadata, &e, &st);
	/* Now an M blocks holding P 0: the waiting spare is handed it. */
	start_blocker(_metadata, &t, &b);
	pthread_join(st, NULL);
	EXPECT_EQ(-EFAULT, e.ret);
	/* Handed back: blocked and pending again, no handoff counted. */
	EXPECT_EQ(1, self->pst->blocked);
	EXPECT_EQ(0, self->pst->k_handoffs);
	ASSERT_LE(0, kt_register(self->fd));
	EXPECT_EQ(0, kt_spare(self->fd, 0, &p));
	EXPECT_EQ(0, p);
	EXPECT_TRUE(cas_state(self->pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING));
	ASSERT_EQ(1, write(self->pfd[1], "x", 1));
	pthread_join(t, NULL);
	munmap(e.a, getpagesize());
}

/*
 * The same when an UNPARK wakes the spare: SPARE returns -EFAULT and the
 * token stays, for the M's next PARK.  Before the fix, it was consumed.
 */
TEST_F(ho, spare_efault_after_unpark_keeps_token)
{
	struct efault_spare e = { .fd = self->fd };
	pthread_t st;

	start_efault_spare(_metadata, &e, &st);
	ASSERT_EQ(0, kt_unpark(self->fd, e.id));
	pthread_join(st, NULL);
	EXPECT_EQ(-EFAULT, e.ret);
	EXPECT_EQ(0, e.park);
	munmap(e.a, getpagesize());
}

struct stolen {
	int fd;
	struct mnsched_pstate *pst;
	int go[2];
	int blk[2];
	volatile int ready;
};

static void *stolen_thread(void *arg)
{
	struct stolen *s = arg;
	char ch;

	if (kt_register(s->fd) < 0 || kt_set_p(s->fd, 0))
		return NULL;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (read(s->go[0], &ch, 1) != 1)
		return NULL;
	set_state(s->pst, MNSCHED_P_SYSCALL);
	if (read(s->blk[0], &ch, 1) != 1)
		return NULL;
	set_state(s->pst, MNSCHED_P_RUNNING);
	return NULL;
}

TEST_F(ho, no_handoff_after_p_taken)
{
	struct stolen s = { .fd = self->fd, .pst = self->pst };
	pthread_t t;
	int p = -2;

	ASSERT_EQ(0, pipe(s.go));
	ASSERT_EQ(0, pipe(s.blk));
	ASSERT_EQ(0, pthread_create(&t, NULL, stolen_thread, &s));
	while (!__atomic_load_n(&s.ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
	/*
	 * SET_P by another M takes P 0 from the first one; this M then moves
	 * on to P 1 (IDLE), so that its own sleeps below hand nothing off.
	 */
	ASSERT_LE(0, kt_register(self->fd));
	ASSERT_EQ(0, kt_set_p(self->fd, 0));
	ASSERT_EQ(0, kt_set_p(self->fd, 1));
	ASSERT_EQ(1, write(s.go[1], "g", 1));
	kt_sleep_ns(30000000);
	/* The first M blocks in SYSCALL state, but holds no P any more. */
	EXPECT_EQ(0, self->pst->k_blocks);
	EXPECT_EQ(0, self->pst->blocked);
	EXPECT_EQ(0, kt_set_p(self->fd, -1));
	EXPECT_EQ(-ETIMEDOUT, kt_spare(self->fd, 0, &p));
	ASSERT_EQ(1, write(s.blk[1], "b", 1));
	pthread_join(t, NULL);
}

static void *hog(void *arg)
{
	volatile int *stop = arg;

	while (!*stop)
		;
	return NULL;
}

TEST_F(ho, no_handoff_when_preempted)
{
	struct mnsched_pstate *p = self->pst;
	volatile int stop = 0;
	pthread_t h;
	uint64_t t0;
	int i;

	/* Share one CPU with a busy thread: preemptions, yields, no blocking. */
	ASSERT_EQ(0, kt_pin(0));
	ASSERT_EQ(0, pthread_create(&h, NULL, hog, (void *)&stop));
	ASSERT_LE(0, kt_register(self->fd));
	ASSERT_EQ(0, kt_set_p(self->fd, 0));
	set_state(p, MNSCHED_P_SYSCALL);
	t0 = kt_now();
	for (i = 0; kt_now() - t0 < 100000000ull; i++)
		if (!(i & 1023))
			sched_yield();
	set_state(p, MNSCHED_P_RUNNING);
	stop = 1;
	pthread_join(h, NULL);
	EXPECT_EQ(0, p->k_blocks);
}

struct spare_res {
	int fd;
	struct mnsched_pstate *pst;
	long r;
	int p;
};

static void *spare_once(void *a)
{
	struct spare_res *r = a;

	kt_register(r->fd);
	r->r = kt_spare(r->fd, 1000000000ll, &r->p);
	/*
	 * Take the P, as the protocol says: a spare that held it in state
	 * SYSCALL and blocked (its thread exiting) would have it handed on,
	 * to the other spare if that one came late (seen on the debug kernel).
	 */
	if (!r->r && r->p >= 0 &&
	    !cas_state(kt_pst(r->pst, r->p), MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))
		r->r = -EAGAIN;
	return NULL;
}

TEST_F(ho, two_ps_two_spares)
{
	struct blocker b[2];
	struct spare_res s[2];
	pthread_t t[2], st[2];
	int i;

	for (i = 0; i < 2; i++) {
		b[i] = (struct blocker){ .fd = self->fd, .p = i, .rfd = self->pfd[0],
					 .state = MNSCHED_P_SYSCALL, .pst = self->pst };
		start_blocker(_metadata, &t[i], &b[i]);
	}
	ASSERT_TRUE(wait_blocked(kt_pst(self->pst, 0), 1));
	ASSERT_TRUE(wait_blocked(kt_pst(self->pst, 1), 1));
	for (i = 0; i < 2; i++) {
		s[i].fd = self->fd;
		s[i].pst = self->pst;
		ASSERT_EQ(0, pthread_create(&st[i], NULL, spare_once, &s[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(st[i], NULL);
	EXPECT_EQ(0, s[0].r);
	EXPECT_EQ(0, s[1].r);
	/* Each P went to exactly one spare. */
	EXPECT_EQ(1, s[0].p + s[1].p);
	EXPECT_NE(s[0].p, s[1].p);
	ASSERT_EQ(2, write(self->pfd[1], "xy", 2));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

/* ---- many Ms and spares racing for 2 Ps -------------------------------- */

/*
 * A P in state SYSCALL belongs to nobody: whoever moves it to RUNNING with
 * a compare-and-swap (its M coming back, a spare M it was handed to, an M
 * looking for an idle P) runs it.  The invariant: never two Ms running the
 * same P.  Each M counts itself in running[p] between taking the P and
 * leaving state RUNNING.
 */
struct hammer {
	int fd;
	struct mnsched_pstate *pst;
	volatile int stop;
	int running[2];
	long violations;
	long handoffs_won;
	long lost;
	long spare_cas_failed;
	long errors;
};

static void run_on(struct hammer *h, int p, unsigned int *seed)
{
	int n = rand_r(seed) % 2000;

	if (__atomic_fetch_add(&h->running[p], 1, __ATOMIC_ACQ_REL) != 0)
		__atomic_add_fetch(&h->violations, 1, __ATOMIC_RELAXED);
	while (n--)
		__asm__ volatile("" ::: "memory");
	__atomic_fetch_sub(&h->running[p], 1, __ATOMIC_ACQ_REL);
}

static int try_acquire(struct hammer *h)
{
	int p;

	for (p = 0; p < 2; p++) {
		if (cas_state(kt_pst(h->pst, p), MNSCHED_P_IDLE, MNSCHED_P_RUNNING)) {
			if (kt_set_p(h->fd, p))
				__atomic_add_fetch(&h->errors, 1, __ATOMIC_RELAXED);
			return p;
		}
	}
	return -1;
}

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	unsigned int seed;
	int me, p = -1, k;

	me = kt_register(h->fd);
	if (me < 0) {
		__atomic_add_fetch(&h->errors, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	seed = me * 7919u;
	while (!h->stop) {
		if (p < 0)
			p = try_acquire(h);
		if (p < 0) {
			long r = kt_spare(h->fd, 5000000, &p);

			if (r || p < 0) {
				p = -1;
				continue;
			}
			if (!cas_state(kt_pst(h->pst, p), MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING)) {
				__atomic_add_fetch(&h->spare_cas_failed, 1, __ATOMIC_RELAXED);
				kt_set_p(h->fd, -1);
				p = -1;
				continue;
			}
			__atomic_add_fetch(&h->handoffs_won, 1, __ATOMIC_RELAXED);
		}
		/* Run Gs on the P, with a few blocking "syscalls" in between. */
		for (k = 0; k < 4 && p >= 0; k++) {
			struct timespec ts = { 0, rand_r(&seed) % 200000 };

			run_on(h, p, &seed);
			set_state(kt_pst(h->pst, p), MNSCHED_P_SYSCALL);
			nanosleep(&ts, NULL);
			if (!cas_state(kt_pst(h->pst, p), MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING)) {
				/* Handed off while blocked: find another. */
				__atomic_add_fetch(&h->lost, 1, __ATOMIC_RELAXED);
				kt_set_p(h->fd, -1);
				p = -1;
				break;
			}
			/* Back on it (possibly a P another M left in SYSCALL). */
			kt_set_p(h->fd, p);
		}
		if (p >= 0 && (rand_r(&seed) & 1)) {
			run_on(h, p, &seed);
			kt_set_p(h->fd, -1);
			set_state(kt_pst(h->pst, p), MNSCHED_P_IDLE);
			p = -1;
		}
	}
	if (p >= 0) {
		kt_set_p(h->fd, -1);
		set_state(kt_pst(h->pst, p), MNSCHED_P_IDLE);
	}
	return NULL;
}

TEST_F(ho, ownership_hammer)
{
	struct hammer h = { .fd = self->fd, .pst = self->pst };
	pthread_t t[6];
	int i;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_thread, &h));
	kt_sleep_ns(1500000000ull);
	h.stop = 1;
	for (i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	TH_LOG("spare Ms took %ld Ps, Ms lost %ld Ps in syscalls, %ld stale handoffs, kernel handoffs %llu+%llu",
	       h.handoffs_won, h.lost, h.spare_cas_failed,
	       (unsigned long long)self->pst->k_handoffs,
	       (unsigned long long)kt_pst(self->pst, 1)->k_handoffs);
	EXPECT_EQ(0, h.violations);
	EXPECT_EQ(0, h.errors);
	EXPECT_LT(0, h.handoffs_won);
	EXPECT_EQ(0, self->pst->blocked);
	EXPECT_EQ(0, kt_pst(self->pst, 1)->blocked);
}

TEST(exit_while_blocked_holding_p)
{
	int st, ready[2], blk[2];
	long base;
	pid_t pid;
	char ch;

	KT_REQUIRE_DEV();
	base = kt_counter_base("allocated");
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(blk));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mnsched_pstate *pst;
		int fd = kt_open();

		if (fd < 0 || kt_config(fd, 1) || kt_register(fd) < 0 || kt_set_p(fd, 0))
			_exit(1);
		pst = kt_map(fd, 1);
		if (!pst)
			_exit(2);
		set_state(pst, MNSCHED_P_SYSCALL);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		/* Blocks forever holding P 0 in SYSCALL. */
		if (read(blk[0], &ch, 1) < 0)
			_exit(4);
		_exit(5);
	}
	ASSERT_EQ(1, read(ready[0], &ch, 1));
	kt_sleep_ns(20000000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFSIGNALED(st));
	if (base >= 0)
		EXPECT_EQ(base, kt_counter_wait("allocated", base, 2000));
}

TEST_HARNESS_MAIN
