/* SPDX-License-Identifier: MIT */
/*
 * io.h - the I/O layer's internals, shared by io.c (the public calls),
 * uring.c (one io_uring per P) and io_blocking.c (the fallback).
 *
 * A G's I/O call builds a struct mn_ioreq on its own stack: the operation
 * as a ready-made SQE, its deadline and its context.  On the io_uring path
 * the G parks (mn_io_uring_wait); the code that runs next on its M copies
 * the SQE into the P's ring (so a completion can never find the G still
 * running), and whoever reaps the CQE stores the result in the request and
 * makes the G runnable.  On the blocking path the same call runs as a
 * system call between mn_syscall_enter and mn_syscall_exit.
 */
#ifndef MN_IO_H
#define MN_IO_H

#include <liburing.h>
#include <poll.h>
#include "runtime.h"
#include "ctx.h"

enum { MN_IO_BLOCKING = 0, MN_IO_URING = 1 };
extern int mn_io_mode MN_HIDDEN;
extern const char *mn_io_why MN_HIDDEN;	/* why io_uring is off (uring.c) */

struct mn_ring;

struct mn_ioreq {
	struct io_uring_sqe sqe;	/* the operation (user_data set at arm) */
	struct __kernel_timespec ts;	/* absolute deadline for the linked timeout */
	struct mn_g *g;
	struct mn_ring *ring;		/* where it was queued (for cancels) */
	uint64_t deadline;		/* mn_now() ns, 0 none */
	struct mn_ctx *ctx;		/* NULL: none */
	struct mn_ctx_watch watch;
	int fd;				/* the fd it works on, -1 none (io.c) */
	uint32_t close_gen;		/* mn_close count of fd at the start */
	_Atomic int state;		/* MN_RQ_* */
	int ctx_err;			/* set by the watch when it won */
	int32_t res;
	uint32_t cflags;
};

enum {
	MN_RQ_INIT,		/* G parking, SQE not in a ring yet */
	MN_RQ_ARMED,		/* SQE queued in rq->ring */
	MN_RQ_CANCELLED,	/* the context was cancelled before arming */
};

/* uring.c */
MN_HIDDEN int mn_io_uring_init(void);
/* Pipes and character devices go to io-wq on this kernel (6.1: no
 * FMODE_NOWAIT for pipes), or MNSCHED_DEBUG=iopoll=1: io.c waits for
 * them with a poll request and makes the call itself. */
extern bool mn_io_poll_first MN_HIDDEN;
extern _Atomic uint64_t mn_io_st_pollfirst MN_HIDDEN;
MN_HIDDEN int32_t mn_io_uring_wait(struct mn_ioreq *rq);
MN_HIDDEN void mn_io_uring_cancel_fd(int fd);

/* What the ring parker (park_ring.c) does with a ring (uring.c). */
MN_HIDDEN struct mn_ring *mn_ring_claim(struct mn_m *m);
MN_HIDDEN int mn_ring_wait(struct mn_ring *r, int64_t timeout_ns);
MN_HIDDEN struct mn_p *mn_ring_release(struct mn_ring *r);
MN_HIDDEN void mn_ring_wake(struct mn_ring *r);

/* Ring internals for rx.c. */
MN_HIDDEN int mn_io_ring_index(struct mn_ring *r);
MN_HIDDEN _Atomic int32_t *mn_io_ring_inflight(struct mn_ring *r);
MN_HIDDEN void mn_io_queue_sqe(struct mn_ring *r, const struct io_uring_sqe *sqe);
MN_HIDDEN void mn_io_cancel_ud(struct mn_ring *r, uint64_t ud, bool batch);

/* rx.c: multishot receive on TCP sockets (see there). */
#define MN_UD_RX	(1ull << 63)	/* user_data of a multishot receive */
#define MN_RX_PLAIN	(-100001)	/* not for rx.c: make the plain request */
extern bool mn_rx_on MN_HIDDEN;
MN_HIDDEN void mn_rx_init(struct mn_ring **rings, struct io_uring **urings, int n);
MN_HIDDEN struct mn_g *mn_rx_cqe(struct mn_ring *r, int ringidx,
				 const struct io_uring_cqe *cqe, int *n);
MN_HIDDEN ssize_t mn_rx_recv(int fd, const struct iovec *iov, int iovcnt,
			     int flags, bool create);
MN_HIDDEN int mn_rx_poll_in(int fd, uint64_t deadline);
MN_HIDDEN void mn_rx_reset(int fd, bool stream_known);
MN_HIDDEN void mn_rx_accepted(int lfd, int fd);
MN_HIDDEN int64_t mn_rx_stat(const char *name);

/* io_blocking.c: each public call's fallback, same arguments and result. */
enum {
	OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_RECV, OP_SEND,
	OP_READV, OP_WRITEV, OP_RECVMSG, OP_SENDMSG,
	OP_OPENAT, OP_FSYNC, OP_SHUTDOWN,
};
MN_HIDDEN ssize_t mn_blk_rw(int op, int fd, void *buf, size_t n, int64_t off,
			    int flags);
MN_HIDDEN ssize_t mn_blk_rwv(int op, int fd, const struct iovec *iov, int cnt);
MN_HIDDEN ssize_t mn_blk_msg(int op, int fd, struct msghdr *msg, int flags);
MN_HIDDEN int mn_blk_accept(int fd, struct sockaddr *addr, socklen_t *len,
			    int flags);
MN_HIDDEN int mn_blk_connect(int fd, const struct sockaddr *addr,
			     socklen_t len);
MN_HIDDEN int mn_blk_close(int fd);
MN_HIDDEN int mn_blk_simple(int op, long a, long b, long c, long d);
MN_HIDDEN int mn_blk_poll(struct pollfd *fds, int timeout_ms);
MN_HIDDEN ssize_t mn_blk_splice(int in, int64_t *off_in, int out,
				int64_t *off_out, size_t len, unsigned int flags);

/* The calling G's effective deadline and context for an I/O call. */
static inline uint64_t mn_io_deadline_of(struct mn_g *g)
{
	uint64_t d = g->io_deadline;
	uint64_t c = g->io_ctx ? mn_ctx_deadline(g->io_ctx) : 0;

	if (c && (!d || c < d))
		d = c;
	return d;
}

#endif
