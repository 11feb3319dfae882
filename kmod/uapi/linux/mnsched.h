/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mnsched.h - user/kernel ABI of /dev/mnsched (mnsched.ko).
 *
 * Shared by kmod/ and by libmnsched (user/).  Only fixed-width types, no
 * pointers, the same layout on every architecture.
 */
#ifndef _UAPI_MNSCHED_H
#define _UAPI_MNSCHED_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MNSCHED_DEVICE		"/dev/mnsched"
/*
 * 2: struct mnsched_pstate's seq, documented but never written by the
 * runtime nor read by the module, became __pad1; MNSCHED_P_STOPPED (3),
 * never set, went.  The layout is unchanged.
 */
#define MNSCHED_ABI_VERSION	2
#define MNSCHED_MAX_P		256

/* P states: written by user space, read by the kernel (struct mnsched_pstate.state). */
#define MNSCHED_P_IDLE		0	/* no M holds it */
#define MNSCHED_P_RUNNING	1	/* an M holds it and runs Gs */
#define MNSCHED_P_SYSCALL	2	/* its M is in a system call: may be handed off */

/**
 * struct mnsched_pstate - one P, as shared between the runtime and the kernel
 * @__pad1: reserved (ABI 1's seq, never written)
 * @state: MNSCHED_P_* (user)
 * @m_id: kernel M id holding the P, -1 for none (user)
 * @runq_len: local run queue length (user)
 * @goid: id of the G running on it, 0 for none (user)
 * @schedtick: incremented when a time slice starts: at a G switch, except
 *	to a G that inherits the slice (taken from runnext) (user)
 * @syscalltick: incremented at every system call entry (user)
 * @timer0_ns: CLOCK_MONOTONIC deadline of the P's earliest timer, 0 for
 *	none (user; the module's preemption reads it, see MNSCHED_IOC_PREEMPT)
 * @preempt_req: schedtick + 1 of a slice whose overrun the runtime wants
 *	preempted although the module cannot see why (I/O in flight, the
 *	global queue) (user)
 * @__pad0: reserved
 * @switches: G switches (user space: published by sysmon from a per-P count)
 * @steals: Gs stolen by this P from others (user counter)
 * @parks: times this P's M parked idle (user counter)
 * @syscalls: mn_syscall_enter calls (user counter)
 * @handoffs: times this P was handed to another M (user or kernel)
 * @io_completions: io_uring completions reaped for this P (user counter)
 * @gcreates: Gs created on this P (user counter)
 * @preempts: times this P was taken from a G that overran its time slice
 *	(user counter; user/src/preempt.c)
 * @kseq: sequence number of kernel writes (odd while writing)
 * @blocked: 1 while the M holding the P is blocked in the kernel (kernel)
 * @blocked_since_ns: CLOCK_MONOTONIC time the M blocked (kernel)
 * @k_blocks: times the kernel saw the holding M block in SYSCALL state
 * @k_handoffs: times the kernel handed the P to a spare M
 * @k_preempts: times the kernel took the P from a G that overran its time
 *	slice (MNSCHED_IOC_PREEMPT)
 * @__pad2: reserved
 *
 * Each P has its own page; the struct sits at the start of the page.
 */
struct mnsched_pstate {
	/* cache line 0: user-written, hot */
	__u32 __pad1;
	__u32 state;
	__s32 m_id;
	__u32 runq_len;
	__u64 goid;
	__u64 schedtick;
	__u64 syscalltick;
	__u64 timer0_ns;
	__u64 preempt_req;
	__u64 __pad0[1];
	/* cache line 1: user-written counters */
	__u64 switches;
	__u64 steals;
	__u64 parks;
	__u64 syscalls;
	__u64 handoffs;
	__u64 io_completions;
	__u64 gcreates;
	__u64 preempts;		/* Ps taken from a G that overran its slice */
	/* cache line 2: kernel-written */
	__u32 kseq;
	__u32 blocked;
	__u64 blocked_since_ns;
	__u64 k_blocks;
	__u64 k_handoffs;
	__u64 k_preempts;
	__u64 __pad2[3];
} __attribute__((aligned(64)));

