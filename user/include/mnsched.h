/* SPDX-License-Identifier: MIT */
/*
 * mnsched.h - Go's G/M/P scheduler for C.
 *
 * Gs are green threads with their own stacks, Ms are OS threads, Ps are
 * logical processors that own run queues.  Start the runtime with mn_main();
 * everything else is called from inside a G.
 *
 * Conventions (liburing style):
 *  - every public name starts with mn_ (MN_ for macros);
 *  - errors are returned as -errno; the runtime never reads or sets errno
 *    on the caller's behalf;
 *  - no typedefs for structs.
 *
 * The TLS rule: a G may move to another M (OS thread) at any mn_* call that
 * can block or yield.  Do not keep the address of a thread-local variable
 * (including errno) across such a call; read errno right after the libc call
 * that set it.  See README.md, "Thread-local storage and errno".
 *
 * Link with: -lmnsched -luring -lpthread  (or pkg-config --libs mnsched)
 */
#ifndef MNSCHED_H
#define MNSCHED_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define MNSCHED_VERSION_MAJOR 0
#define MNSCHED_VERSION_MINOR 1

/* ---- Gs ---------------------------------------------------------------- */

/** Options for mn_go_opts(); zero-initialise and set what you need. */
struct mn_go_opts {
	size_t stack_size;	/* bytes, 0 = default (64 KiB); 16 KiB .. 1 GiB */
	const char *name;	/* shown in deadlock dumps; not copied */
	unsigned int flags;	/* MN_GO_* */
};

/*
 * By default mn_go runs the new G at once on the caller's P and the caller
 * continues as soon as the new G blocks, yields or exits (it waits in the
 * P's runnext slot, where another P may take it).  This "child first"
 * order keeps spawn-heavy programs depth-first: few live Gs, hot stacks.
 * MN_GO_DEFER queues the new G instead and returns at once (Go's order).
 */
#define MN_GO_DEFER	0x1u

#define MN_STACK_MIN	(16u << 10)
#define MN_STACK_MAX	(1ul << 30)
#define MN_STACK_DEFAULT (64u << 10)

/* Run fn(arg) as the first G and return when it returns (0), or -errno if
 * the runtime could not start.  Other Gs still alive then are abandoned, as
 * Go's main does.  May be called once per process. */
int mn_main(void (*fn)(void *), void *arg);
/* Spawn a G.  0, -EINVAL (bad options), -ENOMEM. */
int mn_go(void (*fn)(void *), void *arg);
int mn_go_opts(void (*fn)(void *), void *arg, const struct mn_go_opts *o);
/* Put the calling G at the back of its P's local run queue. */
void mn_yield(void);
/* End the calling G (as returning from its function does). */
void mn_exit(void) __attribute__((noreturn));
/* The calling G's id (1 for the main G), 0 outside a G. */
uint64_t mn_goid(void);
/* Number of Ps: the MNPROCS environment variable, default online CPUs. */
int mn_nprocs(void);
/* Yield if sysmon asked this G to (it has run for over 10 ms). */
void mn_preempt_point(void);

/* Bracket a blocking system call: the P may be handed to another M. */
void mn_syscall_enter(void);
void mn_syscall_exit(void);

/*
 * pprof-style labels of the calling G: mnsched-prof attributes its CPU and
 * off-CPU samples to them and G dumps print them; a G made by mn_go starts
 * with a copy of its creator's.  Up to MN_LABELS_MAX labels, keys up to 31
 * bytes, values up to 63.  value NULL removes key.  0, -EINVAL (no key, too
 * long, or not called from a G), -ENOSPC (one label too many), -ENOMEM.
 */
#define MN_LABELS_MAX	8
int mn_set_label(const char *key, const char *value);
/* The calling G's value for key, NULL for none; valid until the G changes
 * its labels. */
const char *mn_label(const char *key);

/* ---- channels ----------------------------------------------------------- */

struct mn_chan;

