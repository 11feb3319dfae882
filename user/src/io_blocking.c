// SPDX-License-Identifier: MIT
/*
 * io_blocking.c - the I/O calls without io_uring: blocking system calls
 * between mn_syscall_enter and mn_syscall_exit, so the M blocks but its P
 * goes on with another M (sysmon hands it off).
 *
 * Used when io_uring is missing or forbidden (ENOSYS, EPERM under seccomp,
 * kernel.io_uring_disabled), or with MNSCHED_IO=blocking.  Same results as
 * the io_uring path, -errno, errno untouched (raw system calls, sys.h).
 *
 * Waiting: a call that may wait on readiness first ppoll()s the fd together
 * with its M's eventfd, then does the operation (recv/send with
 * MSG_DONTWAIT; -EAGAIN goes back to waiting).  Every waiter is listed in a
 * small hash of fds (bucket locks).  mn_close marks the fd's waiters and
 * writes their eventfds, so a G waiting on an fd another G closes returns
 * -EBADF instead of hanging; a context's cancel does the same with its
 * error; the deadline is ppoll's timeout.  A regular file polls ready at
 * once (its reads block only briefly, in the disk).
 *
 * Limits: an operation on a blocking fd that finds the data gone after
 * ppoll said ready (another reader took it) blocks its M in the system
 * call until more comes; so does connect() on a blocking socket, whose
 * deadline is then not honoured.  O_NONBLOCK fds have neither limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include "runtime.h"
#include "io.h"
#include "list.h"
#include "sys.h"

#define NBUCKET 64

struct blk_waiter {
	int fd;
	int efd;			/* the waiting M's eventfd, -1 none */
	_Atomic int why;		/* 0, -EBADF (closed), a context's error */
	struct mn_list_node node;	/* in its fd's bucket */
	struct mn_ctx_watch watch;
};

static struct {
	struct mn_lock lock;
	struct mn_list waiters;
} buckets[NBUCKET];

static __thread int m_efd __attribute__((tls_model("initial-exec"))) = -1;

/* The calling thread's eventfd (only inside a syscall window: the G cannot
 * move to another M there). */
static __attribute__((noinline)) int thread_efd(void)
{
	if (m_efd < 0)
		m_efd = (int)mn_syscall6(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK,
					 0, 0, 0, 0);
	return m_efd;
}

static inline unsigned int bucket_of(int fd)
{
	return (unsigned int)fd % NBUCKET;
}

static void waiter_add(struct blk_waiter *w)
{
	unsigned int b = bucket_of(w->fd);

	mn_lock(&buckets[b].lock);
	mn_list_push_back(&buckets[b].waiters, &w->node);
	mn_unlock(&buckets[b].lock);
}

static void waiter_del(struct blk_waiter *w)
{
	unsigned int b = bucket_of(w->fd);

	mn_lock(&buckets[b].lock);
	mn_list_remove(&buckets[b].waiters, &w->node);
	mn_unlock(&buckets[b].lock);
}

static void waiter_kick(struct blk_waiter *w, int why)
{
	uint64_t one = 1;

	atomic_store(&w->why, why);
	if (w->efd >= 0)
		mn_syscall3(SYS_write, w->efd, &one, sizeof(one));
}

static void ctx_fired(struct mn_ctx_watch *wa, int err)
{
	waiter_kick((struct blk_waiter *)((char *)wa -
					  offsetof(struct blk_waiter, watch)), err);
}

/*
 * Inside a syscall window: wait until fd has one of events (returns the
 * revents, > 0), the deadline passes (-ETIMEDOUT), fd is closed by
 * mn_close (-EBADF) or ctx is cancelled (its error).
 */
static int blk_wait(int fd, short events, uint64_t deadline,
		    struct mn_ctx *ctx)
{
	struct blk_waiter w = { .fd = fd };
	int err;

