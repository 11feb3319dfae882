// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_park.c - PARK, UNPARK, SWAP and SPARE wake-ups: token semantics,
 * timeouts, signals, ping-pong between Ms, where a SWAP's target runs, when
 * an UNPARK's target pinned to its caller's CPU runs.
 */
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

TEST(token_before_park)
{
	uint64_t t0;
	long id;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	id = kt_register(fd);
	ASSERT_LE(0, id);
	/* An UNPARK before the PARK is kept: the PARK returns at once. */
	ASSERT_EQ(0, kt_unpark(fd, id));
	t0 = kt_now();
	EXPECT_EQ(0, kt_park(fd, -1));
	EXPECT_GT(200000000ull, kt_now() - t0);
	close(fd);
}

TEST(token_at_most_one)
{
	long id;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	id = kt_register(fd);
	ASSERT_LE(0, id);
	ASSERT_EQ(0, kt_unpark(fd, id));
	ASSERT_EQ(0, kt_unpark(fd, id));
	ASSERT_EQ(0, kt_unpark(fd, id));
	EXPECT_EQ(0, kt_park(fd, 0));
	/* Only one token was kept. */
	EXPECT_EQ(-ETIMEDOUT, kt_park(fd, 0));
	EXPECT_EQ(-ETIMEDOUT, kt_park(fd, 1000000));
	close(fd);
}

TEST(park_timeout_accuracy)
{
	static const int64_t tos[] = { 2000000, 10000000, 30000000 };
	uint64_t el[5];
	unsigned int i, k;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_LE(0, kt_register(fd));
	for (i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
		for (k = 0; k < 5; k++) {
			uint64_t t0 = kt_now();

			ASSERT_EQ(-ETIMEDOUT, kt_park(fd, tos[i]));
			el[k] = kt_now() - t0;
			/* Never early. */
			EXPECT_LE((uint64_t)tos[i], el[k]);
		}
		TH_LOG("timeout %lld ns: median %llu ns", (long long)tos[i],
		       (unsigned long long)kt_median(el, 5));
		/* Late by at most 10 ms (median), even under TCG. */
		EXPECT_GT((uint64_t)tos[i] + 10000000, kt_median(el, 5));
	}
	close(fd);
}

static void on_usr1(int sig)
{
}

struct waiter {
	int fd;
	long id;
	long ret;
	int p;
	int64_t timeout;
	int spare;
	uint64_t t_end;
	volatile int ready;
	volatile int done;
};

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;

	w->id = kt_register(w->fd);
	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	if (w->spare)
		w->ret = kt_spare(w->fd, w->timeout, &w->p);
	else
		w->ret = kt_park(w->fd, w->timeout);
	w->t_end = kt_now();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_waiter(struct __test_metadata *_metadata, pthread_t *t, struct waiter *w)
{
	ASSERT_EQ(0, pthread_create(t, NULL, waiter_thread, w));
	while (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
	/* Let it reach the wait. */
	kt_sleep_ns(20000000);
}

TEST(park_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct waiter w = { .timeout = -1 };
	pthread_t t;
	uint64_t t0;

	KT_REQUIRE_DEV();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	w.fd = kt_open();
	ASSERT_LE(0, w.fd);
	start_waiter(_metadata, &t, &w);
	t0 = kt_now();
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	EXPECT_GT(1000000000ull, w.t_end - t0);
	close(w.fd);
}

TEST(spare_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct waiter w = { .timeout = -1, .spare = 1 };
	pthread_t t;

	KT_REQUIRE_DEV();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	w.fd = kt_open();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, kt_config(w.fd, 1));
	start_waiter(_metadata, &t, &w);
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	close(w.fd);
}

TEST(unpark_wakes_parked)
{
	struct waiter w = { .timeout = -1 };
	pthread_t t;
	uint64_t t0;

	KT_REQUIRE_DEV();
	w.fd = kt_open();
	ASSERT_LE(0, w.fd);
	start_waiter(_metadata, &t, &w);
	t0 = kt_now();
	/* From a thread that is not an M. */
	ASSERT_EQ(0, kt_unpark(w.fd, w.id));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_GT(1000000000ull, w.t_end - t0);
	close(w.fd);
}

