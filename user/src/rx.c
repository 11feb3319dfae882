// SPDX-License-Identifier: MIT
/*
 * rx.c - receiving on TCP sockets with one multishot request per connection.
 *
 * The plain path makes one IORING_OP_RECV per mn_recv: the kernel tries the
 * socket, arms a poll, wakes, receives, posts the CQE, and the next mn_recv
 * does it all again.  Here the second mn_recv on a TCP socket (the first
 * is a plain one: a connection that gets one request does not pay for
 * arming and cancelling) arms a multishot receive (IORING_RECV_MULTISHOT,
 * kernel 6.0+) that picks its buffers from a ring of provided buffers
 * (IORING_REGISTER_PBUF_RING, 5.19+), one per P's ring: it stays armed for
 * the life of the connection
 * and posts a CQE with a buffer for every chunk the socket receives.  The
 * reaper (uring.c) queues those buffers on the socket's state here and
 * wakes the Gs waiting on it; mn_recv copies from the queue into the
 * caller's buffer (the API stays recv(2)'s) and gives emptied buffers back
 * to their ring.  A G that finds data queued does not park at all.
 *
 * Measured (tools/bench/RESULTS.md, "I/O per request"): it saves a request
 * and a poll arming per receive, which the keep-alive HTTP server's CPU per
 * request does not show above the noise of 2 shared CPUs, and echo
 * ping-pong leaned against it there (64 connections: 291k round trips/s
 * against 382k before it and 397k with multishot=0; spreads of 1.5-2x).
 * Its completions run as task_work of the thread that armed it, which
 * may by then be asleep elsewhere.  MNSCHED_DEBUG=multishot=0 turns it off.
 *
 * Running out of buffers is backpressure, never loss: a multishot receive
 * that finds the ring empty ends with -ENOBUFS and leaves the data in the
 * socket (TCP's window then slows the sender).  The next mn_recv on that
 * socket re-arms it when its ring has buffers again, and otherwise makes
 * one plain receive into the caller's own buffer: a receiver never waits
 * for buffers that other sockets hold, so no program can deadlock on them.
 *
 * Per-fd state (struct mn_rx, in a table by fd number, never freed):
 * queued buffers in arrival order (their bids linked through the pool's
 * next[]), the offset into the first, a terminal result (0 end of stream,
 * or an error) that comes after them, whether a multishot is armed and on
 * which ring, and the Gs waiting.  A generation number in the request's
 * user_data tells CQEs of an earlier request on the same fd number (before
 * mn_close, or a close(2) behind our back) from the current one: theirs
 * give their buffers back and are otherwise ignored.
 *
 * Which sockets: AF_INET/AF_INET6 SOCK_STREAM only, found once per fd
 * (getsockopt; fds from mn_accept inherit the listener's answer without a
 * system call).  Datagrams must not be merged, and a Unix socket may carry
 * SCM_RIGHTS that a receive without control data would drop.
 *
 * Calls that read such a socket while a multishot is armed or data is
 * queued take it from the queue too: mn_recv (flags 0, MSG_PEEK,
 * MSG_WAITALL, MSG_DONTWAIT, which waits as on the plain path; others such
 * as MSG_OOB go to the kernel), mn_read,
 * mn_readv, mn_recvmsg (no control data or address: TCP has none), and
 * mn_poll for POLLIN.  mn_close ends the multishot.  A socket closed with
 * close(2) instead keeps its multishot (and the connection) until its fd
 * number comes back through mn_accept, mn_connect or mn_close.
 *
 * Deadlines, contexts and mn_close cut a wait short as on the plain path
 * (a timer, a context watch, the close itself wake the G).
 *
 * Off: MNSCHED_DEBUG=multishot=0, or a kernel without buffer rings or
 * multishot receive (a probe at start; one notice line on stderr).
 * MNSCHED_IO_RECVBUFS=N sets the buffers per P (4 KiB each, default 256).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "runtime.h"
#include "io.h"
#include "sys.h"
#include "timer.h"

#define RX_BUFSIZE	4096u
#define RX_NBUFS	256u
#define RX_BGID		0

/* user_data of a multishot: tag, generation, fd. */
#define UD_GEN_SHIFT	32
#define UD_GEN_MASK	0x7fffu
#define RX_UD(fd, gen)	(MN_UD_RX | ((uint64_t)(gen) << UD_GEN_SHIFT) | (uint32_t)(fd))