	if (fd < 0)
		return -EBADF;	/* ppoll would ignore it and wait forever */
	w.efd = thread_efd();
	waiter_add(&w);
	if (ctx) {
		mn_ctx_watch_init(&w.watch, ctx_fired);
		err = mn_ctx_watch_add(ctx, &w.watch);
		if (err) {
			waiter_del(&w);
			return err;
		}
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = events },
			{ .fd = w.efd, .events = POLLIN },
		};
		struct timespec ts, *tsp = NULL;
		long r;

		err = atomic_load(&w.why);
		if (err)
			break;
		if (deadline) {
			uint64_t now = mn_nanotime();
			uint64_t rem = deadline > now ? deadline - now : 0;

			ts.tv_sec = (time_t)(rem / 1000000000u);
			ts.tv_nsec = (long)(rem % 1000000000u);
			tsp = &ts;
		}
		r = mn_syscall6(SYS_ppoll, (long)pfd, w.efd >= 0 ? 2 : 1,
				(long)tsp, 0, 8, 0);
		if (r == 0 && deadline && mn_nanotime() >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		if (r == -EINTR || r == 0)
			continue;
		if (r < 0) {
			err = (int)r;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;

			mn_syscall3(SYS_read, w.efd, &v, sizeof(v));
			continue;	/* look at why first */
		}
		if (pfd[0].revents) {
			err = pfd[0].revents;
			break;
		}
	}
	if (ctx)
		mn_ctx_watch_del(ctx, &w.watch);
	waiter_del(&w);
	return err;
}

struct call {
	long nr, a[6];
};

/*
 * Wait for events on fd (0: do not wait), then make the system call;
 * an -EAGAIN answer waits again.  try_first: the call cannot block (it has
 * MSG_DONTWAIT), so make it first and wait only on -EAGAIN; errors such as
 * -ENOTCONN then come at once, as from the system call.  All in one
 * syscall window.
 */
static long blk_call_try(const char *what, int fd, short events,
			 struct call *c, bool try_first)
{
	struct mn_g *g = mn_need_m(what)->curg;
	uint64_t deadline = mn_io_deadline_of(g);
	struct mn_ctx *ctx = g->io_ctx;
	long r;

	r = ctx ? mn_ctx_err(ctx) : 0;
	if (r)
		return r;
	if (deadline && mn_nanotime() >= deadline)
		return -ETIMEDOUT;
	mn_syscall_enter();
	for (;;) {
		if (try_first) {
			try_first = false;
		} else if (events) {
			r = blk_wait(fd, events, deadline, ctx);
			if (r < 0)
				break;
			if (r & POLLNVAL) {
				r = -EBADF;
				break;
			}
		}
		r = mn_syscall6(c->nr, c->a[0], c->a[1], c->a[2], c->a[3],
				c->a[4], c->a[5]);
		if (r == -EINTR || (r == -EAGAIN && events))
			continue;
		break;
	}
	mn_syscall_exit();
	return r;
}

static long blk_call(const char *what, int fd, short events, struct call *c)
{
	return blk_call_try(what, fd, events, c, false);
}

ssize_t mn_blk_rw(int op, int fd, void *buf, size_t n, int64_t off, int flags)
{
	struct call c = { .a = { fd, (long)buf, (long)n } };
	short ev = POLLIN;

	switch (op) {
	case OP_READ:
		c.nr = SYS_read;
		break;
	case OP_WRITE:
		c.nr = SYS_write;
		ev = POLLOUT;
		break;
	case OP_PREAD:
		c.nr = SYS_pread64;
		c.a[3] = off;
		break;
	case OP_PWRITE:
		c.nr = SYS_pwrite64;
		c.a[3] = off;
		ev = POLLOUT;
		break;
	case OP_RECV:
		c.nr = SYS_recvfrom;
		c.a[3] = flags | MSG_DONTWAIT;
		break;
	case OP_SEND:
		c.nr = SYS_sendto;
		c.a[3] = flags | MSG_DONTWAIT;
		ev = POLLOUT;
		break;
	default:
		return -EINVAL;
	}
	/* recv/send cannot block (MSG_DONTWAIT); nor can a read or write of 0
	 * bytes, which returns at once as the system call does. */
	return blk_call_try("mn_read/mn_write", fd, ev, &c,
			    op == OP_RECV || op == OP_SEND || n == 0);
}

ssize_t mn_blk_rwv(int op, int fd, const struct iovec *iov, int cnt)
{
	struct call c = { .nr = op == OP_READV ? SYS_readv : SYS_writev,
			  .a = { fd, (long)iov, cnt } };

	return blk_call("mn_readv/mn_writev", fd,
			op == OP_READV ? POLLIN : POLLOUT, &c);
}

