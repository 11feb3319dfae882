// SPDX-License-Identifier: MIT
/*
 * uring.c - io_uring in place of Go's netpoller: one ring per P.
 *
 * A G's I/O call (io.c) describes its operation as an SQE in a struct
 * mn_ioreq on its own stack and parks.  The code that runs next on the
 * same M (mn_gopark's unlockf, so the G's registers are already saved)
 * copies the SQE into the ring of the M's P with user_data = the request.
 * Queued SQEs are submitted in batches: when the P's run queue runs dry
 * (findrunnable), when MN_IO_BATCH are queued, when the SQ is full, and by
 * sysmon for a P that has not looked for a tick.  The CQE's reaper stores
 * res in the request and makes its G runnable.
 *
 * Ownership and locks (per ring):
 *  - SQ: r->sqlock.  Taken by the P's owner to queue and submit, and by any
 *    thread that must cancel something in this ring (mn_close, a context's
 *    cancel), which submits at once.  Submission never asks for events, so
 *    it never fails for a full CQ: IORING_FEAT_NODROP keeps overflowed CQEs
 *    in the kernel until a reaper flushes them (IORING_ENTER_GETEVENTS).
 *  - CQ: r->cqlock, always with mn_trylock: whoever holds it is reaping, and
 *    the others go on (the holder will see every CQE up to the tail it read).
 *    Reapers: the P's owner (findrunnable), a spinning M (idle Ps' rings),
 *    the M sleeping in the ring, and sysmon (a ring nobody reaped for a tick).
 *    Gs reaped by an M with a P go to that P, at most as many as its
 *    local queue holds (the rest stay in the CQ until it looks again:
 *    taking them all, into the global queue, held echo at 1,000
 *    connections to 1.21x Go's round trips; 1.47x-1.89x since);
 *    without one (a sleeping M, sysmon) to the global queue, where the
 *    deadlock detector sees them before they leave r->inflight.
 *  - Sleeping Ms: an M with nothing to run may sleep in
 *    io_uring_enter(GETEVENTS) on the ring of an idle P that has requests
 *    in flight and no waiter yet (r->waiter, set by CAS; at most one per
 *    ring), so that it reaps them.  That is the ring parker, park_ring.c:
 *    it wakes such an M with a WAKE CQE (mn_ring_wake, IORING_OP_MSG_RING
 *    from a small wake ring); here are only the ring operations it uses.
 *    Tried and measured worse on http_hello (wrk -t1 -c64, 2 CPUs, where
 *    waking the sleeping server thread is what separates us from a server
 *    that never sleeps): spinning on the ring for 20-50 us before the
 *    wait (-10% to -25% req/s: the spin takes the CPU wrk needs), and an
 *    SQPOLL kernel thread shared by the rings instead of submitting from
 *    the Ms (-40%, for the same reason).
 *  - r->inflight counts requests whose G waits (not cancels, wakes or
 *    timeouts); the deadlock detector sees them through mn_io_pending.
 *
 * Completions are never stranded: a busy P reaps whenever its queue runs
 * dry, sysmon reaps a ring whose P did not for a tick (<= 10 ms, and every
 * tick for a P in a system call), an idle P's ring has a sleeping M (or,
 * when every idle M already sleeps elsewhere, spinning Ms and sysmon reap it).
 *
 * Kernel side: requests complete through task_work of the thread that
 * submitted them.  The rings use IORING_SETUP_COOP_TASKRUN: the kernel
 * wakes that thread if it sleeps (in a ring wait, a futex, a system call)
 * but does not interrupt it with an IPI if it runs; it runs the task_work
 * at its next kernel entry, in batches (an IPI per completion cost a third
 * of the throughput of a loopback HTTP server in a VM).  An M running user
 * code for long with task_work pending is kicked by sysmon (a signal, see
 * kick_running_ms).  SINGLE_ISSUER/DEFER_TASKRUN cannot be used: a P
 * moves between Ms.  A raw blocking system call on an M may therefore see
 * EINTR now and then (SA_RESTART covers the restartable ones).
 *
 * io-wq: a request the kernel cannot do without blocking goes to an io-wq
 * worker thread.  On kernels where that includes every pipe read and write
 * (6.1: pipes lack FMODE_NOWAIT; pipes_go_to_iowq probes it at start) the
 * kernel also cancels such requests on its own under SIGSTOP and signals,
 * so io.c waits for pipes with a poll request instead (mn_io_poll_first)
 * and makes unexplained cancellations again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"
#include "io.h"
#include "sys.h"

#define UD_IGNORE	1ull	/* linked timeouts, cancels: nobody waits */
#define UD_WAKE		2ull	/* MSG_RING wake-up of the ring's waiter */
#define UD_MAX		16ull	/* user_data below this is not a request */

