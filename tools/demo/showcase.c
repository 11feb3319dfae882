// SPDX-License-Identifier: MIT
/*
 * showcase.c - what `make demo` runs: skynet with a million Gs, then a
 * producer/consumer pipeline across all Ps.  Run it with
 * MNSCHED_DEBUG=schedtrace=200 to watch the scheduler work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <mnsched.h>

/* ---- skynet: each G spawns 10 children down to 1,000,000 leaves ---- */

struct sky {
	struct mn_chan *up;
	long num, size;
};

static void skynet(void *arg)
{
	struct sky *s = arg, kids[10];
	struct mn_chan *c;
	long sum = 0, v;

	if (s->size == 1) {
		mn_chan_send(s->up, &s->num);
		return;
	}
	c = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < 10; i++) {
		kids[i] = (struct sky){ c, s->num + i * (s->size / 10), s->size / 10 };
		if (mn_go(skynet, &kids[i]))
			abort();
	}
	for (int i = 0; i < 10; i++) {
		mn_chan_recv(c, &v);
		sum += v;
	}
	mn_chan_free(c);
	mn_chan_send(s->up, &sum);
}

/* ---- pipeline: producers -> squarers -> one summer ---- */

enum { ITEMS = 2000000, PRODUCERS = 4, WORKERS = 8 };

static struct mn_chan *raw, *squared, *done;

static void producer(void *arg)
{
	long first = (long)arg;

	for (long i = first; i < ITEMS; i += PRODUCERS)
		mn_chan_send(raw, &i);
	mn_chan_send(done, NULL);
}

static void squarer(void *arg)
{
	long v;

	while (mn_chan_recv(raw, &v) == 1) {
		v = v % 1000;
		v *= v;
		mn_chan_send(squared, &v);
	}
	mn_chan_send(done, NULL);
}

static void closer(void *arg)
{
	for (int i = 0; i < PRODUCERS; i++)
		mn_chan_recv(done, NULL);
	mn_chan_close(raw);
	for (int i = 0; i < WORKERS; i++)
		mn_chan_recv(done, NULL);
	mn_chan_close(squared);
}

static void showcase(void *arg)
{
	struct sky root = { mn_chan_new(sizeof(long), 0), 0, 1000000 };
	long sum = 0, want = 0, v;
	uint64_t t0;

	printf("mnsched showcase: %d Ps\n\n", mn_nprocs());

	t0 = mn_now();
	mn_go(skynet, &root);
	mn_chan_recv(root.up, &sum);
	printf("skynet: 1,111,111 goroutines, sum %ld (%s) in %.0f ms\n",
	       sum, sum == 499999500000L ? "right" : "WRONG",
	       (double)(mn_now() - t0) / 1e6);

	t0 = mn_now();
	raw = mn_chan_new(sizeof(long), 256);
	squared = mn_chan_new(sizeof(long), 256);
	done = mn_chan_new(0, 0);
	for (long i = 0; i < PRODUCERS; i++)
		mn_go(producer, (void *)i);
	for (int i = 0; i < WORKERS; i++)
		mn_go(squarer, NULL);
	mn_go(closer, NULL);
	sum = 0;
	while (mn_chan_recv(squared, &v) == 1)
		sum += v;
	for (long i = 0; i < ITEMS; i++)
		want += (i % 1000) * (i % 1000);
	printf("pipeline: %d producers -> %d workers -> 1 summer, %d items, "
	       "sum %ld (%s) in %.0f ms\n", PRODUCERS, WORKERS, ITEMS, sum,
	       sum == want ? "right" : "WRONG", (double)(mn_now() - t0) / 1e6);
	if (sum != want)
		exit(1);
}

int main(void)
{
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* interleave with SCHED lines */
	err = mn_main(showcase, NULL);

	if (err) {
		fprintf(stderr, "mn_main: %d\n", err);
		return 1;
	}
	return 0;
}