ssize_t mn_blk_msg(int op, int fd, struct msghdr *msg, int flags)
{
	struct call c = { .nr = op == OP_RECVMSG ? SYS_recvmsg : SYS_sendmsg,
			  .a = { fd, (long)msg, flags | MSG_DONTWAIT } };

	return blk_call_try("mn_recvmsg/mn_sendmsg", fd,
			    op == OP_RECVMSG ? POLLIN : POLLOUT, &c, true);
}

int mn_blk_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct call c = { .nr = SYS_accept4,
			  .a = { fd, (long)addr, (long)len, flags } };
	int listening = 0;
	socklen_t sl = sizeof(listening);
	long r;

	/* What accept4 would say at once, before waiting for a client. */
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	r = mn_syscall6(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN,
			(long)&listening, (long)&sl, 0);
	if (r == -ENOPROTOOPT || (r == 0 && !listening))
		return -EINVAL;
	if (r < 0)
		return (int)r;	/* -EBADF, -ENOTSOCK */
	return (int)blk_call("mn_accept", fd, POLLIN, &c);
}

int mn_blk_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct mn_g *g = mn_need_m("mn_connect")->curg;
	uint64_t deadline = mn_io_deadline_of(g);
	struct mn_ctx *ctx = g->io_ctx;
	long r;

	r = ctx ? mn_ctx_err(ctx) : 0;
	if (r)
		return (int)r;
	mn_syscall_enter();
	r = mn_syscall3(SYS_connect, fd, addr, len);
	if (r == -EINPROGRESS || r == -EAGAIN) {
		/* Non-blocking socket: wait for the handshake, then its result. */
		r = blk_wait(fd, POLLOUT, deadline, ctx);
		if (r > 0) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			r = mn_syscall6(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR,
					(long)&soerr, (long)&sl, 0);
			if (r == 0)
				r = -soerr;
		}
	}
	mn_syscall_exit();
	return (int)r;
}

int mn_blk_close(int fd)
{
	unsigned int b = bucket_of(fd);
	long r;

	mn_lock(&buckets[b].lock);
	for (struct mn_list_node *n = buckets[b].waiters.first; n; n = n->next) {
		struct blk_waiter *w = mn_list_entry(n, struct blk_waiter, node);

		if (w->fd == fd)
			waiter_kick(w, -EBADF);
	}
	mn_unlock(&buckets[b].lock);
	mn_syscall_enter();
	r = mn_syscall3(SYS_close, fd, 0, 0);
	mn_syscall_exit();
	return (int)r;
}

int mn_blk_simple(int op, long a, long b, long c, long d)
{
	struct call cl = { .a = { a, b, c, d } };

	switch (op) {
	case OP_OPENAT:
		cl.nr = SYS_openat;
		break;
	case OP_FSYNC:
		cl.nr = SYS_fsync;
		break;
	case OP_SHUTDOWN:
		cl.nr = SYS_shutdown;
		break;
	default:
		return -EINVAL;
	}
	return (int)blk_call("mn_openat/mn_fsync/mn_shutdown", -1, 0, &cl);
}

ssize_t mn_blk_splice(int in, int64_t *off_in, int out, int64_t *off_out,
		      size_t len, unsigned int flags)
{
	struct call c = { .nr = SYS_splice,
			  .a = { in, (long)off_in, out, (long)off_out, (long)len,
				 flags } };

	return blk_call("mn_splice", -1, 0, &c);
}

int mn_blk_poll(struct pollfd *fds, int timeout_ms)
{
	struct mn_g *g = mn_need_m("mn_poll")->curg;
	uint64_t deadline = mn_io_deadline_of(g), mine = 0;
	struct mn_ctx *ctx = g->io_ctx;
	long r;

	r = ctx ? mn_ctx_err(ctx) : 0;
	if (r)
		return (int)r;
	if (fds->fd < 0)
		return 0;
	if (timeout_ms >= 0)
		mine = (uint64_t)mn_deadline_after((uint64_t)timeout_ms * 1000000u + 1);
	if (mine && (!deadline || mine < deadline))
		deadline = mine;
	mn_syscall_enter();
	r = blk_wait(fds->fd, (short)(fds->events | POLLERR | POLLHUP),
		     deadline, ctx);
	mn_syscall_exit();
	if (r == -ETIMEDOUT && mine && deadline == mine)
		return 0;
	if (r == -EBADF) {
		fds->revents = POLLNVAL;
		return 1;
	}
	if (r < 0)
		return (int)r;
	fds->revents = (short)r;
	return 1;
}
