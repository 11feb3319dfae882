// SPDX-License-Identifier: MIT
/*
 * sysmon.c - the system monitor thread (Go's sysmon), not an M.
 *
 * Every tick (20 us, doubling up to 10 ms while nothing needs it) it:
 *  - retakes Ps whose M has been in a system call since the previous tick
 *    (the P's syscalltick has not moved) and hands them to another M, if
 *    there is work for them or the syscall has lasted over 10 ms;
 *  - flags the P of a time slice that has lasted more than 10 ms (the P's
 *    schedtick, which counts slices, has not moved; Gs taken from runnext
 *    run in the slice of the G before them): the G running yields at its
 *    next mn_* call or mn_preempt_point();
 *  - preempts the thread of a G that overran its slice while other work
 *    waits for its P, and hands off the P it gave up (preempt.c);
 *  - wakes an M when a P's timer is overdue and nobody looks;
 *  - warns, once, about a P whose G has sat in the kernel for seconds
 *    without mn_syscall_enter while other Gs wait for it (blocked_check);
 *  - gives the memory of idle cached stacks above the budget back to the
 *    kernel (mn_stack_scavenge, stack.c: a look per second, then a chunk
 *    per tick while there is more);
 *  - the safety net for stranded work: a P that has run one slice for
 *    10 ms with a G in its runnext.  The steal (runq.c) and the last look
 *    of an M that gives up its P (proc.c) should never leave work so while
 *    a P idles; if they did, sysmon moves runnext to the global queue and
 *    wakes an M, without waiting for "a P idle, no M spinning" to line up
 *    (see rescue_stranded), and counts it (mn_debug_stranded_wakes;
 *    MNSCHED_DEBUG=stranded=0 turns it off);
 *  - prints the schedtrace line (MNSCHED_DEBUG=schedtrace=MS).
 * sysmon reads P fields racily (ticks, queue lengths); a stale value only
 * delays a decision by one tick.  It changes a P only by CAS on its state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include "runtime.h"
#include "debug.h"
#include "sys.h"

struct psnap {
	uint64_t schedtick, syscalltick;
	uint64_t switches;		/* last value published to sh->switches */
	uint64_t schedwhen, syscallwhen;
	uint64_t blk_when;		/* blocked_check: when cpu was sampled */
	long blk_cpu;			/* the M's utime+stime then, -1 none */
};

static struct psnap *snaps;
static _Atomic uint64_t slice_flagged_ns;	/* mn_debug_slice_flagged_ns */

/*
 * A raw blocking system call (read(2) on a pipe, sleep(3), pthread_join)
 * made by a G without mn_syscall_enter keeps its P: at one P the other Gs
 * never run, and the program hangs without a word.  README forbids it;
 * sysmon says so once.  A P is suspect when it has run the same G for
 * MN_BLOCKED_WARN_NS with other Gs waiting (its queue, or the global one);
 * then its M's /proc/self/task/TID/stat is read twice, MN_BLOCKED_WARN_NS
 * apart: sleeping (S or D) and no CPU time used in between (a G that
 * computes is only preempted, see retake) means the G sits in the kernel.
 * Cost: nothing until a P is suspect, then two small reads per second.
 */
#define MN_BLOCKED_WARN_NS	(1000 * 1000 * 1000ull)
static bool blocked_warned;

/* The kernel tid of the M that holds p, 0 if unknown.  sched.lock keeps
 * allm still; an M on it may not have started yet, so its tid and kernel
 * id (written by its own thread) are read relaxed (TSan saw the race). */
pid_t mn_p_tid(struct mn_p *p)
{
	int32_t id = MN_SH_GET(p, m_id);
	pid_t tid = 0;

	mn_lock(&mn_sched.lock);
	for (struct mn_m *m = mn_sched.allm; m && !tid; m = m->alllink)
		if ((MN_RELAXED_GET(m->park.kid) >= 0 ?
		     MN_RELAXED_GET(m->park.kid) : m->id) == id)
			tid = MN_RELAXED_GET(m->tid);
	mn_unlock(&mn_sched.lock);
	return tid;
}

