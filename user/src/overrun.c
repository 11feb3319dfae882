// SPDX-License-Identifier: MIT
/*
 * overrun.c - how long has each P's G run without a G switch?
 *
 * The one place that answers it, for sysmon (through mn_debug_tick): stall
 * reports and preemption (preempt.c) use it.  A P's schedtick
 * moves at every G switch (publish_running, proc.c); sysmon notes the time
 * it first saw each value, so "ran" is at most one sysmon tick short.  A P
 * that leaves state RUNNING (idle, or its G in mn_syscall_enter) starts
 * over: a system call through the runtime counts as entering it.
 * sysmon is the only caller: the snapshots need no lock.
 */
#include <stdlib.h>
#include "runtime.h"
#include "debug.h"

struct ovsnap {
	uint64_t tick;
	uint64_t since;		/* 0: not running a G when last seen */
};

static struct ovsnap *snaps;

void mn_overrun_scan(uint64_t now, uint64_t min_ns,
		     void (*fn)(struct mn_p *p, struct mn_m *m, uint64_t goid,
				uint64_t ran_ns, uint64_t tick, void *arg),
		     void *arg)
{
	if (!snaps) {
		snaps = calloc((size_t)mn_sched.nprocs, sizeof(*snaps));
		if (!snaps)
			return;
	}
	for (int i = 0; i < mn_sched.nprocs; i++) {
		struct mn_p *p = mn_sched.allp[i];
		struct ovsnap *s = &snaps[i];
		uint64_t t, goid;

		if (mn_pstatus(p) != MNSCHED_P_RUNNING) {
			s->since = 0;
			continue;
		}
		t = MN_SH_GET(p, schedtick);
		goid = MN_SH_GET(p, goid);
		if (!s->since || s->tick != t) {
			s->tick = t;
			s->since = now;
			continue;
		}
		if (goid && now - s->since >= min_ns)
			fn(p, NULL, goid, now - s->since, t, arg);
	}
	/* Gs whose thread lost the P (preempt.c): still the same run. */
	if (atomic_load(&mn_sched.ndemoted) == 0)
		return;
	mn_lock(&mn_sched.lock);
	for (struct mn_m *m = mn_sched.allm; m; m = m->alllink) {
		struct mn_p *p;
		uint64_t since, goid;

		if (!__atomic_load_n(&m->lostp, __ATOMIC_ACQUIRE))
			continue;
		/* Written by its handler before lostp (not m->curg, which the
		 * M writes without a barrier once it has rejoined). */
		p = __atomic_load_n(&m->oldp, __ATOMIC_RELAXED);
		goid = __atomic_load_n(&m->demoted_goid, __ATOMIC_RELAXED);
		since = __atomic_load_n(&m->slice_start, __ATOMIC_RELAXED);
		if (p && goid && since && now - since >= min_ns)
			fn(p, m, goid, now - since,
			   __atomic_load_n(&m->lost_tick, __ATOMIC_RELAXED), arg);
	}
	mn_unlock(&mn_sched.lock);
}
