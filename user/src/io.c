// SPDX-License-Identifier: MIT
/*
 * io.c - the public I/O calls: mn_read, mn_recv, mn_accept, ...
 *
 * Each call takes its system call's arguments and returns what the system
 * call returns, or -errno; errno is never read or written.  The calling G
 * waits; its M runs other Gs.
 *
 * Path (chosen once at start, MNSCHED_IO=auto|uring|blocking):
 *  uring     the call becomes one io_uring request on the P's ring
 *            (uring.c): sockets, pipes and regular files alike never block
 *            an M;
 *  blocking  io_uring is missing or forbidden (ENOSYS, EPERM under seccomp,
 *            kernel.io_uring_disabled) or MNSCHED_IO=blocking: the same
 *            calls run as system calls between mn_syscall_enter/exit, so the
 *            M blocks but its P is handed to another M (io_blocking.c).
 *
 * Deadlines and contexts are per G: mn_io_set_deadline() and
 * mn_io_set_ctx() apply to every later I/O call of the calling G.  On the
 * uring path the deadline is a linked timeout (IORING_OP_LINK_TIMEOUT) and
 * a context's cancel sends IORING_OP_ASYNC_CANCEL for the request.  An
 * operation cut short returns -ETIMEDOUT (deadline), mn_ctx_err(ctx)
 * (context), or -EBADF when another G closed its fd with mn_close.  An
 * operation that completed first keeps its result.
 *
 * Cancellations nobody asked for.  The kernel may complete a request with
 * -ECANCELED or -EINTR on its own: on 6.1 a request an io-wq worker runs
 * (a pipe read or write) is cut short when the process is stopped
 * (SIGSTOP/SIGCONT) or its workers see a signal.  Such a result is only
 * passed on when it has a reason: the context, the deadline, or mn_close
 * of the fd (close_gens: mn_close bumps the fd's count before it cancels,
 * a request notes the count when it starts).  Otherwise the request did
 * nothing (a transfer that made progress returns its count) and is made
 * again; from the fourth time in a row with a 1 ms pause, so a kernel that
 * keeps cancelling cannot make us spin.  connect and close are not made
 * twice (a second connect or close means something else): they return
 * -EINTR, as their system calls may.
 *
 * Pipes and character devices on kernels that hand them to io-wq (6.1:
 * pipes have no FMODE_NOWAIT; uring.c probes for it): a blocking worker
 * thread per request, and the stop/signal trouble above, which on 6.1 also
 * livelocked the process in task_work.  mn_read/mn_write/mn_readv/
 * mn_writev on such an fd (fstat, only on those kernels) wait for
 * readiness with a poll request, which never goes to io-wq, and then make
 * the system call in a syscall window (poll_then_call).
 *
 * SIGPIPE: the runtime sets SIGPIPE to SIG_IGN at start when it is at its
 * default (a write to a closed pipe or socket returns -EPIPE instead of
 * killing the process); mn_send and mn_sendmsg also pass MSG_NOSIGNAL.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "runtime.h"
#include "io.h"
#include "sys.h"

int mn_io_mode MN_HIDDEN = MN_IO_BLOCKING;

#define RW_MAX	0x7ffff000u	/* Linux's MAX_RW_COUNT: one call moves at most this */

int mn_io_init(void)
{
	struct sigaction sa;
	int want = -1, err;

	/* env.c checked MNSCHED_IO (and MNSCHED_IO_ENTRIES). */
	if (mn_sched.env.io == MN_IOENV_URING)
		want = MN_IO_URING;
	else if (mn_sched.env.io == MN_IOENV_BLOCKING)
		want = MN_IO_BLOCKING;
	/* A peer that goes away gives -EPIPE, not a dead process. */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
	mn_io_mode = MN_IO_BLOCKING;
	if (want == MN_IO_BLOCKING)
		return 0;
	err = mn_io_uring_init();
	if (err) {
		if (want == MN_IO_URING) {
			fprintf(stderr, "mnsched: MNSCHED_IO=uring: io_uring is not "
				"usable: %s\n", mn_io_why);
			return err;
		}
		fprintf(stderr, "mnsched: io_uring unavailable (%s): I/O calls "
			"block their M and hand its P off\n", mn_io_why);
		return 0;
	}
	mn_io_mode = MN_IO_URING;
	return 0;
}

