/* SPDX-License-Identifier: MIT */
/*
 * probes.h - USDT probe sites, provider "mnsched".
 *
 * MN_PROBE(name, args...) marks a scheduler event named after Go's trace
 * events.  Each probe is a SystemTap SDT note (sys/sdt.h: a nop at the site,
 * its argument locations in .note.stapsdt, shown by `readelf -n`) guarded by
 * a semaphore, an unsigned short in the .probes section that tracers
 * increment while they are attached (the kernel's uprobe reference counter,
 * as libbpf and bpftrace use it).  With nothing attached a probe site costs
 * one load and a not-taken branch; its arguments are not even computed.
 *
 * Probes and their arguments (all integers; goid 0 = no G):
 *   g_create(goid, parent)        a G was created by G parent
 *   g_start(goid, p, m)           G starts (or resumes) running on P p, M m
 *   g_park(goid, reason)          G blocks; reason is enum mn_waitreason
 *   g_unblock(goid, by_goid)      G made runnable by G by_goid
 *   g_exit(goid)                  G finished
 *   proc_start(p, m) / proc_stop(p, m)   M m acquires / releases P p
 *   steal(from_p, to_p, n)        P to_p stole n Gs from P from_p
 *   syscall_enter(goid, p) / syscall_exit(goid, p)
 *   handoff(p, from_m, to_m)      P taken from blocked M from_m (to_m -1: none yet)
 *   io_submit(goid, op, res) / io_complete(goid, op, res)   io_uring
 *   m_park(m) / m_unpark(m)       M m parks idle / is woken
 *   g_preempt(goid, p, m, ran_ns) G overran its slice by ran_ns: M m gave
 *                                 P p up and runs it demoted (preempt.c)
 *
 * Build with -DMN_NO_PROBES for a library without any probe (the overhead
 * benchmark's baseline).
 */
#ifndef MN_PROBES_H
#define MN_PROBES_H

#ifdef MN_NO_PROBES

#define MN_PROBE(name, ...) do { } while (0)

#else

#define _SDT_HAS_SEMAPHORES 1
#define SDT_USE_VARIADIC 1
#include <sys/sdt.h>

/* One semaphore per probe, defined in probes.c.  The list is the contract
 * with the tools (bpf/, tools/) and the README's bpftrace lines. */
#define MN_PROBES_LIST(X)						\
	X(g_create) X(g_start) X(g_park) X(g_unblock) X(g_exit)		\
	X(proc_start) X(proc_stop) X(steal) X(syscall_enter)		\
	X(syscall_exit) X(handoff) X(io_submit) X(io_complete)		\
	X(m_park) X(m_unpark) X(g_preempt)

#define MN_PROBE_SEM_DECLARE(name)					\
	extern unsigned short mnsched_##name##_semaphore		\
		__attribute__((visibility("hidden")));
MN_PROBES_LIST(MN_PROBE_SEM_DECLARE)
#undef MN_PROBE_SEM_DECLARE

/*
 * A plain load, as sys/sdt.h's and dtrace -h's _ENABLED() macros do: it
 * folds into one cmpw $0,sem(%rip) + jne.  The compiler reloads it after
 * every call it cannot see into, so a tracer that attaches meanwhile is
 * seen at the next probe site at the latest.
 */
#define MN_PROBE_ENABLED(name)						\
	__builtin_expect(mnsched_##name##_semaphore, 0)

#define MN_PROBE(name, ...) do {					\
	if (MN_PROBE_ENABLED(name))					\
		STAP_PROBEV(mnsched, name, __VA_ARGS__);		\
} while (0)

#endif /* MN_NO_PROBES */

#endif /* MN_PROBES_H */