#define MN_IO_BATCH	32	/* queued SQEs that force a submit */
#define MN_IO_STALE_NS	(5 * 1000 * 1000)	/* sysmon reaps a busy P after */
#define MN_IO_TW_KICK_NS (1000 * 1000)	/* task_work waiting this long: kick */
#define MN_IO_KICK_SIG	SIGURG
#define MN_IO_WAKEP_BACKLOG 32	/* reaped Gs queued that justify another M */

struct mn_ring {
	struct io_uring ring;
	struct mn_lock sqlock;
	struct mn_lock cqlock;
	_Atomic int32_t inflight;	/* requests whose G waits */
	_Atomic uint32_t queued;	/* SQEs queued and not yet submitted */
	struct mn_m *_Atomic waiter;	/* M in io_uring_enter on this ring */
	_Atomic bool wake_sent;		/* a WAKE CQE is on its way */
	_Atomic uint64_t polls;		/* bumped by every submit and reap */
	uint64_t sysmon_polls;		/* sysmon's copy of polls */
	uint64_t sysmon_when;		/* when sysmon saw polls change */
	uint64_t sysmon_tw;		/* since when task_work waits (0: none) */
	unsigned int sysmon_tail;		/* the CQ tail then */
	struct mn_p *p;
} __attribute__((aligned(MN_CACHELINE)));

static struct mn_ring *rings;
static int nrings;
static unsigned int ring_entries = 256;

/* Waking: a small ring of its own, only for IORING_OP_MSG_RING. */
static struct io_uring wake_ring;
static struct mn_lock wake_lock = MN_LOCK_INIT;

const char *mn_io_why MN_HIDDEN;

/* Rare events, counted for the tests (mn_debug_io_stat). */
static _Atomic uint64_t st_overflow, st_sqfull, st_wakes, st_ringwaits,
			st_sysmon, st_kicks;
#define STAT(x)	atomic_fetch_add_explicit(&st_##x, 1, memory_order_relaxed)
/* The ring of the P this thread (M) last ran: it waits there first, so the
 * requests it submitted complete (task_work) on the thread that waits for
 * them, with no cross-thread wake-up. */
static __thread struct mn_ring *my_ring __attribute__((tls_model("initial-exec")));

/* ---- system calls: -errno, never errno ---- */

static inline int sys_enter(int fd, unsigned int to_submit, unsigned int min_complete,
			    unsigned int flags, const void *arg, size_t argsz)
{
	return (int)mn_syscall6(SYS_io_uring_enter, fd, to_submit, min_complete,
				flags, (long)arg, (long)argsz);
}

/* ---- submission (sqlock held) ---- */

/* Publish the queued SQEs to the kernel; the number it has not consumed. */
static unsigned int sq_flush(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned int tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - io_uring_smp_load_acquire(sq->khead);
}

static void kick_register(void);

static int ring_submit_locked(struct mn_ring *r)
{
	unsigned int n = sq_flush(&r->ring);
	int ret = 0;

	kick_register();
	atomic_store_explicit(&r->queued, 0, memory_order_relaxed);
	if (n) {
		do
			ret = sys_enter(r->ring.ring_fd, n, 0, 0, NULL, 0);
		while (ret == -EINTR);
	}
	atomic_fetch_add_explicit(&r->polls, 1, memory_order_relaxed);
	return ret;
}

/* A full SQ: submit it (strerror, sched_yield: calls out of the runtime,
 * marked). */
static __attribute__((noinline)) void sq_full(struct mn_ring *r)
{
	MN_MARK();
	int ret;

	STAT(sqfull);
	ret = ring_submit_locked(r);
	if (ret < 0 && ret != -EAGAIN && ret != -EBUSY)
		mn_fatal("io_uring_enter (submit): %s", strerror(-ret));
	if (ret <= 0)
		sched_yield();	/* the kernel is short of memory */
}

/* An SQE; a full SQ is submitted first (never an error: see the top). */
static struct io_uring_sqe *sqe_get(struct mn_ring *r)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&r->ring)))
		sq_full(r);
	return sqe;
}

static void ring_submit(struct mn_ring *r)
{
	mn_lock(&r->sqlock);
	ring_submit_locked(r);
	mn_unlock(&r->sqlock);
}

/* ---- completion (cqlock held) ---- */

static inline void g_ready_status(struct mn_g *g)
{
	g->waitreason = MN_WAIT_NONE;
	g->runnable_since = 0;
	atomic_store_explicit(&g->status, MN_G_RUNNABLE, memory_order_relaxed);
}

/*
 * Reap every CQE of r (and the overflow the kernel holds): fill in the
 * requests and return their Gs as a schedlink list, *n of them.  The
 * caller drops r->inflight by *n once the Gs are in a run queue (or, being
 * an M with a P, at once): until then the deadlock detector must still see
 * them as I/O in flight.
 */