/* One pool of provided buffers per P's ring. */
struct rx_pool {
	struct io_uring_buf_ring *br;
	char *bufs;
	size_t map_len;
	unsigned int nbufs, mask;
	struct mn_lock lock;		/* the ring's tail (buffers given back) */
	_Atomic int32_t held;		/* taken by reaped CQEs, not given back */
	uint32_t *len;			/* per bid: bytes in it */
	uint16_t *next;			/* per bid: the next in its fd's queue */
};

enum { RX_UNKNOWN, RX_STREAM, RX_PLAIN };

struct rx_waiter {
	struct rx_waiter *next;
	struct mn_g *g;
	struct mn_ring *ring;		/* whose inflight counts this wait */
	struct mn_rx *rx;
	int fd;
	bool arm;			/* the park's unlockf arms the multishot */
	bool woken;			/* taken off rx->waiters by its waker */
	int32_t why;			/* 0 look again, or the error to return */
	struct mn_ctx_watch watch;
};

struct mn_rx {
	struct mn_lock lock;
	uint16_t gen;
	_Atomic uint8_t kind;		/* RX_*, written under lock */
	bool armed;			/* a multishot of this gen is in rx->ring */
	bool has_term;
	bool starved;			/* the last multishot ended for want of buffers */
	bool warm;			/* a plain receive came first (see mn_rx_recv) */
	int32_t term;			/* after the queue: 0 EOF, or -errno */
	int ringidx;			/* pool of the queued buffers and the arm */
	int32_t qhead, qtail;		/* bids, -1 none */
	uint32_t qoff;			/* bytes of qhead already taken */
	struct rx_waiter *waiters;
} __attribute__((aligned(MN_CACHELINE)));

#define RX_CHUNK	256
#define RX_DIRSZ	4096		/* fds below 1M */
static struct mn_rx *_Atomic rx_dir[RX_DIRSZ];

bool mn_rx_on MN_HIDDEN;
static struct rx_pool *pools;
static int npools;
static struct mn_ring **pool_ring;

static _Atomic uint64_t st_arms, st_enobufs, st_plain, st_fast, st_stale;

static struct mn_rx *rx_get(int fd, bool create)
{
	struct mn_rx *c, *none = NULL;
	unsigned int i;

	if (fd < 0 || fd >= RX_DIRSZ * RX_CHUNK)
		return NULL;
	i = (unsigned int)fd / RX_CHUNK;
	c = atomic_load_explicit(&rx_dir[i], memory_order_acquire);
	if (likely(c) || !create)
		return c ? &c[fd % RX_CHUNK] : NULL;
	c = aligned_alloc(MN_CACHELINE, sizeof(*c) * RX_CHUNK);
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c) * RX_CHUNK);
	for (int k = 0; k < RX_CHUNK; k++)
		c[k].qhead = c[k].qtail = -1;
	if (!atomic_compare_exchange_strong(&rx_dir[i], &none, c)) {
		free(c);
		c = none;
	}
	return &c[fd % RX_CHUNK];
}

/* ---- buffers ---- */

static inline char *buf_addr(struct rx_pool *pl, unsigned int bid)
{
	return pl->bufs + (size_t)bid * RX_BUFSIZE;
}

static void buf_give_back(struct rx_pool *pl, unsigned int bid)
{
	/* Release, paired with the reaper's acquire when the kernel hands
	 * the buffer out again (the kernel orders it for real; this tells
	 * TSan that the last reader of len[bid] came before its writer).
	 * Before the buffer is in the ring: after, the kernel could hand it
	 * out and its reaper count first, and TSan saw a race on len[bid]
	 * (1 run in 3 of io_rx under TSan). */
	atomic_fetch_sub_explicit(&pl->held, 1, memory_order_acq_rel);
	mn_lock(&pl->lock);
	io_uring_buf_ring_add(pl->br, buf_addr(pl, bid), RX_BUFSIZE, (unsigned short)bid,
			      (int)pl->mask, 0);
	io_uring_buf_ring_advance(pl->br, 1);
	mn_unlock(&pl->lock);
}

