/* SPDX-License-Identifier: MIT */
/* timer.h - the runtime's timers (timer.c). */
#ifndef MN_TIMER_H
#define MN_TIMER_H

#include <stdbool.h>
#include <stdint.h>

enum { MN_TIMER_IDLE, MN_TIMER_WAITING, MN_TIMER_RUNNING };

/* Timers fire at the first multiple of this after their deadline (never
 * before it): timers due close together share one wake-up of an idle M. */
#define MN_TIMER_SLACK_NS	100000ll

struct mn_p;

struct mn_timer {
	int64_t when;		/* CLOCK_MONOTONIC ns */
	int64_t period;		/* > 0: fires again every period ns */
	void (*fn)(void *arg);
	void *arg;
	struct mn_p *p;		/* heap it is in (valid while WAITING) */
	int32_t idx;		/* heap index, -1 when in none */
	_Atomic int state;
};

void mn_timer_init(struct mn_timer *t, void (*fn)(void *arg), void *arg)
	__attribute__((visibility("hidden")));
int mn_timer_add(struct mn_timer *t, int64_t when, int64_t period)
	__attribute__((visibility("hidden")));
/* true if t was removed before it fired; waits for a running fn. */
bool mn_timer_stop(struct mn_timer *t) __attribute__((visibility("hidden")));
void mn_timer_sync(struct mn_timer *t) __attribute__((visibility("hidden")));

#endif
