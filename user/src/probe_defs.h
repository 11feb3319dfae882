/* SPDX-License-Identifier: MIT */
/*
 * probe_defs.h - the wait reasons and the USDT probes of provider
 * "mnsched", each written once, as X-macros, for everything that names
 * them: the library (enum mn_waitreason and its strings, the probe
 * semaphores, MN_PROBE's argument count check), the tools and the BPF
 * programs (tools/mnsched-util.c's reason names, mnsched-trace's event
 * types and names) and the README (its probe table and wait-reason list
 * are checked against this file by tools/check-defs.py at every build).
 *
 * Plain preprocessor text only: it is included by C, by BPF C and read by
 * a script.  The order is the ABI: a wait reason's number is the g_park
 * probe's second argument, so append; never renumber.
 */
#ifndef MN_PROBE_DEFS_H
#define MN_PROBE_DEFS_H

/* X(NAME, "name as Go prints it"): enum mn_waitreason's MN_WAIT_NAME. */
#define MN_WAITREASONS(X)						\
	X(NONE, "running")						\
	X(CHAN_SEND, "chan send")					\
	X(CHAN_RECV, "chan receive")					\
	X(SELECT, "select")						\
	X(SELECT_NO_CASES, "select (no cases)")				\
	X(SLEEP, "sleep")						\
	X(MUTEX, "sync.Mutex.Lock")					\
	X(RWMUTEX, "sync.RWMutex")					\
	X(COND, "sync.Cond.Wait")					\
	X(WG, "sync.WaitGroup.Wait")					\
	X(SEM, "semacquire")						\
	X(ONCE, "sync.Once")						\
	X(IO, "IO wait")						\
	X(CTX, "context")						\
	X(GLOBAL_QUEUE, "runnable")	/* lost its P leaving a syscall */

/*
 * X(NAME, name, nargs, "arguments"): probe mnsched:name takes nargs
 * integer arguments, named as listed (goid 0 = no G; reason is an enum
 * mn_waitreason; op an io_uring opcode; -1 for an M or P: none).
 */
#define MN_PROBE_DEFS(X)						\
	X(G_CREATE, g_create, 2, "goid, parent")			\
	X(G_START, g_start, 3, "goid, p, m")				\
	X(G_PARK, g_park, 2, "goid, reason")				\
	X(G_UNBLOCK, g_unblock, 2, "goid, by_goid")			\
	X(G_EXIT, g_exit, 1, "goid")					\
	X(PROC_START, proc_start, 2, "p, m")				\
	X(PROC_STOP, proc_stop, 2, "p, m")				\
	X(STEAL, steal, 3, "from_p, to_p, n")				\
	X(SYSCALL_ENTER, syscall_enter, 2, "goid, p")			\
	X(SYSCALL_EXIT, syscall_exit, 2, "goid, p")			\
	X(HANDOFF, handoff, 3, "p, from_m, to_m")			\
	X(IO_SUBMIT, io_submit, 3, "goid, op, res")			\
	X(IO_COMPLETE, io_complete, 3, "goid, op, res")			\
	X(M_PARK, m_park, 1, "m")					\
	X(M_UNPARK, m_unpark, 1, "m")					\
	X(G_PREEMPT, g_preempt, 4, "goid, p, m, ran_ns")

#endif /* MN_PROBE_DEFS_H */