static struct mn_g *reap_locked(struct mn_ring *r, int *n, int max)
{
	struct mn_g *first = NULL, **tail = &first;
	struct io_uring_cqe *cqe;
	unsigned int head, seen;
	int count = 0;

	for (;;) {
		seen = 0;
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			uint64_t ud = cqe->user_data;
			struct mn_ioreq *rq;
			struct mn_g *g;

			if (count == max)
				break;	/* the rest stay in the CQ for later */
			seen++;
			if (ud < UD_MAX) {
				if (ud == UD_WAKE)
					atomic_store(&r->wake_sent, false);
				continue;
			}
			if (ud & MN_UD_RX) {
				/* A multishot receive (rx.c): its waiters. */
				int k;
				struct mn_g *wl = mn_rx_cqe(r, (int)(r - rings), cqe, &k);

				while (wl) {
					struct mn_g *next = wl->schedlink;

					g_ready_status(wl);
					*tail = wl;
					tail = &wl->schedlink;
					wl = next;
				}
				count += k;
				continue;
			}
			rq = (struct mn_ioreq *)(uintptr_t)ud;
			/* Pairs with ring_arm's release: the kernel orders it for
			 * real (syscall, CQ tail), this tells TSan. */
			(void)atomic_load_explicit(&rq->state, memory_order_acquire);
			g = rq->g;
			rq->res = cqe->res;
			rq->cflags = cqe->flags;
			MN_PROBE(io_complete, g->goid, rq->sqe.opcode, cqe->res);
			g_ready_status(g);
			*tail = g;
			tail = &g->schedlink;
			count++;
		}
		if (seen)
			io_uring_cq_advance(&r->ring, seen);
		if (count == max || !io_uring_cq_has_overflow(&r->ring))
			break;
		/* NODROP: the kernel kept what did not fit; bring it in. */
		STAT(overflow);
		sys_enter(r->ring.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
	}
	*tail = NULL;
	atomic_fetch_add_explicit(&r->polls, 1, memory_order_relaxed);
	/* The P's always-on I/O counter (mnsched-top IO/s); cqlock
	 * serializes the reapers of a ring. */
	if (count)
		MN_PCOUNT_ADD(r->p, io_completions, (uint64_t)count);
	*n = count;
	return first;
}

/* Lock-free look (a hint): the tail is the kernel's, the head a reaper's. */
static inline bool cq_nonempty(struct mn_ring *r)
{
	unsigned int tail = io_uring_smp_load_acquire(r->ring.cq.ktail);

	return tail != __atomic_load_n(r->ring.cq.khead, __ATOMIC_RELAXED) ||
	       io_uring_cq_has_overflow(&r->ring);
}

/* Reap r (at most max Gs) if nobody else is; NULL when empty or busy. */
static struct mn_g *reap(struct mn_ring *r, int *n, int max)
{
	struct mn_g *gl;

	*n = 0;
	if (!cq_nonempty(r) || !mn_trylock(&r->cqlock))
		return NULL;
	gl = reap_locked(r, n, max);
	mn_unlock(&r->cqlock);
	return gl;
}

/*
 * How many Gs a reaper with P p takes: what p's local queue holds, plus the
 * one it runs.  The rest of the CQ waits in the ring for p's next look
 * (its queue runs dry sooner than a global queue would be drained, and
 * a list through 1,000 G headers is a cache miss per G).
 */
static inline int local_room(struct mn_p *p)
{
	int room = MN_RUNQ_SIZE - (int)mn_runqlen(p);

	return room > 1 ? room : 1;
}

/* Queue all of gl (reaped from r) but the first on p; return the first.
 * They fit: the reaper took at most local_room(p) (a full queue would still
 * spill to the global one, in mn_runqput). */
static struct mn_g *runq_all_but_one(struct mn_ring *r, struct mn_p *p,
				     struct mn_g *gl, int n)
{
	struct mn_g *x, *next;

	if (!gl)
		return NULL;
	/* An M with a P is not idle: the deadlock detector cannot miss these. */
	atomic_fetch_sub_explicit(&r->inflight, n, memory_order_relaxed);
	for (x = gl->schedlink; x; x = next) {
		next = x->schedlink;
		mn_runqput(p, x, false);
	}
	gl->schedlink = NULL;
	/* Wake another M only for a real backlog: for a few Gs the wake-up
	 * (an idle vCPU, an IPI) costs more than it saves, a ping-pong pair
	 * would be split across Ps so every hop became a cross-M wake, and
	 * the extra M competes for the CPUs with whoever sends us the work
	 * (HTTP p99 halved with 32 instead of 8 here). */
	if (n > 1 && (int)mn_runqlen(p) >= MN_IO_WAKEP_BACKLOG)
		mn_wakep();
	return gl;
}

/* Gs reaped without a P (a waiting M, sysmon): to the global queue, then
 * out of r->inflight, then find them an M. */