TEST(unpark_wakes_spare)
{
	struct waiter w = { .timeout = -1, .spare = 1 };
	pthread_t t;

	KT_REQUIRE_DEV();
	w.fd = kt_open();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, kt_config(w.fd, 2));
	start_waiter(_metadata, &t, &w);
	ASSERT_EQ(0, kt_unpark(w.fd, w.id));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(-1, w.p);
	close(w.fd);
}

TEST(many_parked)
{
	struct waiter w[32];
	pthread_t t[32];
	int fd, i;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	memset(w, 0, sizeof(w));
	for (i = 0; i < 32; i++) {
		w[i].fd = fd;
		w[i].timeout = 10000000000ll;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, waiter_thread, &w[i]));
	}
	for (i = 0; i < 32; i++)
		while (!__atomic_load_n(&w[i].ready, __ATOMIC_ACQUIRE))
			kt_sleep_ns(100000);
	kt_sleep_ns(20000000);
	for (i = 0; i < 32; i++)
		ASSERT_EQ(0, kt_unpark(fd, w[i].id));
	for (i = 0; i < 32; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].ret);
	}
	close(fd);
}

struct pp {
	int fd;
	long me, other;
	int n;
	int use_swap;
	int errors;
	pthread_barrier_t *bar;
	long *ids;
	int idx;
};

static long pp_step(struct pp *a)
{
	if (a->use_swap)
		return kt_swap(a->fd, a->other, 5000000000ll);
	return kt_unpark(a->fd, a->other) ?: kt_park(a->fd, 5000000000ll);
}

/*
 * Thread 0 wakes thread 1 and waits, n times; thread 1 waits first, then
 * does the same n - 1 times, then wakes thread 0 a last time.
 */
static void *pp_thread(void *arg)
{
	struct pp *a = arg;
	int i;

	a->me = kt_register(a->fd);
	a->ids[a->idx] = a->me;
	pthread_barrier_wait(a->bar);
	a->other = a->ids[!a->idx];
	if (a->idx == 0) {
		for (i = 0; i < a->n; i++)
			a->errors += pp_step(a) != 0;
		return NULL;
	}
	a->errors += kt_park(a->fd, 5000000000ll) != 0;
	for (i = 0; i < a->n - 1; i++)
		a->errors += pp_step(a) != 0;
	a->errors += kt_unpark(a->fd, a->other) != 0;
	return NULL;
}