const char *mn_io_backend(void)
{
	return mn_io_mode == MN_IO_URING ? "uring" : "blocking";
}

uint64_t mn_io_set_deadline(uint64_t deadline_ns)
{
	MN_ENTER();
	struct mn_g *g = mn_need_m("mn_io_set_deadline")->curg;
	uint64_t old = g->io_deadline;

	g->io_deadline = deadline_ns;
	return old;
}

struct mn_ctx *mn_io_set_ctx(struct mn_ctx *ctx)
{
	MN_ENTER();
	struct mn_g *g = mn_need_m("mn_io_set_ctx")->curg;
	struct mn_ctx *old = g->io_ctx;

	g->io_ctx = ctx;
	return old;
}

/* ---- the io_uring path ---- */

/* mn_close(fd) counts here first: a request on fd cancelled after it
 * started was cancelled by that close (fds above the table share slots:
 * at worst an unexplained cancel coinciding with such a close is taken
 * for it). */
#define CLOSE_GENS	4096
static _Atomic uint32_t close_gens[CLOSE_GENS];
/* Requests in flight per fd (same slots): mn_close cancels only when its
 * slot has some, sparing a server's every close a cancel in every ring. */
static _Atomic int32_t fd_busy[CLOSE_GENS];

static inline void fd_busy_add(int fd, int32_t d)
{
	if (fd >= 0)
		atomic_fetch_add(&fd_busy[fd % CLOSE_GENS], d);
}

static inline uint32_t close_gen(int fd)
{
	return fd < 0 ? 0 : atomic_load_explicit(&close_gens[fd % CLOSE_GENS],
						 memory_order_acquire);
}

#define IO_AGAIN	(-100000)	/* not an errno: make the request again */

/* What a request cut short by a cancel returns (see the top). */
static int32_t cancelled_res(struct mn_ioreq *rq, int32_t res)
{
	bool past;

	if (likely(res != -ECANCELED && res != -EINTR))
		return res;
	past = rq->deadline && mn_nanotime() >= rq->deadline;
	if (rq->ctx_err)
		return rq->ctx_err;
	if (rq->ctx && mn_ctx_err(rq->ctx))
		return mn_ctx_err(rq->ctx);
	if (past)
		return -ETIMEDOUT;
	if (res == -ECANCELED && rq->fd >= 0 && close_gen(rq->fd) != rq->close_gen)
		return -EBADF;		/* mn_close cancelled it */
	if (rq->sqe.opcode == IORING_OP_CONNECT || rq->sqe.opcode == IORING_OP_CLOSE)
		return -EINTR;		/* not to be made twice */
	return IO_AGAIN;		/* the kernel's own: again */
}

/* Submit rq and wait, again while the kernel cancels it for no reason. */
static int32_t uring_wait_again(struct mn_ioreq *rq)
{
	for (int n = 0;; n++) {
		int32_t res;

		fd_busy_add(rq->fd, 1);		/* seq_cst: mn_close sees it */
		res = cancelled_res(rq, mn_io_uring_wait(rq));
		fd_busy_add(rq->fd, -1);
		if (likely(res != IO_AGAIN))
			return res;
		if (rq->deadline && mn_nanotime() >= rq->deadline)
			return -ETIMEDOUT;
		if (n >= 3)
			mn_sleep(1000000);	/* the kernel keeps at it: no spin */
	}
}

/*
 * Run rq (its SQE prepared) for the calling G.  pollev: the readiness to
 * wait for if the kernel answers -EAGAIN (an O_NONBLOCK fd on kernels that
 * do not poll for it), 0 for none.
 */