static void runq_global(struct mn_ring *r, struct mn_g *gl, int n, bool wake)
{
	struct mn_g *tail;

	for (tail = gl; tail->schedlink; tail = tail->schedlink)
		;
	mn_globrunqput_batch(gl, tail, n);
	atomic_fetch_sub_explicit(&r->inflight, n, memory_order_relaxed);
	if (wake)
		mn_wakep();
}

/* ---- arming a request (runs right after the G's switch) ---- */

/*
 * Test hook: the next n requests armed are cancelled by the runtime right
 * after they are queued (IORING_OP_ASYNC_CANCEL in the same submission),
 * as the kernel cancels requests of its own accord (io.c, "Cancellations
 * nobody asked for"): a real -ECANCELED completion, not a faked one.
 */
static _Atomic int debug_cancel_next;

__attribute__((visibility("default"))) void mn_debug_io_cancel_next(int n);
void mn_debug_io_cancel_next(int n)
{
	atomic_store(&debug_cancel_next, n);
}

static void debug_cancel(struct mn_ring *r, struct mn_ioreq *rq)
{
	int n = atomic_load_explicit(&debug_cancel_next, memory_order_relaxed);
	struct io_uring_sqe *sqe;

	while (n > 0 && !atomic_compare_exchange_weak(&debug_cancel_next, &n, n - 1))
		;
	if (n <= 0)
		return;
	ring_submit_locked(r);		/* the request first */
	sqe = sqe_get(r);
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)rq, 0);
	sqe->user_data = UD_IGNORE;
	ring_submit_locked(r);
}


static void ring_arm(struct mn_g *g, void *arg)
{
	struct mn_ioreq *rq = arg;
	struct mn_m *m = mn_curm();
	struct mn_ring *r = m->p->io;
	struct io_uring_sqe *sqe;
	int expect = MN_RQ_INIT;

	mn_lock(&r->sqlock);
	rq->ring = r;
	if (rq->ctx && !atomic_compare_exchange_strong(&rq->state, &expect,
						       MN_RQ_ARMED)) {
		/* The context was cancelled while the G parked. */
		mn_unlock(&r->sqlock);
		rq->res = -ECANCELED;
		g_ready_status(g);
		mn_runqput(m->p, g, false);
		return;
	}
	atomic_fetch_add_explicit(&r->inflight, 1, memory_order_relaxed);
	if (rq->deadline && io_uring_sq_space_left(&r->ring) < 2)
		ring_submit_locked(r);	/* op and its timeout in one batch */
	sqe = sqe_get(r);
	*sqe = rq->sqe;
	sqe->user_data = (uint64_t)(uintptr_t)rq;
	if (rq->deadline) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = sqe_get(r);
		io_uring_prep_link_timeout(sqe, &rq->ts, IORING_TIMEOUT_ABS);
		sqe->user_data = UD_IGNORE;
	}
	MN_PROBE(io_submit, g->goid, rq->sqe.opcode, 0);
	/* Done with *rq until its CQE: the reaper's acquire pairs with this
	 * (for TSan; the kernel orders it for real). */
	atomic_store_explicit(&rq->state, MN_RQ_ARMED, memory_order_release);
	if (unlikely(atomic_load_explicit(&debug_cancel_next, memory_order_relaxed)))
		debug_cancel(r, rq);	/* rq's address only */
	if (atomic_fetch_add_explicit(&r->queued, 1, memory_order_relaxed) + 1 >=
	    MN_IO_BATCH)
		ring_submit_locked(r);
	mn_unlock(&r->sqlock);
}

/* ---- for rx.c ---- */

int mn_io_ring_index(struct mn_ring *r)
{
	return (int)(r - rings);
}

_Atomic int32_t *mn_io_ring_inflight(struct mn_ring *r)
{
	return &r->inflight;
}

/* Queue a ready-made SQE (user_data set) in r, submitted with the batch. */
void mn_io_queue_sqe(struct mn_ring *r, const struct io_uring_sqe *t)
{
	struct io_uring_sqe *sqe;

	mn_lock(&r->sqlock);
	sqe = sqe_get(r);
	*sqe = *t;
	if (atomic_fetch_add_explicit(&r->queued, 1, memory_order_relaxed) + 1 >=
	    MN_IO_BATCH)
		ring_submit_locked(r);
	mn_unlock(&r->sqlock);
}

/* Cancel the request with user_data ud in r: at once, or with the next
 * batch when r is the calling M's P's ring and the caller is about to
 * park there anyway (batch). */
void mn_io_cancel_ud(struct mn_ring *r, uint64_t ud, bool batch)
{
	struct mn_m *m = mn_curm();
	struct io_uring_sqe *sqe;

	mn_lock(&r->sqlock);
	sqe = sqe_get(r);
	io_uring_prep_cancel64(sqe, ud, 0);
	sqe->user_data = UD_IGNORE;
	if (batch && m && m->p && m->p->io == r)
		atomic_fetch_add_explicit(&r->queued, 1, memory_order_relaxed);
	else
		ring_submit_locked(r);
	mn_unlock(&r->sqlock);
}

