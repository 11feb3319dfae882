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
 * The probes and their arguments are listed once, in probe_defs.h
 * (MN_PROBE_DEFS); every MN_PROBE site is checked at compile time to pass
 * as many arguments as the list says.  What each one means:
 *   g_create      a G was created by G parent
 *   g_start       G starts (or resumes) running on P p, M m
 *   g_park        G blocks; reason is enum mn_waitreason
 *   g_unblock     G made runnable by G by_goid
 *   g_exit        G finished
 *   proc_start / proc_stop    M m acquires / releases P p
 *   steal         P to_p stole n Gs from P from_p
 *   syscall_enter / syscall_exit
 *   handoff       P taken from blocked M from_m (to_m -1: none yet)
 *   io_submit / io_complete   io_uring op and result
 *   m_park / m_unpark         M m parks idle / is woken
 *   g_preempt     G overran its slice by ran_ns: M m gave P p up and runs
 *                 it demoted (preempt.c)
 *
 * Build with -DMN_NO_PROBES for a library without any probe (the overhead
 * benchmark's baseline).
 */
#ifndef MN_PROBES_H
#define MN_PROBES_H

#include "probe_defs.h"

/* Argument counts, for the check in MN_PROBE. */
enum {
#define MN_PROBE_NARGS_ENUM(NAME, name, nargs, args) mn_probe_nargs_##name = nargs,
	MN_PROBE_DEFS(MN_PROBE_NARGS_ENUM)
#undef MN_PROBE_NARGS_ENUM
};
#define MN_PROBE_NARGS(...) MN_PROBE_NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define MN_PROBE_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define MN_PROBE_CHECK(name, ...)					\
	_Static_assert(MN_PROBE_NARGS(__VA_ARGS__) == mn_probe_nargs_##name, \
		       "mnsched:" #name ": the argument count of probe_defs.h")

#ifdef MN_NO_PROBES

#define MN_PROBE(name, ...) do {					\
	MN_PROBE_CHECK(name, __VA_ARGS__);				\
} while (0)

#else

#define _SDT_HAS_SEMAPHORES 1
#define SDT_USE_VARIADIC 1
#include <sys/sdt.h>

/* One semaphore per probe of probe_defs.h, defined in probes.c. */
#define MN_PROBE_SEM_DECLARE(NAME, name, nargs, args)			\
	extern unsigned short mnsched_##name##_semaphore		\
		__attribute__((visibility("hidden")));
MN_PROBE_DEFS(MN_PROBE_SEM_DECLARE)
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
	MN_PROBE_CHECK(name, __VA_ARGS__);				\
	if (MN_PROBE_ENABLED(name))					\
		STAP_PROBEV(mnsched, name, __VA_ARGS__);		\
} while (0)

#endif /* MN_NO_PROBES */

#endif /* MN_PROBES_H */