static int32_t uring_call(struct mn_ioreq *rq, const char *what, int fd,
			  short pollev)
{
	struct mn_g *g = mn_need_m(what)->curg;
	int32_t res;

	rq->deadline = mn_io_deadline_of(g);
	rq->ctx = g->io_ctx;
	rq->ctx_err = 0;
	rq->fd = fd;
	rq->close_gen = close_gen(fd);
	res = rq->ctx ? mn_ctx_err(rq->ctx) : 0;
	if (res)
		return res;
	for (;;) {
		struct mn_ioreq pq;

		if (rq->deadline && mn_nanotime() >= rq->deadline)
			return -ETIMEDOUT;
		res = uring_wait_again(rq);
		if (res != -EAGAIN || !pollev)
			return res;
		io_uring_prep_poll_add(&pq.sqe, fd, (unsigned int)pollev);
		pq.deadline = rq->deadline;
		pq.ctx = rq->ctx;
		pq.ctx_err = 0;
		pq.fd = fd;
		pq.close_gen = rq->close_gen;
		res = uring_wait_again(&pq);
		if (res < 0)
			return res;
	}
}

/* ---- pipes and character devices where io_uring gives them to io-wq ---- */

bool mn_io_poll_first MN_HIDDEN;
_Atomic uint64_t mn_io_st_pollfirst MN_HIDDEN;	/* mn_debug_io_stat("poll_first") */

static bool poll_first(int fd)
{
	struct stat st;

	if (likely(!mn_io_poll_first) ||
	    mn_syscall3(SYS_fstat, fd, &st, 0) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
}

/*
 * Wait until fd is ready for ev with a poll request (deadline, context and
 * mn_close apply as to any request), then make the system call nr in a
 * syscall window: it does not block unless another reader or writer got
 * there first, and then only this M (its P is handed off).  len: the bytes
 * (or iovecs) asked for; 0 moves nothing and returns at once, as the
 * system call does (an iovec of empty buffers waits for readiness first).
 */
static ssize_t poll_then_call(const char *what, int fd, short ev, long nr,
			      long a1, long a2, size_t len)
{
	atomic_fetch_add_explicit(&mn_io_st_pollfirst, 1, memory_order_relaxed);
	if (len == 0)
		return mn_syscall6(nr, fd, a1, a2, 0, 0, 0);
	for (;;) {
		struct mn_ioreq pq;
		long r;

		io_uring_prep_poll_add(&pq.sqe, fd, (unsigned int)ev | POLLERR | POLLHUP);
		r = uring_call(&pq, what, fd, 0);
		if (r < 0)
			return r;
		if (r & POLLNVAL)
			return -EBADF;
		mn_syscall_enter();
		do
			r = mn_syscall6(nr, fd, a1, a2, 0, 0, 0);
		while (r == -EINTR);
		mn_syscall_exit();
		if (r != -EAGAIN)	/* an O_NONBLOCK fd another G emptied */
			return r;
	}
}

#define URING(rq) (mn_io_mode == MN_IO_URING)

ssize_t mn_read(int fd, void *buf, size_t count)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_READ, fd, buf, count, -1, 0);
	if (mn_rx_on) {
		/* A TCP socket that mn_recv or mn_accept made known. */
		struct iovec iov = { buf, count > RW_MAX ? RW_MAX : count };
		ssize_t r = mn_rx_recv(fd, &iov, 1, 0, false);

		if (r != MN_RX_PLAIN)
			return r;
	}
	if (unlikely(poll_first(fd)))
		return poll_then_call("mn_read", fd, POLLIN, SYS_read, (long)buf,
				      (long)(count > RW_MAX ? RW_MAX : count), count);
	io_uring_prep_read(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			   (uint64_t)-1);
	return uring_call(&rq, "mn_read", fd, POLLIN);
}