/**
 * struct mnsched_version - MNSCHED_IOC_VERSION result
 * @abi: MNSCHED_ABI_VERSION of the loaded module
 * @max_p: largest number of Ps CONFIG accepts
 * @max_m: per-group limit on registered Ms (module parameter)
 * @page_size: stride between two Ps' structs in the mapping
 */
struct mnsched_version {
	__u32 abi;
	__u32 max_p;
	__u32 max_m;
	__u32 page_size;
};

/**
 * struct mnsched_config - MNSCHED_IOC_CONFIG argument
 * @nr_p: number of Ps (1..max_p); may be set once per open file
 * @flags: must be 0
 * @mmap_size: out: bytes to mmap at offset 0 (nr_p pages)
 */
struct mnsched_config {
	__u32 nr_p;
	__u32 flags;
	__u64 mmap_size;
};

/**
 * struct mnsched_park - MNSCHED_IOC_PARK argument
 * @timeout_ns: relative timeout, < 0 waits forever
 * @flags: must be 0
 * @__pad: must be 0
 *
 * Token semantics: an UNPARK that arrives before the PARK is kept (at most
 * one) and makes the next PARK return at once.  Returns 0 when unparked,
 * -ETIMEDOUT, or -EINTR on a signal.
 */
struct mnsched_park {
	__s64 timeout_ns;
	__u32 flags;
	__u32 __pad;
};

/**
 * struct mnsched_swap - MNSCHED_IOC_SWAP argument
 * @target: M id to unpark
 * @flags: must be 0
 * @timeout_ns: then park the caller as PARK does
 *
 * When the caller runs alone on its CPU and the target may run elsewhere,
 * the target is woken once the caller has switched away, onto the caller's
 * CPU (a directed switch); otherwise it is woken at once.  Returns as PARK,
 * or -ESRCH (without parking) when the target does not exist.
 */
struct mnsched_swap {
	__u32 target;
	__u32 flags;
	__s64 timeout_ns;
};

/**
 * struct mnsched_spare - MNSCHED_IOC_SPARE argument
 * @timeout_ns: relative timeout, < 0 waits forever
 * @p: out: the P handed to the caller, or -1 when woken by UNPARK
 * @flags: must be 0
 *
 * The caller waits as a spare M (giving up any P it holds).  When an M
 * holding a P in state SYSCALL blocks, the kernel marks the P blocked and
 * hands it to one spare M, which returns with @p set; it must then take the
 * P with a compare-and-swap of its state from SYSCALL to RUNNING (the
 * blocked M may have won the race).  From then on the kernel counts the
 * spare as the P's holder (as after SET_P): if its compare-and-swap fails
 * it calls SET_P(-1), and a blocked M that wins its P back calls SET_P
 * again (pstate.k_handoffs tells it a handoff happened).  A P handed over
 * while no spare waits stays pending for the next SPARE call, unless its M
 * runs again first.  UNPARK wakes a spare M with @p = -1.
 */
struct mnsched_spare {
	__s64 timeout_ns;
	__s32 p;
	__u32 flags;
};

/*
 * The mark: one byte per M, in the M's own memory (the runtime keeps it in
 * thread-local storage), written by the thread itself and, while the
 * thread is stopped on its CPU, by the module.  Whether the thread runs
 * the runtime's code is not in it (struct mnsched_preempt says how the
 * module tells).  MNSCHED_MARK_IN is no longer read by the module.
 */
#define MNSCHED_MARK_IN		0x01	/* unused (was: in the runtime) */
#define MNSCHED_MARK_LOST	0x02	/* the P was taken from its G */
#define MNSCHED_MARK_KLOST	0x04	/* ... by the module (with LOST) */