/* A context's watch: cancel the request in its ring, or before it gets
 * there. */
static void ring_ctx_fired(struct mn_ctx_watch *w, int err)
{
	struct mn_ioreq *rq = (struct mn_ioreq *)((char *)w -
					offsetof(struct mn_ioreq, watch));
	int expect = MN_RQ_INIT;
	struct mn_ring *r;
	struct io_uring_sqe *sqe;

	rq->ctx_err = err;
	if (atomic_compare_exchange_strong(&rq->state, &expect, MN_RQ_CANCELLED))
		return;		/* ring_arm will not queue it */
	/* Armed: rq->ring was set under its sqlock before the CAS. */
	r = rq->ring;
	mn_lock(&r->sqlock);
	sqe = sqe_get(r);
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)rq, 0);
	sqe->user_data = UD_IGNORE;
	ring_submit_locked(r);
	mn_unlock(&r->sqlock);
}

int32_t mn_io_uring_wait(struct mn_ioreq *rq)
{
	struct mn_m *m = mn_curm();
	int err;

	rq->g = m->curg;
	rq->ring = NULL;
	atomic_store_explicit(&rq->state, MN_RQ_INIT, memory_order_relaxed);
	if (rq->deadline) {
		rq->ts.tv_sec = (int64_t)(rq->deadline / 1000000000u);
		rq->ts.tv_nsec = (long long)(rq->deadline % 1000000000u);
	}
	if (rq->ctx) {
		mn_ctx_watch_init(&rq->watch, ring_ctx_fired);
		rq->ctx_err = 0;
		err = mn_ctx_watch_add(rq->ctx, &rq->watch);
		if (err)
			return err;
	}
	mn_gopark(ring_arm, rq, MN_WAIT_IO);
	if (rq->ctx)
		mn_ctx_watch_del(rq->ctx, &rq->watch);
	return rq->res;
}

/* Cancel every request on fd in every ring (mn_close), synchronously for
 * requests waiting on readiness: they complete with -ECANCELED. */
void mn_io_uring_cancel_fd(int fd)
{
	for (int i = 0; i < nrings; i++) {
		struct mn_ring *r = &rings[i];
		struct io_uring_sqe *sqe;

		if (!atomic_load(&r->inflight))
			continue;
		mn_lock(&r->sqlock);
		sqe = sqe_get(r);
		io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
		sqe->user_data = UD_IGNORE;
		ring_submit_locked(r);
		mn_unlock(&r->sqlock);
	}
}

/* ---- the scheduler's hooks ---- */

struct mn_g *mn_io_poll(struct mn_p *p)
{
	struct mn_ring *r = p->io;
	struct mn_g *gl;
	int n;

	if (!r)
		return NULL;
	my_ring = r;
	if (atomic_load_explicit(&r->queued, memory_order_relaxed))
		ring_submit(r);
	gl = reap(r, &n, local_room(p));
	return runq_all_but_one(r, p, gl, n);
}

struct mn_g *mn_io_poll_idle(struct mn_p *p)
{
	struct mn_g *g = NULL;

	if (!rings)
		return NULL;
	for (int i = 0; i < nrings && !g; i++) {
		struct mn_ring *r = &rings[i];
		struct mn_g *gl;
		int n;

		if (r->p == p || mn_pstatus(r->p) != MNSCHED_P_IDLE ||
		    !atomic_load_explicit(&r->inflight, memory_order_relaxed))
			continue;
		gl = reap(r, &n, local_room(p));
		g = runq_all_but_one(r, p, gl, n);
	}
	return g;
}

bool mn_io_inflight(struct mn_p *p)
{
	struct mn_ring *r = p->io;

	return r && atomic_load(&r->inflight) > 0;
}

bool mn_io_pending(void)
{
	for (int i = 0; i < nrings; i++)
		if (atomic_load(&rings[i].inflight) > 0)
			return true;
	return false;
}

/* Post a WAKE CQE on r (IORING_OP_MSG_RING): its waiter returns from
 * mn_ring_wait.  One in flight is enough. */
void mn_ring_wake(struct mn_ring *r)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	if (atomic_exchange(&r->wake_sent, true))
		return;
	STAT(wakes);
	mn_lock(&wake_lock);
	while (!(sqe = io_uring_get_sqe(&wake_ring)))
		sq_flush(&wake_ring);
	io_uring_prep_msg_ring(sqe, r->ring.ring_fd, 0, UD_WAKE, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD_IGNORE;
	do
		ret = sys_enter(wake_ring.ring_fd, sq_flush(&wake_ring), 0, 0,
				NULL, 0);
	while (ret == -EINTR);
	/* Only failures post CQEs here. */
	while (io_uring_peek_cqe(&wake_ring, &cqe) == 0) {
		if (cqe->res < 0)
			atomic_store(&r->wake_sent, false);
		io_uring_cqe_seen(&wake_ring, cqe);
	}
	mn_unlock(&wake_lock);
}

