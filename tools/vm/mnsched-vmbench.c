// SPDX-License-Identifier: GPL-2.0
/*
 * mnsched-vmbench - /dev/mnsched against futexes, in one run:
 *   park/unpark round trip: kmod PARK+UNPARK vs futex wait+wake
 *   SWAP round trip: one SWAP per hop vs futex wake+wait (two calls)
 *   blocked-M handoff latency: kmod handoff vs a sysmon-style retake
 *     (poll from 20 us doubling to 10 ms after 50 idle polls, retake a P seen
 *     in SYSCALL on two polls in a row, as Go's sysmon does), from the M
 *     blocking (the module's timestamp) and from the read() call
 * Under TCG the absolute numbers are inflated; compare the ratios.
 * Usage: mnsched-vmbench [round-trips per run]
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/mnsched.h>

#include "pstate_util.h"

static int fd;
static int n_rt = 1000;
#define TRIALS 21

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / 1000000000ull, ns % 1000000000ull };

	nanosleep(&ts, NULL);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* ---- futex parker (Go's note: xchg + always wake; wait while 0) ------- */

static void fx_wake(uint32_t *w)
{
	__atomic_exchange_n(w, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void fx_wait(uint32_t *w)
{
	while (!__atomic_exchange_n(w, 0, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

/* ---- kmod parker ------------------------------------------------------- */

static void k_park(void)
{
	struct mnsched_park a = { .timeout_ns = -1 };

	while (ioctl(fd, MNSCHED_IOC_PARK, &a) && errno == EINTR)
		;
}

static void k_unpark(long id)
{
	if (ioctl(fd, MNSCHED_IOC_UNPARK, id))
		die("UNPARK");
}

static void k_swap(long id)
{
	struct mnsched_swap a = { .target = id, .timeout_ns = -1 };

	if (ioctl(fd, MNSCHED_IOC_SWAP, &a))
		die("SWAP");
}

/* ---- ping-pong ---------------------------------------------------------- */

enum mode { M_FUTEX, M_KMOD, M_SWAP };

struct pp {
	enum mode mode;
	int pin;
	int idx;
	long ids[2];
	uint32_t words[2];
	pthread_barrier_t bar;
};

static void hop(struct pp *s, int me)
{
	int o = !me;

	switch (s->mode) {
	case M_FUTEX:
		fx_wake(&s->words[o]);
		fx_wait(&s->words[me]);
		break;
	case M_KMOD:
		k_unpark(s->ids[o]);
		k_park();
		break;
	case M_SWAP:
		k_swap(s->ids[o]);
		break;
	}
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *pp_peer(void *arg)
{
	struct pp *s = arg;
	int i;

	if (s->pin)
		pin_cpu0();
	s->ids[1] = ioctl(fd, MNSCHED_IOC_REGISTER, 0);
	pthread_barrier_wait(&s->bar);
	if (s->mode == M_FUTEX)
		fx_wait(&s->words[1]);
	else
		k_park();
	for (i = 0; i < n_rt - 1; i++)
		hop(s, 1);
	if (s->mode == M_FUTEX)
		fx_wake(&s->words[0]);
	else
		k_unpark(s->ids[0]);
	return NULL;
}

/* Nanoseconds per round trip (two hops). */
static double pingpong(enum mode mode, int pin)
{
	struct pp s;
	pthread_t t;
	uint64_t t0;
	int i;

	memset(&s, 0, sizeof(s));
	s.mode = mode;
	s.pin = pin;
	if (pin)
		pin_cpu0();
	pthread_barrier_init(&s.bar, NULL, 2);
	s.ids[0] = ioctl(fd, MNSCHED_IOC_REGISTER, 0);
	if (pthread_create(&t, NULL, pp_peer, &s))
		die("pthread_create");
	pthread_barrier_wait(&s.bar);
	sleep_ns(1000000);
	t0 = now_ns();
	for (i = 0; i < n_rt; i++)
		hop(&s, 0);
	t0 = now_ns() - t0;
	pthread_join(t, NULL);
	pthread_barrier_destroy(&s.bar);
	return (double)t0 / n_rt;
}

/* ---- handoff latency ---------------------------------------------------- */

#define HO_ITERS 40

struct ho {
	struct mnsched_pstate *pst;
	int pfd[2];
	volatile int stop;
	int use_kmod;
	uint32_t spare_word;
	uint64_t t_ret[HO_ITERS];
	int n;
};

static int cas_state(struct mnsched_pstate *p, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&p->state, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* The spare M: waits for the P, takes it, runs "another G", wakes the M. */
static void *ho_spare(void *arg)
{
	struct ho *h = arg;
	struct mnsched_spare a;

	ioctl(fd, MNSCHED_IOC_REGISTER, 0);
	while (h->n < HO_ITERS && !h->stop) {
		if (h->use_kmod) {
			a = (struct mnsched_spare){ .timeout_ns = 100000000 };
			if (ioctl(fd, MNSCHED_IOC_SPARE, &a) || a.p != 0)
				continue;
			if (!cas_state(h->pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))
				continue;
		} else {
			/* sysmon retook the P (SYSCALL -> IDLE) and woke us. */
			fx_wait(&h->spare_word);
			if (h->stop)
				break;
			if (!cas_state(h->pst, MNSCHED_P_IDLE, MNSCHED_P_RUNNING))
				continue;
		}
		h->t_ret[h->n++] = now_ns();
		__atomic_store_n(&h->pst->state, MNSCHED_P_IDLE, __ATOMIC_RELEASE);
		if (h->use_kmod)
			ioctl(fd, MNSCHED_IOC_SET_P, -1l);
		if (write(h->pfd[1], "x", 1) != 1)
			die("write");
	}
	return NULL;
}

/*
 * Go's sysmon, reduced to the syscall retake.  It polls in both runs, as
 * the runtime's sysmon does with either parker; it retakes only in the
 * sysmon run.
 */
static void *ho_sysmon(void *arg)
{
	struct ho *h = arg;
	uint64_t last_tick = ~0ull;
	unsigned int delay = 20, idle = 0;

	while (!h->stop) {
		int retook = 0;

		if (idle == 0)
			delay = 20;
		else if (idle > 50)
			delay *= 2;
		if (delay > 10000)
			delay = 10000;
		sleep_ns(delay * 1000ull);
		if (!h->use_kmod &&
		    __atomic_load_n(&h->pst->state, __ATOMIC_ACQUIRE) == MNSCHED_P_SYSCALL) {
			uint64_t t = __atomic_load_n(&h->pst->syscalltick, __ATOMIC_ACQUIRE);

			if (t == last_tick && cas_state(h->pst, MNSCHED_P_SYSCALL, MNSCHED_P_IDLE)) {
				fx_wake(&h->spare_word);
				retook = 1;
			}
			last_tick = t;
		}
		idle = retook ? 0 : idle + 1;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double ho_call_us[2];

/*
 * Median microseconds from the M blocking in read() (the module's
 * timestamp: the blocking M holds the P with SET_P in both runs, so the
 * module marks the block either way and hands the P off only to a spare)
 * to "P runs again"; the median from the read() call is kept in
 * ho_call_us[use_kmod].
 */
static double handoff(struct mnsched_pstate *pst, int use_kmod)
{
	uint64_t t0[HO_ITERS], tb[HO_ITERS], lat[HO_ITERS], latb[HO_ITERS];
	struct ho h;
	pthread_t sp, sm;
	struct t_kview kv0, kv1;
	uint64_t k0, nb;
	char ch;
	int i;

	memset(&h, 0, sizeof(h));
	k0 = pst->k_handoffs;
	h.pst = pst;
	h.use_kmod = use_kmod;
	if (pipe(h.pfd))
		die("pipe");
	ioctl(fd, MNSCHED_IOC_REGISTER, 0);
	__atomic_store_n(&pst->state, MNSCHED_P_RUNNING, __ATOMIC_RELEASE);
	if (ioctl(fd, MNSCHED_IOC_SET_P, 0))
		die("SET_P");
	if (pthread_create(&sp, NULL, ho_spare, &h))
		die("pthread_create");
	if (pthread_create(&sm, NULL, ho_sysmon, &h))
		die("pthread_create");
	for (i = 0; i < HO_ITERS; i++) {
		sleep_ns(3000000);
		t_read_kview(pst, &kv0);
		t0[i] = now_ns();
		__atomic_add_fetch(&pst->syscalltick, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&pst->state, MNSCHED_P_SYSCALL, __ATOMIC_RELEASE);
		if (read(h.pfd[0], &ch, 1) != 1)
			die("read");
		t_read_kview(pst, &kv1);
		/* Not counted when the module saw no block. */
		tb[i] = kv1.blocks > kv0.blocks ? kv1.since_ns : 0;
		/* mn_syscall_exit: P taken; wait for it to be idle again. */
		if (!cas_state(pst, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING)) {
			while (!cas_state(pst, MNSCHED_P_IDLE, MNSCHED_P_RUNNING))
				sleep_ns(20000);
			ioctl(fd, MNSCHED_IOC_SET_P, 0);
		}
	}
	h.stop = 1;
	fx_wake(&h.spare_word);
	pthread_join(sp, NULL);
	pthread_join(sm, NULL);
	close(h.pfd[0]);
	close(h.pfd[1]);
	if (h.n < HO_ITERS) {
		fprintf(stderr, "handoff: only %d of %d\n", h.n, HO_ITERS);
		return -1;
	}
	for (i = 0, nb = 0; i < HO_ITERS; i++) {
		lat[i] = h.t_ret[i] - t0[i];
		if (tb[i] >= t0[i] && tb[i] <= h.t_ret[i])
			latb[nb++] = h.t_ret[i] - tb[i];
	}
	qsort(lat, HO_ITERS, sizeof(lat[0]), cmp_u64);
	qsort(latb, nb, sizeof(latb[0]), cmp_u64);
	if (nb < HO_ITERS / 2) {
		fprintf(stderr, "handoff: the module saw only %llu of %d blocks\n",
			(unsigned long long)nb, HO_ITERS);
		return -1;
	}
	printf("  handoff %-6s us: from the block p10 %.0f p50 %.0f p90 %.0f; from the call p50 %.0f (the kernel handed the P off %llu times)\n",
	       use_kmod ? "kmod" : "sysmon", latb[nb / 10] / 1000.0,
	       latb[nb / 2] / 1000.0, latb[nb * 9 / 10] / 1000.0,
	       lat[HO_ITERS / 2] / 1000.0,
	       (unsigned long long)(pst->k_handoffs - k0));
	ho_call_us[use_kmod] = lat[HO_ITERS / 2] / 1000.0;
	return latb[nb / 2] / 1000.0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_d(double *v)
{
	qsort(v, TRIALS, sizeof(*v), cmp_d);
	return v[TRIALS / 2];
}

/* Each measurement in a fresh thread: a thread is an M of one file only. */
struct job {
	double (*fn)(struct job *j);
	enum mode mode;
	int pin;
	int use_kmod;
	struct mnsched_pstate *pst;
	double result;
};

static double job_pp(struct job *j)
{
	return pingpong(j->mode, j->pin);
}

static double job_ho(struct job *j)
{
	return handoff(j->pst, j->use_kmod);
}

static void *job_thread(void *arg)
{
	struct job *j = arg;

	j->result = j->fn(j);
	return NULL;
}

static double run_job(struct job j)
{
	pthread_t t;

	if (pthread_create(&t, NULL, job_thread, &j))
		die("pthread_create");
	pthread_join(t, NULL);
	return j.result;
}

/* Cost of single calls that do not sleep, for reference. */
static void call_costs(void)
{
	struct mnsched_version v;
	uint32_t w = 0;
	uint64_t t0, a, b, c, d;
	long id = ioctl(fd, MNSCHED_IOC_REGISTER, 0);
	int i, n = 20000;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		ioctl(fd, MNSCHED_IOC_VERSION, &v);
	a = now_ns() - t0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		ioctl(fd, MNSCHED_IOC_UNPARK, id);
	b = now_ns() - t0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_futex, &w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	c = now_ns() - t0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		getppid();
	d = now_ns() - t0;
	printf("  calls ns: ioctl VERSION %.0f, UNPARK (no sleeper) %.0f, futex wake (no waiter) %.0f, getppid %.0f\n",
	       (double)a / n, (double)b / n, (double)c / n, (double)d / n);
	ioctl(fd, MNSCHED_IOC_UNREGISTER, 0);
}

int main(int argc, char **argv)
{
	struct mnsched_config c = { .nr_p = 1 };
	struct mnsched_pstate *pst;
	double fx, km, sw, pfx, pkm, psw, hk, hs;
	double t[6][TRIALS];
	int r;

	if (argc > 1)
		n_rt = atoi(argv[1]);
	fd = open(MNSCHED_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(MNSCHED_DEVICE);
	if (ioctl(fd, MNSCHED_IOC_CONFIG, &c))
		die("CONFIG");
	pst = mmap(NULL, c.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pst == MAP_FAILED)
		die("mmap");

	printf("mnsched-vmbench: median of %d runs of %d round trips; %d handoffs (numbers from an emulated VM: compare ratios)\n",
	       TRIALS, n_rt, HO_ITERS);
	call_costs();
	/* Alternate the modes, TRIALS rounds, and keep each one's median. */
	for (r = 0; r < TRIALS; r++) {
		t[0][r] = run_job((struct job){ .fn = job_pp, .mode = M_FUTEX });
		t[1][r] = run_job((struct job){ .fn = job_pp, .mode = M_KMOD });
		t[2][r] = run_job((struct job){ .fn = job_pp, .mode = M_SWAP });
		t[3][r] = run_job((struct job){ .fn = job_pp, .mode = M_FUTEX, .pin = 1 });
		t[4][r] = run_job((struct job){ .fn = job_pp, .mode = M_KMOD, .pin = 1 });
		t[5][r] = run_job((struct job){ .fn = job_pp, .mode = M_SWAP, .pin = 1 });
	}
	fx = median_d(t[0]);
	km = median_d(t[1]);
	sw = median_d(t[2]);
	pfx = median_d(t[3]);
	pkm = median_d(t[4]);
	psw = median_d(t[5]);
	hk = run_job((struct job){ .fn = job_ho, .use_kmod = 1, .pst = pst });
	hs = run_job((struct job){ .fn = job_ho, .use_kmod = 0, .pst = pst });

	printf("park/unpark round trip, 2 CPUs: kmod %.0f ns, futex %.0f ns, kmod/futex %.3f\n",
	       km, fx, km / fx);
	printf("swap round trip, 2 CPUs:        kmod SWAP %.0f ns, futex wake+wait %.0f ns, swap/futex %.3f\n",
	       sw, fx, sw / fx);
	printf("park/unpark round trip, 1 CPU:  kmod %.0f ns, futex %.0f ns, kmod/futex %.3f\n",
	       pkm, pfx, pkm / pfx);
	printf("swap round trip, 1 CPU:         kmod SWAP %.0f ns, futex wake+wait %.0f ns, swap/futex %.3f\n",
	       psw, pfx, psw / pfx);
	printf("blocked-M handoff, raw ioctls (median of %d), from the block: kmod %.0f us, sysmon retake %.0f us, kmod/sysmon %.3f (from the call: %.3f)\n",
	       HO_ITERS, hk, hs, hs > 0 ? hk / hs : -1.0,
	       ho_call_us[0] > 0 ? ho_call_us[1] / ho_call_us[0] : -1.0);
	return 0;
}