#define MNSCHED_SLICE_MIN_NS	1000000ull		/* 1 ms */
#define MNSCHED_SLICE_MAX_NS	1000000000ull		/* 1 s */
#define MNSCHED_G_MARK_OFF_MAX	4096u

/**
 * struct mnsched_preempt - MNSCHED_IOC_PREEMPT argument
 * @mark: user address of the calling M's mark byte (MNSCHED_MARK_*)
 * @slice_ns: time slice, MNSCHED_SLICE_MIN_NS..MNSCHED_SLICE_MAX_NS, or 0
 *	to turn the module's preemption off for the calling M (then every
 *	other field but @flags and the paddings is ignored)
 * @flags: must be 0
 * @g_stack_off: offset in a G of its stack's bounds, two 8-byte words: the
 *	lowest usable byte, then the top (the runtime's g->stack_lo and
 *	g->stack_hi); 8-byte aligned, below MNSCHED_G_MARK_OFF_MAX
 * @text_start: start of the runtime's text (its code: __start_mn_text)
 * @text_end: its end, exclusive (__stop_mn_text); above @text_start
 * @curg: user address of the calling M's pointer to the G it runs (the
 *	runtime's m->curg: 8 bytes, 8-byte aligned)
 * @g0: the M's scheduler G: while *@curg is @g0 the thread runs the
 *	runtime (0: none)
 * @g_mark_off: offset of a G's mark byte in the G *@curg points to (the
 *	runtime's g->rt_mark, set around the runtime's calls out of its
 *	text), below MNSCHED_G_MARK_OFF_MAX
 * @p_id_off: offset of the P's index (32 bits) in the P *@m_p points to
 *	(the runtime's p->id), below MNSCHED_G_MARK_OFF_MAX
 * @m_p: user address of the M's pointer to its P (the runtime's m->p: 8
 *	bytes, 8-byte aligned; NULL while the M holds no P in state RUNNING,
 *	as during a system call)
 * @m_oldp: where the module saves *@m_p when it takes the P (m->oldp;
 *	likewise)
 *
 * From then on, when the calling M holds a P (*@m_p, and the page's
 *	m_id; SET_P is not needed, the runtime makes it lazily) in
 * state RUNNING whose schedtick has not moved for @slice_ns, while other
 * work waits for the P (its run queue, a timer due within a slice
 * (timer0_ns), or preempt_req naming that slice), and the thread runs the
 * program's code, the module, on the thread's own CPU while the thread is
 * interrupted: sets the mark to LOST | KLOST, copies *@m_p to *@m_oldp and
 * sets *@m_p to 0 (as the runtime's handler does: its hot entries test
 * m->p, not the mark), moves the P from RUNNING to
 * SYSCALL with a compare-and-swap (exactly what the runtime's
 * mn_syscall_enter does, so the P is then taken as any P in SYSCALL is: by
 * a spare M, the module hands it to one at once, or by the returning M),
 * stops counting the M as the P's holder (as SET_P(-1)), lowers the thread
 * to nice 19 (SCHED_NORMAL and SCHED_BATCH threads) and counts
 * pstate.k_preempts.  "The program's code", as the runtime's own signal
 * handler decides it: the interrupted user pc outside
 * [@text_start, @text_end), *@curg neither 0 nor @g0, that G's mark byte
 * 0, the mark's LOST bit clear, the thread's signal mask the one it had
 * when it called PREEMPT (so not in a signal handler, which may have
 * interrupted the runtime anywhere) and the user stack pointer inside that
 * G's stack (so not on an alternate signal stack).  The thread goes on
 * running where it was.  At its next runtime entry it sees KLOST in the mark, calls
 * REJOIN, then takes a P back as after a system call (and tells SET_P).
 */
struct mnsched_preempt {
	__u64 mark;
	__u64 slice_ns;
	__u32 flags;
	__u32 g_stack_off;
	__u64 text_start;
	__u64 text_end;
	__u64 curg;
	__u64 g0;
	__u32 g_mark_off;
	__u32 p_id_off;
	__u64 m_p;
	__u64 m_oldp;
};