void mn_io_acquired(struct mn_m *m, struct mn_p *p)
{
	struct mn_ring *r = p->io;
	struct mn_m *w;

	if (!r)
		return;
	w = atomic_load(&r->waiter);
	if (w && w != m)
		mn_ring_wake(r);	/* it will look for an idle P's ring instead */
}

/*
 * The ring parker's side here (park_ring.c has the protocol): an M with
 * nothing to run sleeps in io_uring_enter(GETEVENTS) on the ring of an idle
 * P that has requests in flight and no waiter yet.
 */

/* Claim such a ring for m (r->waiter, by CAS: at most one per ring), the
 * ring of the P it last ran first; NULL when there is none. */
struct mn_ring *mn_ring_claim(struct mn_m *m)
{
	int start;

	if (!rings)
		return NULL;
	start = my_ring ? (int)(my_ring - rings) :
		(int)(mn_fastrand(&m->fastrand) % (uint32_t)nrings);
	for (int k = 0; k < nrings; k++) {
		struct mn_ring *r = &rings[(start + k) % nrings];
		struct mn_m *none = NULL;

		if (!atomic_load_explicit(&r->inflight, memory_order_relaxed) ||
		    mn_pstatus(r->p) != MNSCHED_P_IDLE ||
		    atomic_load_explicit(&r->waiter, memory_order_relaxed))
			continue;
		if (atomic_compare_exchange_strong(&r->waiter, &none, m))
			return r;
	}
	return NULL;
}

/* Sleep in r until a CQE (a completion, or a WAKE from mn_ring_wake) or
 * timeout_ns (< 0: none); 0 or -ETIMEDOUT. */
int mn_ring_wait(struct mn_ring *r, int64_t timeout_ns)
{
	struct io_uring_getevents_arg arg = { 0 };
	struct __kernel_timespec ts;
	int ret;

	STAT(ringwaits);
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		arg.ts = (uint64_t)(uintptr_t)&ts;
	}
	ret = sys_enter(r->ring.ring_fd, 0, 1,
			IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			&arg, sizeof(arg));
	return ret == -ETIME ? -ETIMEDOUT : 0;
}

/* Give up the claim on r and reap it.  The calling M is still on the idle
 * list: the Gs go to the global queue, where the deadlock detector sees
 * them (a second M is woken only for a backlog).  Returns r's P when there
 * were any (the caller should take a P, best that one), else NULL. */
struct mn_p *mn_ring_release(struct mn_ring *r)
{
	struct mn_g *gl;
	int n;

	atomic_store(&r->waiter, NULL);
	gl = reap(r, &n, INT_MAX);
	if (!gl)
		return NULL;
	runq_global(r, gl, n, n >= MN_IO_WAKEP_BACKLOG);
	return r->p;
}

/*
 * COOP_TASKRUN: completions are task_work of the submitting thread, run
 * when it next enters the kernel, without an interrupt.  A thread that
 * runs user code for long without a system call would sit on them: when a
 * ring has had task_work pending for MN_IO_TW_KICK_NS, signal the Ms that
 * that ever submitted (MN_IO_KICK_SIG, a no-op handler; SA_RESTART), so
 * they pass through the kernel and run it.  Rare: an M enters the kernel
 * at every submit and every wait, and a running CPU's timer tick runs it
 * too (except on nohz_full CPUs).
 */
#define MAX_KICK_TIDS 256
static _Atomic pid_t kick_tids[MAX_KICK_TIDS];	/* threads that submitted */
static _Atomic int nkick_tids;
static __thread bool kick_registered __attribute__((tls_model("initial-exec")));

/* On the submitting thread: remember it, it may hold task_work. */
static void kick_register(void)
{
	int i;

	if (likely(kick_registered))
		return;
	kick_registered = true;
	i = atomic_fetch_add(&nkick_tids, 1);
	if (i < MAX_KICK_TIDS)
		atomic_store(&kick_tids[i], (pid_t)mn_syscall3(SYS_gettid, 0, 0, 0));
}

static void kick_running_ms(void)
{
	pid_t pid = getpid();
	int n = atomic_load(&nkick_tids);

	for (int i = 0; i < n && i < MAX_KICK_TIDS; i++) {
		pid_t tid = atomic_load(&kick_tids[i]);

		if (tid > 0)
			mn_syscall3(SYS_tgkill, pid, tid, MN_IO_KICK_SIG);
	}
}

static void kick_handler(int sig)
{
	(void)sig;
}