/* elem_size may be 0 (signal channels); cap 0 is unbuffered. NULL on ENOMEM. */
struct mn_chan *mn_chan_new(size_t elem_size, size_t cap);
/* 0, or -EPIPE when the channel is closed. */
int mn_chan_send(struct mn_chan *c, const void *elem);
/* 1 got a value, 0 closed and drained (elem zeroed). */
int mn_chan_recv(struct mn_chan *c, void *elem);
/* As above but -EAGAIN instead of blocking. */
int mn_chan_try_send(struct mn_chan *c, const void *elem);
int mn_chan_try_recv(struct mn_chan *c, void *elem);
/* Closing a closed channel aborts (Go panics). */
void mn_chan_close(struct mn_chan *c);
/*
 * Free a channel.  NULL is ignored.  Allowed once no call on c is running
 * or will be made, from any G or thread: no G blocked on it (in a send, a
 * receive, or a select with a case on c that has not been completed).  A
 * select is completed by the send, receive or close that wakes it: once
 * that call has returned, the select uses none of its channels any more,
 * so its caller may free any of them at once (the woken G need not have
 * run yet).  A select that timed out uses its channels until it returns.
 * Misuse aborts with a message naming the call: freeing a channel Gs are
 * blocked on; any later call on a freed channel ("mn_chan_send: channel
 * freed"), including a second mn_chan_free, as long as malloc has not
 * handed its memory out again (ASan catches the rest).
 */
void mn_chan_free(struct mn_chan *c);
/* Elements buffered / capacity.  A NULL channel aborts (Go gives 0). */
size_t mn_chan_len(struct mn_chan *c);
size_t mn_chan_cap(struct mn_chan *c);

/*
 * Timed variants (deadlines for every blocking channel call).  timeout_ns
 * < 0 blocks as the plain call, 0 polls (-EAGAIN as the try call), > 0
 * gives up after that many nanoseconds with -ETIMEDOUT.  Otherwise they
 * return what mn_chan_send / mn_chan_recv return.
 */
int mn_chan_send_timeout(struct mn_chan *c, const void *elem, int64_t timeout_ns);
int mn_chan_recv_timeout(struct mn_chan *c, void *elem, int64_t timeout_ns);

/* ---- select ------------------------------------------------------------- */

#define MN_SEND	1
#define MN_RECV	2

/*
 * One case of mn_select.  chan NULL: the case is never ready (Go's nil
 * channel).  elem: the value to send, or where a received value goes; it
 * must not be NULL unless the channel's element size is 0 (a NULL elem for
 * a non-zero element size aborts with a message naming the case).
 * ok (set by mn_select on the case taken): 1 the value was sent or
 * received; 0 the channel was closed (a receive got the zero value; a send
 * did not happen, as mn_chan_send's -EPIPE).
 */
struct mn_case {
	struct mn_chan *chan;
	int dir;		/* MN_SEND or MN_RECV; anything else aborts */
	void *elem;
	int ok;
};

/*
 * Wait until one of n cases can proceed and perform it (Go's select).
 * Among the cases ready at once one is chosen uniformly at random; channels
 * are locked in address order, so selects that share channels never
 * deadlock.  Returns the index of the case taken, or
 *   -EAGAIN     timeout_ns == 0 and no case was ready (Go's default:);
 *   -ETIMEDOUT  timeout_ns > 0 elapsed first;
 *   -EINVAL     n < 0 or n > 65536, or cases NULL with n > 0;
 *   -ENOMEM     more than 16 cases and no memory for their bookkeeping.
 * timeout_ns < 0 waits for ever; with no case that can become ready
 * (n == 0, or only NULL channels) the G blocks for good, and the deadlock
 * detector reports it if nothing else can run.  A receive from
 * mn_ctx_done(ctx) makes any select cancellable.
 */
int mn_select(struct mn_case *cases, int n, int64_t timeout_ns);

/* ---- time --------------------------------------------------------------- */

/*
 * Timer channels (Go's time.NewTimer / time.NewTicker): channels of
 * capacity 1 carrying uint64_t values of mn_now() at the moment the timer
 * fired.  Receive from them, or put them in a select.
 *  mn_after(ns)      fires once, ns from now;
 *  mn_ticker(ns)     fires every ns (first after ns); a tick the reader has
 *                    not taken yet makes later ones be dropped, so a slow
 *                    reader sees fewer ticks, never a backlog.  ns > 0.
 * Both return NULL without memory, for a ticker period of 0, or before
 * mn_main.  Free with mn_chan_free(), which stops the timer.
 *  mn_timer_chan_stop(c)       stop; true if a value was still to come
 *                              (pending, or fired but not yet received);
 *  mn_timer_chan_reset(c, ns)  restart to fire ns from now (a ticker: every
 *                              ns from now on); true if it was active.
 * After either returns, no value from before the call can be received.
 * Using them on a channel that is not a timer channel aborts.
 */
struct mn_chan *mn_after(uint64_t ns);
struct mn_chan *mn_ticker(uint64_t period_ns);
bool mn_timer_chan_stop(struct mn_chan *c);
bool mn_timer_chan_reset(struct mn_chan *c, uint64_t ns);