ssize_t mn_write(int fd, const void *buf, size_t count)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_WRITE, fd, (void *)buf, count, -1, 0);
	if (unlikely(poll_first(fd)))
		return poll_then_call("mn_write", fd, POLLOUT, SYS_write, (long)buf,
				      (long)(count > RW_MAX ? RW_MAX : count), count);
	io_uring_prep_write(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			    (uint64_t)-1);
	return uring_call(&rq, "mn_write", fd, POLLOUT);
}

ssize_t mn_pread(int fd, void *buf, size_t count, off_t offset)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (offset < 0)
		return -EINVAL;
	if (!URING())
		return mn_blk_rw(OP_PREAD, fd, buf, count, offset, 0);
	io_uring_prep_read(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			   (uint64_t)offset);
	return uring_call(&rq, "mn_pread", fd, POLLIN);
}

ssize_t mn_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (offset < 0)
		return -EINVAL;
	if (!URING())
		return mn_blk_rw(OP_PWRITE, fd, (void *)buf, count, offset, 0);
	io_uring_prep_write(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			    (uint64_t)offset);
	return uring_call(&rq, "mn_pwrite", fd, POLLOUT);
}

ssize_t mn_readv(int fd, const struct iovec *iov, int iovcnt)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (!URING())
		return mn_blk_rwv(OP_READV, fd, iov, iovcnt);
	if (mn_rx_on) {
		ssize_t r = mn_rx_recv(fd, iov, iovcnt, 0, false);

		if (r != MN_RX_PLAIN)
			return r;
	}
	if (unlikely(poll_first(fd)))
		return poll_then_call("mn_readv", fd, POLLIN, SYS_readv, (long)iov,
				      iovcnt, (size_t)iovcnt);
	io_uring_prep_readv(&rq.sqe, fd, iov, (unsigned int)iovcnt, (uint64_t)-1);
	return uring_call(&rq, "mn_readv", fd, POLLIN);
}

ssize_t mn_writev(int fd, const struct iovec *iov, int iovcnt)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (!URING())
		return mn_blk_rwv(OP_WRITEV, fd, iov, iovcnt);
	if (unlikely(poll_first(fd)))
		return poll_then_call("mn_writev", fd, POLLOUT, SYS_writev, (long)iov,
				      iovcnt, (size_t)iovcnt);
	io_uring_prep_writev(&rq.sqe, fd, iov, (unsigned int)iovcnt, (uint64_t)-1);
	return uring_call(&rq, "mn_writev", fd, POLLOUT);
}

ssize_t mn_recv(int fd, void *buf, size_t len, int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_RECV, fd, buf, len, -1, flags);
	if (mn_rx_on) {
		struct iovec iov = { buf, len > RW_MAX ? RW_MAX : len };
		ssize_t r = mn_rx_recv(fd, &iov, 1, flags, true);

		if (r != MN_RX_PLAIN)
			return r;
	}
	io_uring_prep_recv(&rq.sqe, fd, buf, len > RW_MAX ? RW_MAX : len, flags);
	return uring_call(&rq, "mn_recv", fd, POLLIN);
}

/*
 * Tried and left out: a direct non-blocking send(2) before the ring
 * request.  It saved the keep-alive HTTP server a fifth of its CPU per
 * request (2.75 against 3.44 us: 0.71x Go's, not 0.89x) but cost 4% of
 * http_hello's req/s and 14% of echo_1000's rtt/s (make bench, 2 CPUs;
 * the alternating runs are in tools/bench/RESULTS.md, "I/O per request").
 * Measured again later, it saved nothing (8.94 against 8.45 us).
 */
ssize_t mn_send(int fd, const void *buf, size_t len, int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;

	flags |= MSG_NOSIGNAL;
	if (!URING())
		return mn_blk_rw(OP_SEND, fd, (void *)buf, len, -1, flags);
	io_uring_prep_send(&rq.sqe, fd, buf, len > RW_MAX ? RW_MAX : len, flags);
	return uring_call(&rq, "mn_send", fd, POLLOUT);
}

