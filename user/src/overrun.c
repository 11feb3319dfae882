// SPDX-License-Identifier: MIT
/*
 * overrun.c - how long has each P's G run without a G switch?
 *
 * The one place that answers it, for sysmon (through mn_debug_tick): stall
 * reports use it now; preemption can use the same scan.  A P's schedtick
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
		     void (*fn)(struct mn_p *p, uint64_t goid, uint64_t ran_ns,
				uint64_t tick, void *arg), void *arg)
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
			fn(p, goid, now - s->since, t, arg);
	}
}