/* Sleep the calling G (not its M) for at least ns nanoseconds.  Every
 * timeout and "ns from now" in this API saturates: a value past the end of
 * mn_now()'s range (INT64_MAX, UINT64_MAX) means for ever, never "now". */
void mn_sleep(uint64_t ns);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mn_now(void);

/* ---- cancellation (Go's context) ---------------------------------------- */

/*
 * A struct mn_ctx carries a cancellation signal and maybe a deadline down a
 * tree of work.  Cancelling a context cancels all its descendants; a child
 * never cancels its parent.  NULL means the background context everywhere
 * a context is accepted.
 *
 *  mn_ctx_background()          never cancelled, no deadline; static.
 *  mn_ctx_with_cancel(parent)   cancelled by mn_ctx_cancel or its parent.
 *  mn_ctx_with_deadline(parent, deadline_ns)
 *                               also cancelled (-ETIMEDOUT) when mn_now()
 *                               reaches deadline_ns (or the parent's
 *                               deadline, if earlier).
 *  mn_ctx_with_timeout(parent, ns)  deadline mn_now() + ns.
 * These return NULL without memory (or, for a deadline, before mn_main).
 *
 *  mn_ctx_done(ctx)     a channel closed when ctx is cancelled: put a
 *                       receive from it (elem NULL) in an mn_select.  NULL
 *                       (never ready) for the background context.
 *  mn_ctx_err(ctx)      0 while active, -ECANCELED after mn_ctx_cancel (or
 *                       a parent's), -ETIMEDOUT after the deadline.
 *  mn_ctx_deadline(ctx) the deadline in mn_now() ns, 0 for none.
 *  mn_ctx_cancel(ctx)   cancel ctx and its descendants (idempotent).
 *  mn_ctx_free(ctx)     cancel and release.  Call it exactly once per
 *                       created context, when no G uses it any more; its
 *                       children stay valid until they are freed.
 *
 * Blocking calls that take a context (mn_sem_acquire_ctx, the I/O calls)
 * return mn_ctx_err(ctx) when it is cancelled while they wait.
 */
struct mn_ctx;

struct mn_ctx *mn_ctx_background(void);
struct mn_ctx *mn_ctx_with_cancel(struct mn_ctx *parent);
struct mn_ctx *mn_ctx_with_deadline(struct mn_ctx *parent, uint64_t deadline_ns);
struct mn_ctx *mn_ctx_with_timeout(struct mn_ctx *parent, uint64_t timeout_ns);
struct mn_chan *mn_ctx_done(struct mn_ctx *ctx);
int mn_ctx_err(struct mn_ctx *ctx);
uint64_t mn_ctx_deadline(struct mn_ctx *ctx);
void mn_ctx_cancel(struct mn_ctx *ctx);
void mn_ctx_free(struct mn_ctx *ctx);

/* ---- sync (Go's sync package) ------------------------------------------- */

/*
 * All types are plain structs: initialise them with their MN_*_INIT macro,
 * or zero-fill the memory (zero is the initial state of each, except
 * mn_sem, which needs its size: MN_SEM_INIT(n) or mn_sem_init()).  Do not
 * copy one in use.  Their fields are private.  Waiters park their G, not
 * their M; blocking calls must be made from a G.  Misuse aborts with a
 * message naming it (Go panics): unlocking an unlocked mutex, a negative
 * wait group counter, releasing more of a semaphore than was acquired.
 */

/* Private: the runtime's intrusive list (its nodes: user/src/list.h). */
struct mn_list_node;
struct mn_list {
	struct mn_list_node *first, *last;
};
#define MN_LIST_INIT { NULL, NULL }

/* Private: the wait list the sync types park their Gs on. */
struct mn_waitlist {
	uint32_t lock;
	uint32_t nwait;
	struct mn_list q;
};
#define MN_WAITLIST_INIT { 0, 0, MN_LIST_INIT }

/*
 * Mutual exclusion lock (sync.Mutex).  Uncontended lock and unlock are one
 * atomic instruction each.  Contended, a locker spins briefly (only while
 * another P is running the holder) and then parks.  Normal mode lets a
 * running G barge ahead of woken waiters (throughput); a waiter that has
 * waited over 1 ms switches the mutex to starvation mode, where unlock
 * hands it directly to the first waiter (FIFO) until the queue drains.
 * Any G may unlock a mutex another G locked.
 */
