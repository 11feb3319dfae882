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
/* Freeing a channel that has blocked Gs aborts. NULL is ignored. */
void mn_chan_free(struct mn_chan *c);
size_t mn_chan_len(struct mn_chan *c);
size_t mn_chan_cap(struct mn_chan *c);

/* ---- time --------------------------------------------------------------- */

/* Sleep the calling G (not its M) for at least ns nanoseconds. */
void mn_sleep(uint64_t ns);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mn_now(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* MNSCHED_H */