bool mn_io_sysmon(uint64_t now)
{
	bool busy = false, kick = false;

	for (int i = 0; i < nrings; i++) {
		struct mn_ring *r = &rings[i];
		uint64_t polls = atomic_load_explicit(&r->polls,
						      memory_order_relaxed);
		uint32_t st = mn_pstatus(r->p);
		struct mn_g *gl;
		int n;

		/* Task_work pending and no CQE posted for a while: somebody
		 * sits on it (under load the flag is set most of the time, but
		 * the tail moves). */
		if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_TASKRUN) {
			unsigned int tail = io_uring_smp_load_acquire(r->ring.cq.ktail);

			if (!r->sysmon_tw || tail != r->sysmon_tail) {
				r->sysmon_tw = now;
				r->sysmon_tail = tail;
			} else if (now - r->sysmon_tw >= MN_IO_TW_KICK_NS) {
				kick = true;
				r->sysmon_tw = now;
				STAT(kicks);
			}
		} else {
			r->sysmon_tw = 0;
		}

		if (polls != r->sysmon_polls ||
		    !atomic_load_explicit(&r->inflight, memory_order_relaxed)) {
			/* Somebody looked since the last tick, or nothing to see. */
			r->sysmon_polls = polls;
			r->sysmon_when = now;
			busy |= atomic_load_explicit(&r->inflight,
						     memory_order_relaxed) > 0;
			continue;
		}
		busy = true;
		/* An idle P's waiter reaps; a running P's owner reaps when its
		 * queue runs dry, and sysmon only once that is MN_IO_STALE_NS
		 * overdue.  A P in a system call is reaped at once. */
		if (st == MNSCHED_P_IDLE && atomic_load(&r->waiter))
			continue;
		if (st == MNSCHED_P_RUNNING && now - r->sysmon_when < MN_IO_STALE_NS)
			continue;
		if (atomic_load_explicit(&r->queued, memory_order_relaxed))
			ring_submit(r);
		gl = reap(r, &n, INT_MAX);
		r->sysmon_polls = atomic_load_explicit(&r->polls,
						       memory_order_relaxed);
		r->sysmon_when = now;
		if (!gl)
			continue;
		/* No P here: to the global queue, and find them an M. */
		STAT(sysmon);
		runq_global(r, gl, n, true);
	}
	if (kick)
		kick_running_ms();
	return busy;
}

/* Debug hook for the tests: a rare-event counter by name, -1 unknown. */
__attribute__((visibility("default"))) int64_t mn_debug_io_stat(const char *name);
int64_t mn_debug_io_stat(const char *name)
{
	static const struct { const char *n; _Atomic uint64_t *v; } t[] = {
		{ "cq_overflow", &st_overflow }, { "sq_full", &st_sqfull },
		{ "wakes", &st_wakes }, { "ring_waits", &st_ringwaits },
		{ "sysmon_reaps", &st_sysmon }, { "kicks", &st_kicks },
		{ "poll_first", &mn_io_st_pollfirst },
	};

	if (!strncmp(name, "rx_", 3))
		return mn_rx_stat(name);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].n, name))
			return (int64_t)atomic_load(t[i].v);
	return -1;
}

/* ---- set-up ---- */

static const int needed_ops[] = {
	IORING_OP_READ, IORING_OP_WRITE, IORING_OP_READV, IORING_OP_WRITEV,
	IORING_OP_RECV, IORING_OP_SEND, IORING_OP_RECVMSG, IORING_OP_SENDMSG,
	IORING_OP_ACCEPT, IORING_OP_CONNECT, IORING_OP_CLOSE,
	IORING_OP_SHUTDOWN, IORING_OP_OPENAT, IORING_OP_FSYNC,
	IORING_OP_POLL_ADD, IORING_OP_SPLICE, IORING_OP_ASYNC_CANCEL,
	IORING_OP_LINK_TIMEOUT, IORING_OP_MSG_RING,
};

static int ring_init(struct io_uring *ring, unsigned int entries, unsigned int cq)
{
	struct io_uring_params par;
	int err;

	memset(&par, 0, sizeof(par));
	par.flags = IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
		    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	if (cq) {
		par.flags |= IORING_SETUP_CQSIZE;
		par.cq_entries = cq;
	}
	err = io_uring_queue_init_params(entries, ring, &par);
	if (err == -EINVAL) {	/* before 5.19: no COOP_TASKRUN, no SUBMIT_ALL */
		par.flags &= ~(IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
			       IORING_SETUP_TASKRUN_FLAG);
		err = io_uring_queue_init_params(entries, ring, &par);
	}
	if (err)
		return err;
	if (!(par.features & IORING_FEAT_NODROP) ||
	    !(par.features & IORING_FEAT_EXT_ARG) ||
	    !(par.features & IORING_FEAT_SUBMIT_STABLE)) {
		io_uring_queue_exit(ring);
		return -EOPNOTSUPP;
	}
	/* The SQ/CQ mappings are shared with the kernel: a fork child would
	 * share them with us too (proc.c, "fork()"). */
	io_uring_ring_dontfork(ring);
	return 0;
}