struct mn_mutex {
	int32_t state;
	uint32_t sema;
	struct mn_waitlist wl;
};
#define MN_MUTEX_INIT { 0, 0, MN_WAITLIST_INIT }

void mn_mutex_lock(struct mn_mutex *m);
/* 0 when locked, -EBUSY when it is held (never blocks). */
int mn_mutex_trylock(struct mn_mutex *m);
/* Aborts if m is not locked. */
void mn_mutex_unlock(struct mn_mutex *m);

/*
 * Reader/writer lock (sync.RWMutex): any number of readers or one writer.
 * A blocked writer keeps new readers out, so writers are not starved.
 * Recursive read locking deadlocks when a writer is waiting (as Go's).
 */
struct mn_rwmutex {
	struct mn_mutex w;
	int32_t readers;
	int32_t readerwait;
	uint32_t wsema, rsema;
	struct mn_waitlist wwl, rwl;
};
#define MN_RWMUTEX_INIT { MN_MUTEX_INIT, 0, 0, 0, 0, MN_WAITLIST_INIT, \
			  MN_WAITLIST_INIT }

void mn_rwmutex_rlock(struct mn_rwmutex *rw);
int mn_rwmutex_tryrlock(struct mn_rwmutex *rw);	/* 0 or -EBUSY */
void mn_rwmutex_runlock(struct mn_rwmutex *rw);	/* aborts if not read-locked */
void mn_rwmutex_lock(struct mn_rwmutex *rw);
int mn_rwmutex_trylock(struct mn_rwmutex *rw);	/* 0 or -EBUSY */
void mn_rwmutex_unlock(struct mn_rwmutex *rw);	/* aborts if not locked */

/*
 * Condition variable (sync.Cond).  mn_cond_wait unlocks m, waits for a
 * signal or broadcast, and locks m again before returning; as in Go and
 * POSIX, re-check the condition in a loop.  Signal wakes the longest
 * waiting G, broadcast all of them; both may be called with or without m.
 */
struct mn_cond {
	uint32_t wait;
	uint32_t notify;
	struct mn_waitlist wl;
};
#define MN_COND_INIT { 0, 0, MN_WAITLIST_INIT }

void mn_cond_wait(struct mn_cond *c, struct mn_mutex *m);
void mn_cond_signal(struct mn_cond *c);
void mn_cond_broadcast(struct mn_cond *c);

/*
 * Run fn(arg) once (sync.Once): the first caller runs it, every other
 * caller waits until it has returned.  Calling mn_once_do on the same once
 * from inside fn deadlocks.
 */
struct mn_once {
	uint32_t done;
	struct mn_mutex m;
};
#define MN_ONCE_INIT { 0, MN_MUTEX_INIT }

void mn_once_do(struct mn_once *o, void (*fn)(void *), void *arg);

/*
 * Wait group (sync.WaitGroup): mn_wg_add(wg, n) before starting n Gs, each
 * calls mn_wg_done(wg), and mn_wg_wait(wg) returns when the counter is 0.
 * A negative counter aborts, as do an add that races with a wait on a
 * counter of 0 and reuse before a previous wait has returned.
 */
struct mn_wg {
	uint64_t state;		/* counter << 32 | waiters */
	uint32_t sema;
	struct mn_waitlist wl;
};
#define MN_WG_INIT { 0, 0, MN_WAITLIST_INIT }

void mn_wg_add(struct mn_wg *wg, int delta);
void mn_wg_done(struct mn_wg *wg);
void mn_wg_wait(struct mn_wg *wg);

/*
 * Weighted semaphore (golang.org/x/sync/semaphore): size units; acquire n
 * blocks until n are free.  Waiters are served in FIFO order, so a large
 * request is not starved by small ones.
 *  mn_sem_acquire(s, n)         0; -EINVAL if n < 0 or n > size.
 *  mn_sem_acquire_ctx(s, n, ctx) also gives up with mn_ctx_err(ctx) when
 *                               ctx is (or becomes) cancelled first.
 *  mn_sem_try_acquire(s, n)     0 or -EAGAIN, never blocks.
 *  mn_sem_release(s, n)         releasing more than is held aborts.
 */
struct mn_sem {
	int64_t size;
	int64_t cur;
	uint32_t lock;
	struct mn_list waiters;
};
#define MN_SEM_INIT(n) { (n), 0, 0, MN_LIST_INIT }