ssize_t mn_recvmsg(int fd, struct msghdr *msg, int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_msg(OP_RECVMSG, fd, msg, flags);
	if (mn_rx_on && msg->msg_iovlen <= IOV_MAX) {
		/* From the multishot's queue: data only (TCP has no address
		 * and, here, no control data). */
		ssize_t r = mn_rx_recv(fd, msg->msg_iov, (int)msg->msg_iovlen,
				       flags, false);

		if (r != MN_RX_PLAIN) {
			if (r >= 0) {
				msg->msg_namelen = 0;
				msg->msg_controllen = 0;
				msg->msg_flags = 0;
			}
			return r;
		}
	}
	io_uring_prep_recvmsg(&rq.sqe, fd, msg, (unsigned int)flags);
	return uring_call(&rq, "mn_recvmsg", fd, POLLIN);
}

ssize_t mn_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;

	flags |= MSG_NOSIGNAL;
	if (!URING())
		return mn_blk_msg(OP_SENDMSG, fd, (struct msghdr *)msg, flags);
	io_uring_prep_sendmsg(&rq.sqe, fd, msg, (unsigned int)flags);
	return uring_call(&rq, "mn_sendmsg", fd, POLLOUT);
}

int mn_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;

	int res;

	if (!URING())
		return mn_blk_accept(fd, addr, addrlen, flags);
	io_uring_prep_accept(&rq.sqe, fd, addr, addrlen, flags);
	res = uring_call(&rq, "mn_accept", fd, POLLIN);
	if (res >= 0 && mn_rx_on)
		mn_rx_accepted(fd, res);
	return res;
}

int mn_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_connect(fd, addr, addrlen);
	if (mn_rx_on)
		mn_rx_reset(fd, false);	/* a new socket: nothing of an old one */
	io_uring_prep_connect(&rq.sqe, fd, addr, addrlen);
	return uring_call(&rq, "mn_connect", fd, 0);
}

int mn_close(int fd)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (fd < 0)
		return -EBADF;
	if (!URING())
		return mn_blk_close(fd);
	/* Gs waiting on fd get -EBADF, not a hang: count the close (their
	 * -ECANCELED is ours, not the kernel's), cancel (the kernel resolves
	 * the fd, so it must still be open), then close. */
	atomic_fetch_add_explicit(&close_gens[fd % CLOSE_GENS], 1,
				  memory_order_release);
	if (mn_rx_on)
		mn_rx_reset(fd, false);	/* its multishot receive, its waiters */
	if (atomic_load(&fd_busy[fd % CLOSE_GENS]))
		mn_io_uring_cancel_fd(fd);
	io_uring_prep_close(&rq.sqe, fd);
	return uring_call(&rq, "mn_close", fd, 0);
}

int mn_shutdown(int fd, int how)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_SHUTDOWN, fd, how, 0, 0);
	io_uring_prep_shutdown(&rq.sqe, fd, how);
	return uring_call(&rq, "mn_shutdown", fd, 0);
}

int mn_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_OPENAT, dirfd, (long)path, flags, mode);
	io_uring_prep_openat(&rq.sqe, dirfd, path, flags, mode);
	return uring_call(&rq, "mn_openat", -1, 0);
}

int mn_fsync(int fd)
{
	MN_ENTER();
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_FSYNC, fd, 0, 0, 0);
	io_uring_prep_fsync(&rq.sqe, fd, 0);
	return uring_call(&rq, "mn_fsync", fd, 0);
}