#define MNSCHED_IOC_MAGIC	0xB5

/* Read the ABI version and limits. */
#define MNSCHED_IOC_VERSION	_IOR(MNSCHED_IOC_MAGIC, 0, struct mnsched_version)
/*
 * Every ioctl (and mmap) returns -EPERM from a process other than the
 * opener's, even one sharing its address space (vfork, CLONE_VM), and
 * after the opener's execve (a file belongs to the program that opened
 * it); -ENOTTY for an unknown command, -EINVAL for bad flags or indices,
 * -EFAULT for a bad pointer (a call that fails has no effect), -ESRCH when
 * the calling thread is not an M of this file (or a target M does not
 * exist), -ENOMEM also at the caller's memory cgroup limit.
 */

/* Set the number of Ps; allocates the P pages (-EBUSY the second time). */
#define MNSCHED_IOC_CONFIG	_IOWR(MNSCHED_IOC_MAGIC, 1, struct mnsched_config)
/*
 * The calling thread becomes an M; returns its id (>= 0; the same id again
 * for the same thread and file).  -EBUSY when the thread is an M of another
 * open file, -ENOSPC past the module's max_ms limit.  Ids are allocated
 * cyclically; an M is freed when its thread exits, unregisters or calls
 * execve() (the new program starts with no M).
 */
#define MNSCHED_IOC_REGISTER	_IO(MNSCHED_IOC_MAGIC, 2)
/* Park the calling M. */
#define MNSCHED_IOC_PARK	_IOW(MNSCHED_IOC_MAGIC, 3, struct mnsched_park)
/*
 * Unpark M id (the argument is the id itself, not a pointer).  The token is
 * given at once.  Called by an M, the wake-up of a target that may run only
 * on the caller's CPU waits for the caller to switch away, and at most the
 * module's unpark_defer_us (0: never waits).
 */
#define MNSCHED_IOC_UNPARK	_IO(MNSCHED_IOC_MAGIC, 4)
/* Unpark target and park self in one call. */
#define MNSCHED_IOC_SWAP	_IOW(MNSCHED_IOC_MAGIC, 5, struct mnsched_swap)
/*
 * Which P the calling M holds (argument: P index, or -1 for none).  A P
 * has one holder in the kernel's view: setting it takes it from its
 * previous holder.  Only a held P in state SYSCALL is handed off.
 */
#define MNSCHED_IOC_SET_P	_IO(MNSCHED_IOC_MAGIC, 6)
/* Wait to be handed a P. */
#define MNSCHED_IOC_SPARE	_IOWR(MNSCHED_IOC_MAGIC, 7, struct mnsched_spare)
/* The calling thread stops being an M (its P, if any, is released). */
#define MNSCHED_IOC_UNREGISTER	_IO(MNSCHED_IOC_MAGIC, 8)
/*
 * Preempt the calling M's overrunning Gs in the kernel (struct
 * mnsched_preempt).  -EINVAL for flags, padding, a slice out of range, a
 * mark, @curg, @m_p or @m_oldp address that is not a user address, an empty text range
 * or one outside user addresses, a G mark or P index offset out of range; -ESRCH when the caller is not
 * an M.  A module without it returns -ENOTTY: the runtime then preempts
 * with its own signal.
 */
#define MNSCHED_IOC_PREEMPT	_IOW(MNSCHED_IOC_MAGIC, 9, struct mnsched_preempt)
/*
 * The calling M, which the module preempted (its mark says KLOST), gets
 * back the nice value it had (unless it was changed meanwhile) and the
 * module stops offering its old P to spare Ms.  The argument must be 0
 * (-EINVAL); 0 when there was nothing to undo too; -ESRCH when the caller
 * is not an M.
 */
#define MNSCHED_IOC_REJOIN	_IO(MNSCHED_IOC_MAGIC, 10)

#endif /* _UAPI_MNSCHED_H */