/* Give every queued buffer back (rx->lock held). */
static void queue_drop(struct mn_rx *rx)
{
	struct rx_pool *pl = &pools[rx->ringidx];

	while (rx->qhead >= 0) {
		int bid = rx->qhead;

		rx->qhead = bid == rx->qtail ? -1 : pl->next[bid];
		buf_give_back(pl, (unsigned int)bid);
	}
	rx->qtail = -1;
	rx->qoff = 0;
}

/*
 * Copy up to the iovecs' room from the queue; peek leaves it as it is.
 * Emptied buffers go back to the ring.  rx->lock held.
 */
static size_t queue_copy(struct mn_rx *rx, const struct iovec *iov, int iovcnt,
			 size_t skip, bool peek)
{
	struct rx_pool *pl = &pools[rx->ringidx];
	int bid = rx->qhead;
	uint32_t off = rx->qoff;
	size_t done = 0;
	int v = 0;
	size_t voff = 0;

	/* skip: bytes of the iovecs already filled (MSG_WAITALL) */
	while (v < iovcnt && skip >= iov[v].iov_len) {
		skip -= iov[v].iov_len;
		v++;
	}
	voff = skip;
	while (bid >= 0 && v < iovcnt) {
		size_t n = pl->len[bid] - off, room = iov[v].iov_len - voff;

		if (n > room)
			n = room;
		memcpy((char *)iov[v].iov_base + voff, buf_addr(pl, (unsigned int)bid) + off, n);
		done += n;
		off += (uint32_t)n;
		voff += n;
		if (voff == iov[v].iov_len) {
			v++;
			voff = 0;
		}
		if (off == pl->len[bid]) {
			int next = bid == rx->qtail ? -1 : pl->next[bid];

			if (!peek) {
				rx->qhead = next;
				if (next < 0)
					rx->qtail = -1;
				buf_give_back(pl, (unsigned int)bid);
			}
			bid = next;
			off = 0;
		}
	}
	if (!peek)
		rx->qoff = rx->qhead >= 0 ? off : 0;
	return done;
}

/* ---- completions (the reaper, r's cqlock held) ---- */

/* Take every waiter off rx: the reaper readies them. */
static struct mn_g *take_waiters(struct mn_rx *rx, int *n)
{
	struct mn_g *first = NULL;
	struct rx_waiter *w;

	while ((w = rx->waiters)) {
		rx->waiters = w->next;
		w->woken = true;
		w->g->schedlink = first;
		first = w->g;
		(*n)++;
	}
	return first;
}