ssize_t mn_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
		  size_t len, unsigned int flags)
{
	MN_ENTER();
	struct mn_ioreq rq;
	ssize_t res;

	if ((off_in && *off_in < 0) || (off_out && *off_out < 0))
		return -EINVAL;
	if (!URING())
		return mn_blk_splice(fd_in, off_in, fd_out, off_out, len, flags);
	io_uring_prep_splice(&rq.sqe, fd_in, off_in ? *off_in : -1, fd_out,
			     off_out ? *off_out : -1,
			     len > RW_MAX ? RW_MAX : (unsigned int)len, flags);
	fd_busy_add(fd_in, 1);		/* no single fd: count both */
	fd_busy_add(fd_out, 1);
	res = uring_call(&rq, "mn_splice", -1, 0);
	fd_busy_add(fd_in, -1);
	fd_busy_add(fd_out, -1);
	if (res > 0) {
		/* splice(2) advances the offsets it was given. */
		if (off_in)
			*off_in += res;
		if (off_out)
			*off_out += res;
	}
	return res;
}

/*
 * poll(2) for one fd (nfds must be 1; 0 sleeps like poll): 1 with
 * fds->revents set, 0 when timeout (ms, < 0 none) passes first, or -errno.
 * A bad fd gives POLLNVAL, as poll does.  The G's deadline or context
 * cutting the wait short gives -ETIMEDOUT / the context's error.
 */
int mn_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	MN_ENTER();
	struct mn_ioreq rq;
	struct mn_g *g;
	uint64_t mine = 0;
	int32_t res;

	if (nfds == 0) {
		if (timeout < 0)
			return -EINVAL;	/* would sleep forever */
		mn_sleep((uint64_t)timeout * 1000000u);
		return 0;
	}
	if (nfds != 1 || !fds)
		return -EINVAL;
	fds->revents = 0;
	if (!URING())
		return mn_blk_poll(fds, timeout);
	if (fds->fd < 0)
		return 0;	/* poll ignores negative fds */
	if (timeout == 0) {
		/* Just a look: poll(2) itself, nothing waits. */
		struct pollfd one = *fds;
		long r = mn_syscall6(SYS_poll, (long)&one, 1, 0, 0, 0, 0);

		if (r < 0)
			return (int)r;
		fds->revents = one.revents;
		return (int)r;
	}
	g = mn_need_m("mn_poll")->curg;
	if (timeout > 0)
		mine = (uint64_t)mn_deadline_after((uint64_t)timeout * 1000000u);
	io_uring_prep_poll_add(&rq.sqe, fds->fd,
			       (unsigned int)(uint16_t)fds->events | POLLERR | POLLHUP);
	rq.deadline = mn_io_deadline_of(g);
	if (mine && (!rq.deadline || mine < rq.deadline))
		rq.deadline = mine;
	rq.ctx = g->io_ctx;
	rq.ctx_err = 0;
	rq.fd = fds->fd;
	rq.close_gen = close_gen(fds->fd);
	res = rq.ctx ? mn_ctx_err(rq.ctx) : 0;
	if (res)
		return res;
	if (rq.deadline && mn_nanotime() >= rq.deadline)
		return mine && rq.deadline == mine ? 0 : -ETIMEDOUT;
	if (mn_rx_on && (fds->events & POLLIN)) {
		/* A TCP socket whose data the multishot receive takes: the
		 * socket itself may never look readable; ask the queue.
		 * Other events asked for too are looked at first. */
		struct pollfd one = *fds;
		long r = 0;

		one.events &= (short)~POLLIN;
		if (one.events)
			r = mn_syscall6(SYS_poll, (long)&one, 1, 0, 0, 0, 0);
		if (r > 0 && one.revents) {
			fds->revents = one.revents;
			return 1;
		}
		res = mn_rx_poll_in(fds->fd, rq.deadline);
		if (res != MN_RX_PLAIN) {
			if (res == -ETIMEDOUT && mine && rq.deadline == mine)
				return 0;
			if (res < 0)
				return res == -EBADF ? (fds->revents = POLLNVAL, 1) : res;
			fds->revents = (short)res;
			return 1;
		}
	}
	res = uring_wait_again(&rq);
	if (res == -ETIMEDOUT && mine && rq.deadline == mine)
		return 0;
	if (res == -EBADF) {
		fds->revents = POLLNVAL;
		return 1;
	}
	if (res < 0)
		return res;
	fds->revents = (short)res;
	return 1;
}
