/* SPDX-License-Identifier: MIT */
/*
 * debug.h - G dumps, stall reports, stacks, labels and what tools read.
 *
 *   debug.c    MNSCHED_DEBUG=dump=SIGNAL and stall=MS, the debug thread,
 *              the G dump (also the deadlock report's), mn_debug_info
 *   overrun.c  which P's G has run how long without a switch (sysmon)
 *   unwind.c   stacks of Gs from their saved registers, symbolized with
 *              libdw (dlopen'ed) or, without it, frame pointers and dladdr
 *   labels.c   mn_set_label: per-G pprof labels
 *
 * None of it is on a scheduling hot path: a park stores mn_debug_now in
 * g->waitsince, a spawn stores its caller's address in g->gopc and copies
 * the parent's labels only when it has some.
 */
#ifndef MN_DEBUG_H
#define MN_DEBUG_H

#include <stdio.h>
#include <stdint.h>
#include "runtime.h"

/* ---- labels (labels.c); the layout is read by mnsched-prof's BPF ---- */

#define MN_LABELS_MAX	8
#define MN_LABEL_KEY	32	/* bytes with the NUL */
#define MN_LABEL_VALUE	64

struct mn_label {
	char key[MN_LABEL_KEY];
	char value[MN_LABEL_VALUE];
};

/* Immutable once published in g->labels; id names the content (a copy
 * inherited by a child keeps it). */
struct mn_labelset {
	uint64_t id;
	uint32_t n;
	uint32_t __pad;
	struct mn_label kv[MN_LABELS_MAX];
};

MN_HIDDEN void mn_labels_inherit(struct mn_g *g, const struct mn_g *parent);
MN_HIDDEN void mn_labels_drop(struct mn_g *g);

#include "debug_info.h"

extern struct mn_debug_info mn_debug_info;

/* Coarse CLOCK_MONOTONIC ns, updated by sysmon every tick (20 us .. 10 ms). */
extern _Atomic uint64_t mn_debug_now MN_HIDDEN;

/* stack.c: where the G arenas are, for mn_debug_info (debug.c). */
MN_HIDDEN void mn_stack_debug_layout(struct mn_debug_info *d);

/* ---- debug.c ---- */

/* One MNSCHED_DEBUG token "key=value": 1 not ours, 0 taken, -EINVAL bad. */
MN_HIDDEN int mn_debug_setting(const char *key, const char *value);
/* mn_main, after sysmon: the debug thread, signal handlers. */
MN_HIDDEN int mn_debug_start(void);
/* sysmon, every tick. */
MN_HIDDEN void mn_debug_tick(uint64_t now);
/* Every G with its stack, then (ms_ps) the Ms and Ps. */
MN_HIDDEN void mn_debug_dump(FILE *f, bool ms_ps);

/* ---- overrun.c ---- */

/*
 * Called by mn_debug_tick and mn_preempt_scan: for each P running a G, how
 * long that G has run without a G switch (the P's schedtick unchanged), at
 * sysmon's resolution.  fn(p, NULL, goid, ran_ns, tick, arg) is called for
 * every such P whose G has run at least min_ns; tick identifies the run
 * (fn can report it once).  Then, with demoted, the same for each G that
 * runs demoted on an M without a P (preempted by the signal handler or the
 * module, preempt.c), with that M and p its old P: its run goes on, so
 * ran_ns counts from the start of its slice.
 */
MN_HIDDEN void mn_overrun_scan(uint64_t now, uint64_t min_ns, bool demoted,
			       void (*fn)(struct mn_p *p, struct mn_m *m,
					  uint64_t goid, uint64_t ran_ns,
					  uint64_t tick, void *arg), void *arg);

/* ---- unwind.c ---- */

#define MN_MAX_FRAMES	64

/* Registers to start unwinding from; valid is a mask of MN_REG_*. */
enum { MN_REG_RIP, MN_REG_RSP, MN_REG_RBP, MN_REG_RBX, MN_REG_R12,
       MN_REG_R13, MN_REG_R14, MN_REG_R15, MN_NREGS };
struct mn_regs {
	uint64_t r[MN_NREGS];
	uint32_t valid;
	bool rip_is_ret;	/* rip is a return address (a parked G) */
};

/* A copy of [lo, lo + len) of a stack, read instead of live memory. */
struct mn_stackcopy {
	uint64_t lo;
	size_t len;
	const unsigned char *buf;
};

/* Read n bytes of our own memory without faulting: 0 or -EFAULT. */
MN_HIDDEN int mn_safe_read(void *dst, uint64_t src, size_t n);
/* Load libdw (once); false when it is not there (frame pointers then). */
MN_HIDDEN bool mn_unwind_init(void);
/* Unwind: pcs[0] is regs' rip; the rest return addresses.  Returns the
 * number of frames (0 if none could be read). */
MN_HIDDEN int mn_unwind(const struct mn_regs *regs,
			const struct mn_stackcopy *sc, uint64_t *pcs, int max);
/* "func+0xoff (file:line)" for a pc (ret: a return address) into buf. */
MN_HIDDEN void mn_symbolize(uint64_t pc, bool ret, char *buf, size_t n);
/* Print frames as "\t#N 0xPC func+0xoff (file:line)" lines. */
MN_HIDDEN void mn_print_frames(FILE *f, const uint64_t *pcs, int n,
			       bool first_is_ret);
/* What unwinds and symbolizes: "libdw" or "frame pointers". */
MN_HIDDEN const char *mn_unwinder_name(void);

#endif /* MN_DEBUG_H */
