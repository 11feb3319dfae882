// SPDX-License-Identifier: MIT
/*
 * rt_million.c - one million live Gs at the default vm.max_map_count
 * (65530): stacks come from arenas, not one mapping each.
 */
#include "mn_test.h"

enum { N = 1000000 };
static struct mn_chan *gate, *done;
static atomic_long parked;

static void parker(void *arg)
{
	atomic_fetch_add(&parked, 1);
	mn_chan_recv(gate, NULL);	/* parked until close */
	mn_chan_send(done, NULL);
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static void million_main(void *arg)
{
	long maps;

	gate = mn_chan_new(0, 0);
	done = mn_chan_new(0, 1024);
	for (long i = 0; i < N; i++)
		G_ASSERT_EQ(mn_go(parker, NULL), 0);
	/* Each child runs first, but one preempted at its first line (its
	 * thread gives the P up: the spawn loop's slice is long over) goes
	 * on beside us: wait for the last ones. */
	for (int i = 0; i < 10000 && atomic_load(&parked) < N; i++)
		mn_sleep(1000000);
	G_ASSERT_EQ(atomic_load(&parked), N);
	maps = count_maps();
	fprintf(stderr, "# %d parked Gs, %ld mappings\n", N, maps);
	G_ASSERT(maps < 65530 / 2);
	mn_chan_close(gate);
	for (long i = 0; i < N; i++)
		G_ASSERT_EQ(mn_chan_recv(done, NULL), 1);
}

TEST(one_million_parked_gs)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long mmc = 0;

	if (t_sanitized())
		SKIP(return, "a million fibers under a sanitizer need tens of GB");
	if ((long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) < (6L << 30))
		SKIP(return, "a million parked Gs need ~4.5 GB of RAM; this machine has less");
	if (f) {
		if (fscanf(f, "%ld", &mmc) != 1)
			mmc = 0;
		fclose(f);
	}
	TH_LOG("vm.max_map_count = %ld", mmc);
	T_RUN(million_main, NULL);
}

TEST_HARNESS_MAIN
