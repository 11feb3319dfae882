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
	struct mn_g *g = mn_need_m("mn_io_set_deadline")->curg;
	uint64_t old = g->io_deadline;

	g->io_deadline = deadline_ns;
	return old;
}

struct mn_ctx *mn_io_set_ctx(struct mn_ctx *ctx)
{
	struct mn_g *g = mn_need_m("mn_io_set_ctx")->curg;
	struct mn_ctx *old = g->io_ctx;

	g->io_ctx = ctx;
	return old;
}

/* ---- the io_uring path ---- */

/* What a request cut short by a cancel returns. */
static int32_t cancelled_res(struct mn_ioreq *rq, int32_t res)
{
	bool past = rq->deadline && mn_nanotime() >= rq->deadline;

	if (res != -ECANCELED && !(res == -EINTR && (rq->ctx_err || past)))
		return res;
	if (rq->ctx_err)
		return rq->ctx_err;
	if (rq->ctx && mn_ctx_err(rq->ctx))
		return mn_ctx_err(rq->ctx);
	if (past)
		return -ETIMEDOUT;
	return res == -ECANCELED ? -EBADF : res;	/* mn_close cancelled it */
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
	res = rq->ctx ? mn_ctx_err(rq->ctx) : 0;
	if (res)
		return res;
	for (;;) {
		struct mn_ioreq pq;

		if (rq->deadline && mn_nanotime() >= rq->deadline)
			return -ETIMEDOUT;
		res = cancelled_res(rq, mn_io_uring_wait(rq));
		if (res != -EAGAIN || !pollev)
			return res;
		io_uring_prep_poll_add(&pq.sqe, fd, (unsigned int)pollev);
		pq.deadline = rq->deadline;
		pq.ctx = rq->ctx;
		pq.ctx_err = 0;
		res = cancelled_res(&pq, mn_io_uring_wait(&pq));
		if (res < 0)
			return res;
	}
}

#define URING(rq) (mn_io_mode == MN_IO_URING)

ssize_t mn_read(int fd, void *buf, size_t count)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_READ, fd, buf, count, -1, 0);
	io_uring_prep_read(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			   (uint64_t)-1);
	return uring_call(&rq, "mn_read", fd, POLLIN);
}

ssize_t mn_write(int fd, const void *buf, size_t count)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_WRITE, fd, (void *)buf, count, -1, 0);
	io_uring_prep_write(&rq.sqe, fd, buf, count > RW_MAX ? RW_MAX : (unsigned int)count,
			    (uint64_t)-1);
	return uring_call(&rq, "mn_write", fd, POLLOUT);
}

ssize_t mn_pread(int fd, void *buf, size_t count, off_t offset)
{
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
	struct mn_ioreq rq;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (!URING())
		return mn_blk_rwv(OP_READV, fd, iov, iovcnt);
	io_uring_prep_readv(&rq.sqe, fd, iov, (unsigned int)iovcnt, (uint64_t)-1);
	return uring_call(&rq, "mn_readv", fd, POLLIN);
}

ssize_t mn_writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct mn_ioreq rq;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	if (!URING())
		return mn_blk_rwv(OP_WRITEV, fd, iov, iovcnt);
	io_uring_prep_writev(&rq.sqe, fd, iov, (unsigned int)iovcnt, (uint64_t)-1);
	return uring_call(&rq, "mn_writev", fd, POLLOUT);
}

ssize_t mn_recv(int fd, void *buf, size_t len, int flags)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_rw(OP_RECV, fd, buf, len, -1, flags);
	io_uring_prep_recv(&rq.sqe, fd, buf, len > RW_MAX ? RW_MAX : len, flags);
	return uring_call(&rq, "mn_recv", fd, POLLIN);
}

ssize_t mn_send(int fd, const void *buf, size_t len, int flags)
{
	struct mn_ioreq rq;

	flags |= MSG_NOSIGNAL;
	if (!URING())
		return mn_blk_rw(OP_SEND, fd, (void *)buf, len, -1, flags);
	io_uring_prep_send(&rq.sqe, fd, buf, len > RW_MAX ? RW_MAX : len, flags);
	return uring_call(&rq, "mn_send", fd, POLLOUT);
}

ssize_t mn_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_msg(OP_RECVMSG, fd, msg, flags);
	io_uring_prep_recvmsg(&rq.sqe, fd, msg, (unsigned int)flags);
	return uring_call(&rq, "mn_recvmsg", fd, POLLIN);
}

ssize_t mn_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct mn_ioreq rq;

	flags |= MSG_NOSIGNAL;
	if (!URING())
		return mn_blk_msg(OP_SENDMSG, fd, (struct msghdr *)msg, flags);
	io_uring_prep_sendmsg(&rq.sqe, fd, msg, (unsigned int)flags);
	return uring_call(&rq, "mn_sendmsg", fd, POLLOUT);
}

int mn_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_accept(fd, addr, addrlen, flags);
	io_uring_prep_accept(&rq.sqe, fd, addr, addrlen, flags);
	return uring_call(&rq, "mn_accept", fd, POLLIN);
}

int mn_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_connect(fd, addr, addrlen);
	io_uring_prep_connect(&rq.sqe, fd, addr, addrlen);
	return uring_call(&rq, "mn_connect", fd, 0);
}

int mn_close(int fd)
{
	struct mn_ioreq rq;

	if (fd < 0)
		return -EBADF;
	if (!URING())
		return mn_blk_close(fd);
	/* Gs waiting on fd get -EBADF, not a hang: cancel first (the kernel
	 * resolves the fd, so it must still be open), then close. */
	mn_io_uring_cancel_fd(fd);
	io_uring_prep_close(&rq.sqe, fd);
	return uring_call(&rq, "mn_close", fd, 0);
}

int mn_shutdown(int fd, int how)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_SHUTDOWN, fd, how, 0, 0);
	io_uring_prep_shutdown(&rq.sqe, fd, how);
	return uring_call(&rq, "mn_shutdown", fd, 0);
}

int mn_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_OPENAT, dirfd, (long)path, flags, mode);
	io_uring_prep_openat(&rq.sqe, dirfd, path, flags, mode);
	return uring_call(&rq, "mn_openat", -1, 0);
}

int mn_fsync(int fd)
{
	struct mn_ioreq rq;

	if (!URING())
		return mn_blk_simple(OP_FSYNC, fd, 0, 0, 0);
	io_uring_prep_fsync(&rq.sqe, fd, 0);
	return uring_call(&rq, "mn_fsync", fd, 0);
}

ssize_t mn_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
		  size_t len, unsigned int flags)
{
	struct mn_ioreq rq;
	ssize_t res;

	if ((off_in && *off_in < 0) || (off_out && *off_out < 0))
		return -EINVAL;
	if (!URING())
		return mn_blk_splice(fd_in, off_in, fd_out, off_out, len, flags);
	io_uring_prep_splice(&rq.sqe, fd_in, off_in ? *off_in : -1, fd_out,
			     off_out ? *off_out : -1,
			     len > RW_MAX ? RW_MAX : (unsigned int)len, flags);
	res = uring_call(&rq, "mn_splice", -1, 0);
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
	res = rq.ctx ? mn_ctx_err(rq.ctx) : 0;
	if (res)
		return res;
	if (rq.deadline && mn_nanotime() >= rq.deadline)
		return mine && rq.deadline == mine ? 0 : -ETIMEDOUT;
	res = cancelled_res(&rq, mn_io_uring_wait(&rq));
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
