// SPDX-License-Identifier: MIT
/*
 * ticker-floor - the floor under hog_latency: what the machine alone allows.
 * HOGS plain threads compute at nice 19 (what a G that overran its slice
 * runs at once the runtime or the module demoted its thread) while a plain
 * nice-0 thread sleeps 1 ms TICKS times (clock_nanosleep); no runtime, no
 * preemption, nothing to hand off.  RESULT: the worst wake-up delay (ms past
 * the 1 ms asked); INFO: p99 and median, as hog_latency prints them.  No
 * user-level scheduler can wake its ticker sooner than this on the same
 * machine: tools/vm/latency-bench.sh prints it beside hog_latency.
 *
 * Usage: ticker-floor HOGS [TICKS]   (TICKS default 2000)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static atomic_int stop;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *hog(void *arg)
{
	volatile uint64_t x = 0;

	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19))
		perror("ticker-floor: setpriority");
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		x++;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long hogs = argc > 1 ? atol(argv[1]) : -1;
	long ticks = argc > 2 ? atol(argv[2]) : 2000;
	struct timespec ms = { 0, 1000000 };
	pthread_t t[64];
	uint64_t *d;

	if (argc < 2 || argc > 3 || hogs < 0 || hogs > 64 || ticks < 1) {
		fprintf(stderr, "usage: ticker-floor HOGS [TICKS]  (HOGS 0..64)\n");
		return 2;
	}
	d = calloc((size_t)ticks, sizeof(*d));
	if (!d)
		return 1;
	for (long i = 0; i < hogs; i++)
		if (pthread_create(&t[i], NULL, hog, NULL)) {
			fprintf(stderr, "ticker-floor: pthread_create failed\n");
			return 1;
		}
	for (long i = 0; i < ticks; i++) {
		uint64_t t0 = now_ns();

		clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
		d[i] = now_ns() - t0 - 1000000;
	}
	atomic_store(&stop, 1);
	for (long i = 0; i < hogs; i++)
		pthread_join(t[i], NULL);
	qsort(d, (size_t)ticks, sizeof(*d), cmp);
	printf("INFO hogs %ld (nice 19)\n", hogs);
	printf("INFO p99 %.2f ms\n", d[ticks * 99 / 100] / 1e6);
	printf("INFO median %.3f ms\n", d[ticks / 2] / 1e6);
	printf("RESULT ticker_floor %.3f ms\n", d[ticks - 1] / 1e6);
	return 0;
}
