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
 *
 * A G whose thread lost the P keeps running the same slice: the signal
 * handler says so in its M (lostp, slice_start...); the module, which
 * writes only the thread's mark (MN_RT_KLOST), is seen through m->kmark.
 * Its run is the one sysmon last saw that G run on the P (so a stall
 * reported while the G held the P is not reported again once the module
 * has taken it); failing that, the module took the P a slice after the
 * slice began at the earliest, so such a G has run at least a slice when
 * sysmon first sees the mark.
 */
#include <stdlib.h>
#include "runtime.h"
#include "debug.h"

struct ovsnap {
	uint64_t tick;
	uint64_t since;		/* 0: not running a G when last seen */
	uint64_t goid;
	/* The run before (ended by a G switch, or by the P leaving RUNNING,
	 * as when the module takes it): a G the module demoted goes on with
	 * that run, and its stall is that run's (kernel_demoted()). */
	uint64_t ptick, psince, pgoid;
};

static struct ovsnap *snaps;

/* The run that ended on snapshot s: remember it. */
static void run_ended(struct ovsnap *s)
{
	if (!s->since)
		return;
	s->ptick = s->tick;
	s->psince = s->since;
	s->pgoid = s->goid;
	s->since = 0;
}

/* M m, if the module took its G's P (its mark says KLOST): report that G
 * once it has run min_ns. */
static void kernel_demoted(struct mn_m *m, uint64_t now, uint64_t min_ns,
			   void (*fn)(struct mn_p *p, struct mn_m *m,
				      uint64_t goid, uint64_t ran_ns,
				      uint64_t tick, void *arg),
			   void *arg)
{
	volatile uint8_t *mark = __atomic_load_n(&m->kmark, __ATOMIC_ACQUIRE);
	struct mn_g *g;
	struct mn_p *p;
	uint64_t goid, run;
	uint8_t mk;

	/* The mark is in the M's thread-local storage: read as a dump reads
	 * (an M whose thread retired has none left). */
	if (!mark || __atomic_load_n(&m->dead, __ATOMIC_ACQUIRE) ||
	    mn_safe_read(&mk, (uint64_t)(uintptr_t)mark, 1) ||
	    !(mk & MN_RT_KLOST))
		return;
	/* m->oldp: written by the module just after the mark, NULL before
	 * (a look in between finds none and the next one reports); m->curg:
	 * by the M before it ran the G.  The G may end once the M rejoins,
	 * so its goid is read as a dump reads it. */
	p = __atomic_load_n(&m->oldp, __ATOMIC_RELAXED);
	g = __atomic_load_n(&m->curg, __ATOMIC_RELAXED);
	if (!p || !g || mn_safe_read(&goid, (uint64_t)(uintptr_t)&g->goid,
				     sizeof(goid)) || !goid)
		return;
	/* One demotion: its P and that P's count of the module's takes
	 * (two demotions may come closer together than two sysmon looks);
	 * bit 63 keeps it apart from the schedticks that name a P's runs. */
	run = 1ull << 63 | (uint64_t)p->id << 48 | MN_SH_GET(p, k_preempts);
	if (!m->kseen_ns || m->kseen_run != run) {
		struct ovsnap *s = &snaps[p->id];

		m->kseen_run = run;
		/* The run the module cut short, as sysmon last saw it on the
		 * P: the same run, the same stall (reported once, whichever
		 * side sees it first).  Else it began a slice ago at least. */
		if (s->since && s->goid == goid) {	/* page not moved yet */
			m->kseen_ns = s->since;
			m->kseen_tick = s->tick;
		} else if (s->psince && s->pgoid == goid) {
			m->kseen_ns = s->psince;
			m->kseen_tick = s->ptick;
		} else {
			m->kseen_ns = now - mn_sched.slice_ns;
			m->kseen_tick = run;
		}
	}
	if (now - m->kseen_ns >= min_ns)
		fn(p, m, goid, now - m->kseen_ns, m->kseen_tick, arg);
}

void mn_overrun_scan(uint64_t now, uint64_t min_ns, bool demoted,
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
			run_ended(s);
			continue;
		}
		t = MN_SH_GET(p, schedtick);
		goid = MN_SH_GET(p, goid);
		if (!s->since || s->tick != t) {
			run_ended(s);	/* no-op when no run was seen */
			s->tick = t;
			s->since = now;
			s->goid = goid;
			continue;
		}
		if (goid && now - s->since >= min_ns)
			fn(p, NULL, goid, now - s->since, t, arg);
	}
	/* Gs whose thread lost the P (preempt.c): still the same run. */
	if (!demoted)
		return;
	if (atomic_load(&mn_sched.ndemoted) == 0 &&
	    !atomic_load_explicit(&mn_sched.kpreempt, memory_order_relaxed))
		return;
	mn_lock(&mn_sched.lock);
	for (struct mn_m *m = mn_sched.allm; m; m = m->alllink) {
		struct mn_p *p;
		uint64_t since, goid;

		if (!__atomic_load_n(&m->lostp, __ATOMIC_ACQUIRE)) {
			kernel_demoted(m, now, min_ns, fn, arg);
			continue;
		}
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