/*
 * Does io_uring hand pipe reads and writes to io-wq here?  It does when
 * pipes lack FMODE_NOWAIT (6.1), which is also when preadv2(RWF_NOWAIT)
 * on a pipe says -EOPNOTSUPP instead of -EAGAIN.
 */
static bool pipes_go_to_iowq(void)
{
	int p[2];
	char c;
	struct iovec iov = { &c, 1 };
	long r;

	if (mn_syscall3(SYS_pipe2, p, O_CLOEXEC, 0) < 0)
		return false;
	r = mn_syscall6(SYS_preadv2, p[0], (long)&iov, 1, -1, 0, RWF_NOWAIT);
	mn_syscall3(SYS_close, p[0], 0, 0);
	mn_syscall3(SYS_close, p[1], 0, 0);
	return r == -EOPNOTSUPP;
}

/* Why io_uring is unusable, for the notice line. */
static const char *why_not(int err, char *buf, size_t cap)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int dis = 0;

	if (f) {
		if (fscanf(f, "%d", &dis) != 1)
			dis = 0;
		fclose(f);
	}
	if (err == -ENOSYS)
		return "the kernel has no io_uring (ENOSYS)";
	if ((err == -EPERM || err == -EACCES) && dis == 2)
		return "disabled by kernel.io_uring_disabled=2";
	if ((err == -EPERM || err == -EACCES) && dis == 1)
		return "restricted by kernel.io_uring_disabled=1 to io_uring_group";
	if (err == -EPERM || err == -EACCES)
		return "not permitted (EPERM: seccomp or a container policy?)";
	if (err == -EOPNOTSUPP)
		return "the kernel lacks a needed io_uring feature or opcode";
	snprintf(buf, cap, "io_uring_setup: %s", strerror(-err));
	return buf;
}

int mn_io_uring_init(void)
{
	struct io_uring_probe *probe;
	int n = mn_sched.nprocs, err, saved = errno;

	if (mn_sched.env.io_entries)	/* MNSCHED_IO_ENTRIES, checked by env.c */
		ring_entries = mn_sched.env.io_entries;
	err = ring_init(&wake_ring, 16, 0);
	if (err)
		goto fail;
	probe = io_uring_get_probe_ring(&wake_ring);
	if (!probe) {
		err = -EOPNOTSUPP;
		goto fail_wake;
	}
	for (size_t i = 0; i < sizeof(needed_ops) / sizeof(needed_ops[0]); i++)
		if (!io_uring_opcode_supported(probe, needed_ops[i]))
			err = -EOPNOTSUPP;
	io_uring_free_probe(probe);
	if (err)
		goto fail_wake;
	rings = aligned_alloc(MN_CACHELINE, sizeof(*rings) * (size_t)n);
	if (!rings) {
		err = -ENOMEM;
		goto fail_wake;
	}
	memset(rings, 0, sizeof(*rings) * (size_t)n);
	for (int i = 0; i < n; i++) {
		err = ring_init(&rings[i].ring, ring_entries, ring_entries * 16);
		if (err) {
			while (i-- > 0)
				io_uring_queue_exit(&rings[i].ring);
			free(rings);
			rings = NULL;
			goto fail_wake;
		}
		rings[i].p = mn_sched.allp[i];
		mn_sched.allp[i]->io = &rings[i];
	}
	nrings = n;
	{
		struct mn_ring *rp[n];
		struct io_uring *up[n];

		for (int i = 0; i < n; i++) {
			rp[i] = &rings[i];
			up[i] = &rings[i].ring;
		}
		mn_rx_init(rp, up, n);
	}
	mn_io_poll_first = mn_sched.iopoll || pipes_go_to_iowq();
	/* The kick signal needs a handler to interrupt anything; a program
	 * that set its own keeps it (and sees a rare extra SIGURG). */
	{
		struct sigaction sa;

		if (sigaction(MN_IO_KICK_SIG, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_DFL) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = kick_handler;
			sa.sa_flags = SA_RESTART;
			sigemptyset(&sa.sa_mask);
			sigaction(MN_IO_KICK_SIG, &sa, NULL);
		}
	}
	/* Idle Ms may now sleep in the rings: the ring parker goes on top
	 * of the base parker (park.h). */
	mn_sched.parker = mn_parker_ring_on(mn_sched.parker);
	errno = saved;
	return 0;
fail_wake:
	io_uring_queue_exit(&wake_ring);
fail:
	errno = saved;
	{
		static char buf[128];

		mn_io_why = why_not(err, buf, sizeof(buf));
	}
	return err;
}