/* State letter and utime+stime (clock ticks) of thread tid; 0 on error. */
char mn_thread_stat(pid_t tid, long *cpu)
{
	char path[64], buf[1024], *p;
	long fd, n, v[2] = { 0, 0 };
	char state;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = mn_syscall6(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC,
			 0, 0, 0);
	if (fd < 0)
		return 0;
	n = mn_syscall3(SYS_read, fd, buf, sizeof(buf) - 1);
	mn_syscall3(SYS_close, fd, 0, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');		/* the command may hold spaces */
	if (!p || !p[1] || !p[2])
		return 0;
	state = p[2];
	/* Fields 14 and 15 (utime, stime); the space after ')' starts 3. */
	for (int field = 2; *p && field < 15; p++) {
		if (*p != ' ')
			continue;
		field++;
		if (field == 14 || field == 15)
			for (const char *q = p + 1; *q >= '0' && *q <= '9'; q++)
				v[field - 14] = v[field - 14] * 10 + (*q - '0');
	}
	*cpu = v[0] + v[1];
	return state;
}

static void blocked_check(struct mn_p *p, struct psnap *s, uint64_t now)
{
	pid_t tid;
	long cpu;
	char st;

	if (blocked_warned || now - s->schedwhen < MN_BLOCKED_WARN_NS ||
	    (mn_runqempty(p) && atomic_load(&mn_sched.runqsize) == 0)) {
		if (now - s->schedwhen < MN_BLOCKED_WARN_NS)
			s->blk_cpu = -1;
		return;
	}
	if (s->blk_cpu >= 0 && now - s->blk_when < MN_BLOCKED_WARN_NS)
		return;
	tid = mn_p_tid(p);
	st = tid ? mn_thread_stat(tid, &cpu) : 0;
	if (!st || (st != 'S' && st != 'D')) {
		s->blk_cpu = -1;	/* running or runnable: computing */
		return;
	}
	if (s->blk_cpu < 0 || cpu > s->blk_cpu + 1) {
		s->blk_cpu = cpu;	/* first sample, or it used the CPU since */
		s->blk_when = now;
		return;
	}
	blocked_warned = true;
	fprintf(stderr, "mnsched: goroutine %llu has been blocked in the kernel "
		"for %llu s on P %d (thread %d) while other goroutines wait for "
		"that P: a blocking system call made without mn_syscall_enter/"
		"mn_syscall_exit (or an mnsched I/O call) keeps its P from running "
		"them\n", (unsigned long long)MN_SH_GET(p, goid),
		(unsigned long long)((now - s->schedwhen) / 1000000000u), p->id,
		tid);
}

/*
 * p has run one time slice for 10 ms: a G in its runnext is stranded there
 * if another M could run it (only the owner takes runnext at once; thieves
 * only after the owner sat still for 3 us, which a P switching inside one
 * slice never does).  Move it to the global queue and wake an M when a P
 * is idle or an M spins.  Requiring "a P idle and no M spinning" (as first
 * written) let the net miss for good while an idle M's last looks toggled
 * both (rt_wakeup_stress failed so once under load): it takes its P back to
 * spin, gives it up, and so on, so one of the two always holds.  Not when
 * no P is idle and no M spins: the global queue is then read only when a
 * P's local queue runs dry or every 61st slice, and a P whose Gs keep
 * leaving and retaking it through system calls (the blocking I/O path)
 * starts no slice and never runs dry; a G moved there starved
 * (io_examples' loadclient hung, its main G in the global queue, when the
 * net moved Gs regardless).  Work in the queue proper needs only a
 * wake-up: any thief may take it.
 */
static void rescue_stranded(struct mn_p *p)
{
	struct mn_g *g;

	if (mn_sched.stranded_off || mn_runqempty(p) ||
	    atomic_load(&mn_sched.npidle) + atomic_load(&mn_sched.nmspinning) == 0)
		return;
	/*
	 * A thief may take runnext; sysmon may too (runq.c's rules).  Under
	 * sched.lock from the CAS to the global queue: sysmon is not an M,
	 * and an M going idle in that window (its P's runnext just emptied)
	 * ran checkdead under the lock, found the G in no queue and no M
	 * running, and declared a deadlock (rt_spawn's spawn_and_join_1000
	 * under TSan, once).
	 */
	mn_lock(&mn_sched.lock);
	g = atomic_load_explicit(&p->runnext, memory_order_relaxed);
	if (g && atomic_compare_exchange_strong_explicit(&p->runnext, &g, NULL,
			memory_order_acquire, memory_order_relaxed)) {
		mn_globrunqput(g);
		atomic_fetch_add(&mn_sched.stranded_wakes, 1);
	}
	mn_unlock(&mn_sched.lock);
	mn_wakep();
}

static int retake(uint64_t now)
{
	int n = 0;

	for (int i = 0; i < mn_sched.nprocs; i++) {
		struct mn_p *p = mn_sched.allp[i];
		struct psnap *s = &snaps[i];
		uint32_t st = mn_pstatus(p);
		uint64_t sw = MN_SH_GET(p, schedtick) + MN_RELAXED_GET(p->ninherit);

		/* The per-P switches counter: published here, at most one
		 * sysmon period late, instead of by a second store to the
		 * shared page at every G switch. */
		if (s->switches != sw) {
			s->switches = sw;
			MN_PCOUNT_SET(p, switches, sw);
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
			} else if (s->schedwhen + mn_sched.slice_ns <= now &&
				   !MN_RELAXED_GET(p->preempt)) {
				/* stamp first: a G that sees the flag sees it */
				atomic_store(&slice_flagged_ns, now);
				MN_RELAXED_SET(p->preempt, true);	/* cooperative: see mn_preempt_check */
				n++;
			}
			if (s->schedtick == t)
				blocked_check(p, s, now);
			if (s->schedtick == t &&
			    s->schedwhen + MN_PREEMPT_NS <= now)
				rescue_stranded(p);
			/* An overdue timer on a busy P: let a spinner run it. */
			if (mn_timers_next(p) >= 0 &&
			    mn_timers_next(p) < (int64_t)now - 1000000)
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
	uint64_t delay = 20000, lasttrace = 0, lastdead = 0;
	int idle = 0;

	(void)arg;
	MN_RELAXED_SET(mn_sched.sysmon_tid, (pid_t)mn_syscall3(SYS_gettid, 0, 0, 0));
	mn_block_signals_but_faults();
	for (;;) {
		struct timespec ts = { 0, (long)delay };
		uint64_t now;

		nanosleep(&ts, NULL);
		if (atomic_load(&mn_sched.done))
			return NULL;
		now = mn_nanotime();
		mn_debug_tick(now);	/* coarse clock, stall reports (debug.c) */
		/* An M a retiring thread could not start (newm, proc.c). */
		if (atomic_exchange(&mn_sched.wakep_deferred, false)) {
			mn_wakep();
			idle = 0;
		}
		if (retake(now) + mn_preempt_scan(now) ||
		    atomic_load(&mn_sched.ngsys) > 0 ||
		    mn_stack_scavenge(now))
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
		/* A P running: look at least every half slice (preempt.c). */
		if (!mn_sched.preempt_off && delay > mn_sched.slice_ns / 2 &&
		    atomic_load(&mn_sched.npidle) < mn_sched.nprocs)
			delay = mn_sched.slice_ns / 2;
		/* I/O in flight: reap rings nobody looked at (uring.c), and look
		 * at least every 5 ms so a busy P's completions wait <= 10 ms. */
		if (mn_io_sysmon(now) && delay > 5000000)
			delay = 5000000;
		/* Every G blocked while a plain thread lives (mn_checkdead):
		 * look again, so a deadlock left when it exits is reported. */
		if (atomic_load_explicit(&mn_sched.deadlock_recheck,
					 memory_order_relaxed) &&
		    now - lastdead >= 100000000) {
			lastdead = now;
			mn_checkdead_recheck();
		}
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

/* Test hook: when sysmon last asked a G to yield because its slice ran out
 * (0: never).  Lets a test tell that a yield came from that request without
 * timing the slice against its own clock, which a descheduled thread (a
 * loaded VM host) makes unreliable. */
__attribute__((visibility("default"))) uint64_t mn_debug_slice_flagged_ns(void);
uint64_t mn_debug_slice_flagged_ns(void)
{
	return atomic_load(&slice_flagged_ns);
}

/* Test hook: how often sysmon's safety net woke an M (0 when the steal and
 * the last look before parking did their job). */
__attribute__((visibility("default"))) uint64_t mn_debug_stranded_wakes(void);
uint64_t mn_debug_stranded_wakes(void)
{
	return atomic_load(&mn_sched.stranded_wakes);
}

int mn_sysmon_start(void)
{
	pthread_t t;
	pthread_attr_t attr;
	int err;

	snaps = calloc((size_t)mn_sched.nprocs, sizeof(*snaps));
	if (!snaps)
		return -ENOMEM;
	for (int i = 0; i < mn_sched.nprocs; i++)
		snaps[i].blk_cpu = -1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 << 10);
	err = pthread_create(&t, &attr, sysmon, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}