static void run_pingpong(struct __test_metadata *_metadata, int use_swap, int n)
{
	pthread_barrier_t bar;
	struct pp a[2];
	pthread_t t[2];
	long ids[2];
	int fd, i;

	fd = kt_open();
	ASSERT_LE(0, fd);
	pthread_barrier_init(&bar, NULL, 2);
	for (i = 0; i < 2; i++) {
		a[i] = (struct pp){ .fd = fd, .n = n, .use_swap = use_swap,
				    .bar = &bar, .ids = ids, .idx = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pp_thread, &a[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, a[0].errors);
	EXPECT_EQ(0, a[1].errors);
	close(fd);
}

TEST(pingpong_park_unpark)
{
	KT_REQUIRE_DEV();
	run_pingpong(_metadata, 0, 5000);
}

TEST(pingpong_swap)
{
	KT_REQUIRE_DEV();
	run_pingpong(_metadata, 1, 5000);
}

TEST(swap_self)
{
	long id;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	id = kt_register(fd);
	ASSERT_LE(0, id);
	/* Unparking oneself leaves the token the park then takes. */
	EXPECT_EQ(0, kt_swap(fd, id, -1));
	EXPECT_EQ(-ETIMEDOUT, kt_park(fd, 0));
	close(fd);
}

TEST(swap_wakes_target)
{
	struct waiter w = { .timeout = -1 };
	pthread_t t;
	long me;

	KT_REQUIRE_DEV();
	w.fd = kt_open();
	ASSERT_LE(0, w.fd);
	me = kt_register(w.fd);
	ASSERT_LE(0, me);
	start_waiter(_metadata, &t, &w);
	/* Wakes the waiter, then parks until the timeout. */
	EXPECT_EQ(-ETIMEDOUT, kt_swap(w.fd, w.id, 20000000));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	close(w.fd);
}

/*
 * A SWAP whose caller waits alone on its CPU wakes the target there once the
 * caller is off it, instead of on the idle CPU the target last ran on.  Two
 * unpinned Ms swap back and forth; each records the CPU it swaps from, the
 * other the CPU it wakes on.
 */
#define SW_HOPS 400

struct sw {
	int fd;
	long ids[2];
	int from[SW_HOPS + 1];
	int hops;
	int same;
	int errors;
	pthread_barrier_t bar;
};

struct sw_arg {
	struct sw *s;
	int idx;
};

static void *sw_thread(void *arg)
{
	struct sw_arg *a = arg;
	struct sw *s = a->s;
	long other;
	int i;

	s->ids[a->idx] = kt_register(s->fd);
	pthread_barrier_wait(&s->bar);
	other = s->ids[!a->idx];
	if (a->idx == 1 && kt_park(s->fd, 5000000000ll))
		s->errors++;
	for (i = a->idx; i < SW_HOPS; i += 2) {
		if (i > 0 && sched_getcpu() == s->from[i - 1])
			s->same++;
		/* Ordered before the target's read by the wake-up. */
		s->from[i] = sched_getcpu();
		s->hops = i + 1;
		if (i == SW_HOPS - 1) {
			s->errors += kt_unpark(s->fd, other) != 0;
			break;
		}
		s->errors += kt_swap(s->fd, other, 5000000000ll) != 0;
	}
	return NULL;
}

TEST(swap_runs_target_on_callers_cpu)
{
	struct sw_arg a[2];
	pthread_t t[2];
	struct sw *s;
	int i;

	KT_REQUIRE_DEV();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 online CPUs (one CPU runs every target where its caller ran)");
	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	s->fd = kt_open();
	ASSERT_LE(0, s->fd);
	pthread_barrier_init(&s->bar, NULL, 2);
	for (i = 0; i < 2; i++) {
		a[i] = (struct sw_arg){ .s = s, .idx = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sw_thread, &a[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, s->errors);
	EXPECT_EQ(SW_HOPS, s->hops);
	TH_LOG("%d of %d targets ran on the CPU their SWAP came from", s->same, SW_HOPS - 1);
	/* A wake-up while the caller runs sends nearly all to the other CPU. */
	EXPECT_LE(SW_HOPS / 2, s->same);
	close(s->fd);
	free(s);
}

/*
 * A SWAP whose caller does not sleep (its token is there, or a zero
 * timeout) still wakes the target, which may have been left for the
 * caller's switch away.  So the target must be up before the caller is
 * switched out at all: the caller spins and counts its context switches.
 * An unrelated preemption during the spin makes a try inconclusive.
 */
static long nr_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* 1: the target woke with no switch of ours, 0: no, -1: inconclusive. */
static int swap_try(struct __test_metadata *_metadata, int fd, long me,
		    int64_t timeout, long want)
{
	struct waiter w = { .fd = fd, .timeout = 5000000000ll };
	uint64_t t0;
	pthread_t t;
	long sw;
	int up;

	start_waiter(_metadata, &t, &w);
	if (timeout)
		EXPECT_EQ(0, kt_unpark(fd, me));
	sw = nr_switches();
	EXPECT_EQ(want, kt_swap(fd, w.id, timeout));
	t0 = kt_now();
	while (!(up = __atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) &&
	       kt_now() - t0 < 2000000000ull)
		;
	sw = nr_switches() - sw;
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	if (!up)
		return 0;
	return sw ? -1 : 1;
}

TEST(swap_wakes_target_when_caller_does_not_sleep)
{
	int fd, tok, zero, i;
	long me;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	me = kt_register(fd);
	ASSERT_LE(0, me);
	/* Our token is there: SWAP returns at once. */
	for (i = 0, tok = -1; i < 5 && tok < 0; i++)
		tok = swap_try(_metadata, fd, me, -1, 0);
	EXPECT_EQ(1, tok);
	/* A zero timeout: SWAP only checks. */
	for (i = 0, zero = -1; i < 5 && zero < 0; i++)
		zero = swap_try(_metadata, fd, me, 0, -ETIMEDOUT);
	EXPECT_EQ(1, zero);
	close(fd);
}

/*
 * An UNPARK from an M whose target may only run on the caller's CPU wakes
 * the target when the caller switches away, and unpark_defer_us later at
 * most (kmod/park.c, "Deferred wake-ups").  The caller and a parked
 * waiter are pinned to one CPU.  The module parameter is set for each
 * part and restored at the end (EXPECTs only, so nothing returns before).
 */
#define DEFER_PARAM "/sys/module/mnsched/parameters/unpark_defer_us"

static long defer_us(long set)
{
	long old = -1;
	FILE *f;

	f = fopen(DEFER_PARAM, "r");
	if (!f || fscanf(f, "%ld", &old) != 1)
		old = -1;
	if (f)
		fclose(f);
	if (set < 0 || old < 0)
		return old;
	f = fopen(DEFER_PARAM, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%ld\n", set) < 0)
		old = -1;
	if (fclose(f))
		old = -1;
	return old;
}

struct pinned {
	struct waiter w;
	int cpu;
};

static void *pinned_waiter(void *arg)
{
	struct pinned *p = arg;

	p->w.ret = kt_pin(p->cpu);
	return waiter_thread(&p->w);
}

/* One UNPARK of a fresh waiter pinned to our CPU (defer_try()). */
struct defer_res {
	uint64_t up;	/* ns from the UNPARK to the waiter's return, 0: not
			 * while we spun */
	uint64_t late;	/* not up while we spun: ns from our sleep (joining
			 * it) to its return */
	long sw;	/* our context switches while we spun */
};

enum defer_how {
	DEFER_SPIN,		/* we unpark it and spin */
	DEFER_UNREGISTER,	/* we unpark it, UNREGISTER, and spin */
	DEFER_EXIT,		/* a thread pinned with it unparks it and exits */
};

struct exiter {
	int fd;
	int cpu;
	long id;
	uint64_t t_exit;
	long ret;
};

static void *exiter_thread(void *arg)
{
	struct exiter *e = arg;

	e->ret = kt_pin(e->cpu);
	if (!e->ret)
		e->ret = kt_register(e->fd) < 0;
	if (!e->ret)
		e->ret = kt_unpark(e->fd, e->id);
	e->t_exit = kt_now();
	return NULL;
}

/* Unpark the waiter as @how says, then spin without sleeping for up to @spin_ns. */
static struct defer_res defer_try(struct __test_metadata *_metadata, int fd,
				  int cpu, uint64_t spin_ns, enum defer_how how)
{
	struct pinned p = { .w = { .fd = fd, .timeout = 5000000000ll }, .cpu = cpu };
	struct exiter e = { .fd = fd, .cpu = cpu };
	struct defer_res r = { 0 };
	uint64_t t0, t1;
	pthread_t t, x;

	EXPECT_EQ(0, pthread_create(&t, NULL, pinned_waiter, &p));
	while (!__atomic_load_n(&p.w.ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
	/* It had the CPU while we slept: it waits in PARK now. */
	kt_sleep_ns(20000000);
	if (how == DEFER_EXIT) {
		e.id = p.w.id;
		EXPECT_EQ(0, pthread_create(&x, NULL, exiter_thread, &e));
		pthread_join(x, NULL);
		pthread_join(t, NULL);
		EXPECT_EQ(0, e.ret);
		EXPECT_EQ(0, p.w.ret);
		r.late = p.w.t_end - e.t_exit;
		return r;
	}
	r.sw = nr_switches();
	t0 = kt_now();
	EXPECT_EQ(0, kt_unpark(fd, p.w.id));
	if (how == DEFER_UNREGISTER)
		EXPECT_EQ(0, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	while ((t1 = kt_now()) - t0 < spin_ns)
		if (__atomic_load_n(&p.w.done, __ATOMIC_ACQUIRE)) {
			r.up = p.w.t_end - t0;
			break;
		}
	r.sw = nr_switches() - r.sw;
	/* Joining sleeps: our switch away wakes a waiter still deferred. */
	pthread_join(t, NULL);
	if (!r.up)
		r.late = p.w.t_end - t1;
	EXPECT_EQ(0, p.w.ret);
	return r;
}

TEST(unpark_pinned_target_waits_for_callers_switch)
{
	struct defer_res r;
	long old, d0, d1;
	int fd, cpu, i;

	KT_REQUIRE_DEV();
	old = defer_us(-1);
	if (old < 0)
		SKIP(return, "cannot read %s", DEFER_PARAM);
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_LE(0, kt_register(fd));
	cpu = sched_getcpu();
	ASSERT_EQ(0, kt_pin(cpu));

	/*
	 * A bound of 10 s: the waiter is not up while we spin for 20 ms, and
	 * is up at once when we sleep.  A try in which something else
	 * switched us out says nothing.
	 */
	EXPECT_EQ(old, defer_us(10000000));
	d0 = t_counter("unparks_deferred");
	for (i = 0; i < 5; i++) {
		r = defer_try(_metadata, fd, cpu, 20000000, DEFER_SPIN);
		if (!r.sw)
			break;
	}
	EXPECT_EQ(0, r.sw) TH_LOG("switched out in each of 5 tries");
	EXPECT_EQ(0, r.up) TH_LOG("the target was up %llu us after the UNPARK",
				  (unsigned long long)r.up / 1000);
	EXPECT_GT(1000000000ull, r.late) TH_LOG("up %llu us after we slept",
						(unsigned long long)r.late / 1000);
	EXPECT_LT(d0, t_counter("unparks_deferred"));

	/*
	 * A bound of 2 ms while we spin for up to 2 s: the timer wakes it, 2 ms
	 * after the UNPARK, and defer_timeouts counts it.  A try where the
	 * counter did not move was woken by an unrelated switch of ours (a
	 * 6.12 check boot had one: up 5.9 ms after the UNPARK, no timeout).
	 */
	EXPECT_EQ(10000000, defer_us(2000));
	for (i = 0, d1 = 0; i < 5 && !d1; i++) {
		d0 = t_counter("defer_timeouts");
		r = defer_try(_metadata, fd, cpu, 2000000000ull, DEFER_SPIN);
		d1 = t_counter("defer_timeouts") - d0;
	}
	TH_LOG("bound 2 ms: the target was up %llu us after the UNPARK (try %d)",
	       (unsigned long long)r.up / 1000, i);
	EXPECT_EQ(1, d1) TH_LOG("the timer did not wake it in any of 5 tries");
	EXPECT_LE(2000000, r.up);
	EXPECT_GT(500000000, r.up);

	/*
	 * A bound of 10 s again: an M that stops being one wakes what it
	 * deferred, by UNREGISTER (up while we spin) or by exiting.
	 */
	EXPECT_EQ(2000, defer_us(10000000));
	r = defer_try(_metadata, fd, cpu, 20000000, DEFER_UNREGISTER);
	EXPECT_LT(0, r.up) TH_LOG("UNREGISTER: not up while we spun, %llu us after we slept",
				  (unsigned long long)r.late / 1000);
	EXPECT_LE(0, kt_register(fd));
	r = defer_try(_metadata, fd, cpu, 0, DEFER_EXIT);
	TH_LOG("exit: up %llu us after the unparking thread's exit",
	       (unsigned long long)r.late / 1000);
	EXPECT_GT(1000000000ull, r.late);

	/* 0: no deferral. */
	EXPECT_EQ(10000000, defer_us(0));
	d0 = t_counter("unparks_deferred");
	r = defer_try(_metadata, fd, cpu, 2000000000ull, DEFER_SPIN);
	EXPECT_LT(0, r.up);
	EXPECT_EQ(d0, t_counter("unparks_deferred"));

	EXPECT_EQ(0, defer_us(old));
	close(fd);
}

TEST_HARNESS_MAIN
