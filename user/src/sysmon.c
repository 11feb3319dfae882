// SPDX-License-Identifier: MIT
/*
 * sysmon.c - the system monitor thread (Go's sysmon), not an M.
 *
 * Every tick (20 us, doubling up to 10 ms while nothing needs it) it:
 *  - retakes Ps whose M has been in a system call since the previous tick
 *    (the P's syscalltick has not moved) and hands them to another M, if
 *    there is work for them or the syscall has lasted over 10 ms;
 *  - flags the P of a G that has run for more than 10 ms (the P's
 *    schedtick has not moved): that G yields at its next mn_* call or
 *    mn_preempt_point();
 *  - wakes an M when a P's timer is overdue and nobody looks;
 *  - prints the schedtrace line (MNSCHED_DEBUG=schedtrace=MS).
 * sysmon reads P fields racily (ticks, queue lengths); a stale value only
 * delays a decision by one tick.  It changes a P only by CAS on its state.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runtime.h"
#include "debug.h"

struct psnap {
	uint64_t schedtick, syscalltick;
	uint64_t switches;		/* last value published to sh->switches */
	uint64_t schedwhen, syscallwhen;
};

static struct psnap *snaps;

static int retake(uint64_t now)
{
	int n = 0;

	for (int i = 0; i < mn_sched.nprocs; i++) {
		struct mn_p *p = mn_sched.allp[i];
		struct psnap *s = &snaps[i];
		uint32_t st = mn_pstatus(p);
		uint64_t ticks = MN_SH_GET(p, schedtick);

		/* The per-P switches counter counts what schedtick counts:
		 * published here, at most one sysmon period late, instead of
		 * by a second store at every G switch. */
		if (s->switches != ticks) {
			s->switches = ticks;
			MN_PCOUNT_SET(p, switches, ticks);
		}

		if (st == MNSCHED_P_SYSCALL) {
			uint64_t t = MN_SH_GET(p, syscalltick);

			if (s->syscalltick != t) {
				s->syscalltick = t;
				s->syscallwhen = now;
				continue;
			}
			/* Nothing waits for the P and it was only briefly in
			 * the syscall: leave it, the M comes back fast. */
			if (mn_runqempty(p) &&
			    atomic_load(&mn_sched.nmspinning) +
			    atomic_load(&mn_sched.npidle) > 0 &&
			    s->syscallwhen + MN_PREEMPT_NS > now)
				continue;
			if (mn_pstatus_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_IDLE)) {
				MN_PROBE(handoff, p->id, MN_SH_GET(p, m_id), -1);
				MN_SH_SET(p, m_id, -1);
				mn_handoffp(p);
				n++;
			}
		} else if (st == MNSCHED_P_RUNNING) {
			uint64_t t = MN_SH_GET(p, schedtick);

			if (s->schedtick != t) {
				s->schedtick = t;
				s->schedwhen = now;
			} else if (s->schedwhen + MN_PREEMPT_NS <= now &&
				   !MN_RELAXED_GET(p->preempt)) {
				MN_RELAXED_SET(p->preempt, true);	/* cooperative: see mn_preempt_check */
				n++;
			}
			/* An overdue timer on a busy P: let a spinner run it. */
			if (mn_timers_next(p) >= 0 &&
			    mn_timers_next(p) + 1000000 < (int64_t)now)
				mn_wakep();
		}
	}
	return n;
}

static void schedtrace(uint64_t now)
{
	char line[4096];
	int len, idle = 0, runq, threads, idlethreads;

	for (int i = 0; i < mn_sched.nprocs; i++)
		if (mn_pstatus(mn_sched.allp[i]) == MNSCHED_P_IDLE)
			idle++;
	runq = atomic_load(&mn_sched.runqsize);
	mn_lock(&mn_sched.lock);
	threads = mn_sched.mcount + 1;	/* + sysmon */
	idlethreads = mn_sched.nmidle;
	mn_unlock(&mn_sched.lock);
	len = snprintf(line, sizeof(line),
		       "SCHED %llums: procs=%d idleprocs=%d threads=%d spinning=%d "
		       "idlethreads=%d runqueue=%d [",
		       (unsigned long long)((now - (uint64_t)mn_sched.start_ns) / 1000000),
		       mn_sched.nprocs, idle, threads,
		       atomic_load(&mn_sched.nmspinning), idlethreads, runq);
	for (int i = 0; i < mn_sched.nprocs && len < (int)sizeof(line) - 16; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%u",
				i ? " " : "", mn_runqlen(mn_sched.allp[i]));
	snprintf(line + len, sizeof(line) - (size_t)len, "]\n");
	fputs(line, stderr);
	if (mn_sched.scheddetail) {
		for (int i = 0; i < mn_sched.nprocs; i++) {
			struct mn_p *p = mn_sched.allp[i];

			fprintf(stderr, "  P%d: status=%u schedtick=%llu syscalltick=%llu "
				"m=%d runqsize=%u goid=%llu\n", i, mn_pstatus(p),
				(unsigned long long)MN_SH_GET(p, schedtick),
				(unsigned long long)MN_SH_GET(p, syscalltick),
				MN_SH_GET(p, m_id), mn_runqlen(p),
				(unsigned long long)MN_SH_GET(p, goid));
		}
	}
}

static void *sysmon(void *arg)
{
	uint64_t delay = 20000, lasttrace = 0;
	int idle = 0;
	sigset_t set;

	(void)arg;
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		struct timespec ts = { 0, (long)delay };
		uint64_t now;

		nanosleep(&ts, NULL);
		if (atomic_load(&mn_sched.done))
			return NULL;
		now = mn_nanotime();
		mn_debug_tick(now);	/* coarse clock, stall reports (debug.c) */
		if (retake(now) || atomic_load(&mn_sched.ngsys) > 0)
			idle = 0;
		else
			idle++;
		/* 20 us while busy; after 1 ms of nothing, double up to 10 ms. */
		if (idle > 50 && delay < 10000000)
			delay *= 2;
		else if (idle == 0)
			delay = 20000;
		if (delay > 10000000)
			delay = 10000000;
		/* I/O in flight: reap rings nobody looked at (uring.c), and look
		 * at least every 5 ms so a busy P's completions wait <= 10 ms. */
		if (mn_io_sysmon(now) && delay > 5000000)
			delay = 5000000;
		if (mn_sched.schedtrace_ms > 0) {
			uint64_t period = (uint64_t)mn_sched.schedtrace_ms * 1000000;

			if (delay > period / 2)
				delay = period / 2 ? period / 2 : 20000;
			if (now - lasttrace >= period) {
				lasttrace = now;
				schedtrace(now);
			}
		}
	}
	return NULL;
}

int mn_sysmon_start(void)
{
	pthread_t t;
	pthread_attr_t attr;
	int err;

	snaps = calloc((size_t)mn_sched.nprocs, sizeof(*snaps));
	if (!snaps)
		return -ENOMEM;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 << 10);
	err = pthread_create(&t, &attr, sysmon, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}

void mn_sysmon_wake(void)
{
}