void mn_sem_init(struct mn_sem *s, int64_t size);
int mn_sem_acquire(struct mn_sem *s, int64_t n);
int mn_sem_acquire_ctx(struct mn_sem *s, int64_t n, struct mn_ctx *ctx);
int mn_sem_try_acquire(struct mn_sem *s, int64_t n);
void mn_sem_release(struct mn_sem *s, int64_t n);

/* ---- I/O ------------------------------------------------------------------ */

/*
 * Each call takes its system call's arguments (mn_accept those of accept4)
 * and returns what the system call returns, or -errno on failure; errno is
 * never read or written.  The calling G waits; its M and P run other Gs.
 *
 * With io_uring (the default when the kernel allows it) each call is one
 * io_uring request on the ring of the caller's P: sockets, pipes and
 * regular files alike never block an M.  Without it (ENOSYS, EPERM under
 * seccomp, kernel.io_uring_disabled, or MNSCHED_IO=blocking) the same calls
 * run as system calls between mn_syscall_enter/exit: the M blocks, its P
 * is handed to another M.  mn_io_backend() says which: "uring" or
 * "blocking".  MNSCHED_IO=auto|uring|blocking chooses (auto falls back
 * with one notice line on stderr; uring fails mn_main instead).
 *
 * Semantics shared by both paths:
 *  - Short reads and writes happen as with the system call; 0 from a read
 *    is end of file; a buffer of length 0 does what the system call does.
 *  - A peer that vanishes gives -EPIPE or -ECONNRESET, never SIGPIPE: the
 *    runtime sets SIGPIPE to SIG_IGN at start if it was at its default, and
 *    mn_send/mn_sendmsg add MSG_NOSIGNAL.
 *  - mn_close(fd) while other Gs wait on fd: their calls return -EBADF.
 *    (As with close(2), a call that starts on fd after it is closed may
 *    reach whatever the number refers to next.)
 *  - O_NONBLOCK fds work too: the call still waits for readiness.
 *  - TCP sockets: with io_uring on kernel 6.0+ the second mn_recv arms one
 *    multishot receive that stays armed for the connection; later reads
 *    take from what it queued.  Close such a socket with mn_close: close(2)
 *    leaves the multishot (and the connection) until the fd number comes
 *    back through mn_accept, mn_connect or mn_close.
 *  - mn_pread/mn_pwrite with a negative offset: -EINVAL.
 *  - mn_poll is poll(2) for one fd (nfds 1; 0 just sleeps): 1 with
 *    revents set, 0 when timeout ms passed, -errno.
 *  - mn_splice advances *off_in / *off_out as splice(2) does.
 *
 * Deadlines and cancellation, per G (Go has them per connection):
 *  mn_io_set_deadline(d)  every later I/O call of this G fails with
 *                         -ETIMEDOUT once mn_now() reaches d (0: none);
 *                         returns the previous deadline.
 *  mn_io_set_ctx(ctx)     every later I/O call of this G fails with
 *                         mn_ctx_err(ctx) once ctx is cancelled, or with
 *                         -ETIMEDOUT at its deadline (NULL: none); returns
 *                         the previous context.
 * A call cut short is cancelled in the kernel (io_uring: a linked timeout,
 * IORING_OP_ASYNC_CANCEL); one that completed first keeps its result.  A
 * cancellation the kernel makes on its own (6.1 under SIGSTOP or signals)
 * is not passed on: the call is made again.
 */
ssize_t mn_read(int fd, void *buf, size_t count);
ssize_t mn_write(int fd, const void *buf, size_t count);
ssize_t mn_pread(int fd, void *buf, size_t count, off_t offset);
ssize_t mn_pwrite(int fd, const void *buf, size_t count, off_t offset);
ssize_t mn_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t mn_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t mn_recv(int fd, void *buf, size_t len, int flags);
ssize_t mn_send(int fd, const void *buf, size_t len, int flags);
ssize_t mn_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t mn_sendmsg(int fd, const struct msghdr *msg, int flags);
int mn_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int mn_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
int mn_close(int fd);
int mn_shutdown(int fd, int how);
int mn_openat(int dirfd, const char *path, int flags, mode_t mode);
int mn_fsync(int fd);
int mn_poll(struct pollfd *fds, nfds_t nfds, int timeout);
/* off_in/off_out as splice(2)'s loff_t pointers (NULL: the file position). */
ssize_t mn_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
		  size_t len, unsigned int flags);

uint64_t mn_io_set_deadline(uint64_t deadline_ns);
struct mn_ctx *mn_io_set_ctx(struct mn_ctx *ctx);
const char *mn_io_backend(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* MNSCHED_H */