struct mn_g *mn_rx_cqe(struct mn_ring *r, int ringidx, const struct io_uring_cqe *cqe,
		       int *n)
{
	uint64_t ud = cqe->user_data;
	int fd = (int)(uint32_t)ud;
	uint16_t gen = (uint16_t)((ud >> UD_GEN_SHIFT) & UD_GEN_MASK);
	struct mn_rx *rx = rx_get(fd, false);
	struct rx_pool *pl = &pools[ringidx];
	bool more = cqe->flags & IORING_CQE_F_MORE;
	struct mn_g *gl = NULL;

	(void)r;
	*n = 0;
	if (cqe->flags & IORING_CQE_F_BUFFER)
		atomic_fetch_add_explicit(&pl->held, 1, memory_order_acq_rel);
	if (!rx) {
		if (cqe->flags & IORING_CQE_F_BUFFER)
			buf_give_back(pl, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return NULL;
	}
	mn_lock(&rx->lock);
	if (gen != rx->gen || rx->ringidx != ringidx || !rx->armed) {
		/* An earlier request on this fd number: not ours any more. */
		atomic_fetch_add_explicit(&st_stale, 1, memory_order_relaxed);
		mn_unlock(&rx->lock);
		if (cqe->flags & IORING_CQE_F_BUFFER)
			buf_give_back(pl, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return NULL;
	}
	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		pl->len[bid] = (uint32_t)cqe->res;
		if (rx->qtail >= 0)
			pl->next[rx->qtail] = (uint16_t)bid;
		else
			rx->qhead = (int32_t)bid;
		rx->qtail = (int32_t)bid;
	} else if (cqe->flags & IORING_CQE_F_BUFFER) {
		buf_give_back(pl, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	}
	if (cqe->res == 0) {
		rx->has_term = true;		/* end of stream */
		rx->term = 0;
	} else if (cqe->res == -ENOBUFS) {
		/* The ring ran dry: the data stays in the socket. */
		rx->starved = true;
		atomic_fetch_add_explicit(&st_enobufs, 1, memory_order_relaxed);
	} else if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR) {
		/* The kernel's own cancels (io.c) just end it: armed again
		 * by the next receive.  Real errors come after the data. */
		rx->has_term = true;
		rx->term = cqe->res;
	}
	if (!more)
		rx->armed = false;
	gl = take_waiters(rx, n);
	mn_unlock(&rx->lock);
	return gl;
}

/* ---- waiting ---- */

static void waiter_remove(struct mn_rx *rx, struct rx_waiter *w)
{
	for (struct rx_waiter **pp = &rx->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* A timer, a context or mn_close ends w's wait with why. */
static void waiter_cut(struct rx_waiter *w, int32_t why)
{
	struct mn_rx *rx = w->rx;

	mn_lock(&rx->lock);
	if (w->woken) {
		mn_unlock(&rx->lock);
		return;
	}
	waiter_remove(rx, w);
	w->woken = true;
	w->why = why;
	mn_unlock(&rx->lock);
	mn_goready(w->g);
	atomic_fetch_sub_explicit(mn_io_ring_inflight(w->ring), 1, memory_order_relaxed);
}

static void waiter_timeout(void *arg)
{
	waiter_cut(arg, -ETIMEDOUT);
}

static void waiter_ctx(struct mn_ctx_watch *cw, int err)
{
	waiter_cut((struct rx_waiter *)((char *)cw - offsetof(struct rx_waiter, watch)),
		   err);
}

/* After the G's switch (rx->lock held since before the park). */
static void waiter_park(struct mn_g *g, void *arg)
{
	struct rx_waiter *w = arg;
	struct mn_rx *rx = w->rx;
	struct mn_m *m = mn_curm();

	(void)g;
	if (w->arm) {
		struct io_uring_sqe sqe;

		rx->ringidx = mn_io_ring_index(m->p->io);
		rx->gen = (uint16_t)((rx->gen + 1) & UD_GEN_MASK);
		rx->armed = true;
		memset(&sqe, 0, sizeof(sqe));
		io_uring_prep_recv_multishot(&sqe, w->fd, NULL, 0, 0);
		sqe.flags |= IOSQE_BUFFER_SELECT;
		sqe.buf_group = RX_BGID;
		sqe.user_data = RX_UD(w->fd, rx->gen);
		mn_io_queue_sqe(m->p->io, &sqe);
		atomic_fetch_add_explicit(&st_arms, 1, memory_order_relaxed);
	}
	w->ring = pool_ring[rx->ringidx];
	atomic_fetch_add_explicit(mn_io_ring_inflight(w->ring), 1, memory_order_relaxed);
	w->next = rx->waiters;
	rx->waiters = w;
	mn_unlock(&rx->lock);
}

/* ---- the calls ---- */

static int sock_kind(int fd)
{
	int type = 0, dom = 0;
	socklen_t l = sizeof(type);

	if (mn_syscall6(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, (long)&type, (long)&l, 0) < 0)
		return RX_PLAIN;
	l = sizeof(dom);
	if (mn_syscall6(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, (long)&dom, (long)&l, 0) < 0)
		return RX_PLAIN;
	return type == SOCK_STREAM && (dom == AF_INET || dom == AF_INET6) ?
	       RX_STREAM : RX_PLAIN;
}

static inline size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Is something of rx's in play (so a read must go through the queue)? */
static inline bool rx_active(struct mn_rx *rx)
{
	return rx->armed || rx->qhead >= 0 || rx->has_term || rx->waiters;
}

#define RX_FLAGS (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC)

ssize_t mn_rx_recv(int fd, const struct iovec *iov, int iovcnt, int flags, bool create)
{
	struct mn_rx *rx;
	struct mn_g *g;
	struct rx_waiter w;
	struct mn_timer t;
	uint64_t deadline;
	size_t want, got = 0;
	ssize_t ret;

	if (!mn_rx_on || (flags & ~RX_FLAGS))
		return MN_RX_PLAIN;
	want = iov_total(iov, iovcnt);
	rx = rx_get(fd, create);
	if (!rx || want == 0)
		return MN_RX_PLAIN;
	/* Files, pipes, other sockets: no lock taken for them. */
	if (!create && atomic_load_explicit(&rx->kind, memory_order_relaxed) != RX_STREAM)
		return MN_RX_PLAIN;
	mn_lock(&rx->lock);
	if (unlikely(rx->kind == RX_UNKNOWN)) {
		int kind;

		mn_unlock(&rx->lock);
		if (!create)
			return MN_RX_PLAIN;
		kind = sock_kind(fd);
		mn_lock(&rx->lock);
		if (rx->kind == RX_UNKNOWN)
			rx->kind = (uint8_t)kind;
	}
	if (rx->kind != RX_STREAM) {
		mn_unlock(&rx->lock);
		return MN_RX_PLAIN;
	}
	g = mn_need_m("mn_recv")->curg;
	deadline = mn_io_deadline_of(g);
	for (;;) {
		if (rx->qhead >= 0) {
			got += queue_copy(rx, iov, iovcnt, got, flags & MSG_PEEK);
			if (got == want || !(flags & MSG_WAITALL) || (flags & MSG_PEEK)) {
				atomic_fetch_add_explicit(&st_fast, 1, memory_order_relaxed);
				ret = (ssize_t)got;
				break;
			}
		}
		if (rx->has_term) {
			ret = got ? (ssize_t)got : rx->term;
			if (!got && rx->term < 0)
				rx->has_term = false;	/* an error is said once */
			break;
		}
		ret = 0;
		if (g->io_ctx && (ret = mn_ctx_err(g->io_ctx)))
			break;
		if (deadline && mn_nanotime() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		memset(&w, 0, sizeof(w));
		w.g = g;
		w.rx = rx;
		w.fd = fd;
		if (!rx->armed) {
			struct rx_pool *pl = &pools[mn_io_ring_index(mn_curm()->p->io)];

			if (rx->starved || !rx->warm ||
			    atomic_load_explicit(&pl->held, memory_order_relaxed) >=
			    (int32_t)pl->nbufs) {
				/* The ring ran dry: one plain receive into the
				 * caller's own buffer, which needs none of the
				 * ring's; the next call tries the multishot
				 * again.  Likewise the first receive of a
				 * connection: one that gets a single request
				 * (HTTP with Connection: close) would pay for
				 * arming and cancelling a multishot. */
				rx->starved = false;
				rx->warm = true;
				mn_unlock(&rx->lock);
				if (got)
					return (ssize_t)got;
				atomic_fetch_add_explicit(&st_plain, 1, memory_order_relaxed);
				return MN_RX_PLAIN;
			}
			w.arm = true;
		}
		/* A timer and a context watch for this wait, both pointing at
		 * w; both are gone again before w is reused or goes. */
		if (deadline) {
			mn_timer_init(&t, waiter_timeout, &w);
			if (mn_timer_add(&t, (int64_t)deadline, 0)) {
				ret = -ENOMEM;
				break;
			}
		}
		if (g->io_ctx) {
			mn_ctx_watch_init(&w.watch, waiter_ctx);
			if ((ret = mn_ctx_watch_add(g->io_ctx, &w.watch))) {
				if (deadline) {
					mn_timer_stop(&t);
					mn_timer_sync(&t);
				}
				break;
			}
		}
		mn_gopark(waiter_park, &w, MN_WAIT_IO);
		if (g->io_ctx)
			mn_ctx_watch_del(g->io_ctx, &w.watch);
		if (deadline) {
			mn_timer_stop(&t);
			mn_timer_sync(&t);
		}
		mn_lock(&rx->lock);
		if (w.why) {
			ret = got ? (ssize_t)got : w.why;
			break;
		}
	}
	mn_unlock(&rx->lock);
	return ret;
}

int mn_rx_poll_in(int fd, uint64_t deadline)
{
	struct mn_rx *rx = rx_get(fd, false);
	char c;
	struct iovec iov = { &c, 1 };
	uint64_t old;
	ssize_t r;
	struct mn_g *g;

	if (!mn_rx_on || !rx)
		return MN_RX_PLAIN;
	mn_lock(&rx->lock);
	if (rx->kind != RX_STREAM) {
		mn_unlock(&rx->lock);
		return MN_RX_PLAIN;
	}
	if (rx->qhead >= 0 || rx->has_term) {
		mn_unlock(&rx->lock);
		return POLLIN;
	}
	if (!rx->armed) {
		mn_unlock(&rx->lock);
		return MN_RX_PLAIN;
	}
	mn_unlock(&rx->lock);
	/* A peek of one byte waits for data the way a receive does. */
	g = mn_curm()->curg;
	old = g->io_deadline;
	g->io_deadline = deadline;
	r = mn_rx_recv(fd, &iov, 1, MSG_PEEK, false);
	g->io_deadline = old;
	if (r == MN_RX_PLAIN)
		return MN_RX_PLAIN;
	if (r >= 0)
		return POLLIN;
	if (r == -ECONNRESET || r == -EPIPE)
		return POLLIN | POLLERR | POLLHUP;
	return (int)r;
}

/* mn_close(fd) (stream_known false: the close request follows, so the
 * cancel may wait for its batch), mn_accept's and mn_connect's new fd:
 * the multishot's CQEs are no longer this fd's, its queue goes back, its
 * waiters get -EBADF. */
void mn_rx_reset(int fd, bool stream_known)
{
	struct mn_rx *rx;
	struct rx_waiter *w;
	bool cancel;
	uint64_t ud;
	int ringidx;

	if (!mn_rx_on)
		return;
	/* An fd that never had an entry needs one only to remember that it
	 * is a stream socket. */
	rx = rx_get(fd, stream_known);
	if (!rx)
		return;
	mn_lock(&rx->lock);
	cancel = rx->armed;
	ud = RX_UD(fd, rx->gen);
	ringidx = rx->ringidx;
	rx->gen = (uint16_t)((rx->gen + 1) & UD_GEN_MASK);
	rx->armed = false;
	if (rx->qhead >= 0)
		queue_drop(rx);
	rx->has_term = false;
	rx->starved = false;
	rx->warm = false;
	rx->kind = stream_known ? RX_STREAM : RX_UNKNOWN;
	while ((w = rx->waiters)) {
		rx->waiters = w->next;
		w->woken = true;
		w->why = -EBADF;
		mn_goready(w->g);
		atomic_fetch_sub_explicit(mn_io_ring_inflight(w->ring), 1,
					  memory_order_relaxed);
	}
	mn_unlock(&rx->lock);
	/* Cancel by user_data: the multishot holds the file (and the
	 * connection) open, whether or not fd still names it (mn_close
	 * cancels by fd only in rings where Gs wait; after a close(2) the
	 * number may name another file already). */
	if (cancel)
		mn_io_cancel_ud(pool_ring[ringidx], ud, !stream_known);
}

/* mn_accept's new fd: a stream socket when the listener is one. */
void mn_rx_accepted(int lfd, int fd)
{
	struct mn_rx *l;

	if (!mn_rx_on)
		return;
	int kind;

	l = rx_get(lfd, true);
	if (!l)
		return;
	mn_lock(&l->lock);
	kind = l->kind;
	mn_unlock(&l->lock);
	if (unlikely(kind == RX_UNKNOWN)) {
		kind = sock_kind(lfd);
		mn_lock(&l->lock);
		l->kind = (uint8_t)kind;
		mn_unlock(&l->lock);
	}
	mn_rx_reset(fd, kind == RX_STREAM);
}

/* ---- set-up ---- */

static int pool_init(struct rx_pool *pl, struct io_uring *ring, unsigned int nbufs)
{
	struct io_uring_buf_reg reg;
	size_t rlen = ((sizeof(struct io_uring_buf) * nbufs) + 4095) & ~(size_t)4095;
	void *mem;
	int err;

	memset(pl, 0, sizeof(*pl));
	pl->map_len = rlen + (size_t)nbufs * RX_BUFSIZE;
	mem = mmap(NULL, pl->map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	pl->br = mem;
	pl->bufs = (char *)mem + rlen;
	pl->nbufs = nbufs;
	pl->mask = nbufs - 1;
	pl->len = calloc(nbufs, sizeof(*pl->len));
	pl->next = calloc(nbufs, sizeof(*pl->next));
	if (!pl->len || !pl->next) {
		err = -ENOMEM;
		goto fail;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)pl->br;
	reg.ring_entries = nbufs;
	reg.bgid = RX_BGID;
	err = io_uring_register_buf_ring(ring, &reg, 0);
	if (err)
		goto fail;
	io_uring_buf_ring_init(pl->br);
	for (unsigned int i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(pl->br, buf_addr(pl, i), RX_BUFSIZE,
				      (unsigned short)i, (int)pl->mask, (int)i);
	io_uring_buf_ring_advance(pl->br, (int)nbufs);
	/* Like the rings: not shared with a fork child. */
	madvise(mem, pl->map_len, MADV_DONTFORK);
	return 0;
fail:
	free(pl->len);
	free(pl->next);
	munmap(mem, pl->map_len);
	return err;
}

/*
 * Does this kernel do multishot receive from a buffer ring?  On a ring of
 * its own: a socket pair, one byte sent, a multishot receive must post it
 * with a buffer and say it stays armed.  (An AF_UNIX pair: the probe only
 * asks the kernel about io_uring, not about TCP.)
 */
static const char *probe(void)
{
	struct io_uring ring;
	struct rx_pool pl;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	const char *why = NULL;
	int sv[2], err;

	if (io_uring_queue_init(4, &ring, 0))
		return "no io_uring for the probe";
	err = pool_init(&pl, &ring, 1);
	if (err) {
		io_uring_queue_exit(&ring);
		return "the kernel has no provided buffer rings (5.19+)";
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		why = "socketpair failed";
		goto out;
	}
	if (write(sv[1], "x", 1) != 1) {
		why = "write failed";
		goto out2;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RX_BGID;
	sqe->user_data = 1;
	if (io_uring_submit_and_wait(&ring, 1) < 0 || io_uring_peek_cqe(&ring, &cqe)) {
		why = "the probe's receive did not complete";
		goto out2;
	}
	if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_BUFFER) ||
	    !(cqe->flags & IORING_CQE_F_MORE))
		why = "the kernel has no multishot receive (6.0+)";
	io_uring_cqe_seen(&ring, cqe);
out2:
	close(sv[0]);
	close(sv[1]);
out:
	io_uring_queue_exit(&ring);	/* ends the multishot, frees the pool's ring */
	free(pl.len);
	free(pl.next);
	munmap(pl.br, pl.map_len);
	return why;
}

void mn_rx_init(struct mn_ring **rings, struct io_uring **urings, int n)
{
	unsigned int nbufs = mn_sched.env.io_recvbufs ? mn_sched.env.io_recvbufs : RX_NBUFS;
	const char *why;

	/* The switch takes the kernel-lacks-it path, notice included. */
	why = mn_sched.multishot_off ? "MNSCHED_DEBUG=multishot=0" : probe();
	if (why) {
		fprintf(stderr, "mnsched: multishot receive off (%s): one receive "
			"request per call\n", why);
		return;
	}
	pools = calloc((size_t)n, sizeof(*pools));
	pool_ring = calloc((size_t)n, sizeof(*pool_ring));
	if (!pools || !pool_ring)
		goto fail;
	for (int i = 0; i < n; i++) {
		int err = pool_init(&pools[i], urings[i], nbufs);

		if (err) {
			while (i-- > 0) {
				io_uring_unregister_buf_ring(urings[i], RX_BGID);
				munmap(pools[i].br, pools[i].map_len);
			}
			fprintf(stderr, "mnsched: multishot receive off (buffer ring: "
				"%s): one receive request per call\n", strerror(-err));
			goto fail;
		}
		pool_ring[i] = rings[i];
	}
	npools = n;
	mn_rx_on = true;
	return;
fail:
	free(pools);
	free(pool_ring);
	pools = NULL;
	pool_ring = NULL;
}

int64_t mn_rx_stat(const char *name)
{
	static const struct { const char *n; _Atomic uint64_t *v; } t[] = {
		{ "rx_arms", &st_arms }, { "rx_enobufs", &st_enobufs },
		{ "rx_plain", &st_plain }, { "rx_fast", &st_fast },
		{ "rx_stale", &st_stale },
	};

	if (!strcmp(name, "rx_on"))
		return mn_rx_on;
	if (!strcmp(name, "rx_held")) {
		int64_t h = 0;

		for (int i = 0; i < npools; i++)
			h += atomic_load(&pools[i].held);
		return h;
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].n, name))
			return (int64_t)atomic_load(t[i].v);
	return -1;
}
