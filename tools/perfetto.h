/* SPDX-License-Identifier: MIT */
/*
 * perfetto.h - mnsched-trace's Chrome trace-event JSON timeline
 * (tools/perfetto.c), for ui.perfetto.dev.
 *
 * Use: perfetto_open(path), perfetto_begin when tracing starts (base: the
 * time 0 of the timeline, CLOCK_MONOTONIC ns), perfetto_event for every
 * event in order, perfetto_end (closes the open slices, writes the trailer
 * with the totals; -1 with errno when the file could not be written), and
 * perfetto_close in any case.  One timeline per process.
 */
#ifndef MNSCHED_PERFETTO_H
#define MNSCHED_PERFETTO_H

#include <stdbool.h>
#include <linux/types.h>

struct mt_target;
struct mt_event;

bool perfetto_open(const char *path);
/* names: the event names by enum mt_ev_type (instant events are named so) */
void perfetto_begin(const struct mt_target *t, __u64 base, const char *const names[]);
void perfetto_event(const struct mt_event *e);
/* tool: the writer's name and version; events: events received;
 * counts, drops: per event type, seen by the probes and lost */
int perfetto_end(const struct mt_target *t, const char *tool, __u64 end_ts, __u64 dur_ns,
		 unsigned long long events, const __u64 *counts, const __u64 *drops);
void perfetto_close(void);

#endif /* MNSCHED_PERFETTO_H */
