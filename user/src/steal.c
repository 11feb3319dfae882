// SPDX-License-Identifier: MIT
/*
 * steal.c - work stealing between Ps.
 *
 * A spinning M with a P and nothing to run visits the other Ps in a random
 * order (a random start and a stride coprime with nprocs, as Go's
 * randomOrder), MN_STEAL_PASSES times, and takes half of the first non-empty
 * victim's queue.  On the last pass it also runs other Ps' due timers and
 * may take a victim's runnext.
 *
 * Invariant: only the thief's own P's queue is written here (its owner is
 * the calling M); victims are touched only through mn_runqgrab's CAS.
 */
#include "runtime.h"

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Steal half of victim's queue into p's; returns one G to run. */
static struct mn_g *runqsteal(struct mn_p *p, struct mn_p *victim,
			      bool steal_runnext)
{
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	uint32_t n = mn_runqgrab(victim, (struct mn_g **)p->runq, t,
				 steal_runnext);
	struct mn_g *g;

	if (n == 0)
		return NULL;
	n--;
	g = atomic_load_explicit(&p->runq[(t + n) % MN_RUNQ_SIZE],
				 memory_order_relaxed);
	if (n)
		atomic_store_explicit(&p->runqtail, t + n, memory_order_release);
	MN_PCOUNT(p, steals);
	MN_PROBE(steal, victim->id, p->id, n + 1);
	return g;
}

struct mn_g *mn_steal_work(struct mn_m *m, bool *ran_timers)
{
	struct mn_p *p = m->p;
	uint32_t np = (uint32_t)mn_sched.nprocs;

	*ran_timers = false;
	if (np == 1)
		return NULL;
	for (int pass = 0; pass < MN_STEAL_PASSES; pass++) {
		bool last = pass == MN_STEAL_PASSES - 1;
		uint32_t r = mn_fastrand(&m->fastrand);
		uint32_t start = r % np, stride;

		/* A stride coprime with np visits every P once. */
		stride = (r >> 16) % np + 1;
		while (gcd(stride, np) != 1)
			stride = stride % np + 1;
		for (uint32_t i = 0, k = start; i < np; i++, k = (k + stride) % np) {
			struct mn_p *v = mn_sched.allp[k];
			struct mn_g *g;

			if (v == p)
				continue;
			if (last && mn_timers_next(v) >= 0) {
				/* Run v's due timers: they ready Gs into our P
				 * (the caller looks at its queue again). */
				mn_timers_run(v, mn_nanotime());
				*ran_timers = true;
				if (!mn_runqempty(p)) {
					g = mn_runqget(p, NULL);
					if (g)
						return g;
				}
			}
			if (!mn_runqempty(v)) {
				g = runqsteal(p, v, last);
				if (g)
					return g;
			}
		}
	}
	return NULL;
}
